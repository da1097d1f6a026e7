"""``dockyard demo``: the end-to-end demo (see :mod:`dockyard.demo.run`)."""

from __future__ import annotations

import shlex

import click

from dockyard.cli.common import CONTEXT_SETTINGS, build_settings, tracking_uri_option
from dockyard.core.errors import MissingExtra


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--rows", "n_rows", type=int, default=20_000, show_default=True, help="Synthetic loans to generate.")
@click.option("--trials", "n_trials", type=int, default=25, show_default=True, help="Optuna trials in the search.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the data, the split and the search.")
@click.option("--max-iter", type=int, default=200, show_default=True, help="Boosting iterations per trial.")
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A real LendingClub CSV export to use instead of the synthetic loans.",
)
@click.option("--port", type=int, default=None, help="Port of the scoring server (default: a free one).")
@click.option("--no-serve", is_flag=True, help="Skip starting the scoring server.")
@tracking_uri_option
def demo(
    n_rows: int,
    n_trials: int,
    seed: int,
    max_iter: int,
    data_path: str | None,
    port: int | None,
    no_serve: bool,
    tracking_uri: str | None,
) -> None:
    """Train, tune, register, promote and serve a credit-default model on LendingClub-style loans."""
    from rich.console import Console

    try:
        import optuna  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise MissingExtra(exc.name or "optuna", "demo") from None
    import dockyard
    from dockyard.demo.run import ALIAS, EXPERIMENT, MODEL_NAME, UI_URL, DemoConfig, page_links, run_demo

    settings = build_settings(tracking_uri)
    dockyard.set_tracking_uri(settings.tracking_uri)
    config = DemoConfig(n_rows, n_trials, seed, max_iter, data_path, not no_serve, port)
    console = Console(highlight=False, soft_wrap=True)
    result = run_demo(config, say=console.print)
    console.print()
    console.print(f"[bold]Created[/] in {settings.tracking_uri}:")
    console.print(
        f"  experiment {EXPERIMENT!r} (id {result.experiment_id}): run {result.parent_run_id} with the baseline,"
        " the search and its trials"
    )
    console.print(f"  {MODEL_NAME} version {result.version}; @{ALIAS} is version {result.champion}")
    remote = settings.tracking_uri.startswith(("http://", "https://"))
    if remote:  # a dockyard server: its pages are already up
        base = settings.tracking_uri
        console.print("[bold]See it[/] in the server's web UI:")
    else:
        base = UI_URL
        # `dockyard ui` reads DOCKYARD_TRACKING_URI like this command; name the store when it came from --tracking-uri.
        store = f"DOCKYARD_TRACKING_URI={shlex.quote(settings.tracking_uri)} " if tracking_uri else ""
        console.print(f"[bold]See it[/] in the web UI: run `{store}dockyard ui`, then open")
    links = page_links(result, base)
    width = max(len(url) for _what, url in links)
    for what, url in links:
        console.print(f"  {url:<{width}}  [dim]{what}[/]")
    console.print("[bold]Or[/] on the command line:")
    console.print(f"  dockyard runs list --experiment-name {EXPERIMENT}")
    console.print(f"  dockyard models versions {MODEL_NAME}")
    console.print(f"  dockyard models history {MODEL_NAME} --alias {ALIAS}")
    if result.champion_before is not None:  # the new version against the champion it was compared with
        console.print(f"  dockyard models diff {MODEL_NAME} {result.champion_before} {result.version}")
    console.print(f"  dockyard serve models:/{MODEL_NAME}@{ALIAS}")
