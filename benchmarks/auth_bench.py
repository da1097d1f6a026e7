"""What sign-in costs: `dockyard server --no-auth` against `dockyard server --auth`, same workloads.

The server benchmark's workloads (server_workloads.py: MLflow's client calling log_metric once per
request, Dockyard's client logging metrics, batched points, a search over prefilled runs), each against
a fresh server on a new SQLite file, once without auth and once with auth on (the clients signing in
as a regular user with a password, HTTP Basic, on every request, so each call's permission is checked).
The goal: within 10% of auth off. Both clients run
from the repo's .venv (MLflow's client there is mlflow-skinny). Each figure is the median of --repeat
measurements.

    .venv/bin/python benchmarks/auth_bench.py [--repeat 3] [--scale 1] [--write-results]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import urllib.request
from collections.abc import Callable

import server_bench as sb
from bench import REPO, RESULTS, RESULTS_HEADER, fresh_dir, log, machine_info, venv_python

ADMIN_PASSWORD = "bench-admin-passw0rd"  # noqa: S105  # a throwaway server's first admin
USER, PASSWORD = "bench", "bench-user-passw0rd"  # a regular user: every call's permission is checked
AUTH_ON = {
    "flags": ["--auth"],
    "server": {"DOCKYARD_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD},
    "client": {
        "MLFLOW_TRACKING_USERNAME": USER,
        "MLFLOW_TRACKING_PASSWORD": PASSWORD,
        "DOCKYARD_TRACKING_USERNAME": USER,
        "DOCKYARD_TRACKING_PASSWORD": PASSWORD,
    },
}
AUTH_OFF: dict = {"flags": ["--no-auth"], "server": {}, "client": {}}


def configure(mode: dict) -> None:
    sb.DOCKYARD_AUTH_FLAGS[:] = mode["flags"]
    sb.SERVER_ENV.clear()
    sb.SERVER_ENV.update(mode["server"])
    sb.CLIENT_ENV.clear()
    sb.CLIENT_ENV.update(mode["client"])


def add_user(url: str) -> None:
    """With auth on, the admin creates the regular user the clients sign in as (not timed)."""
    if "--auth" not in sb.DOCKYARD_AUTH_FLAGS:
        return
    body = json.dumps({"username": USER, "password": PASSWORD}).encode()
    admin = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310  # http://127.0.0.1 of the server started here
        f"{url}/api/2.0/mlflow/users/create",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {admin}"},
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310  # http://127.0.0.1 of the server started here
        pass


def measure(python: str, counts: dict[str, int], timeout: float) -> dict[str, Callable[[], float]]:
    """Workload name -> one measurement (a rate, or seconds for the search)."""

    def rate(client: str, workload: str, args: list[str | int]) -> float:
        with sb.server("dockyard", python) as srv:
            add_user(srv.url)
            return float(sb.run_client(python, client, workload, args, srv, timeout)["rate"])

    def search() -> float:
        root = fresh_dir("auth-search")
        sb.run_client(python, "dockyard", "prefill", [counts["search_runs"], f"{root}/d.db"], None, timeout)
        with sb.server("dockyard", python, root) as srv:
            add_user(srv.url)
            args = [sb.SEARCH_SAMPLES, counts["search_runs"]]
            return float(sb.run_client(python, "mlflow", "search", args, srv, timeout)["seconds"])

    return {
        f"MLflow client log_metric ({counts['mlflow_log_metric']:,} calls), calls/s": lambda: rate(
            "mlflow", "log_metric", [counts["mlflow_log_metric"]]
        ),
        f"Dockyard client log_metric ({counts['dockyard_log_metric']:,} calls), calls/s": lambda: rate(
            "dockyard", "log_metric", [counts["dockyard_log_metric"]]
        ),
        f"batched points ({counts['batch_calls']} x 1,000), points/s": lambda: rate(
            "dockyard", "log_batch", [counts["batch_calls"] * 1000]
        ),
        f"search ({counts['search_runs']:,} runs, MLflow client), s": search,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3, help="measurements per figure, median kept (default 3)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every count by this (default 1)")
    p.add_argument("--timeout", type=float, default=900, help="seconds allowed per client process")
    p.add_argument("--write-results", action="store_true", help=f"append the results to {RESULTS.relative_to(REPO)}")
    args = p.parse_args(argv)
    python = str(venv_python(REPO / ".venv"))
    counts = {k: max(1, round(v * args.scale)) for k, v in sb.COUNTS.items()}
    workloads = measure(python, counts, args.timeout)
    figures: dict[str, dict[str, list[float]]] = {name: {"off": [], "on": []} for name in workloads}
    for _ in range(args.repeat):
        for mode_name, mode in (("off", AUTH_OFF), ("on", AUTH_ON)):
            configure(mode)
            for name, run in workloads.items():
                figures[name][mode_name].append(run())
                log(f"  auth {mode_name}: {name}: {figures[name][mode_name][-1]:,.3f}")
    configure(AUTH_OFF)
    rows = ["| workload | auth off | auth on | on / off | goal |", "|---|---:|---:|---:|---|"]
    for name, sides in figures.items():
        off, on = statistics.median(sides["off"]), statistics.median(sides["on"])
        ratio = on / off
        # For a rate, the goal is on/off >= 0.9; for seconds, on/off <= 1.1.
        ok = ratio <= 1.1 if name.endswith(", s") else ratio >= 0.9
        rows.append(f"| {name} | {off:,.3f} | {on:,.3f} | {ratio:.2f} | within 10%: {'PASS' if ok else 'FAIL'} |")
    table = "\n".join(rows)
    print(table)
    if args.write_results:
        info = machine_info({"mlflow": python, "dockyard": python}, "-", "see below")
        section = [
            f"### {info['date']}: sign-in cost (auth off vs on)",
            "",
            f"- Command: `.venv/bin/python benchmarks/auth_bench.py {' '.join(argv)}`",
            f"- Machine: {info['nproc']} CPUs, {info['cpu']}; median of {args.repeat} fresh-server measurements each",
            "- Auth on: `dockyard server --auth`; the clients sign in as a regular (not admin) user with HTTP "
            "Basic on every request, so each call's permission is checked (the user's grant on the experiment, "
            "MANAGE as its creator; READ by default on the prefilled search experiment).",
            "",
            table,
            "",
        ]
        existing = RESULTS.read_text() if RESULTS.exists() else RESULTS_HEADER
        RESULTS.write_text(sb.add_to_results(existing, "\n".join(section)))
        log(f"appended to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
