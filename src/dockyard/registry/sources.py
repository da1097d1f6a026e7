"""Where a new model version's files are, from its source (see :mod:`dockyard.registry.service`).

``runs:/<run_id>/<path>`` records the run (the ``run_id`` given must be the one in the URI, as MLflow
checks; the run need not exist on this server); ``models:/m-<id>`` records the logged model and, with a
tracking service on the same store, the run that logged it and its artifact location;
``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` copies that version's location; anything else is
kept as given.
"""

from __future__ import annotations

from typing import Any, Protocol

from dockyard.core.errors import InvalidParameter, RunNotFound
from dockyard.registry.entities import ModelVersion
from dockyard.tracking import validation as tv
from dockyard.tracking.entities import LoggedModel, Run


class TrackingLookup(Protocol):
    """The two tracking calls the registry uses to resolve a version's source."""

    def get_run(self, run_id: str) -> Run: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...


class VersionLookup(Protocol):
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def get_model_version_download_uri(self, name: str, version: int | str) -> str: ...


def check_model_id(model_id: Any) -> str:
    if not isinstance(model_id, str) or not model_id.startswith("m-") or len(model_id) > 40:
        raise InvalidParameter(f"model_id {model_id!r} is not a logged model id (m-<hex>)")
    tv.check_run_id(model_id[2:], "model_id")
    return model_id


def invalid_source(source: str, field: str) -> InvalidParameter:
    """MLflow's refusal of a source that the ``run_id`` (or ``model_id``) given does not contain."""
    return InvalidParameter(
        f"Invalid model version source: '{source}'. The {field} request parameter must identify the "
        "resource that contains the source."
    )


def resolve_source(
    registry: VersionLookup, tracking: TrackingLookup | None, source: str, run_id: str | None, model_id: str | None
) -> tuple[str | None, str | None, str | None]:
    """(storage location, run id, logged model id) for a new version's source."""
    storage: str | None = None
    if source.startswith("runs:/"):
        source_run, _, path = source[len("runs:/") :].partition("/")
        source_run = tv.check_run_id(source_run, "source run id")
        if run_id and run_id != source_run:
            raise invalid_source(source, "run_id")
        run_id = source_run
        if tracking is not None:
            try:
                root = tracking.get_run(source_run).info.artifact_uri.rstrip("/")
            except RunNotFound:  # a run of another server: the version keeps the URI, as in MLflow
                root = ""
            if root:
                storage = f"{root}/{path.strip('/')}" if path.strip("/") else root
    elif source.startswith("models:/m-"):
        source_model = check_model_id(source[len("models:/") :].rstrip("/"))
        if model_id and model_id != source_model:
            raise invalid_source(source, "model_id")
        model_id = source_model
    elif source.startswith("models:/"):
        storage = _version_location(registry, source[len("models:/") :])
    if model_id and tracking is not None:
        logged = tracking.get_logged_model(model_id)
        run_id = run_id or logged.source_run_id
        if source.startswith("models:/m-"):
            storage = logged.artifact_location
    return storage, run_id, model_id


def _version_location(registry: VersionLookup, rest: str) -> str:
    """Where ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` lives (copying a registered version)."""
    if "@" in rest:
        name, _, alias = rest.partition("@")
        found = registry.get_model_version_by_alias(name, alias)
        return registry.get_model_version_download_uri(found.name, found.version)
    name, _, version = rest.rstrip("/").partition("/")
    if not version.isdigit():
        raise InvalidParameter(
            f"source 'models:/{rest}': expected models:/NAME/VERSION, models:/NAME@ALIAS or models:/m-ID"
        )
    return registry.get_model_version_download_uri(name, version)
