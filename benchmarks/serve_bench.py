"""Scoring servers side by side: `mlflow models serve` against `dockyard serve`, loaded by `wrk`.

    .venv/bin/python benchmarks/serve_bench.py [--duration S] [--markdown] [--write-results]

One model for both: a HistGradientBoostingClassifier on 20 numeric features (10,000 training rows),
saved once by Dockyard in the MLmodel format (MLflow loads it as it loads its own). Each server is
started fresh, one worker, on a free loopback port: MLflow's from ``benchmarks/.venv-mlflow`` with
``--env-manager local``, Dockyard's from ``.venv`` with its defaults. For each server:

- **cold start**: from launching the command to the first 200 on ``/ping``;
- **load**: ``wrk`` (1 thread, a Lua POST script) for ``--duration`` seconds with 1-row and 100-row
  ``dataframe_split`` bodies at 1 and 16 connections, after a warm-up: requests/s, rows/s, p50, p99;
  every answer is checked once against the in-process predictions first, and any non-2xx or socket
  error is reported;
- **memory**: resident memory summed over the server's process tree after the load.

The model's own ``predict`` on the same rows, in a fresh process, is the floor no server can beat.
PyTorch is hidden from every Dockyard process (as in ``model_bench.py``): scikit-learn's array-API shim
imports it when it is installed, which it is in the project's test environment but not in a
scikit-learn service, nor in the MLflow venv.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench import REPO, RESULTS, child_env, distribution_version, ensure_mlflow_venv, fresh_dir, log, machine_info
from server_bench import free_port, process_tree, status_kb, stop_group

HERE = Path(__file__).resolve().parent
MLFLOW_VENV = HERE / ".venv-mlflow"
DOCKYARD_PY = REPO / ".venv" / "bin" / "python"
STARTUP_TIMEOUT = 180.0
NO_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoTorch())
"""
LAUNCH_DOCKYARD = NO_TORCH + "from dockyard.cli import main\nmain()\n"
PREPARE = (
    NO_TORCH
    + """
import json, statistics, sys, time
import numpy as np, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits
import dockyard.models, dockyard.sklearn

out = sys.argv[1]
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(10_000, 20)), columns=[f"f{i}" for i in range(20)])
y = ((X.f0 + X.f1 * X.f2 + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
model = HistGradientBoostingClassifier(random_state=0).fit(X, y)
dockyard.sklearn.save_model(model, out + "/model", input_example=X[:5])
predictor = dockyard.models.load_model(out + "/model")
result = {}
for n in (1, 100):
    rows = X.sample(n, random_state=n)
    body = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
    with open(f"{out}/body-{n}.json", "w") as fh:
        json.dump(body, fh)
    for name, call in (("native", lambda: model.predict(rows)), ("predictor", lambda: predictor.predict(rows))):
        for threads in (None, 1):  # OpenMP's default (one thread per CPU), and one thread as the server runs it
            with threadpool_limits(limits=threads):
                for _ in range(50):
                    call()
                times = []
                for _ in range(300):
                    t = time.perf_counter(); call(); times.append(time.perf_counter() - t)
            result[f"{name}_{n}" + ("_1thread" if threads else "")] = statistics.median(times)
    result[f"floor_{n}"] = min(result[f"native_{n}"], result[f"native_{n}_1thread"])
    result[f"expected_{n}"] = model.predict(rows).tolist()
print(json.dumps(result))
"""
)
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""
LOADS = [(1, 1), (1, 16), (100, 1), (100, 16)]  # (rows per request, connections)


