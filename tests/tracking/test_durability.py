"""Real processes: concurrent writers on one SQLite file, SIGKILL, and interpreter exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dockyard
from dockyard.tracking.entities import RunStatus

WRITER = textwrap.dedent(
    """
    import sys
    import dockyard
    from dockyard import Metric

    uri, worker = sys.argv[1], int(sys.argv[2])
    client = dockyard.Client(uri)
    run = client.create_run("0", run_name=f"worker-{worker}")
    run_id = run.info.run_id
    for i in range(20):
        client.log_batch(run_id, metrics=[Metric("batched", float(j), 1, i * 50 + j) for j in range(50)])
    for i in range(100):
        client.log_metric(run_id, "single", float(i), step=i)
    client.log_param(run_id, "worker", worker)
    # the fluent API too, with its background writer
    dockyard.set_tracking_uri(uri)
    with dockyard.start_run(run_name=f"fluent-{worker}"):
        for i in range(300):
            dockyard.log_metric("async", float(i), step=i)
    client.set_terminated(run_id)
    print(run_id)
    """
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_eight_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    uri = str(tmp_path / "shared.db")  # not created yet: the processes also race to migrate it
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=tmp_path,
        )
        for n in range(8)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    client = dockyard.Client(uri)
    runs = client.search_runs("0", max_results=100).items
    assert len(runs) == 16
    for out, _ in outputs:
        run_id = out.strip()
        assert [m.step for m in client.get_metric_history(run_id, "batched")] == list(range(1000))
        assert [m.step for m in client.get_metric_history(run_id, "single")] == list(range(100))
        run = client.get_run(run_id)
        assert run.info.status is RunStatus.FINISHED
    for run in runs:
        if run.info.run_name.startswith("fluent-"):
            assert len(client.get_metric_history(run.info.run_id, "async")) == 300


KILLED = textwrap.dedent(
    """
    import sys, time
    import dockyard

    dockyard.set_tracking_uri(sys.argv[1])
    run = dockyard.start_run()
    print("run", run.info.run_id, flush=True)
    step = 0
    while True:
        for _ in range(250):
            dockyard.log_metric("m", float(step), step=step)
            step += 1
        if step % 1000 == 0:
            dockyard.flush()
            print("flushed", step, flush=True)
        if step >= 4000:
            print("waiting", step, flush=True)
            time.sleep(60)
    """
)


def test_sigkill_loses_no_point_flushed_before_the_kill(tmp_path: Path) -> None:
    uri = str(tmp_path / "killed.db")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, uri], stdout=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[1]
    flushed = 0
    while flushed < 3000:
        line = proc.stdout.readline()
        assert line, "writer exited early"
        if line.startswith("flushed"):
            flushed = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    steps = [m.step for m in dockyard.Client(uri).get_metric_history(run_id, "m")]
    assert len(steps) >= flushed
    assert steps == list(range(len(steps)))  # no gap: the store holds a prefix of what was logged


def test_sigkill_after_the_flush_interval_loses_nothing(tmp_path: Path) -> None:
    uri = str(tmp_path / "interval.db")
    env = _env()
    env["DOCKYARD_FLUSH_INTERVAL"] = "0.2"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, uri], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[1]
    while not (line := proc.stdout.readline()).startswith("waiting"):
        assert line, "writer exited early"
    logged = int(line.split()[1])
    time.sleep(1.0)  # well past the 0.2 s interval, without any explicit flush of the last points
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    steps = [m.step for m in dockyard.Client(uri).get_metric_history(run_id, "m")]
    assert steps == list(range(logged))


EXITS = textwrap.dedent(
    """
    import sys
    import dockyard

    dockyard.set_tracking_uri(sys.argv[1])
    run = dockyard.start_run()
    print(run.info.run_id, flush=True)
    for i in range(500):
        dockyard.log_metric("m", float(i), step=i)
    dockyard.log_param("p", 1)
    # no end_run: interpreter exit must write the queue and finish the run
    """
)


def test_exit_without_end_run_writes_everything(tmp_path: Path) -> None:
    uri = str(tmp_path / "exit.db")
    out = subprocess.run(
        [sys.executable, "-c", EXITS, uri], capture_output=True, text=True, env=_env(), cwd=tmp_path, check=True
    )
    run = dockyard.Client(uri).get_run(out.stdout.strip())
    assert run.info.status is RunStatus.FINISHED
    assert run.data.params == {"p": "1"}
    assert len(dockyard.Client(uri).get_metric_history(run.info.run_id, "m")) == 500


@pytest.mark.slow
def test_a_million_points_log_and_read_back(tmp_path: Path) -> None:
    client = dockyard.Client(str(tmp_path / "million.db"))
    run_id = client.create_run("0").info.run_id
    total = 1_000_000
    chunk = 100_000
    for start in range(0, total, chunk):
        client.log_batch(
            run_id,
            metrics=[dockyard.Metric("loss", float(i), 1_700_000_000_000 + i, i) for i in range(start, start + chunk)],
        )
    assert client.get_run(run_id).data.metrics == {"loss": float(total - 1)}
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == total
    assert history[0].step == 0 and history[-1].step == total - 1
    assert all(history[i].step == i for i in range(0, total, 9973))
