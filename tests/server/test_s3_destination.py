"""The artifact proxy writing to S3: a real server with ``--artifacts-destination s3://...``, against
moto's standalone S3-compatible server on loopback; Dockyard's client logs and reads back through it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.dockyard_process import dockyard_server

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

import dockyard  # noqa: E402

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def s3() -> Iterator[tuple[str, str]]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"dockyard-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    try:
        yield endpoint, bucket
    finally:
        server.stop()


def test_artifacts_go_through_the_server_to_the_bucket(s3: tuple[str, str], tmp_path: Path) -> None:
    endpoint, bucket = s3
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    with dockyard_server(tmp_path, destination=f"s3://{bucket}/tracking", env=env) as server:
        client = dockyard.Client(server.url)
        run = client.create_run("0")
        local = tmp_path / "model.txt"
        local.write_text("weights")
        client.log_artifact(run.info.run_id, local, "model")
        client.log_text(run.info.run_id, "hello", "notes/readme.md")
        assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["model", "notes"]
        out = Path(client.download_artifacts(run.info.run_id, "model/model.txt", tmp_path / "dl"))
        assert out.read_text() == "weights"
    s3_client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"])
    prefix = f"tracking/0/{run.info.run_id}/artifacts"
    assert keys == [f"{prefix}/model/model.txt", f"{prefix}/notes/readme.md"]
    assert run.info.artifact_uri == f"mlflow-artifacts:/0/{run.info.run_id}/artifacts"


MULTIPART_CLIENT = """
import os, sys, hashlib
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
path = sys.argv[2]
with mlflow.start_run() as run:
    mlflow.log_artifact(path, "big")
print(run.info.run_id)
"""


def test_mlflow_client_multipart_upload_goes_straight_to_the_bucket(s3: tuple[str, str], tmp_path: Path) -> None:
    """MLflow's client asks the server for presigned part URLs, PUTs the parts to S3 itself, then
    asks the server to complete the upload."""
    import hashlib
    import os
    import subprocess
    import sys

    endpoint, bucket = s3
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(11 * 1024 * 1024))  # three parts of 5 MB, 5 MB and 1 MB
    with dockyard_server(tmp_path, destination=f"s3://{bucket}/tracking", env=env) as server:
        client_env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
        client_env.update(
            {
                "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
                "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(1024 * 1024),
                "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * 1024 * 1024),
                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            }
        )
        out = subprocess.run(
            [sys.executable, "-c", MULTIPART_CLIENT, server.url, str(big)],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        run_id = out.stdout.strip().splitlines()[-1]
        log = (tmp_path / "server.log").read_text()
    s3_client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    key = f"tracking/0/{run_id}/artifacts/big/weights.bin"
    stored = s3_client.get_object(Bucket=bucket, Key=key)
    assert stored["ETag"].strip('"').endswith("-3")  # assembled from 3 parts, not one PUT
    body = stored["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(big.read_bytes()).hexdigest()
    assert "Traceback" not in log
