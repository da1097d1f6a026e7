"""``dockyard models webhooks``: the URLs that receive registry events, and their delivery log."""

from __future__ import annotations

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, collect, tracking_uri_option
from dockyard.cli.registry_output import build_registry, json_option
from dockyard.registry.entities import WEBHOOK_EVENTS as EVENTS
from dockyard.registry.validation import MAX_DELIVERIES_PAGE, MAX_WEBHOOKS_PAGE


@click.group("webhooks", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def webhooks() -> None:
    """Send registry events (version created, alias moved, stage changed...) to URLs as signed POSTs."""


@webhooks.command("add", context_settings=CONTEXT_SETTINGS)
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice(list(EVENTS)),
    help="An event to send (repeatable).",
)
@click.option("--name", metavar="NAME", help="A name for the webhook [default: the URL's host].")
@click.option("--description", metavar="TEXT", help="What the webhook is for.")
@click.option("--secret", metavar="SECRET", help="The HMAC signing secret [default: a new random one, printed once].")
@click.option("--disabled", is_flag=True, help="Create it disabled (no deliveries until enabled).")
@tracking_uri_option
def add(
    url: str,
    events: tuple[str, ...],
    name: str | None,
    description: str | None,
    secret: str | None,
    disabled: bool,
    tracking_uri: str | None,
) -> None:
    """Add a webhook that POSTs the chosen events to URL."""
    import secrets
    from urllib.parse import urlparse

    chosen = secret or secrets.token_urlsafe(32)
    hook = build_registry(tracking_uri).create_webhook(
        name or urlparse(url).hostname or url,
        url,
        list(events),
        description=description,
        secret=chosen,
        status="DISABLED" if disabled else "ACTIVE",
    )
    click.echo(f"Added webhook {hook.webhook_id} ({hook.name}) for {', '.join(hook.events)}.")
    if secret is None:
        click.echo(f"Signing secret (shown once): {chosen}")


@webhooks.command("list", context_settings=CONTEXT_SETTINGS)
@json_option
@tracking_uri_option
def list_webhooks(as_json: bool, tracking_uri: str | None) -> None:
    """List the webhooks."""
    from dockyard.registry import wire

    registry = build_registry(tracking_uri)
    found, _more = collect(registry.list_webhooks, 100_000, MAX_WEBHOOKS_PAGE)
    if as_json:
        output.echo_json({"webhooks": [wire.encode_webhook(w) for w in found]})
        return
    if not found:
        click.echo("No webhooks.")
        return
    out = output.console()
    tbl = output.table(out, "ID", "Name", "Status", "URL", "Events", keep=("ID", "Status"))
    for w in found:
        tbl.add_row(
            output.cell(w.webhook_id),
            output.cell(w.name),
            output.cell(w.status.value),
            output.cell(w.url),
            output.cell(", ".join(w.events)),
        )
    output.emit(out, tbl)


@webhooks.command("remove", context_settings=CONTEXT_SETTINGS)
@click.argument("webhook_id", metavar="WEBHOOK_ID")
@tracking_uri_option
def remove(webhook_id: str, tracking_uri: str | None) -> None:
    """Remove a webhook and its delivery log."""
    build_registry(tracking_uri).delete_webhook(webhook_id)
    click.echo(f"Removed webhook {webhook_id}.")


@webhooks.command("test", context_settings=CONTEXT_SETTINGS)
@click.argument("webhook_id", metavar="WEBHOOK_ID")
@click.option("--event", type=click.Choice(list(EVENTS)), help="The event to send [default: its first].")
@tracking_uri_option
def test(webhook_id: str, event: str | None, tracking_uri: str | None) -> None:
    """Send one sample event to a webhook now and show the HTTP status and the time taken."""
    result = build_registry(tracking_uri).test_webhook(webhook_id, event)
    took = "" if result.duration_ms is None else f" in {result.duration_ms} ms"
    if result.success:
        click.echo(f"Delivered: HTTP {result.response_status}{took}.")
        return
    raise click.ClickException(f"delivery failed{took}: {result.error_message}")


@webhooks.command("deliveries", context_settings=CONTEXT_SETTINGS)
@click.argument("webhook_id", metavar="WEBHOOK_ID", required=False)
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    metavar="N",
    default=50,
    show_default=True,
    help="Show at most this many attempts (the newest).",
)
@json_option
@tracking_uri_option
def deliveries(webhook_id: str | None, max_results: int, as_json: bool, tracking_uri: str | None) -> None:
    """Delivery attempts, newest first (of WEBHOOK_ID, or of every webhook)."""
    from dockyard.registry import wire

    registry = build_registry(tracking_uri)
    found, _more = collect(
        lambda size, token: registry.list_webhook_deliveries(webhook_id, size, token), max_results, MAX_DELIVERIES_PAGE
    )
    if as_json:
        output.echo_json({"deliveries": [wire.encode_delivery(d) for d in found]})
        return
    if not found:
        click.echo("No deliveries recorded.")
        return
    out = output.console()
    tbl = output.table(out, "When", "Webhook", "Event", "Model", "Try", "Status", "HTTP", "Error", keep=("Try",))
    for d in found:
        tbl.add_row(
            output.cell(output.format_time(d.timestamp)),
            output.cell(d.webhook_id),
            output.cell(d.event),
            output.cell(d.model_name),
            output.cell(d.attempt),
            output.cell(d.status.value),
            output.cell(d.response_status),
            output.cell(d.error),
        )
    output.emit(out, tbl)
