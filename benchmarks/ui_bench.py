"""The web UI's runs page at scale: Dockyard's page against the search request MLflow's UI makes for the same page.

    python benchmarks/ui_bench.py [--sizes 1000,10000,100000] [--repeat 9] [--no-mlflow] [--write-results]

For each size, one experiment holds that many finished runs (params ``model`` in 4 values, ``lr``,
``depth``; metrics ``auc`` and ``loss``; a tag), written straight into each tool's SQLite schema so both
serve the same rows. Then, with each server running alone (one worker, auth off, on loopback):

- **Dockyard**: ``GET /experiments/<id>?filter=params.model = 'gbm'&sort=metric:auc&dir=desc&size=100``, the
  whole HTML page (search + rendering).
- **MLflow**: ``POST /ajax-api/2.0/mlflow/runs/search`` with the body its UI sends for that page
  (``filter``, ``order_by: ["metrics.`auc` DESC"]``, ``max_results: 100``), JSON only: MLflow's page
  then renders in the browser, so this is the least MLflow's server spends on the page.

Each figure is the median of ``--repeat`` requests after one warm-up, timed by the client on loopback
(so it includes a fraction of a millisecond of HTTP). Page weight is what headless Chromium (Debian's
``chromium``, Playwright) transfers for a cold load of each UI's runs page, cache disabled, until the
network is idle. MLflow comes from ``benchmarks/.venv-mlflow`` (made by ``benchmarks/bench.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from server_bench import cpu_seconds, process_tree  # benchmarks/ is on the path when this runs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "ui"
MLFLOW_PYTHON = HERE / ".venv-mlflow" / "bin" / "python"
RESULTS = HERE / "RESULTS.md"
PAGE = 100  # runs on a page: MLflow's UI asks for 100
FILTER = "params.model = 'gbm'"
MODELS = ("gbm", "linear", "rf", "mlp")
T0 = 1_700_000_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rows(n: int) -> Iterator[tuple[str, str, int, dict[str, str], dict[str, float]]]:
    """``n`` runs: (run id, name, start time, params, metrics), the same for both tools."""
    rnd = random.Random(n)  # noqa: S311  # synthetic benchmark data, not secrets
    for i in range(n):
        params = {"model": MODELS[i % 4], "lr": str(rnd.choice((0.1, 0.01, 0.001))), "depth": str(rnd.randint(2, 12))}
        yield f"{i:032x}", f"run-{i}", T0 + i * 1000, params, {"auc": rnd.random(), "loss": rnd.random() * 3}


# ---------------------------------------------------------------------------------------- filling


def fill_dockyard(path: Path, n: int) -> str:
    """A Dockyard store at ``path`` with one experiment of ``n`` runs; returns the experiment id."""
    import sqlalchemy as sa

    from dockyard.db import Database
    from dockyard.db import tables as t
    from dockyard.tracking.service import TrackingService
    from dockyard.tracking.sql_store import SqlTrackingStore

    db = Database(f"sqlite:///{path}")
    service = TrackingService(SqlTrackingStore(db, artifact_root=str(path.parent / "artifacts")))
    experiment_id = service.create_experiment("ui-bench")
    batch = 5000
    data = list(rows(n))
    with db.write() as conn:
        series = 0
        for start in range(0, n, batch):
            chunk = data[start : start + batch]
            conn.execute(
                t.runs.insert(),
                [
                    {
                        "run_uuid": rid, "name": name, "experiment_id": int(experiment_id), "user_id": "bench",
                        "status": "FINISHED", "start_time": st, "end_time": st + 60_000, "lifecycle_stage": "active",
                        "artifact_uri": f"/nonexistent/artifacts/{rid}",
                    }
                    for rid, name, st, _p, _m in chunk
                ],
            )  # fmt: skip
            conn.execute(
                t.params.insert(),
                [{"run_uuid": r, "key": k, "value": v} for r, _n, _s, p, _m in chunk for k, v in p.items()],
            )
            conn.execute(
                t.tags.insert(),
                [
                    {"run_uuid": r, "key": k, "value": v}
                    for r, name, _s, _p, _m in chunk
                    for k, v in (("mlflow.runName", name), ("team", "bench"))
                ],
            )
            latest, points = [], []
            for rid, _n, st, _p, metrics in chunk:
                for key, value in metrics.items():
                    series += 1
                    latest.append(
                        {"series_id": series, "run_uuid": rid, "key": key, "value": value, "timestamp": st, "step": 0}
                    )
                    points.append({"series_id": series, "step": 0, "timestamp": st, "value": value})
            conn.execute(t.latest_metrics.insert(), latest)
            conn.execute(t.metrics.insert(), points)
        conn.execute(sa.text("ANALYZE"))
    db.dispose()
    return experiment_id


def fill_mlflow(path: Path, n: int) -> str:
    """An MLflow store at ``path`` (schema made by MLflow itself) with the same runs; the experiment id."""
    made = subprocess.run(  # noqa: S603  the benchmark venv's python, fixed code
        [
            str(MLFLOW_PYTHON), "-c",
            "import sys; from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as S; "
            "s = S(sys.argv[1], sys.argv[2]); print(s.create_experiment('ui-bench'))",
            f"sqlite:///{path}", str(path.parent / "mlflow-artifacts"),
        ],
        capture_output=True, text=True, check=True, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    experiment_id = made.stdout.strip().splitlines()[-1]
    conn = sqlite3.connect(path)
    columns = {row[1]: row for row in conn.execute("PRAGMA table_info(runs)")}
    data = list(rows(n))
    run_rows = []
    for rid, name, st, _p, _m in data:
        row = {
            "run_uuid": rid, "name": name, "source_type": "LOCAL", "source_name": "", "entry_point_name": "",
            "user_id": "bench", "status": "FINISHED", "start_time": st, "end_time": st + 60_000,
            "source_version": "", "lifecycle_stage": "active", "artifact_uri": f"/nonexistent/artifacts/{rid}",
            "experiment_id": int(experiment_id), "deleted_time": None,
        }  # fmt: skip
        run_rows.append({k: v for k, v in row.items() if k in columns})
    keys = list(run_rows[0])
    conn.executemany(
        f"INSERT INTO runs ({','.join(keys)}) VALUES ({','.join('?' * len(keys))})",  # noqa: S608  names from the schema
        [tuple(r[k] for k in keys) for r in run_rows],
    )
    conn.executemany(
        "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
        [(k, v, r) for r, _n, _s, p, _m in data for k, v in p.items()],
    )
    conn.executemany(
        "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
        [(k, v, r) for r, name, _s, _p, _m in data for k, v in (("mlflow.runName", name), ("team", "bench"))],
    )
    metric_rows = [(k, v, st, r, 0, 0) for r, _n, st, _p, m in data for k, v in m.items()]
    conn.executemany(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", metric_rows
    )
    conn.executemany(
        "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
        metric_rows,
    )
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return experiment_id


# ---------------------------------------------------------------------------------------- servers


@contextmanager
def running(command: list[str], url: str, log_path: Path, env: dict[str, str]) -> Iterator[int]:
    import httpx2

    with log_path.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # noqa: S603  fixed commands
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[:3]} exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx2.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[:3]} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DOCKYARD_"))}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return env


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and every process under it."""
    return sum(cpu_seconds(p) for p in process_tree(pid))


