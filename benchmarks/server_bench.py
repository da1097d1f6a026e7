"""Tracking servers side by side: `mlflow server` against `dockyard server`, driven by real clients.

    python benchmarks/server_bench.py [--only NAME[,NAME...]] [--scale F] [--repeat N]
                                      [--markdown] [--write-results]

For every measurement this starts a fresh server in a fresh directory under ``benchmarks/.work/``:
``mlflow server`` from ``benchmarks/.venv-mlflow`` (made by ``bench.py`` on first use) or
``dockyard server`` from the repo's ``.venv``, each on a new SQLite file with an artifact folder it
proxies, one worker, on a free loopback port. The client, ``benchmarks/server_workloads.py``, runs in a
separate fresh interpreter: MLflow's client from the MLflow venv, Dockyard's from ``.venv``. The table
gives both figures, their ratio and whether Dockyard meets its target. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import (
    BUSY_WARNING,
    REPO,
    RESULTS,
    RESULTS_HEADER,
    base_interpreter,
    busy_cpu_seconds,
    child_env,
    children_cpu_seconds,
    display_path,
    distribution_version,
    ensure_mlflow_venv,
    fresh_dir,
    log,
    machine_info,
    results_section,
    venv_python,
)

HERE = Path(__file__).resolve().parent
CLIENT_PY = HERE / "server_workloads.py"
STARTUP_TIMEOUT = 180.0  # seconds a server may take to answer /health (MLflow's imports and migrations)
POLL_INTERVAL = 0.5  # seconds between two readings of a server's process tree (memory peaks)
SETTLE_CPUS = 0.05  # a server has settled once its process tree uses less CPU than this ...
SETTLE_WINDOWS = 2  # ... in this many consecutive one-second windows
SETTLE_TIMEOUT = 120.0
MEMORY_GROWTH_LIMIT_MB = 50  # Dockyard's server may grow by less than this while it moves the artifact

# Base counts, all multiplied by --scale.
COUNTS = {
    "mlflow_log_metric": 300,  # log_metric calls of MLflow's client, against either server
    "dockyard_log_metric": 5_000,  # log_metric calls of Dockyard's fluent API against dockyard server
    "batch_calls": 50,  # log_batch calls of 1,000 points
    "search_runs": 10_000,  # runs prefilled for the search
    "artifact_mb": 100,  # size of the artifact file
}
SEARCH_SAMPLES = 5  # timed search_runs calls after one warm-up
GROUPS = ("log_metric", "batch", "search", "artifacts")


# ---------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_table() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        table[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return table


def process_tree(root: int) -> list[int]:
    """root and all its descendants that are alive now."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root] if root in table else []
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def status_kb(pid: int, field_name: str) -> int:
    """A memory figure (VmHWM, VmRSS) of one process in kB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process plus that of its children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def command_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    words = [os.path.basename(w) if w.startswith("/") else w for w in words[:4]] or ["?"]
    return " ".join(w for w in words if not w.startswith("--"))


@dataclass
class Server:
    library: str  # "mlflow" or "dockyard"
    url: str
    root: Path
    command: list[str]
    proc: subprocess.Popen
    settle_seconds: float = 0.0  # how long it took, after answering /health, to go quiet
    peaks: dict[int, int] = field(default_factory=dict)  # pid -> highest VmHWM seen (kB)
    names: dict[int, str] = field(default_factory=dict)  # pid -> its command
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        """Record the VmHWM of every process of the server's tree (children may come and go)."""
        for pid in process_tree(self.proc.pid):
            hwm = status_kb(pid, "VmHWM")
            if hwm:
                self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)
                self.names.setdefault(pid, command_name(pid))

    def watch(self) -> None:
        while not self._stop.wait(POLL_INTERVAL):
            self.sample()

    def rss_kb(self) -> int:
        return sum(status_kb(pid, "VmRSS") for pid in process_tree(self.proc.pid))

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in process_tree(self.proc.pid))

    def peak_kb(self) -> int:
        self.sample()
        return sum(self.peaks.values())


