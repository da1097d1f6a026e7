"""The model registry's pages: ``/models`` (registered models), ``/models/<name>`` (its versions, aliases,
audit history, promote and roll back) and ``/models/<name>/versions/<v>`` (signature, requirements, input
example, lineage, and a diff against another version).

Every view calls the registry service the REST handlers call (``registered_models.py``,
``model_versions.py``, ``registry_extensions.py``); promote and rollback are the calls behind
``dockyard models promote|rollback``, with the signed-in user recorded in the audit history. What a page
shows and offers follows the REST rules: reading a model needs READ on it; its audit history, promote and
roll back need MANAGE (as ``/dockyard/registry/events|promote|rollback``). A version's source run (params,
metrics, datasets, commit) is shown to whoever may also read the run's experiment, as ``runs/get`` would.

>>> filter_literal("it's")
"'it''s'"
>>> signature_rows('[{"name": "age", "type": "long"}, {"type": "tensor", "tensor-spec": {"dtype": "int8"}}]')
[('age', 'long', 'required'), ('', 'tensor int8 ()', 'required')]
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from dockyard.core.errors import (
    ArtifactNotFound,
    DockyardError,
    ExperimentNotFound,
    InvalidParameter,
    PermissionDenied,
    Unauthenticated,
)
from dockyard.lifecycle.diff import VersionDiff, diff_versions
from dockyard.models.manifest import Model
from dockyard.models.profile import FORMAT as PROFILE_FORMAT
from dockyard.models.profile import PROFILE_FILE
from dockyard.registry.entities import ModelVersion, ModelVersionStatus, RegisteredModel, Stage
from dockyard.registry.lineage import RunLineage, build_lineage
from dockyard.server.api.artifacts import model_version_artifact
from dockyard.server.http import Params
from dockyard.server.ui.page import UIRequest

if TYPE_CHECKING:
    from starlette.responses import Response

NEEDS_REGISTRY = True

MODELS_PAGE = 50  # registered models a page
VERSIONS_PAGE = 50  # versions a page on the model's page
EVENTS_PAGE = 50  # audit events a page, newest first
DIFF_CHOICES = 200  # versions offered in the diff's select (the newest)
FILE_LIMIT = 512 * 1024  # the most of MLmodel, requirements.txt or the input example a page reads
EXAMPLE_ROWS = 20  # rows of an input example shown as a table
PROFILE_COLUMNS = 200  # columns of a training profile shown
PROFILE_CATEGORIES = 4  # most frequent categories shown per column
PROFILE_QUANTILES = (("min", 0), ("p5", 5), ("p25", 25), ("median", 50), ("p75", 75), ("p95", 95), ("max", 100))
MODEL_SORTS = {
    "name": ["name ASC"],
    "updated": ["last_updated_timestamp DESC"],
}
STAGES = [s.value for s in Stage]
FORM_REFUSED = 400  # a promote or rollback the registry refused: the page again, the error on the form


def filter_literal(value: str) -> str:
    """A string literal of the search grammar: quotes doubled, backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def model_url(name: str) -> str:
    return "/models/" + quote(name, safe="")


# ---------------------------------------------------------------------- /models


@dataclass(frozen=True)
class ModelRow:
    """One line of the registered-models table."""

    model: RegisteredModel
    latest: int | None
    staging: int | None
    production: int | None
    aliases: list[tuple[str, int]]


def model_row(model: RegisteredModel) -> ModelRow:
    """The latest version overall, the highest in Staging and in Production, and the aliases by name."""
    by_stage = {v.current_stage: v.version for v in model.latest_versions}
    latest = max((v.version for v in model.latest_versions), default=None)
    return ModelRow(
        model,
        latest,
        by_stage.get(Stage.STAGING),
        by_stage.get(Stage.PRODUCTION),
        sorted(model.aliases.items()),
    )


def registered_models(ui: UIRequest) -> Response:
    """The registered models the caller may read, searched by part of the name, a page at a time."""
    query = ui.query("q").strip()
    sort = ui.query("sort", "name")
    if sort not in MODEL_SORTS:
        raise InvalidParameter(f"sort: {sort!r} is not one of {', '.join(MODEL_SORTS)}")
    token = ui.query("page") or None
    filter_string = f"name ILIKE {filter_literal(f'%{query}%')}" if query else None
    page = ui.registry.search_registered_models(
        filter_string=filter_string, max_results=MODELS_PAGE, order_by=MODEL_SORTS[sort], page_token=token
    )
    readable = ui.readable("registered_model")
    rows = [model_row(m) for m in page.items if readable(m.name)]
    return ui.render(
        "models/list.html",
        partial="models/_table.html",
        rows=rows,
        q=query,
        sort=sort,
        state={"q": query or None, "sort": None if sort == "name" else sort},
        next_page=page.next_page_token or None,
        first_page=token is not None,
    )


