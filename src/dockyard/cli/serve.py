"""``dockyard serve MODEL_URI``: the scoring server for one model, run by uvicorn in this process.

The CLI is the composition root: it resolves the model URI (a path, ``runs:/``, ``models:/``...),
loads the model, builds the app with :func:`~dockyard.serving.create_scoring_app` and hands it to
uvicorn. A local model path touches neither the tracking store nor the registry, so ``dockyard[serve]``
is all a deployment needs. For ``models:/name@alias`` it builds the registry lookup the app polls to
follow the alias. With ``--workers N`` each worker process loads the model itself from the same
picklable :class:`ServeOptions`.

A model that runs code when it loads (a pickle, its ``code/``) is served only with ``--allow-pickle`` (or
``DOCKYARD_ALLOW_PICKLE=true``), and a registered version only if its files are the ones registered: the
first load and every version the alias moves to (a refused one is logged and the current one keeps
serving).
"""

from __future__ import annotations

import functools
import gc
import tempfile
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.common import CONTEXT_SETTINGS, build_settings, run_uvicorn, tracking_uri_option
from dockyard.cli.startup import listen
from dockyard.core.errors import DockyardError, MissingExtra

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from dockyard.core.config import Settings
    from dockyard.models.loading import Predictor
    from dockyard.serving.app import ServingOptions
    from dockyard.serving.model import Lookup, ServedModel


@dataclass(frozen=True)
class ServeOptions:
    model_uri: str
    settings: Settings  # settings.allow_pickle: --allow-pickle or DOCKYARD_ALLOW_PICKLE
    serving: ServingOptions
    trusted_types: tuple[str, ...] = ()  # --trusted-type: skops types trusted beyond Dockyard's list


def _registry_lookup(settings: Settings, model_uri: str) -> Lookup:
    from dockyard.lifecycle.resolution import registry_lookup
    from dockyard.models.uris import parse_model_uri
    from dockyard.registry.backends import open_registry

    parsed = parse_model_uri(model_uri)
    lookup = registry_lookup(open_registry(settings))

    def current() -> tuple[str, str]:
        # The pinned version's URI, not its source: loading it through the registry verifies its files
        # against the digest recorded when it was registered.
        _source, version = lookup(parsed)
        return f"models:/{parsed.name}/{version}", str(version)

    return current


def _loader(options: ServeOptions) -> Any:
    settings = options.settings

    def load(uri: str) -> Predictor:
        from dockyard.models.loading import load_predictor
        from dockyard.models.uris import parse_model_uri, resolve_model_uri

        if parse_model_uri(uri).kind == "path":
            directory = resolve_model_uri(uri)
        else:
            from dockyard.lifecycle.client import Client
            from dockyard.lifecycle.resolution import ModelResolver

            directory = ModelResolver(Client(settings=settings)).fetch(uri)
        return load_predictor(directory, allow_pickle=settings.allow_pickle, trusted_types=options.trusted_types)

    return load


def model_trust_options(func: Any) -> Any:
    """``--allow-pickle`` and ``--trusted-type``, shared by ``dockyard serve`` and ``dockyard predict``."""
    func = click.option(
        "--trusted-type",
        "trusted_types",
        multiple=True,
        metavar="TYPE",
        help="A type a skops model file may hold beyond those Dockyard trusts (repeatable), e.g. mypkg.MyTransformer.",
    )(func)
    return click.option(
        "--allow-pickle",
        is_flag=True,
        help="Load a model that runs code when loaded (a pickle, a whole PyTorch module, its code/): "
        "only one whose source you trust. DOCKYARD_ALLOW_PICKLE=true does the same.",
    )(func)


def trusting(settings: Settings, allow_pickle: bool) -> Settings:
    """``settings`` with ``--allow-pickle`` applied (the flag only ever adds the opt-in)."""
    return replace(settings, allow_pickle=True) if allow_pickle else settings


def load_served(options: ServeOptions, *, warm: bool = True) -> tuple[ServedModel, Lookup | None]:
    """The model to serve, and the lookup to poll when its URI names an alias (``warm``: run the input
    example through it once, so the first request pays no lazy setup)."""
    from dockyard.models.uris import parse_model_uri
    from dockyard.serving.model import ServedModel, warm_up

    parsed = parse_model_uri(options.model_uri)
    source, name, version, lookup = options.model_uri, None, None, None
    if parsed.kind == "registered":
        lookup = _registry_lookup(options.settings, options.model_uri)
        source, version = lookup()
        name = parsed.name
    predictor = _loader(options)(source)
    if warm:
        warm_up(predictor)
    served = ServedModel(predictor, options.model_uri, name, version)
    return served, lookup if parsed.alias is not None else None


def build_app(options: ServeOptions) -> Starlette:
    """Load the model and build the app (called once per worker process)."""
    from dockyard.serving.app import create_scoring_app

    served, lookup = load_served(options)
    follow = lookup is not None and options.serving.follow_interval > 0
    app = create_scoring_app(
        served,
        options.serving,
        lookup=lookup if follow else None,
        loader=_loader(options) if follow else None,
    )
    # Everything loaded so far (the model, numpy, pandas, the flavor's library) lives as long as the
    # process: keep it out of the garbage collector's full scans, which otherwise stall requests.
    gc.collect()
    gc.freeze()
    return app


