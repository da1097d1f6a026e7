"""System metrics sampled in the background during a run, on by a flag or a setting."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

import dockyard
from dockyard.core.errors import LoggingFailed, MissingExtra
from dockyard.lifecycle import fluent
from dockyard.tracking.entities import RunStatus
from dockyard.tracking.system_metrics import GpuReader, Sampler, SystemMetricsMonitor

NAMES = (
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.02")
    monkeypatch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")
    path = tmp_path / "sys.db"
    dockyard.set_tracking_uri(str(path))
    return path


def wait_for_samples(run_id: str, count: int) -> None:
    """Wait (without a deadline of our own: pytest-timeout bounds it) until the monitor took ``count`` samples."""
    monitor = fluent._state.monitors[run_id]
    done = threading.Event()
    while monitor.samples < count:
        done.wait(0.01)


def test_flag_samples_cpu_and_memory_until_the_run_ends(store: Path) -> None:
    with dockyard.start_run(log_system_metrics=True) as run:
        wait_for_samples(run.info.run_id, 3)
    assert run.info.run_id not in fluent._state.monitors
    client = dockyard.Client(str(store))
    histories = {name: client.get_metric_history(run.info.run_id, name) for name in NAMES}
    lengths = {len(h) for h in histories.values()}
    assert len(lengths) == 1 and lengths.pop() >= 3
    for name, history in histories.items():
        assert [m.step for m in history] == list(range(len(history))), name
    assert all(0 <= m.value <= 100 for m in histories["system/cpu_utilization_percentage"])
    assert all(0 < m.value <= 100 for m in histories["system/system_memory_usage_percentage"])
    assert all(m.value > 1 for m in histories["system/system_memory_usage_megabytes"])
    assert "system/disk_usage_percentage" in client.get_run(run.info.run_id).data.metrics
    # Stopped at end_run: no sample arrives after the run ended.
    threading.Event().wait(0.1)
    again = client.get_metric_history(run.info.run_id, NAMES[0])
    assert len(again) == len(histories[NAMES[0]])
    assert client.get_run(run.info.run_id).info.status is RunStatus.FINISHED


def test_off_by_default(store: Path) -> None:
    with dockyard.start_run() as run:
        assert fluent._state.monitors == {}
    assert not [k for k in dockyard.get_run(run.info.run_id).data.metrics if k.startswith("system/")]


def test_setting_turns_it_on_and_the_flag_wins(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    dockyard.set_tracking_uri(str(store))  # settings are read when the client is built
    with dockyard.start_run() as run:
        wait_for_samples(run.info.run_id, 1)
    assert NAMES[0] in dockyard.get_run(run.info.run_id).data.metrics
    with dockyard.start_run(log_system_metrics=False):
        assert fluent._state.monitors == {}


def test_nested_runs_have_their_own_monitor(store: Path) -> None:
    with dockyard.start_run(log_system_metrics=True) as parent:
        with dockyard.start_run(nested=True, log_system_metrics=True) as child:
            assert set(fluent._state.monitors) == {parent.info.run_id, child.info.run_id}
            wait_for_samples(child.info.run_id, 1)
        assert set(fluent._state.monitors) == {parent.info.run_id}
    assert fluent._state.monitors == {}


def test_without_psutil_nothing_is_created(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    with pytest.raises(MissingExtra, match=r"dockyard\[system-metrics\]"):
        dockyard.start_run(log_system_metrics=True)
    assert dockyard.active_run() is None
    assert dockyard.search_runs(experiment_ids=["0"], output_format="list") == []


def test_a_failing_sample_is_raised_at_end_run_and_the_run_still_ends(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Sampler) -> dict[str, float]:
        raise OSError("no /proc")

    monkeypatch.setattr(Sampler, "sample", broken)
    run = dockyard.start_run(log_system_metrics=True)
    monitor = fluent._state.monitors[run.info.run_id]
    monitor._thread.join()  # the first sample fails and ends the thread
    with pytest.raises(LoggingFailed, match="no /proc") as info:
        dockyard.end_run()
    assert isinstance(info.value.__cause__, OSError)
    assert dockyard.active_run() is None
    assert dockyard.get_run(run.info.run_id).info.status is RunStatus.FINISHED


def test_monitor_with_an_injected_sampler(store: Path) -> None:
    client = dockyard.Client(str(store))
    run = client.create_run("0")
    values = iter(range(100))
    monitor = SystemMetricsMonitor(client, run.info.run_id, 0.01, sample=lambda: {"x": float(next(values))}).start()
    while monitor.samples < 2:
        threading.Event().wait(0.01)
    monitor.stop()
    client.flush()
    history = client.get_metric_history(run.info.run_id, "system/x")
    assert [m.value for m in history] == [float(m.step) for m in history] and len(history) >= 2
    client.close()


def test_gpu_metrics_from_nvml() -> None:
    class FakeNvml:
        def nvmlInit(self) -> None:
            pass

        def nvmlDeviceGetCount(self) -> int:
            return 2

        def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
            return i

        def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
            return SimpleNamespace(gpu=10 * (handle + 1))

        def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
            return SimpleNamespace(used=2_000_000_000, total=8_000_000_000)

    out = GpuReader(FakeNvml(), None).read()
    assert out["gpu_0_utilization_percentage"] == 10.0 and out["gpu_1_utilization_percentage"] == 20.0
    assert out["gpu_1_memory_usage_megabytes"] == 2000.0 and out["gpu_1_memory_usage_percentage"] == 25.0


def test_gpu_metrics_from_nvidia_smi_when_nvml_has_no_driver(tmp_path: Path) -> None:
    class NoDriver:
        def nvmlInit(self) -> None:
            raise RuntimeError("NVML Shared Library Not Found")

    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '35, 1024, 16384'\n")
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)
    out = GpuReader(NoDriver(), os.fspath(smi)).read()
    assert out == {
        "gpu_0_utilization_percentage": 35.0,
        "gpu_0_memory_usage_megabytes": 1024 * 1024 * 1024 / 1e6,
        "gpu_0_memory_usage_percentage": 6.25,
    }


def test_no_gpu_means_no_gpu_metrics() -> None:
    assert GpuReader(None, None).read() == {}
    assert not [k for k in Sampler(__import__("psutil"), GpuReader(None, None)).sample() if k.startswith("gpu")]