def command(library: str, model: Path, port: int) -> list[str]:
    if library == "mlflow":
        mlflow = str(MLFLOW_VENV / "bin" / "mlflow")
        return [
            mlflow,
            "models",
            "serve",
            "-m",
            str(model),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]
    return [str(DOCKYARD_PY), "-c", LAUNCH_DOCKYARD, "serve", str(model), "--host", "127.0.0.1", "--port", str(port)]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  the URL is always http://127.0.0.1:<port> built by this script
            return int(response.status)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def post(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310  the URL is always http://127.0.0.1:<port> built by this script
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  the URL is always http://127.0.0.1:<port> built by this script
        return json.loads(response.read())


def rss_mb(root: int) -> float:
    return sum(status_kb(pid, "VmRSS") for pid in process_tree(root)) / 1024


def wrk(url: str, body: Path, connections: int, duration: float) -> dict:
    script = body.parent / "post.lua"
    script.write_text(WRK_SCRIPT)
    env = {**os.environ, "BENCH_BODY": str(body)}
    done = subprocess.run(  # noqa: S603  argv built here for wrk, no shell
        ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "30s", "-s", str(script), url],  # noqa: S607  wrk on PATH (main checks it with shutil.which)
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT ") :])
    seconds = r["duration_us"] / 1e6
    return {
        "rps": r["requests"] / seconds,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": r["socket_errors"] + r["non2xx"],
        "requests": r["requests"],
    }


def measure(library: str, work: Path, prepared: dict, duration: float) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    logfile = (work / f"{library}.log").open("wb")
    started = time.perf_counter()
    env = child_env(library)
    if library == "mlflow":  # it runs `uvicorn` through a shell: the venv's bin must be on PATH, as when activated
        env["PATH"] = f"{MLFLOW_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(  # noqa: S603  argv from command(): a fixed interpreter and arguments, no shell
        command(library, work / "model", port), stdout=logfile, stderr=subprocess.STDOUT,
        env=env, cwd=work, start_new_session=True,
    )  # fmt: skip
    try:
        while get(f"{url}/ping") != 200:
            if proc.poll() is not None or time.perf_counter() - started > STARTUP_TIMEOUT:
                raise RuntimeError(f"{library} did not start:\n{(work / f'{library}.log').read_text()[-3000:]}")
            time.sleep(0.02)
        out: dict = {"cold_start_s": time.perf_counter() - started}
        for n in (1, 100):
            answer = post(f"{url}/invocations", (work / f"body-{n}.json").read_bytes())
            if answer != {"predictions": prepared[f"expected_{n}"]}:
                raise RuntimeError(f"{library} answered {str(answer)[:200]} for {n} rows")
        wrk(f"{url}/invocations", work / "body-1.json", 4, 2)  # warm-up
        for rows, connections in LOADS:
            r = wrk(f"{url}/invocations", work / f"body-{rows}.json", connections, duration)
            r["rows_per_s"] = r["rps"] * rows
            out[f"{rows}x{connections}"] = r
            log(f"{library:8} {rows:>3} rows, {connections:>2} conns: {r['rps']:8.1f} req/s  "
                f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}")  # fmt: skip
        out["rss_mb"] = rss_mb(proc.pid)
        out["processes"] = len(process_tree(proc.pid))
        return out
    finally:
        stop_group(proc)  # MLflow's CLI starts uvicorn as a child: stop the whole group
        logfile.close()


def rows_table(res: dict, prepared: dict) -> list[tuple[str, str, str, str, str]]:
    """(measure, MLflow, Dockyard, ratio, target + verdict)."""
    m, d = res["mlflow"], res["dockyard"]
    out = []

    def add(name: str, a: float, b: float, unit: str, target: str, ok: bool | None) -> None:
        verdict = "" if ok is None else (" PASS" if ok else " FAIL")
        out.append((name, f"{a:,.1f} {unit}", f"{b:,.1f} {unit}", f"{b / a:.2f}x", target + verdict))

    for rows, connections in LOADS:
        key = f"{rows}x{connections}"
        a, b = m[key], d[key]
        target = "≥ 5x" if key == "1x16" else ""
        add(
            f"{rows}-row, {connections} conn: requests/s",
            a["rps"],
            b["rps"],
            "req/s",
            target,
            b["rps"] >= 5 * a["rps"] if target else None,
        )
        floor = rows / prepared[f"floor_{rows}"]
        if rows == 100:
            t = f"≥ 80% of in-process {floor:,.0f} rows/s"
            add(
                f"{rows}-row, {connections} conn: rows/s",
                a["rows_per_s"],
                b["rows_per_s"],
                "rows/s",
                t,
                b["rows_per_s"] >= 0.8 * floor,
            )
        add(f"{rows}-row, {connections} conn: p50", a["p50_ms"], b["p50_ms"], "ms", "", None)
        target = "≤ 1/5" if key == "1x16" else ""
        add(
            f"{rows}-row, {connections} conn: p99",
            a["p99_ms"],
            b["p99_ms"],
            "ms",
            target,
            b["p99_ms"] <= a["p99_ms"] / 5 if target else None,
        )
    add(
        "cold start (launch to first 200 on /ping)",
        m["cold_start_s"],
        d["cold_start_s"],
        "s",
        "≤ 1/2",
        d["cold_start_s"] <= m["cold_start_s"] / 2,
    )
    add(
        f"resident memory ({m['processes']} vs {d['processes']} processes)",
        m["rss_mb"],
        d["rss_mb"],
        "MB",
        "≤ 1/2",
        d["rss_mb"] <= m["rss_mb"] / 2,
    )
    return out  # fmt: skip


