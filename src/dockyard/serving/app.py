"""The scoring app for one model: ``create_scoring_app(model, options, ...)``.

Routes (MLflow's scoring server, the Open Inference Protocol, and operations):

| route | what |
| --- | --- |
| ``POST /invocations`` | JSON (``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``) or CSV |
| ``GET /ping``, ``GET /health`` | 200 once the model is loaded |
| ``GET /version`` | the model version answering: URI, registered name and version, model id, run id |
| ``GET /metrics`` | Prometheus text format |
| ``GET /openapi.json`` | an OpenAPI document generated from the signature |
| ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/{name}[/ready]`` | Open Inference Protocol v2 |
| ``POST /v2/models/{name}/infer`` | Open Inference Protocol v2 |

Every scoring request is read up to the body limit (413 past it), decoded (400 for malformed JSON or
CSV, or a body that cannot be decoded at all; 415 for another content type), checked against the signature
(400 naming the column) and then predicted, merged with concurrent requests (see
:mod:`dockyard.serving.batching`). What the input causes is a 400; an exception inside the model answers
500 with the error envelope; a request over ``timeout`` seconds answers 504. All are per request: the
server keeps serving. Each answer carries ``X-Dockyard-Model-Version`` (and ``X-Dockyard-Model-Id``)
naming the version that produced it, ``X-Request-Id`` and the security headers of
:mod:`dockyard.core.asgi`. Params the model's signature does not declare are ignored, as MLflow ignores
them: the answer names them in ``X-Dockyard-Warning`` and one WARNING line is logged for the request.

The request bodies held at once (read, decoded, waiting for or in a predict call) are capped at
``max_inflight_bytes`` (``DOCKYARD_MAX_INFLIGHT_BYTES``): a request that would pass the cap is answered
503 with ``Retry-After`` rather than queued, so a burst of large requests cannot exhaust the memory. A
request alone is always taken, so any body under the body limit can be scored.

Nothing here imports the tracking server, the database layer or SQLAlchemy: a registry, when there is
one, reaches the app only as the ``lookup`` function the CLI builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.__about__ import __version__
from dockyard.core.asgi import SecurityHeaders, read_body, request_id
from dockyard.core.errors import BadRequest, DockyardError, PredictionFailed, PredictionTimeout, ServerBusy
from dockyard.core.shared_metrics import CONTENT_TYPE
from dockyard.serving.batching import Batcher
from dockyard.serving.metrics import ServingMetrics
from dockyard.serving.model import AliasFollower, Loader, Lookup, ModelHolder, ServedModel
from dockyard.serving.monitoring import drift_window
from dockyard.serving.payloads import (
    WARNING_HEADER,
    Inputs,
    decode_request,
    drop_undeclared_params,
    encode_predictions,
    ignored_params_warning,
    parse_json,
)
from dockyard.serving.predlog import Entry, PredictionLog

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from dockyard.models.loading import Predictor
    from dockyard.models.signature import Schema

DEFAULT_MAX_BATCH_SIZE = 1024

logger = logging.getLogger("dockyard.serving")


@dataclass(frozen=True)
class ServingOptions:
    """How the app scores: batching, limits, the prediction log, alias polling."""

    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE  # rows per predict call; 1 turns batching off
    max_batch_delay_ms: float = 0.0  # how long a batch waits for company (0: only what is already waiting)
    timeout: float = 60.0  # seconds per request, then 504
    max_request_bytes: int = 32 * 1024 * 1024
    max_inflight_bytes: int = 256 * 1024 * 1024  # request bytes held at once; past it 503 (DOCKYARD_MAX_INFLIGHT_BYTES)
    model_name: str | None = None  # the name under /v2/models/; default: the registered name, else "model"
    prediction_log: str | None = None  # a directory for the prediction log's files
    prediction_log_max_bytes: int = 64 * 1024 * 1024
    prediction_log_format: str = "jsonl"  # or "parquet" (needs pyarrow)
    follow_interval: float = 10.0  # seconds between registry polls when following an alias
    model_threads: int = 1  # native threads (OpenMP, BLAS) per predict call; 0 keeps the library's default
    inline_predict_ms: float = 2.0  # small requests predict on the event loop while predicts take <= this (0: never)
    metrics_dir: str | None = None  # a folder the workers share, so /metrics sums them all (--workers N)
    monitor_window: int = 0  # --monitor: rows per feature in the drift window on /metrics (0: off)


Decode = Callable[[bytes, str, "Schema | None"], Inputs]
Encode = Callable[[Any, ServedModel, Inputs], bytes]
ErrorBody = Callable[[DockyardError], dict[str, Any]]


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import Response

    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class MemoryBudget:
    """Bytes of request bodies held at once, up to ``limit`` (see the module doc); the event loop's alone,
    so no lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def reservation(self) -> Reservation:
        return Reservation(self)


