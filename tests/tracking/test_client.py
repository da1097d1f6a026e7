from __future__ import annotations

from pathlib import Path

import pytest

import dockyard
from dockyard.core.errors import InvalidParameter
from dockyard.tracking.entities import Metric, Param, RunTag


@pytest.fixture
def client(tmp_path: Path) -> dockyard.Client:
    return dockyard.Client(str(tmp_path / "c.db"))


def test_log_batch_over_the_call_limit_is_chunked(client: dockyard.Client) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), 1, i) for i in range(2500)],
        params=[Param(f"p{i}", i) for i in range(250)],
        tags=[RunTag(f"t{i}", i) for i in range(150)],
    )
    run = client.get_run(run_id)
    assert len(run.data.params) == 250
    assert len([k for k in run.data.tags if k.startswith("t")]) == 150
    assert [m.step for m in client.get_metric_history(run_id, "m")] == list(range(2500))


def test_log_batch_validates_everything_before_writing(client: dockyard.Client) -> None:
    run_id = client.create_run("0").info.run_id
    metrics = [Metric("m", float(i), 1, i) for i in range(2000)]
    metrics[1500] = Metric("bad key!", 1.0, 1, 0)
    with pytest.raises(InvalidParameter, match="metric key"):
        client.log_batch(run_id, metrics=metrics)
    assert client.get_metric_history(run_id, "m") == []


def test_asynchronous_client_logging_is_read_back(client: dockyard.Client) -> None:
    run_id = client.create_run("0").info.run_id
    for i in range(100):
        client.log_metric(run_id, "m", float(i), step=i, synchronous=False)
    client.log_param(run_id, "p", 1, synchronous=False)
    client.set_tag(run_id, "t", "v", synchronous=False)
    client.log_batch(run_id, metrics=[Metric("n", 1.0, 1, 0)], synchronous=False)
    run = client.get_run(run_id)  # reads flush this client's queue first
    assert run.data.metrics == {"m": 99.0, "n": 1.0}
    assert run.data.params == {"p": "1"} and run.data.tags["t"] == "v"
    client.close()


def test_set_terminated_flushes_first(tmp_path: Path) -> None:
    writer = dockyard.Client(str(tmp_path / "t.db"))
    run_id = writer.create_run("0").info.run_id
    writer.log_metric(run_id, "m", 1.0, synchronous=False)
    writer.set_terminated(run_id, "FAILED")
    run = dockyard.Client(str(tmp_path / "t.db")).get_run(run_id)
    assert run.info.status.value == "FAILED"
    assert run.data.metrics == {"m": 1.0}


def test_artifacts_roundtrip(client: dockyard.Client, tmp_path: Path) -> None:
    run_id = client.create_run("0").info.run_id
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    client.log_artifacts(run_id, src, "data")
    client.log_artifact_bytes(run_id, "raw/blob.bin", b"\x00\x01")
    assert [f.path for f in client.list_artifacts(run_id)] == ["data", "raw"]
    out = Path(client.download_artifacts(run_id, "data", tmp_path / "out"))
    assert (out / "a.txt").read_text() == "a" and (out / "sub" / "b.txt").read_text() == "b"
    with pytest.raises(InvalidParameter, match="JSON"):
        client.log_dict(run_id, {"x": object()}, "bad.json")
    with pytest.raises(InvalidParameter, match="text"):
        client.log_text(run_id, b"bytes", "t.txt")  # type: ignore[arg-type]


def test_http_uri_means_the_remote_client_and_unknown_schemes_are_refused() -> None:
    from dockyard.tracking.remote import RemoteTrackingService

    assert isinstance(dockyard.Client("http://localhost:5000")._service, RemoteTrackingService)
    with pytest.raises(InvalidParameter, match="unsupported"):
        dockyard.Client("ftp://somewhere/x")


def test_clients_of_one_store_share_one_engine(tmp_path: Path) -> None:
    a = dockyard.Client(str(tmp_path / "s.db"))
    b = dockyard.Client(f"sqlite:///{tmp_path / 's.db'}")
    assert a._service is b._service