def ms(prepared: dict, key: str) -> str:
    return f"{prepared[key] * 1000:.2f} / {prepared[key + '_1thread'] * 1000:.2f} ms"


def markdown(rows: list[tuple[str, ...]], prepared: dict, res: dict) -> str:
    lines = ["| measure | MLflow | Dockyard | ratio (Dockyard/MLflow) | target |", "|---|---:|---:|---:|---|"]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    errors = {lib: sum(res[lib][f"{r}x{c}"]["errors"] for r, c in LOADS) for lib in res}
    floor = [
        "- The model's own `predict` in process, median of 300 calls, OpenMP's default threads / one thread: "
        f"1 row {ms(prepared, 'native_1')}, 100 rows {ms(prepared, 'native_100')} "
        f"(the floor for the rows/s target is the faster: {100 / prepared['floor_100']:,.0f} rows/s); "
        f"through Dockyard's `Predictor.predict`, which checks the signature first: 1 row "
        f"{ms(prepared, 'predictor_1')}, 100 rows {ms(prepared, 'predictor_100')}.",
        f"- Errors (non-2xx or socket) during the load: MLflow {errors['mlflow']}, Dockyard {errors['dockyard']}.",
    ]  # fmt: skip
    return "\n".join([*lines, "", *floor])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of wrk load per measurement")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--write-results", action="store_true", help="append a section to RESULTS.md")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    load_before = os.getloadavg()
    ensure_mlflow_venv(sys.executable)
    work = fresh_dir("serve")
    log(f"preparing the model in {work}")
    done = subprocess.run([str(DOCKYARD_PY), "-c", PREPARE, str(work)], capture_output=True, text=True, check=True)  # noqa: S603  our own interpreter with fixed code, no shell
    prepared = json.loads(done.stdout.strip().splitlines()[-1])
    res = {lib: measure(lib, work, prepared, args.duration) for lib in ("mlflow", "dockyard")}
    load_after = os.getloadavg()
    table = rows_table(res, prepared)
    text = markdown(table, prepared, res)
    print(text if args.markdown else "\n".join("  ".join(r) for r in table))
    (work / "results.json").write_text(json.dumps({"prepared": prepared, "results": res}, indent=2))
    info = machine_info(
        {"dockyard": str(DOCKYARD_PY), "mlflow": str(MLFLOW_VENV / "bin" / "python")},
        distribution_version(MLFLOW_VENV / "bin" / "python", "mlflow"),
        distribution_version(DOCKYARD_PY, "dockyard"),
    )
    loads = f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    log(loads)
    if args.write_results:
        section = (
            f"\n### Serving run of {info['date']}\n\n{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
            f"MLflow {info['mlflow']}, Dockyard {info['dockyard']}; {loads}; `wrk` 1 thread, "
            f"{args.duration:g} s per measurement. Command: `{info['command']}`.\n\n{text}\n"
        )
        RESULTS.write_text(RESULTS.read_text() + section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