# ---------------------------------------------------------------------- /models/<name>


@dataclass
class ActionForm:
    """What the promote and rollback forms show: defaults, or what was sent and the error it met."""

    version: str = ""
    alias: str = ""
    stage: str = ""
    archive_existing: bool = False
    force: bool = False
    reason: str = ""
    error: str | None = None


def _versions_filter(name: str) -> str:
    return f"name = {filter_literal(name)}"


def _model_page(
    ui: UIRequest,
    name: str,
    *,
    status: int = 200,
    promote_form: ActionForm | None = None,
    rollback_form: ActionForm | None = None,
) -> Response:
    ui.require("registered_model", name, "read")
    model = ui.registry.get_registered_model(name)
    token = ui.query("versions_page") or None
    versions = ui.registry.search_model_versions(
        _versions_filter(model.name),
        max_results=VERSIONS_PAGE,
        order_by=["version_number DESC"],
        page_token=token,
    )
    can_manage = ui.can("registered_model", model.name, "manage")
    events, events_next = [], None
    if can_manage:
        events_token = ui.query("events_page") or None
        found = ui.registry.get_registry_events(
            model.name, max_results=EVENTS_PAGE, page_token=events_token, newest_first=True
        )
        events, events_next = list(found.items), found.next_page_token or None
    ready = [v for v in versions.items if v.status == ModelVersionStatus.READY]
    chosen = ui.query("version") or (str(ready[0].version) if ready else "")
    aliases = sorted(model.aliases.items())
    promote_form = promote_form or ActionForm(version=chosen, alias=ui.query("alias") or "")
    rollback_form = rollback_form or ActionForm(alias=ui.query("alias") or (aliases[0][0] if aliases else ""))
    state = {"versions_page": token, "events_page": ui.query("events_page") or None}
    gates = ui.registry.get_gates(model.name)  # what /dockyard/registry/gates/get answers (READ)
    return ui.render(
        "models/model.html",
        status=status,
        model=model,
        row=model_row(model),
        aliases=aliases,
        versions=list(versions.items),
        ready=ready,
        versions_next=versions.next_page_token or None,
        versions_first=token is not None,
        events=events,
        events_next=events_next,
        events_first=bool(ui.query("events_page")),
        can_manage=can_manage,
        gates=gates,
        promote_form=promote_form,
        rollback_form=rollback_form,
        stages=STAGES,
        base=model_url(model.name),
        state=state,
    )


def registered_model(ui: UIRequest) -> Response:
    """A registered model: versions, aliases, stages, the audit history, promote and roll back."""
    return _model_page(ui, str(ui.path_params["name"]))


def _reason(ui: UIRequest, what: str) -> str:
    reason = ui.form.get("reason", "").strip()
    if not reason:
        raise InvalidParameter(f"reason: say why you {what} (it is written to the audit history)")
    return reason


def _refused(exc: DockyardError) -> bool:
    """Errors the action's form shows in place (a version not READY, a gate, a missing reason...)."""
    return exc.http_status < 500 and not isinstance(exc, PermissionDenied | Unauthenticated)


def promote(ui: UIRequest) -> Response:
    """Point an alias at a version and/or move it to a stage, with a reason, as ``dockyard models promote``."""
    name = str(ui.path_params["name"])
    ui.require("registered_model", name, "manage")
    form = ActionForm(
        version=ui.form.get("version", "").strip(),
        alias=ui.form.get("alias", "").strip(),
        stage=ui.form.get("stage", "").strip(),
        archive_existing=ui.form.get("archive_existing") == "on",
        force=ui.form.get("force") == "on",
        reason=ui.form.get("reason", ""),
    )
    try:
        if not form.version:
            raise InvalidParameter("version: choose the version to promote")
        if not form.alias and not form.stage:
            raise InvalidParameter("alias: name an alias (or choose a stage) to promote the version to")
        reason = _reason(ui, "promote this version")
        promoted = ui.registry.promote(
            name,
            form.version,
            alias=form.alias or None,
            stage=form.stage or None,
            reason=reason,
            user_id=ui.username,
            archive_existing=form.archive_existing,
            force=form.force,
        )
    except DockyardError as exc:
        if not _refused(exc):
            raise
        form.error = exc.message
        return _model_page(ui, name, status=FORM_REFUSED, promote_form=form)
    moved = " and ".join(
        part
        for part in (f"@{form.alias}" if form.alias else "", f"stage {promoted.current_stage}" if form.stage else "")
        if part
    )
    return ui.redirect(model_url(name), flash=f"Promoted version {promoted.version} of {name} to {moved}.")


