"""``dockyard gc``: permanently remove deleted runs, experiments and logged models, with their artifacts.

Deleting a run, an experiment or a logged model (``dockyard runs delete``, the API, the UI) only marks it
deleted, so it can be restored; ``gc`` is what frees the space, as ``mlflow gc`` does. It works on the database
directly, so run it where the database is reachable (the server may keep running).
"""

from __future__ import annotations

import re

import click

from dockyard.cli.common import CONTEXT_SETTINGS, build_settings, tracking_uri_option

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(text: str) -> int:
    """Milliseconds in a duration such as ``30d``, ``1d12h``, ``90m``, ``45s`` (MLflow's ``--older-than``).

    >>> parse_duration("1d2h3m4s")
    93784000
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 'soon' is not a duration such as 30d, 1d12h, 90m or 45s
    """
    match = _DURATION.match(text)
    if not text.strip() or match is None or not any(match.groups()):
        raise click.BadParameter(f"{text!r} is not a duration such as 30d, 1d12h, 90m or 45s")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000


def _ids(text: str | None) -> list[str] | None:
    return None if text is None else [item.strip() for item in text.split(",") if item.strip()]


def _artifact_folder(location: str, destination: str) -> str:
    """Where the files of ``location`` are: a proxied ``mlflow-artifacts:/`` location under ``destination``."""
    from urllib.parse import urlsplit

    from dockyard.artifacts.base import check_artifact_path
    from dockyard.artifacts.registry import join_location, uri_scheme

    if uri_scheme(location) == "mlflow-artifacts":
        path = check_artifact_path(urlsplit(location).path.strip("/"), field="artifact location")
        return join_location(destination, path) if path else destination
    return location


def _remove_files(location: str, destination: str) -> None:
    from dockyard.artifacts import artifact_store_for_uri

    folder = _artifact_folder(location, destination)
    if folder.rstrip("/").endswith("/artifacts"):  # a run's: <experiment>/<run id>/artifacts, remove the run's
        folder = folder.rstrip("/")[: -len("/artifacts")]
    artifact_store_for_uri(folder).delete()


@click.command("gc", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--older-than",
    default=None,
    metavar="DURATION",
    help="Only what was deleted at least this long ago: 30d, 1d12h, 90m, 45s [default: any age].",
)
@click.option("--run-ids", default=None, metavar="IDS", help="Only these deleted runs, comma-separated.")
@click.option("--experiment-ids", default=None, metavar="IDS", help="Only these deleted experiments, comma-separated.")
@click.option(
    "--logged-model-ids", default=None, metavar="IDS", help="Only these deleted logged models, comma-separated."
)
@click.option(
    "--artifacts-destination",
    default=None,
    metavar="URI",
    help="Where a server stores proxied (mlflow-artifacts:/) files [default: artifacts/ next to the database].",
)
@click.option("--dry-run", is_flag=True, help="Print what would be removed, remove nothing.")
@tracking_uri_option
def gc(
    older_than: str | None,
    run_ids: str | None,
    experiment_ids: str | None,
    logged_model_ids: str | None,
    artifacts_destination: str | None,
    dry_run: bool,
    tracking_uri: str | None,
) -> None:
    """Permanently remove deleted runs, experiments and logged models, and their artifacts.

    Prints one line per run, experiment or logged model removed (or, with --dry-run, that would be
    removed) and one per one kept: a run or logged model that a model version was registered from stays,
    and so does its experiment. Given ids of some kinds (--run-ids, --experiment-ids,
    --logged-model-ids), only those are removed.
    Files are removed after their rows, so an interrupted gc leaves at worst files without rows, which
    `dockyard db check` reports and the next gc does not need.
    """
    import os

    from dockyard.core.clock import now_ms
    from dockyard.db.engine import Database
    from dockyard.tracking.backends import default_artifact_root
    from dockyard.tracking.sql_gc import find_deleted, purge

    settings = build_settings(tracking_uri)
    if settings.tracking_uri.startswith(("http://", "https://")):
        raise click.UsageError("gc works on the database itself: give it with --tracking-uri (not a server's URL)")
    if artifacts_destination is None:
        destination = default_artifact_root(settings)
    else:
        destination = (
            artifacts_destination if "://" in artifacts_destination else os.path.abspath(artifacts_destination)
        )
    age = None if older_than is None else parse_duration(older_than)
    db = Database(settings.tracking_uri)
    try:
        doomed = find_deleted(
            db,
            older_than_ms=age,
            now_ms=now_ms(),
            run_ids=_ids(run_ids),
            experiment_ids=_ids(experiment_ids),
            logged_model_ids=_ids(logged_model_ids),
        )
        verb = "would remove" if dry_run else "removed"
        if not dry_run:
            purge(db, doomed)
            for _id, location in [*doomed.runs, *doomed.logged_models, *doomed.experiments]:
                _remove_files(location, destination)
    finally:
        db.dispose()
    for run_id, _location in doomed.runs:
        click.echo(f"{verb} run {run_id}")
    for model_id, _location in doomed.logged_models:
        click.echo(f"{verb} logged model {model_id}")
    for experiment_id, _location in doomed.experiments:
        click.echo(f"{verb} experiment {experiment_id}")
    for reason in doomed.kept:
        click.echo(f"kept {reason}")
    counts = f"{len(doomed.runs)} run(s), {len(doomed.logged_models)} logged model(s)"
    summary = f"{counts} and {len(doomed.experiments)} experiment(s) " + ("would be removed" if dry_run else "removed")
    click.echo(summary + ("" if not doomed.kept else f", {len(doomed.kept)} kept"), err=True)
