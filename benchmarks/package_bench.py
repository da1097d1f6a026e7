"""Serving bundles against MLflow's serving environment: installed size, cold start, throughput, latency.

    .venv/bin/python benchmarks/package_bench.py [--duration S] [--write-results]

One model: a HistGradientBoostingClassifier on 20 numeric features (10,000 training rows), saved by
Dockyard. It is packaged twice with ``dockyard package``: as is (the scikit-learn bundle) and with
``--onnx``. Each bundle's environment is made by its own ``scripts/install`` in a fresh venv under
``benchmarks/.work``; beside them, a venv holding only the model's own libraries (its
``requirements.txt``) is the floor. MLflow's environment is ``benchmarks/.venv-mlflow`` (``mlflow`` and
the model's libraries, what ``mlflow models build-docker`` installs; made by ``bench.ensure_mlflow_venv``).

- **installed size**: ``site-packages`` of each environment (``du``, bytes of the files);
- **overhead**: an environment minus the model-libraries-only venv;
- **cold start**: from launching the server (``DIR/serve``, ``mlflow models serve --env-manager local``)
  to the first 200 on ``/ping``;
- **load**: ``wrk`` with a 1-row ``dataframe_split`` body at 16 connections (requests/s) and at 1
  connection (p50), after a warm-up; every server's answer is checked against the in-process predictions;
- **in-process floor**: the model's own ``predict`` on the same row (one thread, as the server runs it),
  and onnxruntime's ``run``; the serving overhead is a server's p50 minus its floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import REPO, RESULTS, base_interpreter, ensure_mlflow_venv, fresh_dir, log
from serve_bench import get, post, wrk
from server_bench import free_port, stop_group

HERE = Path(__file__).resolve().parent
MLFLOW_VENV = HERE / ".venv-mlflow"
DOCKYARD = REPO / ".venv" / "bin" / "dockyard"
PYTHON = REPO / ".venv" / "bin" / "python"
STARTUP_TIMEOUT = 180.0

PREPARE = """
import json, sys
import numpy as np, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
import dockyard.sklearn