def rollback(ui: UIRequest) -> Response:
    """Move an alias back to the version that held it before its last move, as ``dockyard models rollback``."""
    name = str(ui.path_params["name"])
    ui.require("registered_model", name, "manage")
    form = ActionForm(alias=ui.form.get("alias", "").strip(), reason=ui.form.get("reason", ""))
    try:
        if not form.alias:
            raise InvalidParameter("alias: choose the alias to roll back")
        reason = _reason(ui, "roll back this alias")
        restored = ui.registry.rollback(name, form.alias, reason=reason, user_id=ui.username)
    except DockyardError as exc:
        if not _refused(exc):
            raise
        form.error = exc.message
        return _model_page(ui, name, status=FORM_REFUSED, rollback_form=form)
    return ui.redirect(
        model_url(name), flash=f"Rolled back @{form.alias} of {name}: it is version {restored.version} again."
    )


# ---------------------------------------------------------------------- /models/<name>/versions/<v>


def signature_rows(text: str | None) -> list[tuple[str, str, str]]:
    """(name, type, required/optional) for each spec of one part of a signature (its JSON text)."""
    if not text:
        return []
    rows = []
    for spec in json.loads(text):
        if not isinstance(spec, dict):
            continue
        kind = str(spec.get("type", ""))
        if kind == "tensor":
            tensor = spec.get("tensor-spec") or {}
            kind = f"tensor {tensor.get('dtype', '')} {tuple(tensor.get('shape') or ())}"
        elif kind == "array" and isinstance(spec.get("items"), dict):
            kind = f"array of {spec['items'].get('type', '')}"
        required = "required" if spec.get("required", True) else "optional"
        if "default" in spec:  # a parameter of params: its default value
            required = f"default {json.dumps(spec['default'])}"
        rows.append((str(spec.get("name", "")), kind, required))
    return rows


@dataclass
class ModelFiles:
    """What the version's files say: its MLmodel (flavors, signature), requirements and input example."""

    found: bool = False  # the MLmodel file was read (else nothing below is known)
    flavors: list[str] = field(default_factory=list)
    created: str | None = None
    signature: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    example_columns: list[str] = field(default_factory=list)
    example_rows: list[list[Any]] = field(default_factory=list)
    example_text: str | None = None
    example_total: int | None = None
    profile: list[ProfileRow] = field(default_factory=list)  # the training profile's columns, when there is one
    profile_rows: int | None = None  # rows of the training data
    profile_columns: int = 0  # columns of the training data (only the first PROFILE_COLUMNS are in ``profile``)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProfileRow:
    """One column of a training profile, as the version page shows it: ``spread`` holds (label, value)
    pairs, quantiles for a numeric column, the most frequent categories' shares for a categorical one."""

    name: str
    kind: str
    dtype: str
    null_rate: float | None
    spread: list[tuple[str, Any]]
    mean: float | None = None
    distinct: int | None = None
    other: float | None = None


