"""``/mlflow/experiments/*``.

A client may choose where a new experiment's artifacts go (``artifact_location``), but only under the
server's artifact root or one of the roots it was given (``--artifact-roots``): other clients then write
there, and the server itself reads there (the run artifact listing).

>>> check_artifact_location("s3://bucket/team/exp", ("s3://bucket/team",))
>>> check_artifact_location("/srv/art/../../etc", ("/srv/art",))
Traceback (most recent call last):
dockyard.core.errors.InvalidParameter: artifact_location '/srv/art/../../etc': '..' components are not allowed
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from dockyard.artifacts.local import path_from_file_uri
from dockyard.core.errors import ExperimentNotFound, InvalidParameter
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response
from dockyard.tracking import wire
from dockyard.tracking.entities import ViewType

MAX_RESULTS_DEFAULT = 1000


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    location = p.string("artifact_location") or None
    if location is not None:
        check_artifact_location(location, allowed_artifact_roots(ctx))
    experiment_id = ctx.tracking.create_experiment(
        p.string("name", required=True), location, wire.decode_key_values(p.raw("tags"), "tags")
    )
    return {"experiment_id": experiment_id}


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: "C:" is a drive, not a scheme


def allowed_artifact_roots(ctx: ServerContext) -> tuple[str, ...]:
    """Where clients may put experiments: the configured roots (the CLI puts the server's own root there
    when none are given), else the artifact proxy when the server has one, else nowhere."""
    if ctx.settings.allowed_artifact_roots:
        return ctx.settings.allowed_artifact_roots
    return ("mlflow-artifacts:",) if ctx.artifacts is not None else ()


def _parts(location: str) -> tuple[str, str, tuple[str, ...]]:
    """``(scheme, authority, path segments)``; a plain path is ``file``. InvalidParameter for what no root
    can hold: a relative path, ``..``, a query or a fragment."""
    if not _SCHEME.match(location) or location[:5].lower() == "file:":
        scheme, authority = "file", ""
        path = path_from_file_uri(location) if location[:5].lower() == "file:" else location
        if not path.startswith("/"):
            raise InvalidParameter(f"artifact_location {location!r}: must be an absolute path or a URI")
    else:
        split = urlsplit(location)
        if split.query or split.fragment:
            raise InvalidParameter(f"artifact_location {location!r}: a query or a fragment is not allowed")
        scheme, authority, path = split.scheme.lower(), split.netloc.lower(), unquote(split.path)
    segments = tuple(s for s in re.split(r"[/\\]", path) if s not in ("", "."))
    if ".." in segments or "\x00" in path:
        raise InvalidParameter(f"artifact_location {location!r}: '..' components are not allowed")
    return scheme, authority, segments


def check_artifact_location(location: str, roots: tuple[str, ...]) -> None:
    """InvalidParameter (400, naming the field) unless ``location`` is one of ``roots`` or below one."""
    scheme, authority, segments = _parts(location)
    for root in roots:
        root_scheme, root_authority, root_segments = _parts(root)
        if (root_scheme, root_authority) == (scheme, authority) and segments[: len(root_segments)] == root_segments:
            return
    if not roots:
        raise InvalidParameter(f"artifact_location {location!r}: this server does not take one from clients")
    raise InvalidParameter(
        f"artifact_location {location!r} is not under the server's artifact root ({', '.join(roots)}); "
        "the server allows other roots with --artifact-roots"
    )


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"experiment": wire.encode_experiment(ctx.tracking.get_experiment(p.string("experiment_id", required=True)))}


def get_by_name(ctx: ServerContext, p: Params) -> dict[str, Any]:
    name = p.string("experiment_name", required=True)
    experiment = ctx.tracking.get_experiment_by_name(name)
    if experiment is None:
        raise ExperimentNotFound(f"Could not find experiment with name '{name}'")
    return {"experiment": wire.encode_experiment(experiment)}


def search(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = ctx.tracking.search_experiments(
        view_type=_view_type(p.raw("view_type")),
        max_results=p.integer("max_results", default=MAX_RESULTS_DEFAULT),
        filter_string=p.string("filter"),
        order_by=[str(o) for o in p.items("order_by")],
        page_token=p.string("page_token"),
    )
    return page_response("experiments", [wire.encode_experiment(e) for e in page.items], page.next_page_token)


def _view_type(value: Any) -> ViewType | str:
    # Enums arrive by name, or by number from clients that send protobuf's integer form.
    by_number = {1: ViewType.ACTIVE_ONLY, 2: ViewType.DELETED_ONLY, 3: ViewType.ALL}
    if value is None or value == "":
        return ViewType.ACTIVE_ONLY
    if isinstance(value, int) and not isinstance(value, bool):
        return by_number.get(value, str(value))
    if isinstance(value, str) and value.isdigit():
        return by_number.get(int(value), value)
    return str(value)


def search_datasets(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """The datasets of up to 20 experiments' runs (MLflow serves this for its UI, under /ajax-api)."""
    summaries = ctx.tracking.search_datasets([str(e) for e in p.items("experiment_ids")])
    return {"dataset_summaries": [wire.encode_dataset_summary(s) for s in summaries]}


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_experiment(p.string("experiment_id", required=True))
    return {}


def restore(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.restore_experiment(p.string("experiment_id", required=True))
    return {}


def update(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.rename_experiment(p.string("experiment_id", required=True), p.string("new_name", required=True))
    return {}


def set_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.set_experiment_tag(
        p.string("experiment_id", required=True), p.string("key", required=True), p.string("value", default="")
    )
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_experiment_tag(p.string("experiment_id", required=True), p.string("key", required=True))
    return {}


ROUTES = [
    ("POST", "/mlflow/experiments/create", create),
    ("GET", "/mlflow/experiments/get", get),
    ("GET", "/mlflow/experiments/get-by-name", get_by_name),
    ("POST", "/mlflow/experiments/search", search),
    ("GET", "/mlflow/experiments/search", search),
    ("POST", "/mlflow/experiments/search-datasets", search_datasets),
    ("POST", "/mlflow/experiments/delete", delete),
    ("POST", "/mlflow/experiments/restore", restore),
    ("POST", "/mlflow/experiments/update", update),
    ("POST", "/mlflow/experiments/set-experiment-tag", set_tag),
    ("POST", "/mlflow/experiments/delete-experiment-tag", delete_tag),
]