class Reservation:
    """One request's share of a :class:`MemoryBudget`: ``read_body``'s ``reserve``; ``release()`` at the end."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.bytes = 0

    def __call__(self, n: int) -> None:
        budget = self.budget
        if budget.held > self.bytes and budget.held + n > budget.limit:  # others hold some, and no room is left
            raise ServerBusy(
                f"the server holds its limit of {budget.limit} bytes of requests (DOCKYARD_MAX_INFLIGHT_BYTES); "
                "retry shortly"
            )
        budget.held += n
        self.bytes += n

    def release(self) -> None:
        self.budget.held -= self.bytes
        self.bytes = 0


class Scorer:
    """Everything a scoring request goes through; one per app."""

    def __init__(self, holder: ModelHolder, options: ServingOptions) -> None:
        self.holder = holder
        self.options = options
        self.memory = MemoryBudget(options.max_inflight_bytes)
        self.metrics = ServingMetrics(options.metrics_dir)
        self.metrics.model_loaded(holder.current)
        holder.on_swap(lambda old, new: self.metrics.model_loaded(new, old))
        # --monitor: drift gauges over a rolling window of the inputs, against the served version's profile.
        self.window = drift_window(holder.current, options.monitor_window) if options.monitor_window > 0 else None
        if options.monitor_window > 0:
            holder.on_swap(lambda old, new: setattr(self, "window", drift_window(new, options.monitor_window)))
        self.batcher = Batcher(
            holder,
            max_batch_size=options.max_batch_size,
            max_batch_delay=options.max_batch_delay_ms / 1000.0,
            observe=self.metrics.observe_predict,
            model_threads=options.model_threads,
            inline_ms=options.inline_predict_ms,
        )
        self.log = (
            PredictionLog(
                options.prediction_log,
                max_bytes=options.prediction_log_max_bytes,
                format=options.prediction_log_format,
            )
            if options.prediction_log
            else None
        )

    @property
    def model_name(self) -> str:
        return self.options.model_name or self.holder.current.name or "model"

    async def _score(
        self, body: bytes, content_type: str, decode: Decode, encode: Encode, ignored: list[str]
    ) -> tuple[bytes, ServedModel | None, int, BaseException | None]:
        """Decode, predict, encode; the names of the params dropped as undeclared go into ``ignored``."""
        current = self.holder.current
        try:
            inputs = decode(body, content_type, current.input_schema)
        except DockyardError:
            raise
        except RecursionError:  # JSON nested past the parser's depth
            raise BadRequest("the request body nests deeper than this server decodes") from None
        except Exception as exc:  # whatever the decoders did not foresee, the body alone caused it
            raise BadRequest(f"the request body could not be decoded ({type(exc).__name__})") from exc
        # MLflow's scoring server warns about params the signature does not declare and predicts without
        # them; so does this one (the warning is a response header and a log line).
        ignored.extend(drop_undeclared_params(inputs, current.predictor.signature))
        outcome = await self.batcher.submit(inputs)
        if outcome.error is not None or outcome.model is None:
            return b"", outcome.model, 0, outcome.error
        if self.window is not None:
            self.window.observe(inputs.data, inputs.columns, inputs.records)
        return encode(outcome.predictions, outcome.model, inputs), outcome.model, inputs.rows or 0, None

    async def handle(
        self, request: Request, endpoint: str, decode: Decode, encode: Encode, error_body: ErrorBody
    ) -> Response:
        from starlette.responses import Response

        started = time.perf_counter()
        content_type = request.headers.get("content-type", "")
        body = b""
        model: ServedModel | None = None
        rows = 0
        error: DockyardError | None = None
        ignored: list[str] = []
        reservation = self.memory.reservation()
        try:
            body = await read_body(request, self.options.max_request_bytes, reservation)
            async with asyncio.timeout(self.options.timeout):  # no extra task, unlike wait_for
                content, model, rows, failure = await self._score(body, content_type, decode, encode, ignored)
            if failure is not None:
                raise failure
        except TimeoutError:
            error = PredictionTimeout(
                f"the prediction took longer than the server's timeout of {self.options.timeout:g} s"
            )
        except DockyardError as exc:
            error = exc
        except Exception as exc:  # a bug of ours: logged with the request id, the answer says only that id
            rid = request_id(request.scope)
            logger.error("request %s failed: %s %s", rid, request.method, request.url.path, exc_info=exc)
            error = PredictionFailed(f"internal error; request id {rid}")
        finally:
            reservation.release()
        model = model or self.holder.current
        headers = {"x-dockyard-model-version": model.label, "x-dockyard-model-id": model.model_id or ""}
        if ignored:
            warning = ignored_params_warning(ignored)
            headers[WARNING_HEADER.lower()] = warning
            logger.warning("request %s: %s", request_id(request.scope), warning)
        if error is not None:
            content = json.dumps(error_body(error), separators=(",", ":")).encode()
            status = error.http_status
            if isinstance(error, ServerBusy):
                headers["retry-after"] = "1"
        else:
            status = 200
        elapsed = time.perf_counter() - started
        self.metrics.observe_request(
            endpoint, status, elapsed, model, rows, None if error is None else type(error).__name__
        )
        if self.log is not None:
            self.log.write(
                Entry(
                    endpoint,
                    status,
                    elapsed * 1000,
                    rows,
                    model.describe(),
                    body,
                    content_type,
                    content,
                    time.time(),
                    request_id(request.scope),
                )
            )
        return Response(content, status_code=status, media_type="application/json", headers=headers)

    def close(self) -> None:
        self.batcher.close()
        self.metrics.close()
        if self.log is not None:
            self.log.close()


def _decode_v2(body: bytes, content_type: str, schema: Schema | None) -> Inputs:
    from dockyard.serving.v2 import decode_infer

    payload = parse_json(body)
    inputs = decode_infer(payload, schema)
    request_id = payload.get("id") if isinstance(payload, dict) else None
    inputs.request_id = request_id if isinstance(request_id, str) else None
    return inputs


def _envelope(error: DockyardError) -> dict[str, Any]:
    """The MLflow scoring server's error body: ``error_code`` and ``message``."""
    return {"error_code": error.error_code, "message": error.message}


