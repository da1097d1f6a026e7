"""System metrics: CPU, memory, disk, network (and GPU when there is one), sampled during a run.

``start_run(log_system_metrics=True)`` (or ``DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING=true`` for every
run) starts a :class:`SystemMetricsMonitor`: a daemon thread that every
``DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL`` seconds (default 10) takes one sample and logs it as
metrics with MLflow's names (``system/cpu_utilization_percentage``, ...) at steps 0, 1, 2, ...
``end_run`` stops it before ending the run. CPU, memory, disk and network come from ``psutil``
(``pip install 'dockyard[system-metrics]'``); GPUs from NVIDIA's NVML (``pynvml``) when it is installed
and finds a GPU, else from ``nvidia-smi`` when it is on the PATH; without either there are no GPU metrics.

>>> sample = Sampler(psutil=None, gpus=GpuReader(None, None)).sample()
>>> sample
{}
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dockyard.core.clock import now_ms
from dockyard.core.errors import LoggingFailed, MissingExtra
from dockyard.tracking.entities import SYSTEM_METRIC_PREFIX, Metric

if TYPE_CHECKING:
    from dockyard.tracking.client import TrackingClient

PREFIX = SYSTEM_METRIC_PREFIX
MB = 1e6  # MLflow reports megabytes as 10**6 bytes
NVIDIA_SMI_TIMEOUT = 5.0


def require_psutil() -> Any:
    """The ``psutil`` module, or :class:`MissingExtra` naming the extra that brings it."""
    try:
        import psutil
    except ImportError:
        raise MissingExtra("psutil", "system-metrics") from None
    return psutil


class GpuReader:
    """Per-GPU utilisation and memory, from NVML (``pynvml``) or ``nvidia-smi``; empty without a GPU."""

    def __init__(self, nvml: Any, nvidia_smi: str | None) -> None:
        self._nvml = nvml
        self._handles: list[Any] = []
        if nvml is not None:
            try:
                nvml.nvmlInit()
                self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
            except Exception:  # NVML installed but no driver or no GPU: fall back to nvidia-smi
                self._nvml = None
        self._smi = nvidia_smi if self._nvml is None else None

    @classmethod
    def detect(cls) -> GpuReader:
        try:
            import pynvml as nvml
        except ImportError:
            nvml = None
        return cls(nvml, shutil.which("nvidia-smi"))

    def read(self) -> dict[str, float]:
        if self._nvml is not None:
            out: dict[str, float] = {}
            for i, handle in enumerate(self._handles):
                util = self._nvml.nvmlDeviceGetUtilizationRates(handle)
                mem = self._nvml.nvmlDeviceGetMemoryInfo(handle)
                out.update(_gpu_metrics(i, float(util.gpu), mem.used / MB, 100.0 * mem.used / max(mem.total, 1)))
            return out
        if self._smi is not None:
            return self._read_smi(self._smi)
        return {}

    @staticmethod
    def _read_smi(executable: str) -> dict[str, float]:
        proc = subprocess.run(  # noqa: S603  nvidia-smi as shutil.which found it, fixed arguments, no shell
            [executable, "--query-gpu=utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT,
            check=True,
        )
        out: dict[str, float] = {}
        for i, line in enumerate(row for row in proc.stdout.splitlines() if row.strip()):
            util, used, total = (float(part) for part in line.split(","))
            # nvidia-smi reports MiB.
            out.update(_gpu_metrics(i, util, used * 1024 * 1024 / MB, 100.0 * used / max(total, 1.0)))
        return out


def _gpu_metrics(index: int, utilization: float, used_mb: float, used_percent: float) -> dict[str, float]:
    return {
        f"gpu_{index}_utilization_percentage": utilization,
        f"gpu_{index}_memory_usage_megabytes": used_mb,
        f"gpu_{index}_memory_usage_percentage": used_percent,
    }


class Sampler:
    """One sample of the machine's state: metric name (without the ``system/`` prefix) -> value."""

    def __init__(self, psutil: Any, gpus: GpuReader) -> None:
        self._psutil = psutil
        self._gpus = gpus
        self._net_start: Any = None
        if psutil is not None:
            psutil.cpu_percent(interval=None)  # the first reading is meaningless; this primes the counter
            self._net_start = psutil.net_io_counters()

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        ps = self._psutil
        if ps is not None:
            memory = ps.virtual_memory()
            disk = ps.disk_usage("/")
            out["cpu_utilization_percentage"] = float(ps.cpu_percent(interval=None))
            out["system_memory_usage_megabytes"] = memory.used / MB
            out["system_memory_usage_percentage"] = float(memory.percent)
            out["disk_usage_percentage"] = float(disk.percent)
            out["disk_usage_megabytes"] = disk.used / MB
            out["disk_available_megabytes"] = disk.free / MB
            net = ps.net_io_counters()
            if net is not None and self._net_start is not None:
                out["network_receive_megabytes"] = (net.bytes_recv - self._net_start.bytes_recv) / MB
                out["network_transmit_megabytes"] = (net.bytes_sent - self._net_start.bytes_sent) / MB
        out.update(self._gpus.read())
        return out


class SystemMetricsMonitor:
    """Logs a sample every ``interval`` seconds to ``run_id`` from a daemon thread until :meth:`stop`.

    A sample that cannot be taken stops the sampling; :meth:`stop` then raises it as
    :class:`~dockyard.core.errors.LoggingFailed` (its ``__cause__`` is the original error).
    """

    def __init__(
        self,
        client: TrackingClient,
        run_id: str,
        interval: float,
        *,
        sample: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        self._client = client
        self._run_id = run_id
        self._interval = interval
        self._sample = sample or Sampler(require_psutil(), GpuReader.detect()).sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"dockyard-system-metrics-{run_id[:8]}", daemon=True)
        self._error: BaseException | None = None
        self.samples = 0

    def start(self) -> SystemMetricsMonitor:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                values = self._sample()
                timestamp = now_ms()
                metrics = [Metric(PREFIX + k, v, timestamp, self.samples) for k, v in sorted(values.items())]
                self._client.log_batch(self._run_id, metrics=metrics, synchronous=False)
            except BaseException as exc:  # reported by stop(), on the thread that ends the run
                self._error = exc
                return
            self.samples += 1

    def stop(self) -> None:
        """Stop sampling and wait for the thread; raise the error that stopped it early, if any."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise LoggingFailed(f"system metrics of run {self._run_id}: {error}") from error