def timed(request: Callable[[], Any], repeat: int, pid: int) -> dict[str, float]:
    """Median wall milliseconds of ``repeat`` calls after a warm-up, the server's CPU milliseconds per call
    (its processes' CPU time over the calls, divided by their number: what the page costs the server on a
    machine with nothing else to do), and the size of the answer."""
    request()
    times, size = [], 0
    cpu_before = server_cpu(pid)
    for _ in range(repeat):
        started = time.perf_counter()
        answer = request()
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    cpu_ms = (server_cpu(pid) - cpu_before) * 1000 / repeat
    return {"ms": statistics.median(times), "cpu_ms": cpu_ms, "bytes": size}


def page_weight(url: str, wait_for: str) -> tuple[int, int]:
    """Bytes transferred (headers and encoded bodies) and requests for a cold load of ``url`` in Chromium,
    until the page has asked for ``wait_for`` (its runs) and the network is idle again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    total = count = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context()
        page = context.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(url, wait_until="networkidle", timeout=120_000)
        deadline = time.monotonic() + 60
        while not any(wait_for in r.url for r in responses) and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        if not any(wait_for in r.url for r in responses):
            log(f"  warning: {url} never asked for {wait_for}")
        with contextlib.suppress(PlaywrightTimeout):  # MLflow's page keeps polling: never fully idle
            page.wait_for_load_state("networkidle", timeout=10_000)
        page.wait_for_timeout(2000)
        for response in responses:
            sizes = response.request.sizes()
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            count += 1
        browser.close()
    return total, count


def dockyard_figures(root: Path, experiment_id: str, repeat: int, weigh: bool) -> dict[str, float]:
    import httpx2

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    query = urlencode({"filter": FILTER, "sort": "metric:auc", "dir": "desc", "size": PAGE})
    page = f"{url}/experiments/{experiment_id}?{query}"
    command = [
        sys.executable, "-m", "dockyard", "server", "--no-auth", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", str(root / "dockyard.db"), "--artifacts-destination", str(root / "artifacts"),
        "--no-access-log",
    ]  # fmt: skip
    with running(command, url, root / "dockyard.log", clean_env()) as pid, httpx2.Client(timeout=120) as http:
        out = timed(lambda: http.get(page), repeat, pid)
        if weigh:
            out["weight"], out["requests"] = page_weight(page, f"/experiments/{experiment_id}")
    return out


def mlflow_figures(root: Path, experiment_id: str, repeat: int, weigh: bool) -> dict[str, float]:
    import httpx2

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = {
        "experiment_ids": [experiment_id], "filter": FILTER, "run_view_type": "ACTIVE_ONLY",
        "max_results": PAGE, "order_by": ["metrics.`auc` DESC"],
    }  # fmt: skip
    command = [
        str(MLFLOW_PYTHON), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "mlflow-art"),
    ]  # fmt: skip
    with running(command, url, root / "mlflow.log", clean_env()) as pid, httpx2.Client(timeout=300) as http:
        out = timed(lambda: http.post(f"{url}/ajax-api/2.0/mlflow/runs/search", json=body), repeat, pid)
        if weigh:
            out["weight"], out["requests"] = page_weight(f"{url}/#/experiments/{experiment_id}", "runs/search")
    return out


# ---------------------------------------------------------------------------------------- report


def markdown(results: list[dict[str, object]], with_mlflow: bool) -> str:
    lines = [
        "| runs | Dockyard page: wall ms | server CPU ms | MLflow search: wall ms | server CPU ms "
        "| Dockyard / MLflow (CPU) | target: Dockyard < 300 ms |",
        "|---:|---:|---:|---:|---:|---:|:---|",
    ]
    for r in results:
        d, m = r["dockyard"], r.get("mlflow")
        ratio = f"{d['cpu_ms'] / m['cpu_ms']:.2f}" if m and m["cpu_ms"] else "-"  # type: ignore[index]
        mlflow = f"{m['ms']:.1f} | {m['cpu_ms']:.0f}" if m else "not measured | -"  # type: ignore[index]
        if d["ms"] < 300:  # type: ignore[index]
            verdict = "met"
        elif d["cpu_ms"] < 300:  # type: ignore[index]
            verdict = "met in server CPU time; wall time over it on this (loaded) machine"
        else:
            verdict = "MISSED"
        lines.append(f"| {r['runs']:,} | {d['ms']:.1f} | {d['cpu_ms']:.0f} | {mlflow} | {ratio} | {verdict} |")  # type: ignore[index]
    weighed = [r for r in results if "weight" in r["dockyard"]]  # type: ignore[operator]
    if weighed:
        r = weighed[-1]
        d, m = r["dockyard"], r.get("mlflow")
        lines += ["", "| cold load of the runs page | bytes transferred | requests |", "|---|---:|---:|"]
        lines.append(f"| Dockyard | {d['weight']:,} | {d['requests']} |")  # type: ignore[index]
        if with_mlflow and m and "weight" in m:  # type: ignore[operator]
            lines.append(f"| MLflow | {m['weight']:,} | {m['requests']} |")  # type: ignore[index]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--no-mlflow", action="store_true", help="measure Dockyard alone")
    parser.add_argument("--write-results", action="store_true", help=f"append the table to {RESULTS.name}")
    args = parser.parse_args(argv)
    with_mlflow = not args.no_mlflow
    if with_mlflow and not MLFLOW_PYTHON.exists():
        log(f"{MLFLOW_PYTHON} is missing: run benchmarks/bench.py once to make it, or pass --no-mlflow")
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()[0]
    results: list[dict[str, object]] = []
    for i, n in enumerate(sizes):
        root = WORK / f"runs-{n}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        weigh = i == len(sizes) - 1  # page weight once, at the largest size
        log(f"{n:,} runs: filling Dockyard's store")
        started = time.perf_counter()
        experiment = fill_dockyard(root / "dockyard.db", n)
        log(f"  filled in {time.perf_counter() - started:.1f}s; measuring")
        result: dict[str, object] = {"runs": n, "dockyard": dockyard_figures(root, experiment, args.repeat, weigh)}
        log(f"  Dockyard: {result['dockyard']}")
        if with_mlflow:
            log(f"{n:,} runs: filling MLflow's store")
            ml_experiment = fill_mlflow(root / "mlflow.db", n)
            result["mlflow"] = mlflow_figures(root, ml_experiment, args.repeat, weigh)
            log(f"  MLflow: {result['mlflow']}")
        results.append(result)
        shutil.rmtree(root, ignore_errors=True)
    table = markdown(results, with_mlflow)
    print(table)
    print(json.dumps(results))
    if args.write_results:
        command = "python benchmarks/ui_bench.py " + " ".join(argv)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = (
            f"\n## Web UI: the runs page at scale ({stamp})\n\n`{command.strip()}` on {os.cpu_count()} cores; "
            f"filter `{FILTER}`, sorted by `metrics.auc` descending, {PAGE} runs a page, SQLite, one worker each, "
            "median of the requests after a warm-up. Dockyard's figure is the whole HTML page; MLflow's is the "
            "JSON search its UI makes for the page (the page itself is then built in the browser).\n\n"
            f"Load average of the machine: {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
            "(wall times grow with it; CPU times do not).\n\n"
            f"{table}\n"
        )
        RESULTS.write_text(RESULTS.read_text() + section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
