"""Dockyard against MLflow, side by side, on the same workloads.

    python benchmarks/bench.py [--only NAME[,NAME...]] [--scale F] [--runs-scale F] [--repeat N]
                               [--markdown] [--write-results]

Makes (once) a separate virtualenv ``benchmarks/.venv-mlflow`` holding the latest ``mlflow`` from PyPI,
then runs every workload of ``benchmarks/workloads.py`` in a fresh interpreter and a fresh empty
directory, once with that venv's Python against MLflow and once with Dockyard's Python against
Dockyard, and prints one table: the two figures, their ratio, the target and whether it is met.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS_PY = HERE / "workloads.py"
MLFLOW_VENV = HERE / ".venv-mlflow"
WORK_DIR = HERE / ".work"  # the fresh per-workload directories are made in here (git-ignored)
RESULTS = HERE / "RESULTS.md"

# name -> (base count, unit of the count, kind of figure, target). A target is (">=", x) on the ratio
# Dockyard rate / MLflow rate, ("<=", x) on Dockyard time / MLflow time, or None (report only).
WORKLOADS: dict[str, tuple[int, str, str, tuple[str, float] | None]] = {
    "log_metric": (2_000, "calls", "rate", (">=", 100.0)),
    "log_batch": (100_000, "points", "rate", (">=", 10.0)),
    "log_param": (200, "params", "rate", None),
    "runs": (10_000, "runs", "rate", (">=", 10.0)),
    "import": (5, "fresh processes", "time", ("<=", 0.2)),
}
IMPORT_SAMPLES = 5
BUSY_WARNING = 0.25  # CPUs used by other processes during a measurement above which the report warns


# ---------------------------------------------------------------------------------------- setup


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_mlflow_venv(base_python: str) -> Path:
    """Create benchmarks/.venv-mlflow with the latest mlflow unless `import mlflow` already works there."""
    python = venv_python(MLFLOW_VENV)
    if python.exists() and subprocess.run([python, "-c", "import mlflow"], capture_output=True).returncode == 0:  # noqa: S603  the benchmark venv's python with fixed arguments, no shell
        return python
    log(f"creating {MLFLOW_VENV.relative_to(REPO)} with the latest mlflow from PyPI (takes a few minutes)")
    if not python.exists():
        subprocess.run([base_python, "-m", "venv", str(MLFLOW_VENV)], check=True)  # noqa: S603  the interpreter running this script, fixed arguments, no shell
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)  # noqa: S603  the benchmark venv's python with fixed arguments, no shell
    subprocess.run([python, "-m", "pip", "install", "--quiet", "mlflow"], check=True)  # noqa: S603  the benchmark venv's python with fixed arguments, no shell
    return python


def base_interpreter(python: str) -> str:
    """The interpreter a venv was made from, so the MLflow venv runs the same Python as Dockyard's."""
    out = subprocess.run(  # noqa: S603  an interpreter this script chose, with fixed code, no shell
        [python, "-c", "import sys; print(getattr(sys, '_base_executable', sys.executable))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def distribution_version(python: Path | str, name: str) -> str:
    out = subprocess.run(  # noqa: S603  an interpreter this script chose, with fixed code, no shell
        [python, "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"


def child_env(module: str) -> dict[str, str]:
    """The environment of a workload process: this one without any MLflow/Dockyard setting or venv, so
    both libraries run with their defaults (and Python writes .pyc caches, as it does by default), plus
    two MLflow settings that change nothing it stores: its log level (no warnings on the console) and
    its usage telemetry (this machine cannot reach the collector, so failed uploads would be noise, not
    tracking work)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "DOCKYARD_"))
        and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    }
    if module == "mlflow":
        env["MLFLOW_LOGGING_LEVEL"] = "ERROR"
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return env


# ---------------------------------------------------------------------------------------- running


@dataclass
class Row:
    name: str
    count: int
    mlflow: float | None = None  # a rate (per second) or, for import, seconds
    dockyard: float | None = None
    errors: list[str] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)
    other_cpus: float = 0.0  # the most CPUs other processes kept busy during any of its processes

    @property
    def kind(self) -> str:
        return WORKLOADS[self.name][2]

    @property
    def target(self) -> tuple[str, float] | None:
        return WORKLOADS[self.name][3]

    @property
    def ratio(self) -> float | None:
        if not self.mlflow or self.dockyard is None:
            return None
        return self.dockyard / self.mlflow

    @property
    def verdict(self) -> str:
        if self.errors:
            return "ERROR"
        if self.target is None:
            return "report only"
        ratio = self.ratio
        if ratio is None:
            return "?"
        op, value = self.target
        return "PASS" if (ratio >= value if op == ">=" else ratio <= value) else "FAIL"


def fresh_dir(tag: str) -> Path:
    WORK_DIR.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=WORK_DIR))


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (from /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_workload(python: Path | str, module: str, name: str, count: int, timeout: float, keep: bool) -> dict:
    """One workload in a fresh process and a fresh directory; returns its JSON result.

    Also measures how busy the rest of the machine was meanwhile (``other_cpus``: CPU seconds used by
    other processes per second of wall time), since anything else running skews the figure."""
    cwd = fresh_dir(f"{module}-{name}")
    busy0, child0, wall0 = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    try:
        proc = subprocess.run(  # noqa: S603  an interpreter this script chose, running workloads.py with our arguments, no shell
            [str(python), str(WORKLOADS_PY), module, name, str(count)],
            cwd=cwd,
            env=child_env(module),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{module} {name}: no result within {timeout:.0f} s") from None
    finally:
        if not keep:
            shutil.rmtree(cwd, ignore_errors=True)
    busy1, child1, wall1 = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{module} {name} exited {proc.returncode}:\n{tail}")
    result = json.loads(lines[-1])
    if busy0 is not None and busy1 is not None and wall1 > wall0:
        result["other_cpus"] = max(0.0, (busy1 - busy0) - (child1 - child0)) / (wall1 - wall0)
    return result


def time_import(python: Path | str, module: str, samples: int) -> tuple[float, list[float]]:
    """Median wall time of `python -c "import MODULE"` over fresh processes, after one warm-up."""
    cwd = fresh_dir(f"{module}-import")
    env = child_env(module)
    code = f"import {module}" if module else "pass"
    times = []
    try:
        for i in range(samples + 1):
            t0 = time.perf_counter()
            proc = subprocess.run([str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True)  # noqa: S603  an interpreter this script chose, with an import of a fixed module, no shell
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"{python} -c {code!r} failed:\n{proc.stderr[-2000:]}")
            if i:  # the first run is the warm-up (it may write .pyc files)
                times.append(elapsed)
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    return statistics.median(times), times


def measure(row: Row, pythons: dict[str, Path | str], repeat: int, timeout: float, keep: bool) -> None:
    for module in ("mlflow", "dockyard"):
        try:
            if row.name == "import":
                value, samples = time_import(pythons[module], module, row.count)
                bare, _ = time_import(pythons[module], "", row.count)
                row.extra[f"{module}_samples"] = samples  # type: ignore[assignment]
                row.extra[f"{module}_bare_python"] = bare
                log(
                    f"  {module:8} import: median {value:.3f} s of {[round(s, 3) for s in samples]} "
                    f"(bare `python -c pass`: {bare:.3f} s)"
                )
            else:
                rates = []
                for _ in range(repeat):
                    result = run_workload(pythons[module], module, row.name, row.count, timeout, keep)
                    rates.append(result["rate"])
                    other = result.get("other_cpus")
                    if other is not None:
                        row.other_cpus = max(row.other_cpus, other)
                    log(
                        f"  {module:8} {row.name}: {result['count']} in {result['seconds']:.3f} s "
                        f"= {result['rate']:,.1f} {result['unit']}"
                        + ("" if other is None else f"  (other processes meanwhile: {other:.2f} CPUs)")
                    )
                value = statistics.median(rates)
            setattr(row, module, value)
        except RuntimeError as exc:
            row.errors.append(str(exc))
            log(f"  {module:8} {row.name}: ERROR\n{exc}")


# ---------------------------------------------------------------------------------------- reporting


def fmt_figure(row: Row, value: float | None) -> str:
    if value is None:
        return "error"
    if row.kind == "time":
        return f"{value:.3f} s"
    unit = WORKLOADS[row.name][1]
    return f"{value:,.0f} {unit}/s" if value >= 100 else f"{value:,.1f} {unit}/s"


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-"
    return f"{ratio:.3f}x" if ratio < 1 else f"{ratio:,.1f}x"


def fmt_target(row: Row) -> str:
    if row.target is None:
        return "none (report only)"
    op, value = row.target
    return f"{'≥' if op == '>=' else '≤'} {value:g}x"


def fmt_workload(row: Row) -> str:
    _, unit, _, _ = WORKLOADS[row.name]
    if row.name == "import":
        return f"import (median of {row.count} {unit})"
    return f"{row.name} ({row.count:,} {unit})"


HEADERS = ("workload", "MLflow", "Dockyard", "ratio (Dockyard/MLflow)", "target", "result")


def table_cells(rows: list[Row]) -> list[tuple[str, ...]]:
    return [
        (fmt_workload(r), fmt_figure(r, r.mlflow), fmt_figure(r, r.dockyard), fmt_ratio(r), fmt_target(r), r.verdict)
        for r in rows
    ]


def text_table(rows: list[Row]) -> str:
    cells = [HEADERS, *table_cells(rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(HEADERS))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    cells = table_cells(rows)
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] * 3 + ["---:"] + ["---"] * 2) + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines)


def git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)  # noqa: S603, S607  the user's git on PATH with arguments from this script, no shell
    return out.stdout.strip() if out.returncode == 0 else ""


def machine_info(pythons: dict[str, Path | str], mlflow_version: str, dockyard_version: str) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())  # noqa: S607  coreutils' nproc on PATH, no arguments
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    py = subprocess.run(  # noqa: S603  an interpreter this script chose, with fixed code, no shell
        [str(pythons["dockyard"]), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    py_ml = subprocess.run(  # noqa: S603  an interpreter this script chose, with fixed code, no shell
        [str(pythons["mlflow"]), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc,
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": py if py == py_ml else f"{py} (Dockyard), {py_ml} (MLflow)",
        "mlflow": mlflow_version,
        "dockyard": f"{dockyard_version} at commit {commit}"
        + (" (work tree has uncommitted changes to tracked files)" if dirty else ""),
        "load": load,
        "command": " ".join(shlex.quote(a) for a in [display_path(sys.executable), *sys.argv]),
    }


def display_path(path: str) -> str:
    try:
        return os.path.relpath(path, Path.cwd()) if Path(path).absolute().is_relative_to(REPO) else path
    except ValueError:
        return path


RESULTS_HEADER = """# Benchmark results: Dockyard against MLflow

Written by `benchmarks/bench.py --write-results` (`make bench`). See [README.md](README.md) for what each
workload does and how it is measured.

## Runs
"""


def results_section(table: str, info: dict[str, str], notes: list[str]) -> str:
    """A RESULTS.md subsection: when, the command, the machine, the table and the notes."""
    lines = [
        f"### {info['date']}",
        "",
        f"- Command: `{info['command']}`",
        f"- Machine: {info['nproc']} CPUs (`nproc`), {info['cpu']}, {info['os']}, load average at the start "
        f"{info['load']}",
        f"- Python {info['python']}; MLflow {info['mlflow']}; Dockyard {info['dockyard']}",
        "",
        table,
        "",
    ]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def run_notes(rows: list[Row], scale: float, runs_scale: float, repeat: int, runs_repeat: int) -> list[str]:
    notes = []
    if scale != 1.0 or runs_scale != 1.0:
        parts = []
        if scale != 1.0:
            parts.append(f"every count was multiplied by {scale:g}")
        if runs_scale != 1.0:
            further = " further" if scale != 1.0 else ""
            full = WORKLOADS["runs"][0]
            parts.append(f"the `runs` count was{further} multiplied by {runs_scale:g} ({full:,} runs at full scale)")
        notes.append("Scaled down: " + " and ".join(parts) + "; the same counts were run for both libraries.")
    names = {r.name for r in rows}
    counted = [n for n in ("log_metric", "log_batch", "log_param") if n in names]

    def processes(n: int) -> str:
        return "one fresh process" if n == 1 else f"the median of {n} fresh processes"

    if counted:
        notes.append(f"{', '.join(counted)}: each figure is {processes(repeat)}.")
    if "runs" in names:
        notes.append(f"runs: each figure is {processes(runs_repeat)}.")
    busy_notes: list[str] = []
    for r in rows:
        if r.name == "import" and "mlflow_bare_python" in r.extra:
            notes.append(
                f"A bare `python -c pass` takes {r.extra['mlflow_bare_python']:.3f} s (MLflow's venv) and "
                f"{r.extra['dockyard_bare_python']:.3f} s (Dockyard's); the import figures include it."
            )
        if r.name != "import":
            busy_notes.append(f"{r.name} {r.other_cpus:.2f}")
        if r.other_cpus > BUSY_WARNING:
            notes.append(
                f"WARNING: {r.name}: other processes kept up to {r.other_cpus:.2f} of the machine's CPUs busy "
                "during its measurement; its figures are skewed. Run again on an idle machine."
            )
        for err in r.errors:
            notes.append(f"{r.name}: {err.splitlines()[0]}")
    if busy_notes:
        notes.append(
            "CPUs kept busy by other processes during the measurements (the most in any one process): "
            + ", ".join(busy_notes)
            + "."
        )
    return notes


# ---------------------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these workloads (repeatable or comma-separated): {', '.join(WORKLOADS)}",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every count (not the import samples) by this, for both libraries (default 1)",
    )
    p.add_argument(
        "--runs-scale",
        type=float,
        default=1.0,
        help="multiply the `runs` count by this as well, for both libraries (default 1)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="fresh processes per figure, the median kept, for every workload but `runs` (default 3)",
    )
    p.add_argument("--runs-repeat", type=int, default=1, help="the same for `runs` (default 1: it is long)")
    p.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    p.add_argument("--write-results", action="store_true", help=f"append the results to {RESULTS.relative_to(REPO)}")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per workload process (default 3600)")
    p.add_argument(
        "--dockyard-python",
        default=None,
        help="the interpreter with Dockyard installed (default: the repo's .venv, else this one)",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed (default: report only)")
    p.add_argument("--keep", action="store_true", help=f"keep the per-workload directories in {WORK_DIR.name}/")
    args = p.parse_args(argv)
    names = [n.strip() for chunk in args.only for n in chunk.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.scale <= 0 or args.runs_scale <= 0 or args.repeat < 1 or args.runs_repeat < 1:
        p.error("--scale and --runs-scale must be positive, --repeat and --runs-repeat at least 1")
    args.names = [n for n in WORKLOADS if not names or n in names]
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    dockyard_python = args.dockyard_python or str(
        venv_python(REPO / ".venv") if venv_python(REPO / ".venv").exists() else sys.executable
    )
    if subprocess.run([dockyard_python, "-c", "import dockyard"], capture_output=True).returncode != 0:  # noqa: S603  an interpreter this script chose, with fixed code, no shell
        log(f"{dockyard_python} cannot import dockyard: run `make install` (or pip install -e .) first")
        return 2
    mlflow_python = ensure_mlflow_venv(base_interpreter(dockyard_python))
    pythons: dict[str, Path | str] = {"mlflow": mlflow_python, "dockyard": dockyard_python}
    mlflow_version = distribution_version(mlflow_python, "mlflow")
    dockyard_version = distribution_version(dockyard_python, "dockyard")
    info = machine_info(pythons, mlflow_version, dockyard_version)
    log(
        f"MLflow {mlflow_version} ({mlflow_python}) vs Dockyard {dockyard_version} ({dockyard_python}); "
        f"load average {info['load']}"
    )

    rows = []
    for name in args.names:
        base = WORKLOADS[name][0]
        if name == "import":
            count = IMPORT_SAMPLES
        else:
            count = max(1, round(base * args.scale * (args.runs_scale if name == "runs" else 1.0)))
        row = Row(name, count)
        log(f"{name} ({count:,})")
        measure(row, pythons, args.runs_repeat if name == "runs" else args.repeat, args.timeout, args.keep)
        rows.append(row)

    notes = run_notes(rows, args.scale, args.runs_scale, args.repeat, args.runs_repeat)
    print()
    print(
        f"MLflow {mlflow_version} vs Dockyard {info['dockyard']}; Python {info['python']}; "
        f"{info['nproc']} CPUs, {info['cpu']}"
    )
    print(text_table(rows))
    for note in notes:
        print(f"* {note}")
    if args.markdown:
        print()
        print(markdown_table(rows))
    if args.write_results:
        existing = RESULTS.read_text() if RESULTS.exists() else RESULTS_HEADER
        RESULTS.write_text(existing.rstrip("\n") + "\n\n" + results_section(markdown_table(rows), info, notes))
        log(f"appended to {RESULTS.relative_to(REPO)}")
    if any(r.errors for r in rows):
        return 1
    return 1 if args.check and any(r.verdict == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
