"""Load and soak of `dockyard server`: many concurrent clients, mixed reads and writes, searches included.

    python benchmarks/load_bench.py [--url URL | --backend URI] [--clients N] [--seconds S] [--workers N]
                                    [--sample-every S] [--json] [--write-results]

Each client is one asyncio task with a connection of its own and a run of its own (a new one every
RUN_LENGTH calls), looping over a mix of calls (weights in MIX): log-batch, log-metric, runs/get,
runs/search with a filter, metric history, experiments/search. Every answer's latency and status is
recorded; the report gives the request rate, p50/p95/p99/max latency, the count of 5xx answers and of
transport errors (a hang or a dropped connection). With ``--backend`` the script starts `dockyard server
--workers N --no-auth` itself on that database (PostgreSQL for the numbers in RESULTS.md) and samples
the memory (RSS) of its process tree every ``--sample-every`` seconds: the soak (``--seconds 600``)
shows whether memory stays flat. ``tests/reliability/test_load.py`` runs it for a few seconds and
asserts zero 5xx; the figures are recorded, not asserted. ``--write-results`` appends a section to
RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
API = "/api/2.0/mlflow"

# Relative weights of the calls in the mix.
MIX = {
    "log-batch": 35,
    "log-metric": 15,
    "runs/get": 15,
    "runs/search": 15,
    "metrics/get-history": 10,
    "experiments/search": 10,
}
TIMEOUT = 30.0  # seconds: an answer slower than this counts as a transport error (a hang)
# Calls per run before a client starts a new one. A run that grew for ten minutes would make every read
# of it slower and bigger, and the soak would measure the data's growth instead of the server's memory.
RUN_LENGTH = 200


@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int = 0
    by_call: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    transport_errors: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    rate: float = 0.0
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    errors: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.99)
    4.0
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


async def _client(
    index: int, url: str, experiment: str, deadline: float, latencies: list[float], result: LoadResult
) -> None:
    import httpx2

    rng = random.Random(index)  # noqa: S311  # a reproducible mix, not a secret
    calls, weights = list(MIX), list(MIX.values())
    async with httpx2.AsyncClient(base_url=url + API, timeout=TIMEOUT) as http:
        step = 0
        run_id = ""
        while time.monotonic() < deadline:
            if step % RUN_LENGTH == 0:  # a fresh run now and then: each call's work stays the same size
                created = await http.post("/runs/create", json={"experiment_id": experiment, "start_time": 1})
                run_id = created.json()["run"]["info"]["run_id"]
            call = rng.choices(calls, weights)[0]
            step += 1
            now = int(time.time() * 1000)
            started = time.perf_counter()
            try:
                if call == "log-batch":
                    metrics = [
                        {"key": f"m{k}", "value": rng.random(), "timestamp": now, "step": step} for k in range(10)
                    ]
                    params = [{"key": f"p{step}", "value": str(step)}]
                    body = {
                        "run_id": run_id,
                        "metrics": metrics,
                        "params": params,
                        "tags": [{"key": "t", "value": "x"}],
                    }
                    response = await http.post("/runs/log-batch", json=body)
                elif call == "log-metric":
                    body = {"run_id": run_id, "key": "loss", "value": rng.random(), "timestamp": now, "step": step}
                    response = await http.post("/runs/log-metric", json=body)
                elif call == "runs/get":
                    response = await http.get("/runs/get", params={"run_id": run_id})
                elif call == "runs/search":
                    body = {"experiment_ids": [experiment], "filter": "metrics.m0 > 0.5", "max_results": 50}
                    response = await http.post("/runs/search", json=body)
                elif call == "metrics/get-history":
                    response = await http.get("/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
                else:
                    response = await http.post("/experiments/search", json={"max_results": 100})
            except httpx2.TransportError as exc:
                result.transport_errors += 1
                result.errors.append(f"{call}: {type(exc).__name__}: {exc}"[:200])
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            result.by_call[call] = result.by_call.get(call, 0) + 1
            status = str(response.status_code)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if response.status_code >= 500:
                result.server_errors += 1
                result.errors.append(f"{call}: {response.status_code} {response.text[:150]}")
            elif response.status_code != 200:
                result.errors.append(f"{call}: {response.status_code} {response.text[:150]}")


async def _load(url: str, clients: int, seconds: float, experiment: str) -> LoadResult:
    result = LoadResult(clients, seconds)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(_client(i, url, experiment, deadline, latencies, result) for i in range(clients)))
    elapsed = time.monotonic() - started
    result.seconds = round(elapsed, 1)
    result.rate = round(result.requests / elapsed, 1) if elapsed else 0.0
    result.p50_ms, result.p95_ms, result.p99_ms = (round(percentile(latencies, q), 1) for q in (0.5, 0.95, 0.99))
    result.max_ms = round(max(latencies, default=0.0), 1)
    result.errors = result.errors[:20]
    return result


def run_load(url: str, *, clients: int = 64, seconds: float = 10.0, experiment_name: str | None = None) -> LoadResult:
    """Drive the server at ``url`` (no auth) with ``clients`` concurrent clients for ``seconds``."""
    import httpx2

    name = experiment_name or f"load-{int(time.time() * 1000)}"
    created = httpx2.post(f"{url}{API}/experiments/create", json={"name": name}, timeout=TIMEOUT)
    created.raise_for_status()
    return asyncio.run(_load(url, clients, seconds, created.json()["experiment_id"]))


# ------------------------------------------------------------------------------- the server itself


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return round(total / 1024 / 1024, 1)


def start_server(backend: str, workers: int, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx2

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable, "-m", "dockyard", "server", "--no-auth", "--no-access-log", "--port", str(port),
        "--workers", str(workers), "--backend-store-uri", backend, "--artifacts-destination", str(folder / "artifacts"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"dockyard server exited: {(folder / 'server.log').read_text()}")
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("dockyard server did not start in 120 s")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def run_with_server(backend: str, workers: int, clients: int, seconds: float, sample_every: float) -> LoadResult:
    """Start a server on ``backend``, load it, and sample its memory meanwhile."""
    import threading

    with tempfile.TemporaryDirectory(prefix="dockyard-load-") as tmp:
        proc, url = start_server(backend, workers, Path(tmp))
        samples: list[tuple[float, float]] = []
        done = threading.Event()
        began = time.monotonic()

        def sample() -> None:
            while not done.wait(sample_every):
                samples.append((round(time.monotonic() - began, 1), tree_rss_mb(proc.pid)))

        samples.append((0.0, tree_rss_mb(proc.pid)))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            result = run_load(url, clients=clients, seconds=seconds)
        finally:
            done.set()
            sampler.join()
            samples.append((round(time.monotonic() - began, 1), tree_rss_mb(proc.pid)))
            stop_server(proc)
        result.rss_mb = samples
        return result


def markdown(result: LoadResult, backend: str, workers: int) -> str:
    from datetime import UTC, datetime

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    kind = "PostgreSQL" if backend.startswith("postgres") else "SQLite"
    lines = [
        f"### Load: {result.clients} clients for {result.seconds:g} s, {workers} workers on {kind} ({when})",
        "",
        f"`python benchmarks/load_bench.py --backend ... --workers {workers} --clients {result.clients} "
        f"--seconds {result.seconds:g}` on {os.cpu_count()} CPUs; the clients run on the same machine "
        f"(load average {os.getloadavg()[0]:.1f} at the end).",
        "",
        "| requests | rate (req/s) | p50 ms | p95 ms | p99 ms | max ms | 5xx | transport errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result.requests:,} | {result.rate:,.1f} | {result.p50_ms} | {result.p95_ms} | {result.p99_ms} "
        f"| {result.max_ms} | {result.server_errors} | {result.transport_errors} |",
        "",
        "Calls: " + ", ".join(f"{call} {count:,}" for call, count in sorted(result.by_call.items())) + ".",
    ]
    if result.rss_mb:
        first, last = result.rss_mb[0][1], result.rss_mb[-1][1]
        peak = max(mb for _t, mb in result.rss_mb)
        lines += [
            "",
            f"Memory of the server's process tree (RSS): {first} MB at the start, {last} MB at the end, "
            f"peak {peak} MB ({len(result.rss_mb)} samples: "
            + ", ".join(f"{t:g}s {mb}" for t, mb in result.rss_mb[:: max(1, len(result.rss_mb) // 12)])
            + ").",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running server (without auth) to load")
    target.add_argument("--backend", help="a database URI: start `dockyard server` on it")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--write-results", action="store_true", help="append a section to RESULTS.md")
    args = parser.parse_args()
    if args.url:
        result = run_load(args.url, clients=args.clients, seconds=args.seconds)
        backend = "unknown"
    else:
        result = run_with_server(args.backend, args.workers, args.clients, args.seconds, args.sample_every)
        backend = args.backend
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(markdown(result, backend, args.workers))
    if args.write_results:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n" + markdown(result, backend, args.workers))
    return 1 if result.server_errors or result.transport_errors else 0


if __name__ == "__main__":
    sys.exit(main())