def _v2_error(error: DockyardError) -> dict[str, Any]:
    """The Open Inference Protocol's error body: ``error`` (the message) and ``error_code``."""
    return {"error": error.message, "error_code": error.error_code}


def _scoring_routes(scorer: Scorer) -> list[Any]:
    """``POST /invocations``, the MLflow-compatible scoring route."""
    from starlette.routing import Route

    async def invocations(request: Request) -> Response:
        return await scorer.handle(
            request, "invocations", decode_request, lambda p, _m, _i: encode_predictions(p), _envelope
        )

    return [Route("/invocations", invocations, methods=["POST"])]


def _operation_routes(scorer: Scorer) -> list[Any]:
    """Health (``/ping``, ``/health``), ``/version``, ``/metrics`` and ``/openapi.json``."""
    from starlette.responses import Response
    from starlette.routing import Route

    from dockyard.serving.openapi import openapi_document

    async def ping(request: Request) -> Response:
        return Response("\n", media_type="application/json")

    async def version(request: Request) -> Response:
        return _json({"dockyard_version": __version__, **scorer.holder.current.describe()})

    async def metrics(request: Request) -> Response:
        body = scorer.metrics.render()
        if scorer.window is not None:
            body += scorer.window.render()
        return Response(body, media_type=CONTENT_TYPE)

    async def openapi(request: Request) -> Response:
        return _json(
            openapi_document(scorer.holder.current, title=f"{scorer.model_name} scoring API", version=__version__)
        )

    return [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]