def _share(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def profile_row(name: str, column: dict[str, Any]) -> ProfileRow:
    """A column of ``training_profile.json`` (see :mod:`dockyard.models.profile`) as a table row.

    >>> row = profile_row("x", {"kind": "numeric", "dtype": "float64", "null_rate": 0.05, "mean": 2.0,
    ...                         "quantiles": [float(q) for q in range(101)]})
    >>> row.spread[:3], row.mean
    ([('min', 0.0), ('p5', 5.0), ('p25', 25.0)], 2.0)
    >>> profile_row("c", {"kind": "categorical", "categories": {"a": 0.7, "b": 0.2}, "other": 0.1}).spread
    [('a', 0.7), ('b', 0.2)]
    """
    kind = str(column.get("kind", ""))
    spread: list[tuple[str, Any]] = []
    other: float | None = None
    quantiles = column.get("quantiles")
    if kind == "numeric" and isinstance(quantiles, list) and len(quantiles) == 101:
        spread = [(label, _share(quantiles[i])) for label, i in PROFILE_QUANTILES]
    categories = column.get("categories")
    if kind == "categorical" and isinstance(categories, dict):
        ranked = sorted(((str(k), _share(v) or 0.0) for k, v in categories.items()), key=lambda kv: -kv[1])
        spread = list(ranked[:PROFILE_CATEGORIES])
        # the values not shown: the profile's own "other" and the categories past the first few
        other = (_share(column.get("other")) or 0.0) + sum(v for _, v in ranked[PROFILE_CATEGORIES:])
    distinct = column.get("distinct")
    return ProfileRow(
        name=name,
        kind=kind or "unknown",
        dtype=str(column.get("dtype", "")),
        null_rate=_share(column.get("null_rate")),
        spread=spread,
        mean=_share(column.get("mean")),
        distinct=distinct if isinstance(distinct, int) and not isinstance(distinct, bool) else None,
        other=other,
    )


def _profile(files: ModelFiles, data: bytes) -> None:
    profile = json.loads(data)
    if not isinstance(profile, dict) or profile.get("format") != PROFILE_FORMAT:
        raise ValueError(f"not a Dockyard training profile (format {PROFILE_FORMAT!r} expected)")
    columns = profile.get("columns")
    columns = columns if isinstance(columns, dict) else {}
    rows = profile.get("rows")
    files.profile_rows = rows if isinstance(rows, int) and not isinstance(rows, bool) else None
    files.profile_columns = len(columns)
    files.profile = [
        profile_row(str(name), column)
        for name, column in list(columns.items())[:PROFILE_COLUMNS]
        if isinstance(column, dict)
    ]
    if isinstance(profile.get("predictions"), dict):  # the model's predictions on that data
        files.profile.append(profile_row("(predictions)", profile["predictions"]))


def _read(ctx: Any, name: str, version: int, path: str) -> bytes:
    """One file of the version, as ``/model-versions/get-artifact`` serves it (same root checks)."""
    found = model_version_artifact(ctx, Params({"name": name, "version": str(version), "path": path}))
    with found["file"] as fh:
        data: bytes = fh.read(FILE_LIMIT + 1)
    if len(data) > FILE_LIMIT:
        raise InvalidParameter(f"{path} is over {FILE_LIMIT // 1024} KB: download it instead")
    return data


def _example(files: ModelFiles, data: bytes) -> None:
    example = json.loads(data)
    if isinstance(example, dict) and isinstance(example.get("columns"), list) and isinstance(example.get("data"), list):
        files.example_columns = [str(c) for c in example["columns"]]
        files.example_rows = [list(r) if isinstance(r, list) else [r] for r in example["data"][:EXAMPLE_ROWS]]
        files.example_total = len(example["data"])
    else:
        files.example_text = json.dumps(example, indent=2, ensure_ascii=False)[:FILE_LIMIT]


def model_files(ui: UIRequest, mv: ModelVersion) -> ModelFiles:
    """Read MLmodel, requirements.txt, the input example and the training profile; what cannot be read
    becomes a note."""
    files = ModelFiles()
    try:
        manifest = Model.from_yaml(_read(ui.ctx, mv.name, mv.version, "MLmodel").decode("utf-8", errors="replace"))
    except DockyardError as exc:
        files.notes.append(f"MLmodel: {exc.message}")
        return files
    files.found = True
    files.flavors = sorted(manifest.flavors)
    files.created = manifest.utc_time_created or None
    if manifest.signature is not None:
        for part, text in manifest.signature.to_dict().items():
            rows = signature_rows(text)
            if rows:
                files.signature[part] = rows
    try:
        text = _read(ui.ctx, mv.name, mv.version, "requirements.txt").decode("utf-8", errors="replace")
        files.requirements = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    except DockyardError as exc:
        files.notes.append(f"requirements.txt: {exc.message}")
    info = manifest.saved_input_example_info or {}
    example_path = info.get("artifact_path")
    if isinstance(example_path, str) and example_path:
        try:
            _example(files, _read(ui.ctx, mv.name, mv.version, example_path))
        except DockyardError as exc:
            files.notes.append(f"{example_path}: {exc.message}")
        except ValueError as exc:
            files.notes.append(f"{example_path}: not valid JSON ({exc})")
    try:
        _profile(files, _read(ui.ctx, mv.name, mv.version, PROFILE_FILE))
    except ArtifactNotFound:
        pass  # logged without training data: no profile
    except DockyardError as exc:
        files.notes.append(f"{PROFILE_FILE}: {exc.message}")
    except ValueError as exc:
        files.notes.append(f"{PROFILE_FILE}: {exc}")
    return files


def _run_readable(ui: UIRequest) -> Callable[[str | None], bool]:
    """Whether the caller may read an experiment (by id); runs of experiments they may not read stay hidden."""
    readable = ui.readable("experiment")
    return lambda experiment_id: experiment_id is not None and readable(str(experiment_id))


def _visible(run: RunLineage | None, readable: Callable[[str | None], bool]) -> bool:
    """A run the page may show: one the caller may read (a run that no longer exists shows as missing)."""
    return run is not None and (not run.found or readable(run.experiment_id))


@contextlib.contextmanager
def _fetcher(ui: UIRequest, name: str) -> Iterator[Callable[[str], Path]]:
    """``models:/<name>/<v>`` -> a temporary folder holding that version's MLmodel and requirements.txt:
    what :func:`dockyard.lifecycle.diff.diff_versions` reads the signatures and requirements from."""
    with tempfile.TemporaryDirectory(prefix="dockyard-ui-diff-") as root:

        def fetch(uri: str) -> Path:
            version = int(uri.rsplit("/", 1)[1])
            folder = Path(root, str(version))
            folder.mkdir(exist_ok=True)
            (folder / "MLmodel").write_bytes(_read(ui.ctx, name, version, "MLmodel"))
            with contextlib.suppress(DockyardError):  # a model without requirements.txt has none to compare
                (folder / "requirements.txt").write_bytes(_read(ui.ctx, name, version, "requirements.txt"))
            return folder

        yield fetch


def _diff(ui: UIRequest, mv: ModelVersion, against: str) -> tuple[VersionDiff | None, str | None]:
    """The diff of ``mv`` against version ``against``, or why it is not shown."""
    other = ui.registry.get_model_version(mv.name, against)
    readable = _run_readable(ui)
    for side in (mv, other):
        run = build_lineage(ui.registry, ui.tracking, side.name, side.version).run
        if run is not None and run.found and not readable(run.experiment_id):
            return None, f"version {side.version}'s run is in an experiment you may not read, so there is no diff"
    with _fetcher(ui, mv.name) as fetch:
        return diff_versions(ui.registry, ui.tracking, mv.name, mv.version, other.version, fetch=fetch), None


def model_version(ui: UIRequest) -> Response:
    """One version: what it is, its files (signature, requirements, input example), lineage, a diff."""
    name = str(ui.path_params["name"])
    ui.require("registered_model", name, "read")
    mv = ui.registry.get_model_version(name, str(ui.path_params["version"]))
    # What /dockyard/registry/lineage answers (registry.get_model_version_lineage), built from this
    # server's own tracking service.
    lineage = build_lineage(ui.registry, ui.tracking, mv.name, mv.version)
    readable = _run_readable(ui)
    others = ui.registry.search_model_versions(
        _versions_filter(mv.name), max_results=DIFF_CHOICES, order_by=["version_number DESC"]
    ).items
    against = ui.query("against").strip()
    diff, diff_note = (None, None)
    if against:
        if not against.isdigit():
            raise InvalidParameter(f"against: {against!r} is not a version number")
        diff, diff_note = _diff(ui, mv, against)
    default_against = next((str(v.version) for v in others if v.version < mv.version), "")
    shown_run = lineage.run is not None and lineage.run.found and readable(lineage.run.experiment_id)
    parents = [p for p in lineage.parents if _visible(p, readable)]
    # The datasets of the run and of its parents (a nested training run's data is often logged on the
    # parent, as the demo does), each with the run that logged it.
    datasets = [(d, r) for r in ([lineage.run] if shown_run and lineage.run else []) + parents for d in r.datasets]
    experiment_name = None
    if shown_run and lineage.run is not None and lineage.run.experiment_id is not None:
        with contextlib.suppress(ExperimentNotFound):
            experiment_name = ui.tracking.get_experiment(lineage.run.experiment_id).name
    return ui.render(
        "models/version.html",
        mv=mv,
        files=model_files(ui, mv),
        profile_limit=PROFILE_COLUMNS,
        lineage=lineage,
        run=lineage.run,
        show_run=shown_run,
        experiment_name=experiment_name,
        parents=parents,
        datasets=datasets,
        others=[v for v in others if v.version != mv.version],
        against=against or default_against,
        diff=diff,
        diff_note=diff_note,
        changed_only=ui.query("changed") == "1",
        can_manage=ui.can("registered_model", mv.name, "manage"),
        base=model_url(mv.name),
    )


ROUTES = [
    ("GET", "/models", registered_models),
    ("GET", "/models/{name:path}/versions/{version}", model_version),
    ("POST", "/models/{name:path}/promote", promote),
    ("POST", "/models/{name:path}/rollback", rollback),
    ("GET", "/models/{name:path}", registered_model),
]