# How dockyard server runs: without sign-in by default, as mlflow server does. benchmarks/auth_bench.py
# turns auth on (and gives the clients credentials) to measure what it costs.
DOCKYARD_AUTH_FLAGS: list[str] = ["--no-auth"]
SERVER_ENV: dict[str, str] = {}  # added to the dockyard server's environment
CLIENT_ENV: dict[str, str] = {}  # added to every client's environment


def server_command(library: str, python: Path | str, root: Path, port: int) -> list[str]:
    if library == "mlflow":
        return [
            str(Path(python).parent / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{root / 'm.db'}",
            "--artifacts-destination", str(root / "m-art"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]  # fmt: skip
    return [
        str(python), "-m", "dockyard", "server", *DOCKYARD_AUTH_FLAGS,
        "--backend-store-uri", str(root / "d.db"),
        "--artifacts-destination", str(root / "d-art"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def settle(srv: Server) -> float:
    """Wait until the server's process tree is idle: MLflow's server answers /health before its job
    runner and consumer processes have started, and a client measured meanwhile would share the CPUs
    with their start-up. Returns the seconds waited."""
    t0 = time.monotonic()
    quiet = 0
    before = srv.cpu_seconds()
    while quiet < SETTLE_WINDOWS and time.monotonic() - t0 < SETTLE_TIMEOUT:
        time.sleep(1.0)
        now = srv.cpu_seconds()
        quiet = quiet + 1 if now - before < SETTLE_CPUS else 0
        before = now
    return time.monotonic() - t0


def health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310  url is always http://127.0.0.1:<port> built by server()
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def server(library: str, python: Path | str, root: Path | None = None, keep: bool = False) -> Iterator[Server]:
    """A fresh server in `root` (a fresh directory unless given) until the block ends.

    The server runs in its own process group, which is what gets stopped afterwards, so MLflow's
    uvicorn and job-runner children go with it."""
    own_root = root is None
    root = root or fresh_dir(f"{library}-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = server_command(library, python, root, port)
    log_path = root / "server.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603  argv from server_command(): a fixed interpreter and arguments, no shell
            command,
            cwd=root,
            env={**child_env(library), **(SERVER_ENV if library == "dockyard" else {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(library, url, root, command, proc)
    watcher = threading.Thread(target=srv.watch, daemon=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not health(url):
            if proc.poll() is not None:
                raise RuntimeError(f"{library} server exited with {proc.returncode}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{library} server did not answer /health in {STARTUP_TIMEOUT:.0f} s:\n{tail(log_path)}"
                )
            time.sleep(0.2)
        srv.settle_seconds = settle(srv)
        srv.sample()
        watcher.start()
        yield srv
    finally:
        srv._stop.set()
        stop_group(proc)
        if own_root and not keep:
            shutil.rmtree(root, ignore_errors=True)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (the one started for it), SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()
            if not group_alive(proc.pid):
                return
            time.sleep(0.1)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command_template(srv: Server) -> str:
    """The server's command line, with <dir> for its fresh directory and <port> for its port."""
    port = srv.url.rsplit(":", 1)[1]
    words = []
    for i, word in enumerate(srv.command):
        word = word.replace(str(srv.root), "<dir>")
        if i and srv.command[i - 1] == "--port" and word == port:
            word = "<port>"
        words.append(display_path(word) if word.startswith("/") else word)
    return " ".join(w if "<" in w else shlex.quote(w) for w in words)


def memory_breakdown(srv: Server) -> str:
    """The peak memory of a server's processes, those with the same command taken together."""
    groups: dict[str, list[int]] = {}
    for pid, kb in srv.peaks.items():
        groups.setdefault(srv.names.get(pid, "?"), []).append(kb)
    parts = sorted(groups.items(), key=lambda item: -sum(item[1]))
    return ", ".join(
        f"{'' if len(kbs) == 1 else f'{len(kbs)} x '}`{name}`: {sum(kbs) / 1024:,.0f} MB" for name, kbs in parts
    )


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------- clients


def run_client(
    python: Path | str,
    library: str,
    workload: str,
    args: list[str | int],
    srv: Server | None,
    timeout: float,
    keep: bool = False,
) -> dict:
    """One client process (fresh interpreter, fresh directory) against `srv`; returns its JSON result.

    ``other_cpus`` in the result is the CPU other processes than the client and the server kept busy
    per second of wall time meanwhile."""
    cwd = fresh_dir(f"{library}-{workload}-client")
    env = {**child_env(library), **CLIENT_ENV}
    if srv is not None:
        env["MLFLOW_TRACKING_URI" if library == "mlflow" else "DOCKYARD_TRACKING_URI"] = srv.url
    server_cpu0 = srv.cpu_seconds() if srv else 0.0
    own0 = own_cpu_seconds()
    busy0, child0, wall0 = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    try:
        proc = subprocess.run(  # noqa: S603  an interpreter this script chose, running client.py with our arguments, no shell
            [str(python), str(CLIENT_PY), library, workload, *map(str, args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{library} client {workload}: no result within {timeout:.0f} s") from None
    finally:
        if not keep:
            shutil.rmtree(cwd, ignore_errors=True)
    busy1, child1, wall1 = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    server_cpu = (srv.cpu_seconds() if srv else 0.0) - server_cpu0
    own = own_cpu_seconds() - own0  # this script's (the memory watcher reads /proc)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        text = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        where = f" against {srv.library} server" if srv else ""
        raise RuntimeError(f"{library} client {workload}{where} exited {proc.returncode}:\n{text}")
    result = json.loads(lines[-1])
    result["server_cpu"] = server_cpu
    result["client_cpu"] = child1 - child0
    if busy0 is not None and busy1 is not None and wall1 > wall0:
        result["other_cpus"] = max(0.0, (busy1 - busy0) - (child1 - child0) - server_cpu - own) / (wall1 - wall0)
    return result


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def cpu_note(r: dict) -> str:
    """Where the CPU of one measurement went: client, server, other processes."""
    text = f" [CPU s: client {r['client_cpu']:.1f}, server {r['server_cpu']:.1f}"
    if "other_cpus" in r:
        text += f"; other processes {r['other_cpus']:.2f} CPUs"
    return text + "]"


# ---------------------------------------------------------------------------------------- rows


@dataclass
class Row:
    group: str
    label: str
    clients: str  # which client drives each side
    unit: str  # calls/s, points/s, s, MB/s, MB
    target: tuple[str, float] | None  # on the ratio Dockyard / MLflow; None: report only
    mlflow: list[float] = field(default_factory=list)
    dockyard: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    target_text: str | None = None  # a target that is not a ratio (memory)
    check: Callable[[Row], bool] | None = None  # its test
    reduce: Callable[[list[float]], float] = statistics.median

    def figure(self, side: str) -> float | None:
        values = getattr(self, side)
        return self.reduce(values) if values else None

    @property
    def ratio(self) -> float | None:
        m, d = self.figure("mlflow"), self.figure("dockyard")
        return None if not m or d is None else d / m

    @property
    def verdict(self) -> str:
        if self.errors:
            return "ERROR"
        if self.check is not None:
            if self.figure("dockyard") is None:
                return "?"
            return "PASS" if self.check(self) else "FAIL"
        if self.target is None:
            return "report only"
        ratio = self.ratio
        if ratio is None:
            return "?"
        op, value = self.target
        return "PASS" if (ratio >= value if op == ">=" else ratio <= value) else "FAIL"


def fmt_value(row: Row, value: float | None) -> str:
    if value is None:
        return "error"
    if row.unit == "s":
        return f"{value:.3f} s" if value >= 0.01 else f"{value * 1000:.2f} ms"
    if row.unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.0f} {row.unit}" if value >= 100 else f"{value:,.1f} {row.unit}"


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-"
    return f"{ratio:.3f}x" if ratio < 1 else f"{ratio:,.1f}x"


def fmt_target(row: Row) -> str:
    if row.target_text:
        return row.target_text
    if row.target is None:
        return "none (report only)"
    op, value = row.target
    return f"{'≥' if op == '>=' else '≤'} {value:g}x"


HEADERS = ("workload", "client", "mlflow server", "dockyard server", "ratio (Dockyard/MLflow)", "target", "result")


def table_cells(rows: list[Row]) -> list[tuple[str, ...]]:
    return [
        (
            r.label,
            r.clients,
            fmt_value(r, r.figure("mlflow")),
            fmt_value(r, r.figure("dockyard")),
            fmt_ratio(r),
            fmt_target(r),
            r.verdict,
        )
        for r in rows
    ]


def text_table(rows: list[Row]) -> str:
    cells = [HEADERS, *table_cells(rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(HEADERS))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] * 4 + ["---:"] + ["---"] * 2) + "|",
    ]
    lines += ["| " + " | ".join(c) + " |" for c in table_cells(rows)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- measurements


class Bench:
    def __init__(self, pythons: dict[str, Path | str], counts: dict[str, int], args: argparse.Namespace) -> None:
        self.pythons = pythons
        self.counts = counts
        self.repeat = args.repeat
        self.artifacts_repeat = args.artifacts_repeat
        self.timeout = args.timeout
        self.keep = args.keep
        self.notes: list[str] = []
        self.other_cpus: dict[str, float] = {}
        self.commands: dict[str, str] = {}
        self.settle: dict[str, list[float]] = {}

    def client(self, library: str, workload: str, args: list[str | int], srv: Server | None, group: str) -> dict:
        result = run_client(self.pythons[library], library, workload, args, srv, self.timeout, self.keep)
        other = result.get("other_cpus")
        if other is not None:
            self.other_cpus[group] = max(self.other_cpus.get(group, 0.0), other)
        if srv is not None:
            self.commands.setdefault(srv.library, command_template(srv))
            self.settle.setdefault(srv.library, []).append(srv.settle_seconds)
        return result

    def server(self, library: str, root: Path | None = None):
        return server(library, self.pythons[library], root, self.keep)

    def attempt(self, row: Row, side: str, measure: Callable[[], float]) -> None:
        try:
            getattr(row, side).append(measure())
        except RuntimeError as exc:
            row.errors.append(str(exc))
            log(f"  ERROR\n{exc}")

    # -- 1 and 2: log_metric

    def log_metric(self) -> list[Row]:
        n, n_dockyard = self.counts["mlflow_log_metric"], self.counts["dockyard_log_metric"]
        own_cpu: dict[tuple[str, str], list[float]] = {}  # (client, server) -> client CPU s per call
        mlflow_client = Row("log_metric", f"mlflow-client log_metric ({n:,} calls)", "mlflow", "calls/s", (">=", 10.0))
        dockyard_client = Row(
            "log_metric",
            f"dockyard-client log_metric ({n_dockyard:,} calls; MLflow side: the row above)",
            "mlflow / dockyard",
            "calls/s",
            (">=", 100.0),
        )

        def rate(library: str, client: str, count: int) -> float:
            with self.server(library) as srv:
                r = self.client(client, "log_metric", [count], srv, "log_metric")
            own_cpu.setdefault((client, library), []).append(r["client_cpu_seconds"] / count)
            log(
                f"  {client} client -> {library} server: {count} calls in {r['seconds']:.3f} s "
                f"= {r['rate']:,.1f} calls/s{cpu_note(r)}"
            )
            return r["rate"]

        for _ in range(self.repeat):
            self.attempt(mlflow_client, "mlflow", lambda: rate("mlflow", "mlflow", n))
            self.attempt(mlflow_client, "dockyard", lambda: rate("dockyard", "mlflow", n))
            self.attempt(dockyard_client, "dockyard", lambda: rate("dockyard", "dockyard", n_dockyard))
        dockyard_client.mlflow = mlflow_client.mlflow
        per_call = {k: statistics.median(v) * 1000 for k, v in own_cpu.items()}
        if ("mlflow", "dockyard") in per_call and mlflow_client.figure("mlflow"):
            ms = per_call[("mlflow", "dockyard")]
            ceiling = 1000 / ms
            self.notes.append(
                f"log_metric: MLflow's client process itself used {ms:.1f} ms of CPU per `log_metric` call against "
                f"the Dockyard server ({per_call.get(('mlflow', 'mlflow'), float('nan')):.1f} ms against MLflow's), "
                f"so no server can take it past about {ceiling:,.0f} calls/s on this machine: "
                f"{ceiling / mlflow_client.figure('mlflow'):.1f}x the MLflow server's rate."
            )
        return [mlflow_client, dockyard_client]

    # -- 3: batched points

    def batch(self) -> list[Row]:
        points = self.counts["batch_calls"] * 1000
        own = Row(
            "batch",
            f"batched points ({self.counts['batch_calls']} × 1,000)",  # noqa: RUF001  a multiplication sign in a report label, on purpose
            "mlflow / dockyard",
            "points/s",
            (">=", 10.0),
        )
        same = Row("batch", "batched points, MLflow's client on both", "mlflow", "points/s", None)

        def rate(library: str, client: str) -> float:
            with self.server(library) as srv:
                r = self.client(client, "log_batch", [points], srv, "batch")
            log(
                f"  {client} client -> {library} server: {points} points in {r['seconds']:.3f} s "
                f"= {r['rate']:,.0f} points/s{cpu_note(r)}"
            )
            return r["rate"]

        for _ in range(self.repeat):
            self.attempt(own, "mlflow", lambda: rate("mlflow", "mlflow"))
            self.attempt(own, "dockyard", lambda: rate("dockyard", "dockyard"))
            self.attempt(same, "dockyard", lambda: rate("dockyard", "mlflow"))
        same.mlflow = own.mlflow
        return [own, same]

    # -- 4: search

    def search(self) -> list[Row]:
        runs = self.counts["search_runs"]
        mlflow_client = Row("search", f"search ({runs:,} runs; median of {SEARCH_SAMPLES})", "mlflow", "s", ("<=", 0.1))
        dockyard_client = Row(
            "search", "search, Dockyard's client (MLflow side: the row above)", "mlflow / dockyard", "s", None
        )
        for library, store in (("mlflow", "sqlite:///{root}/m.db"), ("dockyard", "{root}/d.db")):
            root = fresh_dir(f"{library}-search")
            try:
                log(f"  prefilling {runs:,} runs into the {library} store (not timed)")
                r = self.client(library, "prefill", [runs, store.format(root=root)], None, "prefill")
                self.notes.append(
                    f"search: {runs:,} runs prefilled into the {library} store in {r['seconds']:.0f} s "
                    f"({'SqlAlchemyStore' if library == 'mlflow' else 'Client'} on the SQLite file, before its "
                    "server started; not timed)."
                )
                with self.server(library, root) as srv:
                    clients = ["mlflow"] if library == "mlflow" else ["mlflow", "dockyard"]
                    for client in clients:
                        row = mlflow_client if client == "mlflow" else dockyard_client
                        r = self.client(client, "search", [SEARCH_SAMPLES, runs], srv, "search")
                        getattr(row, library).extend(r["samples"])
                        log(
                            f"  {client} client -> {library} server: median {r['seconds'] * 1000:.1f} ms of "
                            f"{[round(s * 1000, 1) for s in r['samples']]} ms, {r['found']} runs{cpu_note(r)}"
                        )
            except RuntimeError as exc:
                (mlflow_client if library == "mlflow" else dockyard_client).errors.append(str(exc))
                log(f"  ERROR\n{exc}")
            finally:
                if not self.keep:
                    shutil.rmtree(root, ignore_errors=True)
        dockyard_client.mlflow = mlflow_client.mlflow
        return [mlflow_client, dockyard_client]

    # -- 5: artifacts

    def artifacts(self) -> list[Row]:
        mb = self.counts["artifact_mb"]
        upload = Row("artifacts", f"artifact upload ({mb} MB)", "mlflow", "MB/s", (">=", 1.0))
        download = Row("artifacts", f"artifact download ({mb} MB)", "mlflow", "MB/s", (">=", 1.0))
        limit_mb = MEMORY_GROWTH_LIMIT_MB
        growth: dict[str, list[float]] = {"mlflow": [], "dockyard": []}
        memory = Row(
            "artifacts",
            "server peak RSS (VmHWM) during the artifacts",
            "mlflow",
            "MB",
            None,
            target_text=f"Dockyard's growth < {limit_mb:g} MB",
            check=lambda row: max(growth["dockyard"]) < limit_mb,
            reduce=max,
        )
        breakdown: dict[str, str] = {}

        def measure(library: str) -> None:
            with self.server(library) as srv:
                before = srv.rss_kb()
                r = self.client("mlflow", "artifacts", [mb], srv, "artifacts")
                peak = srv.peak_kb()
                breakdown[library] = memory_breakdown(srv)
            growth[library].append(max(0.0, (peak - before) / 1024))
            memory_side = getattr(memory, library)
            memory_side.append(peak / 1024)
            upload_side, download_side = getattr(upload, library), getattr(download, library)
            upload_side.append(r["upload_rate"])
            download_side.append(r["download_rate"])
            log(
                f"  mlflow client -> {library} server: upload {r['upload_rate']:,.1f} MB/s, download "
                f"{r['download_rate']:,.1f} MB/s; server RSS {before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB "
                f"over {len(srv.peaks)} process(es){cpu_note(r)}"
            )

        for _ in range(self.artifacts_repeat):
            for library in ("mlflow", "dockyard"):
                try:
                    measure(library)
                except RuntimeError as exc:
                    for row in (upload, download, memory):
                        row.errors.append(str(exc))
                    log(f"  ERROR\n{exc}")
        for library in ("mlflow", "dockyard"):
            if growth[library]:
                self.notes.append(
                    f"artifacts, {library} server: peak RSS {max(getattr(memory, library)):.0f} MB summed over its "
                    f"process tree ({breakdown[library]}); at most {max(growth[library]):.0f} MB above its RSS "
                    "just before the upload."
                )
        return [upload, download, memory]


# ---------------------------------------------------------------------------------------- report


SECTION = "## Server benchmarks"
SECTION_INTRO = """`benchmarks/server_bench.py --write-results` (`make bench-server`) adds a subsection here. Each
measurement starts a fresh `mlflow server` or `dockyard server` (SQLite, proxied artifact folder, one
worker) and drives it from a separate client process; see [README.md](README.md#server-benchmarks).
*client* names the client library used against the MLflow server / against the Dockyard server (one
name: the same client against both). `bench.py` results are under *Runs* below.
"""


def add_to_results(text: str, section_text: str) -> str:
    """Add a run's subsection at the end of the "Server benchmarks" section, which is made when missing,
    before `bench.py`'s "Runs" section (`bench.py` appends its runs at the end of the file)."""
    text = text.rstrip("\n")
    found = re.search(rf"^{SECTION}[ \t]*$", text, re.MULTILINE)
    if found:
        following = re.search(r"^## ", text[found.end() :], re.MULTILINE)
        end = found.end() + following.start() if following else len(text)
        before, section, after = text[: found.start()], text[found.start() : end], text[end:]
    else:
        runs = re.search(r"^## Runs[ \t]*$", text, re.MULTILINE)
        cut = runs.start() if runs else len(text)
        before, section, after = text[:cut], SECTION + "\n\n" + SECTION_INTRO, text[cut:]
    parts = [before.strip("\n"), section.strip("\n") + "\n\n" + section_text.strip("\n"), after.strip("\n")]
    return "\n\n".join(part for part in parts if part) + "\n"


def run_notes(bench: Bench, rows: list[Row], scale: float) -> list[str]:
    notes = []
    if scale != 1.0:
        notes.append(
            f"Scaled down: every count was multiplied by {scale:g}; the same counts were run against both servers."
        )
    notes.append(
        "Every measurement starts a fresh server on a new SQLite file and runs its client in a fresh interpreter; "
        f"each rate is the median of {bench.repeat} such measurements"
        + (
            f" ({bench.artifacts_repeat} for the artifact transfers; the memory figure is the highest of them)"
            if any(r.group == "artifacts" for r in rows)
            else ""
        )
        + f", the search time the median of {SEARCH_SAMPLES} calls after one warm-up."
    )
    notes.append(
        "client: the client library used against the MLflow server / against the Dockyard server (one name: "
        "the same client against both)."
    )
    for library, command in bench.commands.items():
        notes.append(f"{library} server: `{command}`")
    settle = {k: statistics.median(v) for k, v in bench.settle.items() if v}
    if settle:
        notes.append(
            "After a server answered /health, each client waited for the server's processes to go idle "
            f"(< {SETTLE_CPUS:g} CPU s in {SETTLE_WINDOWS} consecutive seconds): median wait "
            + ", ".join(f"{k} {v:.0f} s" for k, v in settle.items())
            + "."
        )
    notes += bench.notes
    busy = [f"{g} {v:.2f}" for g, v in bench.other_cpus.items() if g != "prefill"]
    for group, value in bench.other_cpus.items():
        if group != "prefill" and value > BUSY_WARNING:
            notes.append(
                f"WARNING: {group}: other processes kept up to {value:.2f} of the machine's CPUs busy during its "
                "measurements; its figures are skewed. Run again on an idle machine."
            )
    if busy:
        notes.append(
            "CPUs kept busy by processes other than the client and the server during the measurements "
            "(the most in any one): " + ", ".join(busy) + "."
        )
    for row in rows:
        for err in dict.fromkeys(row.errors):
            notes.append(f"{row.label}: {err.splitlines()[0]}")
    return notes


# ---------------------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these workloads (repeatable or comma-separated): {', '.join(GROUPS)}",
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply every count by this, for both servers (default 1)"
    )
    p.add_argument(
        "--repeat", type=int, default=3, help="fresh server + client measurements per rate, median kept (default 3)"
    )
    p.add_argument(
        "--artifacts-repeat",
        type=int,
        default=5,
        help="the same for the artifact transfers, which are short and noisier (default 5)",
    )
    p.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    p.add_argument("--write-results", action="store_true", help=f"append the results to {RESULTS.relative_to(REPO)}")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per client process (default 1800)")
    p.add_argument(
        "--dockyard-python",
        default=None,
        help="the interpreter with Dockyard installed (default: the repo's .venv, else this one)",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed (default: report only)")
    p.add_argument("--keep", action="store_true", help="keep the server and client directories in .work/")
    args = p.parse_args(argv)
    names = [n.strip() for chunk in args.only for n in chunk.split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    if args.scale <= 0 or args.repeat < 1 or args.artifacts_repeat < 1:
        p.error("--scale must be positive, --repeat and --artifacts-repeat at least 1")
    args.names = [n for n in GROUPS if not names or n in names]
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    dockyard_python = args.dockyard_python or str(
        venv_python(REPO / ".venv") if venv_python(REPO / ".venv").exists() else sys.executable
    )
    check = "import dockyard, dockyard.server.app, uvicorn"
    if subprocess.run([dockyard_python, "-c", check], capture_output=True).returncode != 0:  # noqa: S603  an interpreter this script chose, with fixed code, no shell
        log(f"{dockyard_python} cannot import dockyard's server: run `make install` (pip install -e '.[all]') first")
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
    counts = {k: max(1, round(v * args.scale)) for k, v in COUNTS.items()}
    bench = Bench(pythons, counts, args)
    rows: list[Row] = []
    for name in args.names:
        log(name)
        rows += getattr(bench, name)()

    notes = run_notes(bench, rows, args.scale)
    print()
    print(
        f"Servers: MLflow {mlflow_version} vs Dockyard {info['dockyard']}; Python {info['python']}; "
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
        RESULTS.write_text(add_to_results(existing, results_section(markdown_table(rows), info, notes)))
        log(f"appended to {RESULTS.relative_to(REPO)}")
    if any(r.errors for r in rows):
        return 1
    return 1 if args.check and any(r.verdict == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
