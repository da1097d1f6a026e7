"""The scoring server of a serving bundle (``dockyard package``): ``python -m dockyard.serving.bundle DIR``.

A bundle is a folder that ``dockyard package`` wrote: ``model/`` (the model's files), ``bundle.json``
(what the model is, its ``MLmodel`` as JSON, how to load it) and ``runtime/`` (this package, the serving
modules only). Its ``serve`` script puts ``runtime/`` on ``PYTHONPATH`` and runs this module with the
``python`` on ``PATH``, the environment made from the bundle's ``requirements.txt``. That environment
holds the HTTP server stack, numpy and the model's own libraries: nothing here may import the tracking
store, the registry, the CLI (click) or a YAML parser, which is why the ``MLmodel`` travels as JSON.

This module is the bundle's composition root, as the CLI is ``dockyard serve``'s: it reads its arguments
(``serve`` passes ``$PORT``, ``$WORKERS`` and ``$HOST`` on), loads the model, builds the scoring app with
:func:`~dockyard.serving.app.create_scoring_app` and runs it with uvicorn in this process.

    >>> read_bundle("/no/such/bundle")
    Traceback (most recent call last):
    ...
    dockyard.core.errors.InvalidModel: /no/such/bundle is not a serving bundle: missing file bundle.json
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import DockyardError, InvalidModel, MissingExtra

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from dockyard.serving.model import ServedModel

BUNDLE_FILE = "bundle.json"
MODEL_DIR = "model"
FORMAT = 1  # bundle.json's "format": a runtime refuses a bundle written for a later one


@dataclass(frozen=True)
class BundleInfo:
    """What ``bundle.json`` says: the model, where it came from, and how to load it."""

    directory: Path
    model_uri: str
    name: str | None
    version: str | None
    digest: str | None
    mlmodel: dict[str, Any]
    allow_pickle: bool = False
    trusted_types: tuple[str, ...] = ()

    @property
    def model_dir(self) -> Path:
        return self.directory / MODEL_DIR


def read_bundle(directory: str | os.PathLike[str]) -> BundleInfo:
    """Parse ``DIR/bundle.json``; InvalidModel names what is missing or malformed."""
    root = Path(directory)
    path = root / BUNDLE_FILE
    if not path.is_file():
        raise InvalidModel(f"{root} is not a serving bundle: missing file {BUNDLE_FILE}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidModel(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("mlmodel"), dict):
        raise InvalidModel(f"{path}: field 'mlmodel' must be the model's MLmodel as a JSON object")
    if int(data.get("format") or 0) > FORMAT:
        raise InvalidModel(
            f"{path}: bundle format {data.get('format')} is newer than this runtime reads ({FORMAT}); "
            "package the model again with this Dockyard"
        )
    model = data.get("model") or {}
    loading = data.get("loading") or {}
    return BundleInfo(
        directory=root,
        model_uri=str(model.get("uri") or root / MODEL_DIR),
        name=model.get("name"),
        version=None if model.get("version") is None else str(model["version"]),
        digest=model.get("digest"),
        mlmodel=data["mlmodel"],
        allow_pickle=bool(loading.get("allow_pickle", False)),
        trusted_types=tuple(str(t) for t in loading.get("trusted_types") or ()),
    )


def load_bundle_model(info: BundleInfo, *, warm: bool = True) -> ServedModel:
    """The bundle's model, loaded from ``model/`` with the bundle's load policy (``warm``: run the input
    example through it once, so the first request pays no lazy setup)."""
    from dockyard.models.loading import load_predictor
    from dockyard.models.manifest import Model
    from dockyard.serving.model import ServedModel, warm_up

    predictor = load_predictor(
        info.model_dir,
        allow_pickle=info.allow_pickle,
        trusted_types=info.trusted_types,
        metadata=Model.from_dict(info.mlmodel),
    )
    if warm:
        warm_up(predictor)
    return ServedModel(predictor, info.model_uri, info.name, info.version)


def build_app(
    directory: str, model_name: str | None = None, metrics_dir: str | None = None, inline_predict_ms: float = 2.0
) -> Starlette:
    """Load the bundle's model and build its scoring app (called once per worker process; ``metrics_dir``:
    the folder the workers share so that ``/metrics`` answers for all of them; ``inline_predict_ms``:
    :attr:`~dockyard.serving.app.ServingOptions.inline_predict_ms`)."""
    from dockyard.models.enforce import has_pandas
    from dockyard.serving.app import ServingOptions, create_scoring_app

    if not has_pandas():
        # Without pandas a table's numeric columns reach a scikit-learn model as one array in the
        # signature's order, the order it was fitted with: its warning that the array has no column names
        # would be logged at every request and says nothing here.
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)

    served = load_bundle_model(read_bundle(directory))
    options = ServingOptions(model_name=model_name, metrics_dir=metrics_dir, inline_predict_ms=inline_predict_ms)
    app = create_scoring_app(served, options)
    # The model and its libraries live as long as the process: keep them out of the collector's full scans.
    gc.collect()
    gc.freeze()
    return app


def run(
    directory: str,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    model_name: str | None,
    inline_predict_ms: float = 2.0,
) -> None:
    """Serve the bundle with uvicorn in this process (``workers > 1``: that many worker processes)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingExtra("uvicorn", "serve") from None
    common: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": False}
    build = functools.partial(build_app, directory, model_name, inline_predict_ms=inline_predict_ms)
    if workers == 1:
        app = build()  # load before listening: a model that cannot load fails here
        uvicorn.Server(uvicorn.Config(app, **common)).run()
        return
    read_bundle(directory)  # a bundle that is not one fails before any worker starts
    from uvicorn.supervisors import Multiprocess

    with tempfile.TemporaryDirectory(prefix="dockyard-bundle-metrics-") as shared:
        build = functools.partial(build_app, directory, model_name, shared, inline_predict_ms)
        config = uvicorn.Config(build, factory=True, workers=workers, **common)
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number (0-65535), got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="serve", description="Serve the model of a Dockyard serving bundle (all of `dockyard serve`'s routes)."
    )
    parser.add_argument("bundle", help="the bundle's folder (the one holding bundle.json)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0)")  # noqa: S104  a container's server listens on every interface
    parser.add_argument("--port", type=_port, default=8080, help="port (default: 8080)")
    parser.add_argument("--workers", type=_positive, default=1, help="worker processes (default: 1)")
    parser.add_argument(
        "--name", default=None, help="the model's name under /v2/models/ (default: its registered name)"
    )
    parser.add_argument(
        "--inline-predict-ms",
        type=float,
        default=2.0,
        help="predict requests of up to 16 rows on the event loop while the model's small predicts take at most "
        "this long and no other request is being answered (default: 2; 0: never)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"], help="uvicorn's"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(
            args.bundle,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            model_name=args.name,
            inline_predict_ms=max(0.0, args.inline_predict_ms),
        )
    except DockyardError as exc:
        print(f"Error: {' '.join(exc.message.split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the bundle's serve script
    sys.exit(main())
