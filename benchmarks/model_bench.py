"""Models side by side: log and load back a scikit-learn model with MLflow and with Dockyard.

    .venv/bin/python benchmarks/model_bench.py [--repeat 3] [--with-torch] [--write-results]

Each (library, phase) runs in a fresh interpreter in a fresh directory (``model_workloads.py``); MLflow
from ``benchmarks/.venv-mlflow`` (see ``bench.py``), Dockyard from the project's venv. Figures are
medians over ``--repeat`` processes. Targets (issue 4): logging at least 5x faster than MLflow, and
requirements that install far less (the packaging issue measures whole environments).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    RESULTS,
    busy_cpu_seconds,
    child_env,
    children_cpu_seconds,
    distribution_version,
    ensure_mlflow_venv,
    fresh_dir,
    log,
    machine_info,
)

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "model_workloads.py"


def run(python: str, module: str, args: list[str], cwd: Path, torch: bool) -> dict:
    import time

    command = [python, str(WORKLOAD), module, *args] + ([] if torch else ["--no-torch"])
    busy0, child0, wall0 = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    proc = subprocess.run(command, cwd=cwd, env=child_env(module), capture_output=True, text=True, timeout=900)  # noqa: S603  argv built above: an interpreter we chose, model_workloads.py and our arguments, no shell
    busy1, child1, wall1 = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{module} {args[0]} failed:\n" + "\n".join(proc.stderr.splitlines()[-15:]))
    result = json.loads(lines[-1])
    if busy0 is not None and busy1 is not None:
        result["other_cpus"] = max(0.0, (busy1 - busy0) - (child1 - child0)) / (wall1 - wall0)
    return result


def measure(pythons: dict[str, str], repeat: int, torch: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for module in ("mlflow", "dockyard"):
        logs, loads, others = [], [], []
        for _ in range(repeat):
            cwd = fresh_dir(f"models-{module}")
            try:
                logged = run(pythons[module], module, ["log"], cwd, torch)
                loaded = run(pythons[module], module, ["load", logged["uri"], logged["tracking_uri"]], cwd, torch)
            finally:
                shutil.rmtree(cwd, ignore_errors=True)
            logs.append(logged)
            loads.append(loaded["load"])
            others += [logged.get("other_cpus", 0.0), loaded.get("other_cpus", 0.0)]
            log(f"{module}: log {logged['first']:.3f} s (warm {logged['second']:.3f} s), load {loaded['load']:.3f} s")
        out[module] = {
            "first": statistics.median(r["first"] for r in logs),
            "second": statistics.median(r["second"] for r in logs),
            "load": statistics.median(loads),
            "size": logs[-1]["size"],
            "files": logs[-1]["files"],
            "requirements": logs[-1]["requirements"],
            "other_cpus": max(others),
        }
    return out


def report(res: dict[str, dict], torch: bool, repeat: int) -> str:
    m, d = res["mlflow"], res["dockyard"]

    def row(name: str, key: str, target: float | None, unit: str = "s") -> str:
        ratio = m[key] / d[key] if d[key] else float("inf")
        verdict = "" if target is None else ("PASS" if ratio >= target else "FAIL")
        goal = "" if target is None else f"≥ {target:g}x faster"
        return f"| {name} | {m[key]:.3f} {unit} | {d[key]:.3f} {unit} | {ratio:.1f}x faster | {goal} | {verdict} |"

    lines = [
        "| workload | MLflow | Dockyard | Dockyard vs MLflow | target | result |",
        "|---|---|---|---|---|---|",
        row("log_model, first call in the process", "first", 5),
        row("log_model, warm (second call)", "second", None),
        row("load_model + predict(5 rows), fresh process", "load", None),
        f"| model directory size | {m['size']:,} B | {d['size']:,} B | | | |",
        "",
        f"- MLflow `requirements.txt`: `{', '.join(m['requirements'])}`",
        f"- Dockyard `requirements.txt`: `{', '.join(d['requirements'])}`",
        f"- MLflow files: {', '.join(m['files'])}; Dockyard files: {', '.join(d['files'])}",
        f"- medians of {repeat} fresh processes per figure; PyTorch {'importable' if torch else 'hidden'} in both"
        f" (see `model_workloads.py`); other processes kept up to {max(m['other_cpus'], d['other_cpus']):.2f}"
        " CPUs busy during the measurements",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-torch", action="store_true", help="leave PyTorch importable (slower skops import)")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    from bench import base_interpreter

    pythons = {"mlflow": str(ensure_mlflow_venv(base_interpreter(sys.executable))), "dockyard": sys.executable}
    res = measure(pythons, args.repeat, args.with_torch)
    table = report(res, args.with_torch, args.repeat)
    print(table)
    if args.write_results:
        versions = f"MLflow {distribution_version(pythons['mlflow'], 'mlflow')}"
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = "`.venv/bin/python benchmarks/model_bench.py --write-results" + (
            " --with-torch`" if args.with_torch else "`"
        )
        info = machine_info(pythons, distribution_version(pythons["mlflow"], "mlflow"), "")
        machine = f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, Dockyard {info['dockyard']}"
        section = f"\n## Models: {when}\n\nCommand: {command} ({versions}; {machine})\n\n{table}\n"
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(section)
        log(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