def _v2_server_routes() -> list[Any]:
    """The Open Inference Protocol's server metadata (``/v2``) and health (``/v2/health/live|ready``)."""
    from starlette.routing import Route

    async def v2_live(request: Request) -> Response:
        return _json({"live": True})

    async def v2_ready(request: Request) -> Response:
        return _json({"ready": True})

    async def v2_server(request: Request) -> Response:
        return _json({"name": "dockyard", "version": __version__, "extensions": []})

    return [
        Route("/v2", v2_server, methods=["GET"]),
        Route("/v2/health/live", v2_live, methods=["GET"]),
        Route("/v2/health/ready", v2_ready, methods=["GET"]),
    ]


def _unknown_model(scorer: Scorer, request: Request) -> Response | None:
    """A 404 answer when the request's ``{name}`` is not the served model's name, else None."""
    name = request.path_params["name"]
    if name != scorer.model_name:
        return _json({"error": f"model {name!r} is not served here (this server serves {scorer.model_name!r})"}, 404)
    return None


def _v2_model_routes(scorer: Scorer) -> list[Any]:
    """The Open Inference Protocol's model routes: metadata, readiness and ``infer`` under ``/v2/models/{name}``."""
    from starlette.routing import Route

    from dockyard.serving import v2

    def encode_v2(predictions: Any, model: ServedModel, inputs: Inputs) -> bytes:
        out: dict[str, Any] = {"model_name": scorer.model_name, "model_version": model.label}
        if inputs.request_id is not None:
            out["id"] = inputs.request_id
        out["outputs"] = v2.encode_outputs(predictions)
        return json.dumps(out, separators=(",", ":")).encode()

    async def v2_model(request: Request) -> Response:
        served = scorer.holder.current
        signature = served.predictor.signature
        outputs = None if signature is None else signature.outputs
        return _unknown_model(scorer, request) or _json(
            v2.model_metadata(scorer.model_name, served.label, served.input_schema, outputs)
        )

    async def v2_model_ready(request: Request) -> Response:
        return _unknown_model(scorer, request) or _json({"name": scorer.model_name, "ready": True})

    async def v2_infer(request: Request) -> Response:
        return _unknown_model(scorer, request) or await scorer.handle(
            request, "v2_infer", _decode_v2, encode_v2, _v2_error
        )

    return [
        Route("/v2/models/{name}", v2_model, methods=["GET"]),
        Route("/v2/models/{name}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
    ]


def _routes(scorer: Scorer) -> list[Any]:
    """Every route of the scoring app, in matching order: scoring, operations, then the v2 protocol."""
    return [
        *_scoring_routes(scorer),
        *_operation_routes(scorer),
        *_v2_server_routes(),
        *_v2_model_routes(scorer),
    ]


def create_scoring_app(
    model: Predictor | ServedModel,
    options: ServingOptions | None = None,
    *,
    lookup: Lookup | None = None,
    loader: Loader | None = None,
) -> Starlette:
    """The scoring app for one loaded model.

    With ``lookup`` (``() -> (source URI, version)``) and ``loader`` (source URI -> Predictor), the app
    polls the lookup every ``options.follow_interval`` seconds and swaps in the version it names.
    """
    try:
        from starlette.applications import Starlette
    except ImportError:
        from dockyard.core.errors import MissingExtra

        raise MissingExtra("starlette", "serve") from None
    options = options or ServingOptions()
    served = model if isinstance(model, ServedModel) else ServedModel(model, str(model.path))
    holder = ModelHolder(served)
    scorer = Scorer(holder, options)
    follower = None
    if lookup is not None and loader is not None:
        follower = AliasFollower(
            holder, lookup, loader, interval=options.follow_interval, model_uri=served.model_uri, name=served.name or ""
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()
            scorer.close()

    from starlette.middleware import Middleware

    app = Starlette(routes=_routes(scorer), lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    app.state.scorer = scorer
    app.state.holder = holder
    app.state.follower = follower
    return app


__all__ = ["ServingOptions", "create_scoring_app"]
