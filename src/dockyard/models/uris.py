"""Model URIs: what they may look like, and the seam that turns one into a local directory.

The forms, resolved the same way everywhere (``load_model``, serving, the registry):

- a local path or ``file://`` URI: used in place;
- ``runs:/<run_id>/<path>``: a model a run logged under ``path`` (MLflow 3: its logged model of that
  name, else the run's artifacts at ``path``);
- ``models:/m-<id>``: a logged model;
- ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/<stage>``,
  ``models:/<name>/latest``: a registered model version (the registry supplies the lookup);
- any artifact URI (``s3://...``, ``mlflow-artifacts:/...``, ``http(s)://...``).

This package cannot reach a tracking store or a registry, so every non-local scheme is resolved by a
function registered under the entry-point group ``dockyard.model_uri_schemes`` (scheme name ->
``fetch(uri, dst_path) -> Path``); Dockyard registers its own there, a plugin may add more.

    >>> parse_model_uri("models:/churn@champion")
    ModelUri(kind='registered', name='churn', alias='champion')
    >>> parse_model_uri("runs:/0123abcd/model")
    ModelUri(kind='run', run_id='0123abcd', path='model')
    >>> parse_model_uri("models:/churn/Production").stage
    'Production'
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

from dockyard.core.errors import InvalidModel, InvalidParameter

GROUP = "dockyard.model_uri_schemes"
STAGES = ("none", "staging", "production", "archived")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


@dataclass(frozen=True)
class ModelUri:
    """A parsed model URI; ``kind`` is ``path``, ``run``, ``logged_model``, ``registered`` or ``artifact``."""

    kind: str
    uri: str = ""
    run_id: str | None = None
    path: str | None = None
    model_id: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    latest: bool = False

    def __repr__(self) -> str:
        fields = [f"kind={self.kind!r}"]
        for key in ("run_id", "path", "model_id", "name", "version", "alias", "stage", "latest"):
            value = getattr(self, key)
            if value not in (None, False) and not (self.kind == "path" and key == "path"):
                fields.append(f"{key}={value!r}")
        return f"ModelUri({', '.join(fields)})"


def scheme_of(uri: str) -> str | None:
    """The URI's scheme, or None for a local path (including Windows drive letters)."""
    match = _SCHEME.match(uri)
    if match is None or len(match.group(1)) == 1:
        return None
    return match.group(1).lower()


def parse_model_uri(uri: str | os.PathLike[str]) -> ModelUri:
    """Parse and validate a model URI; InvalidParameter names what is wrong."""
    text = os.fspath(uri)
    if not isinstance(text, str) or not text:
        raise InvalidParameter("model_uri must be a non-empty string")
    scheme = scheme_of(text)
    if scheme is None:
        return ModelUri("path", text, path=text)
    if scheme == "file":
        return ModelUri("path", text, path=text[len("file://") :] if text.startswith("file://") else text[5:])
    if scheme == "runs":
        rest = text[len("runs:") :].lstrip("/")
        run_id, _, path = rest.partition("/")
        if not run_id or not path.strip("/"):
            raise InvalidParameter(f"model_uri {text!r}: expected runs:/<run_id>/<path>")
        return ModelUri("run", text, run_id=run_id, path=path.strip("/"))
    if scheme == "models":
        return _parse_models(text)
    return ModelUri("artifact", text)


def _parse_models(text: str) -> ModelUri:
    rest = text[len("models:") :]
    if not rest.startswith("/") or rest.startswith("//"):
        raise InvalidParameter(
            f"model_uri {text!r}: expected models:/<name>/<version|stage|latest>, "
            "models:/<name>@<alias> or models:/m-<id>"
        )
    body = rest[1:].rstrip("/")
    if "@" in body and "/" not in body.split("@", 1)[1]:
        name, alias = body.rsplit("@", 1)
        if not name or not alias:
            raise InvalidParameter(f"model_uri {text!r}: expected models:/<name>@<alias>")
        return ModelUri("registered", text, name=name, alias=alias)
    if "/" not in body:
        if re.fullmatch(r"m-[0-9a-f]{32}", body):
            return ModelUri("logged_model", text, model_id=body)
        raise InvalidParameter(f"model_uri {text!r}: expected a version, stage, 'latest' or @alias after the name")
    name, _, suffix = body.rpartition("/")
    if not name:
        raise InvalidParameter(f"model_uri {text!r}: the model name is empty")
    if suffix.isdigit():
        return ModelUri("registered", text, name=name, version=int(suffix))
    if suffix.lower() == "latest":
        return ModelUri("registered", text, name=name, latest=True)
    if suffix.lower() in STAGES:
        return ModelUri("registered", text, name=name, stage=suffix.lower().capitalize())
    stages = ", ".join(s.capitalize() for s in STAGES)
    raise InvalidParameter(f"model_uri {text!r}: {suffix!r} is not a version number, a stage ({stages}) or 'latest'")


class RegisteredModelLookup(Protocol):
    """The registry's half of the seam: which source a registered name/version/alias/stage points at.

    Returns ``(source URI, version)``; the source is a ``models:/m-...``, ``runs:/...`` or artifact URI,
    resolved again by the same rules. Raises ResourceNotFound subclasses for unknown names.
    """

    def __call__(self, parsed: ModelUri, /) -> tuple[str, int]: ...


Fetcher = Callable[[str, "Path | None"], Path]

_lock = threading.Lock()
_fetchers: dict[str, Fetcher] = {}


def register_scheme(scheme: str, fetch: Fetcher) -> None:
    """Register a fetcher for a scheme in this process (the entry-point group does it for installs)."""
    with _lock:
        _fetchers[scheme.lower()] = fetch


def _fetcher(scheme: str) -> Fetcher:
    with _lock:
        found = _fetchers.get(scheme)
    if found is not None:
        return found
    points = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
    point = points.get(scheme)
    if point is None:
        known = ", ".join(sorted({"file", *points, *_fetchers}))
        raise InvalidParameter(f"no handler for model URIs of scheme {scheme!r} (known: {known})")
    fetch: Fetcher = point.load()
    with _lock:
        _fetchers[scheme] = fetch
    return fetch


def resolve_model_uri(uri: str | os.PathLike[str], *, dst_path: str | os.PathLike[str] | None = None) -> Path:
    """The local directory of the model ``uri`` names (downloaded when it is remote)."""
    parsed = parse_model_uri(uri)
    if parsed.kind == "path":
        path = Path(parsed.path or "").expanduser()
        if not path.exists():
            raise InvalidModel(f"{path} is not a model directory: missing file MLmodel")
        return path.resolve()
    scheme = scheme_of(parsed.uri)
    if scheme is None:  # parse_model_uri gives kind "path" to every URI without a scheme
        raise InvalidParameter(f"model URI {str(uri)!r} has no scheme")
    return _fetcher(scheme)(parsed.uri, None if dst_path is None else Path(dst_path))
