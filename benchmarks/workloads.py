"""One benchmark workload, run against MLflow or Dockyard through the API names they share.

    python benchmarks/workloads.py MODULE WORKLOAD COUNT

MODULE is ``mlflow`` or ``dockyard``; WORKLOAD is ``log_metric``, ``log_batch``, ``log_param`` or
``runs``; COUNT is how many calls, points or runs. ``benchmarks/bench.py`` starts this file in a fresh
interpreter, in a fresh empty directory, once per (module, workload), and reads the one JSON line it
prints last on stdout.

The same code drives both libraries. Only the store differs, and each gets its default embedded one:
MLflow the SQLite file ``sqlite:///<cwd>/mlflow.db``, Dockyard nothing configured (``./.dockyard/``).

What is timed (``time.perf_counter``) is the workload alone: not the interpreter start, the import, the
creation of the database or of the experiment. The clock stops only after the data is durable: every
timed section ends with ``end_run()`` (or ``set_terminated``), which in Dockyard writes whatever its
background logger still has queued, so the queue cannot hide work. A check after the clock has stopped
reads the data back and fails the workload when anything is missing.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

WORKLOADS = ("log_metric", "log_batch", "log_param", "runs")
BATCH = 1000  # metric points per log_batch call (MLflow's per-call limit)


def _setup(lib):
    """Point the library at its default embedded store and make the experiment (not timed)."""
    if lib.__name__ == "mlflow":
        lib.set_tracking_uri(f"sqlite:///{os.path.join(os.getcwd(), 'mlflow.db')}")
    # Dockyard: nothing to configure; ./.dockyard/ in the current directory is its default.
    return lib.set_experiment("bench").experiment_id


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


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"workload check failed: {message}")


def log_metric(lib, n: int) -> dict:
    """n log_metric calls in one run (key "loss", step i); the run's end is timed."""
    _setup(lib)
    run_id = lib.start_run().info.run_id
    log = lib.log_metric
    t0 = time.perf_counter()
    for i in range(n):
        log("loss", 1.0 / (i + 1), step=i)
    lib.end_run()
    elapsed = time.perf_counter() - t0
    history = _client(lib).get_metric_history(run_id, "loss")
    _check(len(history) == n, f"{len(history)} of {n} points stored")
    return {"seconds": elapsed, "unit": "calls/s"}


def log_batch(lib, n: int) -> dict:
    """n metric points through Client.log_batch, BATCH per call, into one run made by create_run.

    The Metric objects are built before the clock starts; set_terminated is timed.
    """
    experiment_id = _setup(lib)
    client = _client(lib)
    metric = _metric_class(lib)
    run_id = client.create_run(experiment_id).info.run_id
    ts = int(time.time() * 1000)
    chunks = [
        [metric("loss", 1.0 / (i + 1), ts, i) for i in range(start, min(start + BATCH, n))]
        for start in range(0, n, BATCH)
    ]
    t0 = time.perf_counter()
    for chunk in chunks:
        client.log_batch(run_id, metrics=chunk)
    client.set_terminated(run_id)
    elapsed = time.perf_counter() - t0
    history = client.get_metric_history(run_id, "loss")
    _check(len(history) == n, f"{len(history)} of {n} points stored")
    return {"seconds": elapsed, "unit": "points/s", "calls": len(chunks)}


def log_param(lib, n: int) -> dict:
    """n log_param calls (distinct keys) in one run; the run's end is timed."""
    _setup(lib)
    run_id = lib.start_run().info.run_id
    log = lib.log_param
    t0 = time.perf_counter()
    for i in range(n):
        log(f"param_{i}", i)
    lib.end_run()
    elapsed = time.perf_counter() - t0
    params = _client(lib).get_run(run_id).data.params
    _check(len(params) == n, f"{len(params)} of {n} params stored")
    return {"seconds": elapsed, "unit": "params/s"}


def runs(lib, n: int) -> dict:
    """n runs, each: start_run(), log_params (5), log_metrics (5), end. All of it is timed."""
    _setup(lib)
    params = {f"p{j}": j for j in range(5)}
    last = None
    t0 = time.perf_counter()
    for i in range(n):
        with lib.start_run() as run:
            lib.log_params(params)
            lib.log_metrics({f"m{j}": i + j / 10 for j in range(5)})
        last = run.info.run_id
    if lib.__name__ == "dockyard":
        lib.flush()  # its background writes (the reproducibility files) count too
    elapsed = time.perf_counter() - t0
    if last is not None:
        data = _client(lib).get_run(last).data
        _check(len(data.params) == 5 and len(data.metrics) == 5, "the last run lacks params or metrics")
    return {"seconds": elapsed, "unit": "runs/s"}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("mlflow", "dockyard") or argv[1] not in WORKLOADS:
        print(__doc__, file=sys.stderr)
        return 2
    module, workload, n = argv[0], argv[1], int(argv[2])
    lib = importlib.import_module(module)
    result = globals()[workload](lib, n)
    result.update(
        module=module,
        version=getattr(lib, "__version__", "?"),
        workload=workload,
        count=n,
        rate=n / result["seconds"] if result["seconds"] > 0 else float("inf"),
    )
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