out = sys.argv[1]
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(10_000, 20)), columns=[f"f{i}" for i in range(20)])
y = ((X.f0 + X.f1 * X.f2 + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
model = HistGradientBoostingClassifier(random_state=0).fit(X, y)
dockyard.sklearn.save_model(model, out + "/model", input_example=X[:5])
row = X.sample(1, random_state=1)
with open(out + "/body-1.json", "w") as fh:
    json.dump({"dataframe_split": {"columns": list(row.columns), "data": row.to_numpy().tolist()}}, fh)

print(json.dumps({"expected": model.predict(row).tolist()}))
"""

# The scikit-learn floor, in the bundle's own environment (no PyTorch for scikit-learn's array-API shim to
# import, as in a real service) and as the bundle calls it: the estimator's predict on one float64 row, one
# thread (the server's --model-threads default).
SKLEARN_FLOOR = """
import json, statistics, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
from dockyard.serving.bundle import load_bundle_model, read_bundle

warnings.filterwarnings("ignore", message="X does not have valid feature names")
native = load_bundle_model(read_bundle(sys.argv[1]), warm=False).predictor.native
body = json.load(open(sys.argv[2]))
x = np.asarray(body["dataframe_split"]["data"], dtype="float64")
with threadpool_limits(limits=1):
    for _ in range(50):
        native.predict(x)
    times = []
    for _ in range(500):
        t = time.perf_counter(); native.predict(x); times.append(time.perf_counter() - t)
print(json.dumps({"native_ms": statistics.median(times) * 1000}))
"""

ONNX_FLOOR = """
import json, statistics, sys, time
import numpy as np, onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
body = json.load(open(sys.argv[2]))
x = np.asarray(body["dataframe_split"]["data"], dtype="float32")
name = session.get_inputs()[0].name
for _ in range(50):
    session.run(None, {name: x})
times = []
for _ in range(2000):
    t = time.perf_counter(); session.run(None, {name: x}); times.append(time.perf_counter() - t)
print(json.dumps({"onnx_ms": statistics.median(times) * 1000}))
"""


def run(argv: list[str]) -> str:
    """The standard output of a command this script built (a fixed interpreter or the project's CLI)."""
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603  argv built here, no shell


def site_packages_bytes(venv: Path) -> int:
    (site,) = (venv / "lib").glob("python3*/site-packages")
    done = subprocess.run(["du", "-sb", str(site)], capture_output=True, text=True, check=True)  # noqa: S603, S607  du on PATH, fixed arguments
    return int(done.stdout.split()[0])


def make_venv(venv: Path, requirements: Path) -> None:
    python = base_interpreter(str(PYTHON))
    subprocess.run([python, "-m", "venv", str(venv)], check=True)  # noqa: S603  the interpreter of .venv's base
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir", "-r", str(requirements)]
    subprocess.run(pip, check=True)  # noqa: S603  the new venv's pip, fixed arguments


def install_bundle(bundle: Path, venv: Path) -> None:
    env = {**os.environ, "PYTHON": base_interpreter(str(PYTHON))}
    subprocess.run(["sh", str(bundle / "scripts" / "install"), str(venv)], check=True, env=env)  # noqa: S603, S607  the bundle's own script


def measure(
    name: str, argv: list[str], env: dict[str, str], work: Path, body: Path, expected: list, duration: float
) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "PORT": str(port)}
    logfile = (work / f"{name}.log").open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603  argv built by this script, no shell
        [a.replace("{port}", str(port)) for a in argv], stdout=logfile, stderr=subprocess.STDOUT, env=env,
        cwd=work, start_new_session=True,
    )  # fmt: skip
    try:
        while get(f"{url}/ping") != 200:
            if proc.poll() is not None or time.perf_counter() - started > STARTUP_TIMEOUT:
                raise RuntimeError(f"{name} did not start:\n{(work / f'{name}.log').read_text()[-3000:]}")
            time.sleep(0.02)
        out: dict = {"cold_start_s": time.perf_counter() - started}
        answer = post(f"{url}/invocations", body.read_bytes())
        if answer != {"predictions": expected}:
            raise RuntimeError(f"{name} answered {str(answer)[:200]}, expected {expected}")
        wrk(f"{url}/invocations", body, 4, 2)  # warm-up
        out["16"] = wrk(f"{url}/invocations", body, 16, duration)
        out["1"] = wrk(f"{url}/invocations", body, 1, duration)
        log(f"{name:10} cold start {out['cold_start_s']:.2f} s, 16 conns {out['16']['rps']:.0f} req/s, "
            f"1 conn p50 {out['1']['p50_ms']:.3f} ms, errors {out['16']['errors'] + out['1']['errors']}")  # fmt: skip
        return out
    finally:
        stop_group(proc)
        logfile.close()


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def markdown(res: dict, duration: float) -> str:
    s = res["sizes"]
    floor = s["model-libs"]
    over = {k: s[k] - floor for k in ("sklearn-bundle", "onnx-bundle", "mlflow")}
    lines = [
        f"### Packaging run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"`.venv/bin/python benchmarks/package_bench.py --duration {duration:g}` "
        "(one run; 2 cores, shared with other work). "
        "HistGradientBoostingClassifier, 20 numeric features.",
        "",
        "| environment | installed (site-packages) | overhead over the model's libraries | vs MLflow | target |",
        "|---|---|---|---|---|",
        f"| model's libraries only (floor) | {mib(floor)} | | | |",
    ]
    for key, label, size_target in (
        ("sklearn-bundle", "scikit-learn bundle", 2 / 5),
        ("onnx-bundle", "ONNX bundle", 1 / 4),
    ):
        size_ok = s[key] <= size_target * s["mlflow"]
        size = f"{mib(s[key])} ({s[key] / s['mlflow']:.2f} of MLflow's)"
        target = f"size <= {size_target:.2f} of MLflow's: {'met' if size_ok else 'MISSED'}"
        if key == "sklearn-bundle":
            ratio = over[key] / over["mlflow"]
            target += f"; overhead <= 0.05 of MLflow's: {'met' if ratio <= 1 / 20 else 'MISSED'}"
            lines.append(f"| {label} | {size} | {mib(over[key])} | {ratio:.3f} of MLflow's overhead | {target} |")
        else:  # its model libraries are onnxruntime's, not scikit-learn's: no overhead against this floor
            lines.append(f"| {label} | {size} | (onnxruntime replaces scikit-learn and SciPy) | | {target} |")
    lines.append(f"| MLflow (`mlflow` + the model's libraries) | {mib(s['mlflow'])} | {mib(over['mlflow'])} | 1 | |")
    lines += [
        "",
        "| server | cold start to /ping | 1 row, 16 connections | 1 row, 1 connection, p50 "
        "| serving overhead (p50 - in-process predict) | target |",
        "|---|---|---|---|---|---|",
    ]
    floors = {"onnx-bundle": res["onnx_ms"], "sklearn-bundle": res["native_ms"], "mlflow": res["native_ms"]}
    for key, label in (
        ("onnx-bundle", "ONNX bundle"),
        ("sklearn-bundle", "scikit-learn bundle"),
        ("mlflow", "`mlflow models serve`"),
    ):
        r = res["servers"][key]
        p50 = r["1"]["p50_ms"]
        overhead = p50 - floors[key]
        target = ""
        if key == "onnx-bundle":
            target = (
                f"p50 < 1 ms: {'met' if p50 < 1 else 'MISSED'}; "
                f"overhead < 0.5 ms: {'met' if overhead < 0.5 else 'MISSED'}"
            )
        elif key == "sklearn-bundle":
            target = f"overhead < 0.5 ms: {'met' if overhead < 0.5 else 'MISSED'}"
        lines.append(
            f"| {label} | {r['cold_start_s']:.2f} s | {r['16']['rps']:.0f} req/s | {p50:.3f} ms "
            f"| {overhead:.3f} ms | {target} |"
        )
    lines += [
        "",
        f"In-process floors on the same row: scikit-learn `predict` {res['native_ms']:.3f} ms (one thread, "
        f"in the bundle's environment), onnxruntime `run` {res['onnx_ms']:.3f} ms. wrk's p50 includes its own "
        "loopback round trip. MLflow's environment is `benchmarks/.venv-mlflow` (mlflow and the model's libraries).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each wrk load")
    parser.add_argument("--write-results", action="store_true", help="append the tables to RESULTS.md")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        log("wrk is not installed (apt-get install wrk)")
        return 2
    ensure_mlflow_venv(base_interpreter(str(PYTHON)))
    work = fresh_dir("package")
    log(f"working in {work}")
    prepared = json.loads(run([str(PYTHON), "-c", PREPARE, str(work)]))
    for out, extra in (("sklearn-bundle", []), ("onnx-bundle", ["--onnx"])):
        log(run([str(DOCKYARD), "package", str(work / "model"), "--output", str(work / out), *extra]).strip())
    onnx_model = work / "onnx-bundle" / "model" / "model.onnx"
    onnx = json.loads(run([str(PYTHON), "-c", ONNX_FLOOR, str(onnx_model), str(work / "body-1.json")]))
    envs = {"sklearn-bundle": work / "sklearn-env", "onnx-bundle": work / "onnx-env"}
    for bundle, venv in envs.items():
        install_bundle(work / bundle, venv)
    make_venv(work / "libs-env", work / "model" / "requirements.txt")
    floor_env = {**os.environ, "PYTHONPATH": str(work / "sklearn-bundle" / "runtime")}
    floor = subprocess.run(  # noqa: S603  the bundle environment's python, fixed code
        [str(envs["sklearn-bundle"] / "bin" / "python"), "-c", SKLEARN_FLOOR, str(work / "sklearn-bundle"),
         str(work / "body-1.json")], capture_output=True, text=True, check=True, env=floor_env,
    ).stdout  # fmt: skip
    prepared.update(json.loads(floor))
    sizes = {key: site_packages_bytes(venv) for key, venv in envs.items()}
    sizes["model-libs"] = site_packages_bytes(work / "libs-env")
    sizes["mlflow"] = site_packages_bytes(MLFLOW_VENV)
    log(json.dumps({k: mib(v) for k, v in sizes.items()}))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_", "VIRTUAL_ENV"))}
    servers = {}
    for key, venv in envs.items():
        env = {**base, "PATH": f"{venv / 'bin'}{os.pathsep}{base['PATH']}"}
        servers[key] = measure(
            key, [str(work / key / "serve")], env, work, work / "body-1.json", prepared["expected"], args.duration
        )
    mlflow_env = {**base, "PATH": f"{MLFLOW_VENV / 'bin'}{os.pathsep}{base['PATH']}", "MLFLOW_LOGGING_LEVEL": "ERROR"}
    mlflow = str(MLFLOW_VENV / "bin" / "mlflow")
    mlflow_argv = [mlflow, "models", "serve", "-m", str(work / "model"), "--env-manager", "local", "-h", "127.0.0.1"]
    body, expected = work / "body-1.json", prepared["expected"]
    servers["mlflow"] = measure(
        "mlflow", [*mlflow_argv, "-p", "{port}"], mlflow_env, work, body, expected, args.duration
    )
    res = {"sizes": sizes, "servers": servers, "native_ms": prepared["native_ms"], "onnx_ms": onnx["onnx_ms"]}
    text = markdown(res, args.duration)
    print(text)
    if args.write_results:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
