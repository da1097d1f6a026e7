"""Where a scikit-learn bundle's 1-row serving overhead goes: the server's p50 against two in-process floors.

    .venv/bin/python benchmarks/sklearn_overhead_bench.py --bundle DIR --venv VENV
        [--onnx-bundle DIR --onnx-venv VENV] [--rounds N] [--duration S]

DIR is a bundle ``dockyard package`` wrote (as ``benchmarks/package_bench.py`` makes them) and VENV an
environment made from its ``requirements.txt``. Each round, interleaved so that the load of a shared machine
falls on every figure alike: the estimator's own ``predict`` on the benchmark row in the bundle's environment
(one thread) called back to back (``hot``, package_bench's floor) and called once every 2 ms (``lone``: what
a request arriving at an idle server meets), then wrk at 1 connection against ``DIR/serve`` (p50); with
``--onnx-bundle``, the ONNX bundle's p50 too. Prints the medians over the rounds.

Making B's bundles and environments by hand (package_bench.py makes the same ones and deletes them):
run package_bench's ``PREPARE`` code with ``B`` as its argument (the model and ``B/body-1.json``), then
``dockyard package B/model --output B/sklearn-bundle`` (and ``--onnx --output B/onnx-bundle``), and
``python3.11 -m venv B/env && B/env/bin/pip install -r B/sklearn-bundle/requirements.txt`` (and ``B/onnx-env``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from serve_bench import get, wrk
from server_bench import free_port, stop_group

FLOORS = """
import json, statistics, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
from dockyard.serving.bundle import load_bundle_model, read_bundle

warnings.filterwarnings("ignore", message="X does not have valid feature names")
native = load_bundle_model(read_bundle(sys.argv[1]), warm=True).predictor.native
x = np.asarray(json.load(open(sys.argv[2]))["dataframe_split"]["data"], dtype="float64")

def timed(gap):
    times = []
    for _ in range(300):
        if gap:
            time.sleep(gap)
        t = time.perf_counter(); native.predict(x); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000

with threadpool_limits(limits=1):
    timed(0)
    print(json.dumps({"hot_ms": timed(0), "lone_ms": timed(0.002)}))
"""


def floors(bundle: Path, venv: Path, body: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(bundle / "runtime")}
    done = subprocess.run(  # noqa: S603  the bundle environment's python, fixed code
        [str(venv / "bin" / "python"), "-c", FLOORS, str(bundle), str(body)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(done.stdout)


def server_p50(bundle: Path, venv: Path, body: Path, duration: float) -> float:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "PORT": str(port)}
    env["HOST"] = "127.0.0.1"
    proc = subprocess.Popen(  # noqa: S603  the bundle's own serve script
        [str(bundle / "serve")], env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        started = time.perf_counter()
        while get(f"{url}/ping") != 200:
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"{bundle}/serve did not start")
            time.sleep(0.05)
        wrk(f"{url}/invocations", body, 1, 2)  # warm-up
        return float(wrk(f"{url}/invocations", body, 1, duration)["p50_ms"])
    finally:
        stop_group(proc)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True, help="the scikit-learn bundle's folder")
    parser.add_argument("--venv", type=Path, required=True, help="its environment (from its requirements.txt)")
    parser.add_argument("--onnx-bundle", type=Path, help="the --onnx bundle of the same model")
    parser.add_argument("--onnx-venv", type=Path, help="its environment")
    parser.add_argument("--body", type=Path, help="the 1-row request (default: BUNDLE/../body-1.json)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of each wrk run")
    args = parser.parse_args(argv)
    body = args.body or args.bundle.parent / "body-1.json"
    rows: dict[str, list[float]] = {"hot_ms": [], "lone_ms": [], "sklearn_p50_ms": [], "onnx_p50_ms": []}
    for i in range(args.rounds):
        rows["sklearn_p50_ms"].append(server_p50(args.bundle, args.venv, body, args.duration))
        for key, value in floors(args.bundle, args.venv, body).items():
            rows[key].append(value)
        if args.onnx_bundle is not None:
            rows["onnx_p50_ms"].append(server_p50(args.onnx_bundle, args.onnx_venv, body, args.duration))
        print(f"round {i + 1}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in rows.items() if v), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    med["overhead_vs_hot_ms"] = med["sklearn_p50_ms"] - med["hot_ms"]
    med["overhead_vs_lone_ms"] = med["sklearn_p50_ms"] - med["lone_ms"]
    print(json.dumps({k: round(v, 3) for k, v in med.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
