"""The client side of the server benchmarks: one workload against a running tracking server.

    python benchmarks/server_workloads.py LIBRARY WORKLOAD COUNT [ARG]

LIBRARY is the client library, ``mlflow`` or ``dockyard``. The server is not named here: the client
finds it through its own variable, ``MLFLOW_TRACKING_URI`` or ``DOCKYARD_TRACKING_URI``
(``http://127.0.0.1:PORT``), which ``benchmarks/server_bench.py`` sets when it starts this file in a
fresh interpreter, once per measurement, against a fresh server. The result is the one JSON line
printed last on stdout.

Workloads:

- ``log_metric N``: N ``log_metric`` calls of the fluent API in one run; the timed section ends with
  ``end_run()`` (Dockyard's background logger writes what it still holds there).
- ``log_batch N``: N metric points through the client's ``log_batch``, 1,000 per call, into one run;
  ``set_terminated`` is timed.
- ``search N``: ``search_runs`` with a metric and a param filter and an order by a metric, once to warm
  up, then N times; each call timed. The result is checked against the expected runs.
- ``prefill N STORE``: not a measurement. Writes N runs (metrics ``acc`` and ``loss``, param ``lr``) into
  the store a server will then open (MLflow: the SQLite URI, through ``SqlAlchemyStore``; Dockyard: the
  database path, through ``Client``), before that server starts.
- ``artifacts MB``: ``log_artifact`` of a file of MB megabytes in a run, then ``download_artifacts`` of
  it; each way timed, the copy compared with the original. Dirty pages are flushed (``os.sync``) before
  each timed transfer, so neither pays for the disk write-back of data written before its clock started.

Every workload reads its data back after the clock has stopped and fails when anything is missing.
``log_metric`` and ``log_batch`` also report the CPU time the client process itself used in the timed
section (``client_cpu_seconds``), which bounds the rate a client can reach against any server.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import shutil
import sys
import tempfile
import time

WORKLOADS = ("log_metric", "log_batch", "search", "prefill", "artifacts")
BATCH = 1000  # metric points per log_batch call (MLflow's per-call limit)
EXPERIMENT = "bench"

# The search workload: the data written by prefill and the query timed against it.
SEED = 20261127
LEARNING_RATES = ("0.1", "0.01", "0.001", "0.0001", "1e-05")
SEARCH_FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
SEARCH_ORDER = ["metrics.loss ASC"]
SEARCH_MAX = 100


def search_data(n: int) -> list[tuple[float, str, float]]:
    """(acc, lr, loss) of run i, the same in every process."""
    rng = random.Random(SEED)  # noqa: S311  seeded benchmark data, nothing secret
    return [(rng.random(), LEARNING_RATES[rng.randrange(len(LEARNING_RATES))], rng.random()) for _ in range(n)]


def expected_losses(n: int) -> list[float]:
    hits = sorted(loss for acc, lr, loss in search_data(n) if acc > 0.5 and lr == "0.01")
    return hits[:SEARCH_MAX]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"workload check failed: {message}")


def _client(lib):
    if lib.__name__ == "mlflow":
        from mlflow import MlflowClient

        return MlflowClient()
    return lib.Client()


def _metric_class(lib):
    if lib.__name__ == "mlflow":
        from mlflow.entities import Metric

        return Metric
    return lib.Metric


# ---------------------------------------------------------------------------------------- workloads


def log_metric(lib, n: int) -> dict:
    """n log_metric calls in one run (key "loss", step i); the run's end is timed."""
    lib.set_experiment(EXPERIMENT)
    run_id = lib.start_run().info.run_id
    log = lib.log_metric
    t0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        log("loss", 1.0 / (i + 1), step=i)
    lib.end_run()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    history = _client(lib).get_metric_history(run_id, "loss")
    _check(len(history) == n, f"{len(history)} of {n} points stored")
    return {"seconds": elapsed, "unit": "calls/s", "client_cpu_seconds": cpu}


def log_batch(lib, n: int) -> dict:
    """n metric points, BATCH per log_batch call, into one run made by create_run (not timed)."""
    experiment_id = lib.set_experiment(EXPERIMENT).experiment_id
    client = _client(lib)
    metric = _metric_class(lib)
    run_id = client.create_run(experiment_id).info.run_id
    ts = int(time.time() * 1000)
    chunks = [
        [metric("loss", 1.0 / (i + 1), ts, i) for i in range(start, min(start + BATCH, n))]
        for start in range(0, n, BATCH)
    ]
    t0, cpu0 = time.perf_counter(), time.process_time()
    for chunk in chunks:
        client.log_batch(run_id, metrics=chunk)
    client.set_terminated(run_id)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    history = client.get_metric_history(run_id, "loss")
    _check(len(history) == n, f"{len(history)} of {n} points stored")
    return {"seconds": elapsed, "unit": "points/s", "calls": len(chunks), "client_cpu_seconds": cpu}


