"""Bundles run where Dockyard is not installed: a fresh virtual environment made by the bundle's own
``scripts/install`` (the Dockerfile's RUN step) from nothing but its ``requirements.txt``, the server
started by its ``serve`` script (the image's entry point) from another directory, checked by
``scripts/healthcheck`` (the image's HEALTHCHECK), scored over HTTP.

Two environments for the whole module (each takes tens of seconds to install): one for the scikit-learn
bundles (a model Dockyard logged, one MLflow logged, the zipapp), one for the ONNX bundle, which must
hold neither scikit-learn, SciPy nor pandas. No container engine runs here; the same scripts do.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pandas as pd
import pytest

import dockyard
from dockyard.packaging import PackageOptions, package_model

pytestmark = pytest.mark.timeout(1200)  # the module's fixture installs two environments on a busy machine

FORBIDDEN = ("sqlalchemy", "alembic", "rich", "yaml", "httpx2", "httpx", "boto3", "mlflow")


@dataclass(frozen=True)
class Bundles:
    root: Path
    dockyard_model: Path  # models:/churn/1, logged by Dockyard (docker and zipapp targets too)
    mlflow_model: Path  # a model folder MLflow wrote
    onnx: Path  # models:/churn/1 with --onnx
    sklearn_env: Path
    onnx_env: Path
    frame: pd.DataFrame  # rows to score
    mlflow_source: Path
    sklearn_env_modules: dict[str, bool]  # importable in the scikit-learn bundle's own environment
    pandas_free_answer: list[Any]  # the scikit-learn bundle's predictions, served from that environment


def _install(bundle: Path, venv: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["sh", str(bundle / "scripts" / "install"), str(venv)], check=True, env=env, timeout=600)


def _mlflow_model(path: Path, model: Any, frame: pd.DataFrame) -> Path:
    """A model folder written by MLflow itself, with the requirements MLflow records in a clean
    environment (its own package first)."""
    import mlflow
    import mlflow.sklearn

    from dockyard.models.requirements import pinned

    requirements = [f"mlflow=={mlflow.__version__}", *(pinned(d) for d in ("scikit-learn", "skops", "pandas", "numpy"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own warnings about its environment are not under test
        mlflow.sklearn.save_model(
            model,
            str(path),
            input_example=frame.head(3),
            pip_requirements=requirements,
            skops_trusted_types=["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"],
        )
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> Bundles:
    root = tmp_path_factory.mktemp("bundles")
    store = root / "store.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")
        patch.setenv("DOCKYARD_MODEL_CACHE", str(root / "model-cache"))
        kit.register(store)
        client = dockyard.Client(str(store))
        try:
            for options in (
                PackageOptions(root / "dockyard-bundle", targets=("docker", "zipapp")),
                PackageOptions(root / "onnx-bundle", onnx=True),
            ):
                package_model("models:/churn/1", options, client=client)
            frame, _ = kit.training_data(40, seed=7)
            source = _mlflow_model(root / "mlflow-model", kit.classifier(), frame)
            package_model(str(source), PackageOptions(root / "mlflow-bundle"), client=client)
        finally:
            client.close()
    _install(root / "dockyard-bundle", root / "sklearn-env")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    # Checked before the MLflow model's pins (pandas among them) join the same environment: the scikit-learn
    # bundle's own environment has no pandas, and serves without it.
    modules = _importable(root / "sklearn-env", (*FORBIDDEN, "dockyard", "sklearn", "pandas"))
    server = _start([str(root / "dockyard-bundle" / "serve")], root / "sklearn-env", elsewhere, root / "first.log")
    try:
        answer = server.post("/invocations", _split(frame))
    finally:
        _stop(server)
    # The MLflow model's pins are this machine's too: the same environment holds them.
    subprocess.run(
        [
            str(root / "sklearn-env" / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-cache-dir",
            "-r",
            str(root / "mlflow-bundle" / "requirements.txt"),
        ],
        check=True,
        timeout=600,
    )
    _install(root / "onnx-bundle", root / "onnx-env")
    return Bundles(
        root,
        root / "dockyard-bundle",
        root / "mlflow-bundle",
        root / "onnx-bundle",
        root / "sklearn-env",
        root / "onnx-env",
        frame,
        source,
        modules,
        answer["predictions"],
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def post(self, path: str, payload: Any) -> Any:
        answer = httpx2.post(self.url(path), json=payload, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()


def _start(argv: list[str], venv: Path, cwd: Path, log: Path) -> Server:
    port = _free_port()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "PORT": str(port)}
    env.pop("PYTHONPATH", None)
    for name in [n for n in env if n.startswith(("DOCKYARD_", "VIRTUAL_ENV"))]:
        env.pop(name)
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx2.get(server.url("/ping"), timeout=2).status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not answer /ping within 120 s:\n{log.read_text()}")


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _importable(venv: Path, names: tuple[str, ...]) -> dict[str, bool]:
    code = (
        "import importlib.util, json, sys; "
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in sys.argv[1:]}))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, *names], check=True, capture_output=True, timeout=60
    )
    return dict(json.loads(result.stdout))


def _split(frame: pd.DataFrame) -> dict[str, Any]:
    return {"dataframe_split": {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}}


def test_a_dockyard_model_bundle_serves_in_a_fresh_environment_as_in_process(bundles: Bundles) -> None:
    expected = dockyard.models.load_model(bundles.dockyard_model / "model").predict(bundles.frame)
    server = _start(
        [str(bundles.dockyard_model / "serve")],
        bundles.sklearn_env,
        bundles.root / "elsewhere",
        bundles.root / "dockyard.log",
    )
    try:
        answer = server.post("/invocations", _split(bundles.frame))
        np.testing.assert_array_equal(answer["predictions"], expected)
        version = httpx2.get(server.url("/version"), timeout=10).json()
        assert version["model_name"] == "churn" and version["model_version"] == "1"
        v2 = server.post(
            "/v2/models/churn/infer",
            {
                "inputs": [
                    {
                        "name": "input",
                        "shape": [len(bundles.frame), bundles.frame.shape[1]],
                        "datatype": "FP64",
                        "data": bundles.frame.to_numpy().ravel().tolist(),
                    }
                ]
            },
        )
        np.testing.assert_array_equal(v2["outputs"][0]["data"], expected)
        env = {**os.environ, "PORT": str(server.port)}
        health = subprocess.run(
            [sys.executable, str(bundles.dockyard_model / "scripts" / "healthcheck")], env=env, timeout=30
        )
        assert health.returncode == 0
        smoke = subprocess.run(
            [sys.executable, str(bundles.dockyard_model / "scripts" / "smoke")],
            env=env,
            capture_output=True,
            timeout=30,
            check=True,
        )
        assert "predictions" in json.loads(smoke.stdout)
    finally:
        _stop(server)
    down = subprocess.run(
        [sys.executable, str(bundles.dockyard_model / "scripts" / "healthcheck")],
        env={**os.environ, "PORT": str(server.port)},
        capture_output=True,
        timeout=30,
    )
    assert down.returncode == 1


def test_the_environment_holds_no_tracking_store_no_yaml_no_pandas_and_no_dockyard_package(bundles: Bundles) -> None:
    found = bundles.sklearn_env_modules
    assert not any(found[name] for name in FORBIDDEN), found
    assert found["dockyard"] is False  # only the bundle's runtime/, which serve puts on the path
    assert found["sklearn"] and not found["pandas"]  # the model's library; its numeric table goes as an array
    expected = dockyard.models.load_model(bundles.dockyard_model / "model").predict(bundles.frame)
    np.testing.assert_array_equal(bundles.pandas_free_answer, expected)
    # click is there only because uvicorn (the HTTP server) requires it; no package of the bundle's asks for it.
    code = (
        "import importlib.metadata as m, json; print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions() "
        "if any(r.split(';')[0].replace(' ', '').lower().startswith('click') and 'extra' not in r.partition(';')[2] "
        "for r in (d.requires or [])))))"
    )
    result = subprocess.run(
        [str(bundles.sklearn_env / "bin" / "python"), "-c", code], capture_output=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == ["uvicorn"]


def test_a_model_mlflow_logged_packages_the_same_way(bundles: Bundles) -> None:
    import mlflow.pyfunc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = mlflow.pyfunc.load_model(str(bundles.mlflow_source)).predict(bundles.frame)
    pins = (bundles.mlflow_model / "requirements.txt").read_text()
    assert "mlflow" not in pins.replace("mlflow-model", "") and "scikit-learn==" in pins
    server = _start(
        [str(bundles.mlflow_model / "serve")],
        bundles.sklearn_env,
        bundles.root / "elsewhere",
        bundles.root / "mlflow.log",
    )
    try:
        answer = server.post("/invocations", _split(bundles.frame))
    finally:
        _stop(server)
    np.testing.assert_array_equal(answer["predictions"], np.asarray(expected))


def test_the_onnx_bundle_serves_with_onnxruntime_alone(bundles: Bundles) -> None:
    found = _importable(bundles.onnx_env, ("sklearn", "scipy", "pandas", "onnxruntime", *FORBIDDEN))
    assert found["onnxruntime"] and not found["sklearn"] and not found["scipy"] and not found["pandas"], found
    assert not any(found[name] for name in FORBIDDEN), found
    expected = dockyard.models.load_model(bundles.dockyard_model / "model").predict(bundles.frame)
    server = _start(
        [str(bundles.onnx / "serve")], bundles.onnx_env, bundles.root / "elsewhere", bundles.root / "onnx.log"
    )
    try:
        answer = server.post("/invocations", _split(bundles.frame))
        records = server.post("/invocations", {"dataframe_records": bundles.frame.to_dict(orient="records")})
        bad = httpx2.post(server.url("/invocations"), json={"dataframe_records": [{"f0": "x"}]}, timeout=10)
        assert bad.status_code == 400 and "missing input columns" in bad.text
    finally:
        _stop(server)
    np.testing.assert_array_equal(answer["predictions"], expected)
    np.testing.assert_array_equal(records["predictions"], expected)


def test_the_zipapp_is_the_server_in_one_file(bundles: Bundles) -> None:
    pyz = bundles.dockyard_model / "churn.pyz"
    expected = dockyard.models.load_model(bundles.dockyard_model / "model").predict(bundles.frame)
    server = _start(["python", str(pyz)], bundles.sklearn_env, bundles.root / "elsewhere", bundles.root / "pyz.log")
    try:
        answer = server.post("/invocations", _split(bundles.frame))
    finally:
        _stop(server)
    np.testing.assert_array_equal(answer["predictions"], expected)
