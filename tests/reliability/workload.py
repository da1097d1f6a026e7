"""The write load of the fault-injection tests: clients logging batches and files through a server,
a ledger of what each saw acknowledged, and the check that nothing acknowledged was lost and nothing
half-written is visible."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import dockyard
from dockyard.artifacts.local import _is_tmp
from dockyard.core.errors import StoreUnavailable
from dockyard.tracking.entities import Metric, Param, RunTag

CLIENTS = 8
TIMESTAMP = 1_700_000_000_000
ARTIFACT_EVERY = 4  # every 4th step also uploads a file


def artifact_bytes(run_id: str, step: int) -> bytes:
    """A file big enough to be caught mid-write (64 KiB), whose content says which it is."""
    return (f"{run_id}:{step}:".encode() * 4096)[: 64 * 1024]


@dataclass
class Ledger:
    """What the clients saw acknowledged, and what failed (unknown outcome) on the way."""

    batches: set[tuple[str, int]] = field(default_factory=set)
    files: set[tuple[str, int]] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.batches)

    def acknowledged(self, run_id: str) -> int:
        with self.lock:
            return sum(1 for r, _ in self.batches if r == run_id)


def client_loop(url: str, run_id: str, ledger: Ledger, stop: threading.Event) -> None:
    """One client: a log-batch per step, a file every few steps; a failure (the server is down) is noted
    and the client goes on with the next step, as a training loop would."""
    client = dockyard.Client(url)
    try:
        step = 0
        while not stop.is_set():
            try:
                client.log_batch(
                    run_id,
                    metrics=[Metric("m", float(step), TIMESTAMP + step, step)],
                    params=[Param(f"p{step}", str(step))],
                    tags=[RunTag(f"t{step}", str(step))],
                )
                with ledger.lock:
                    ledger.batches.add((run_id, step))
                if step % ARTIFACT_EVERY == 0:
                    client.log_artifact_bytes(run_id, f"files/f{step}.bin", artifact_bytes(run_id, step))
                    with ledger.lock:
                        ledger.files.add((run_id, step))
            except StoreUnavailable as exc:
                with ledger.lock:
                    ledger.failures.append(f"{run_id} step {step}: {exc.message[:120]}")
                stop.wait(0.2)
            step += 1
    finally:
        client.close()


def start_clients(url: str, runs: list[str], ledger: Ledger, stop: threading.Event) -> list[threading.Thread]:
    """One client thread per run, logging until ``stop``."""
    threads = [threading.Thread(target=client_loop, args=(url, r, ledger, stop), daemon=True) for r in runs]
    for thread in threads:
        thread.start()
    return threads


def verify(url: str, artifacts: Path, experiment: str, runs: list[str], ledger: Ledger) -> None:
    reader = dockyard.Client(url)
    try:
        for run_id in runs:
            run = reader.get_run(run_id)
            points = reader.get_metric_history(run_id, "m")
            steps = [p.step for p in points]
            assert len(steps) == len(set(steps)), f"run {run_id}: a point stored twice"
            params = set(run.data.params)
            tags = {k for k in run.data.tags if k.startswith("t") and k[1:].isdigit()}
            # Whole or absent: a batch's param, tag and point are there together.
            assert {f"p{s}" for s in steps} == params, f"run {run_id}: a batch half-written"
            assert {f"t{s}" for s in steps} == tags, f"run {run_id}: a batch half-written"
            acknowledged = {step for r, step in ledger.batches if r == run_id}
            lost = acknowledged - set(steps)
            assert not lost, f"run {run_id}: acknowledged batches lost: {sorted(lost)[:10]}"
    finally:
        reader.close()
    # Every file at its final path is complete; every acknowledged one is there.
    found: dict[tuple[str, int], bytes] = {}
    for path in artifacts.rglob("*"):
        if path.is_file() and not _is_tmp(path.name):
            run_id = path.relative_to(artifacts).parts[1]
            step = int(path.stem[1:])
            assert path.read_bytes() == artifact_bytes(run_id, step), f"{path}: partial or foreign content"
            found[(run_id, step)] = b""
    missing = ledger.files - set(found)
    assert not missing, f"acknowledged files missing: {sorted(missing)[:5]}"
    assert experiment  # the files were under the experiment's folder (checked by the run ids above)