def prefill(lib, n: int, store: str) -> dict:
    """Write the search workload's n runs straight into a store, before its server starts (not timed
    by the benchmark; the time is reported for information)."""
    data = search_data(n)
    ts = int(time.time() * 1000)
    t0 = time.perf_counter()
    if lib.__name__ == "mlflow":
        from mlflow.entities import Metric, Param
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        sql_store = SqlAlchemyStore(store, "mlflow-artifacts:/")
        experiment_id = sql_store.create_experiment(EXPERIMENT)
        for i, (acc, lr, loss) in enumerate(data):
            run_id = sql_store.create_run(experiment_id, "bench", ts + i, [], f"run-{i}").info.run_id
            sql_store.log_batch(
                run_id,
                metrics=[Metric("acc", acc, ts + i, 0), Metric("loss", loss, ts + i, 0)],
                params=[Param("lr", lr)],
                tags=[],
            )
    else:
        client = lib.Client(store)
        experiment_id = client.create_experiment(EXPERIMENT)
        for i, (acc, lr, loss) in enumerate(data):
            run = client.create_run(experiment_id, start_time=ts + i, run_name=f"run-{i}", user_id="bench")
            run_id = run.info.run_id
            client.log_batch(
                run_id,
                metrics=[lib.Metric("acc", acc, ts + i, 0), lib.Metric("loss", loss, ts + i, 0)],
                params=[lib.Param("lr", lr)],
            )
        client.close()
    return {"seconds": time.perf_counter() - t0, "unit": "runs/s", "experiment_id": str(experiment_id)}


def search(lib, n: int, runs: int) -> dict:
    """One warm-up and n timed search_runs calls over the prefilled experiment of `runs` runs."""
    client = _client(lib)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    _check(experiment is not None, f"no experiment {EXPERIMENT!r} on the server")
    ids = [experiment.experiment_id]
    expected = expected_losses(runs)
    times = []
    found = []
    for i in range(n + 1):
        t0 = time.perf_counter()
        result = client.search_runs(
            experiment_ids=ids, filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=SEARCH_MAX
        )
        elapsed = time.perf_counter() - t0
        found = list(result)
        if i:  # the first call is the warm-up
            times.append(elapsed)
    losses = [r.data.metrics["loss"] for r in found]
    _check(len(found) == len(expected), f"{len(found)} runs found, {len(expected)} expected")
    _check(
        all(r.data.params.get("lr") == "0.01" and r.data.metrics["acc"] > 0.5 for r in found), "a run fails the filter"
    )
    _check(all(abs(a - b) < 1e-12 for a, b in zip(losses, expected, strict=True)), "not the expected runs in order")
    times.sort()
    median = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    return {"seconds": median, "unit": "s", "samples": times, "found": len(found), "count": n}


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def artifacts(lib, megabytes: int) -> dict:
    """Upload a file of `megabytes` MB with log_artifact, then download it with download_artifacts."""
    lib.set_experiment(EXPERIMENT)
    work = tempfile.mkdtemp(prefix="artifacts-", dir=os.getcwd())
    source = os.path.join(work, "big.bin")
    with open(source, "wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1 << 20))
    digest = _sha256(source)
    size = os.path.getsize(source)
    with lib.start_run() as run:
        run_id = run.info.run_id
        os.sync()  # the file just written (and earlier measurements' files) go to disk outside the clock
        t0 = time.perf_counter()
        lib.log_artifact(source)
        upload = time.perf_counter() - t0
    target = os.path.join(work, "download")
    os.mkdir(target)
    os.sync()  # the server's copy is written back to disk before the download is timed
    if lib.__name__ == "mlflow":
        download_artifacts = importlib.import_module("mlflow.artifacts").download_artifacts
        t0 = time.perf_counter()
        local = download_artifacts(run_id=run_id, artifact_path="big.bin", dst_path=target)
    else:
        client = lib.Client()
        t0 = time.perf_counter()
        local = client.download_artifacts(run_id, "big.bin", target)
    download = time.perf_counter() - t0
    _check(os.path.getsize(local) == size and _sha256(local) == digest, "the downloaded file differs")
    shutil.rmtree(work, ignore_errors=True)
    mb = size / 1e6
    return {
        "seconds": upload + download,
        "unit": "MB/s",
        "megabytes": mb,
        "upload_seconds": upload,
        "download_seconds": download,
        "upload_rate": mb / upload,
        "download_rate": mb / download,
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or argv[0] not in ("mlflow", "dockyard") or argv[1] not in WORKLOADS:
        print(__doc__, file=sys.stderr)
        return 2
    module, workload, n = argv[0], argv[1], int(argv[2])
    lib = importlib.import_module(module)
    if workload == "prefill":
        result = prefill(lib, n, argv[3])
    elif workload == "search":
        result = search(lib, n, int(argv[3]))
    else:
        result = globals()[workload](lib, n)
    result.setdefault("count", n)
    result.update(
        module=module,
        version=getattr(lib, "__version__", "?"),
        workload=workload,
        rate=result["count"] / result["seconds"] if result["seconds"] > 0 else float("inf"),
    )
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