def run_server(options: ServeOptions, host: str, port: int, workers: int, log_level: str) -> None:
    try:
        import uvicorn  # noqa: F401  (missing: fail before loading the model)
    except ImportError:
        raise MissingExtra("uvicorn", "serve") from None
    try:
        app = build_app(options) if workers == 1 else None  # load before listening: fail here
    except DockyardError as exc:
        raise click.ClickException(exc.message) from None
    sock = listen(host, port)  # a busy port fails here, before the banner
    port = sock.getsockname()[1]
    s = options.serving
    batching = f"batches up to {s.max_batch_size} rows" if s.max_batch_size > 1 else "no batching"
    click.echo(
        f"Dockyard scoring server for {options.model_uri} on http://{host}:{port} "
        f"({workers} worker{'s' if workers != 1 else ''}, {batching}, timeout {s.timeout:g} s)",
        err=True,
    )
    if workers == 1:
        build = functools.partial(build_app, options)
        run_uvicorn(app, build, host=host, port=port, workers=1, log_level=log_level, sock=sock)
        return
    # The workers publish their figures here, so a scrape of /metrics answers for all of them.
    with tempfile.TemporaryDirectory(prefix="dockyard-serve-metrics-") as shared:
        options = replace(options, serving=replace(options.serving, metrics_dir=shared))
        build = functools.partial(build_app, options)
        run_uvicorn(app, build, host=host, port=port, workers=workers, log_level=log_level, sock=sock)


@click.command("serve", context_settings=CONTEXT_SETTINGS)
@click.argument("model_uri", metavar="MODEL_URI")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--max-batch-size",
    default=1024,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Most rows merged into one predict call from concurrent requests (1 turns batching off).",
)
@click.option(
    "--max-batch-delay-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 10_000),
    help="How long a batch waits for more requests (0: only those already waiting).",
)
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.001, None),
    help="Seconds a request may take before it is answered 504.",
)
@click.option(
    "--model-threads",
    default=1,
    show_default=True,
    type=click.IntRange(0, 1024),
    help="Native threads (OpenMP, BLAS) one predict call may use; 0 keeps the library's default.",
)
@click.option(
    "--inline-predict-ms",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0, 1_000),
    help="Predict requests of up to 16 rows on the event loop, skipping the hop to the predict thread, "
    "while the model's recent small predicts took at most this long and no other request is being answered "
    "(scikit-learn, XGBoost, LightGBM and ONNX models; 0: never).",
)
@click.option(
    "--follow-interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, None),
    help="Seconds between registry checks when MODEL_URI is models:/NAME@ALIAS (0: never switch).",
)
@click.option(
    "--name",
    "model_name",
    default=None,
    help="The model's name under /v2/models/ [default: its registered name, else 'model'].",
)
@click.option(
    "--prediction-log",
    type=click.Path(file_okay=False),
    default=None,
    help="Write every request's inputs, outputs, latency and model version to files here.",
)
@click.option(
    "--prediction-log-format",
    default="jsonl",
    show_default=True,
    type=click.Choice(["jsonl", "parquet"]),
    help="Prediction log files: JSON Lines, or Parquet (buffered; needs pyarrow: dockyard[data]).",
)
@click.option(
    "--prediction-log-max-mb",
    default=64.0,
    show_default=True,
    type=click.FloatRange(0.001, None),
    help="Size at which a prediction log file is rotated.",
)
@click.option(
    "--monitor",
    is_flag=True,
    help="Keep a rolling window of the inputs and export drift gauges per feature on /metrics (needs a "
    "training profile).",
)
@click.option(
    "--monitor-window",
    type=click.IntRange(1, 1_000_000),
    default=1000,
    show_default=True,
    metavar="ROWS",
    help="With --monitor: the rows per feature the drift gauges are computed over.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="uvicorn's log level.",
)
@model_trust_options
@tracking_uri_option
def serve(
    model_uri: str,
    host: str,
    port: int,
    workers: int,
    max_batch_size: int,
    max_batch_delay_ms: float,
    timeout: float,
    model_threads: int,
    inline_predict_ms: float,
    follow_interval: float,
    model_name: str | None,
    prediction_log: str | None,
    prediction_log_format: str,
    prediction_log_max_mb: float,
    monitor: bool,
    monitor_window: int,
    log_level: str,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
    tracking_uri: str | None,
) -> None:
    """Serve MODEL_URI over HTTP: MLflow's /invocations, the Open Inference Protocol, /metrics.

    MODEL_URI is any model URI: a directory, runs:/RUN_ID/PATH, models:/NAME/VERSION,
    models:/NAME@ALIAS (followed when the alias moves), models:/m-ID...
    """
    import os

    from dockyard.serving.app import ServingOptions

    settings = trusting(build_settings(tracking_uri), allow_pickle)
    serving = ServingOptions(
        max_batch_size=max_batch_size,
        max_batch_delay_ms=max_batch_delay_ms,
        timeout=timeout,
        max_request_bytes=settings.max_request_bytes,
        max_inflight_bytes=settings.max_inflight_bytes,
        model_name=model_name,
        prediction_log=os.path.abspath(prediction_log) if prediction_log else None,
        prediction_log_max_bytes=int(prediction_log_max_mb * 1024 * 1024),
        prediction_log_format=prediction_log_format,
        follow_interval=follow_interval,
        model_threads=model_threads,
        inline_predict_ms=inline_predict_ms,
        monitor_window=monitor_window if monitor else 0,
    )
    run_server(ServeOptions(model_uri, settings, serving, tuple(trusted_types)), host, port, workers, log_level)
