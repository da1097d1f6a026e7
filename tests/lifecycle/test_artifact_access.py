"""dockyard.artifacts.download_artifacts, list_artifacts, load_text, load_dict, load_image (MLflow's
mlflow.artifacts), and how the store package exposes them without importing a layer above it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dockyard
import dockyard.artifacts
from dockyard.core.errors import ArtifactNotFound, InvalidParameter, ModelVersionNotFound
from dockyard.lifecycle import artifact_access


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "artifacts.db"
    dockyard.set_tracking_uri(str(path))
    return path


@pytest.fixture
def run_id(store: Path) -> str:
    with dockyard.start_run() as run:
        dockyard.log_text("hello", "notes/readme.txt")
        dockyard.log_dict({"lr": 0.1}, "config.json")
        dockyard.log_dict({"depth": 6}, "config.yaml")
        dockyard.log_text("b\xe9", "latin.txt")
    (Path(run.info.artifact_uri) / "latin.txt").write_bytes("b\xe9".encode("latin-1"))
    return run.info.run_id


def test_the_store_package_exposes_the_functions_without_importing_up() -> None:
    code = (
        "import sys, dockyard.artifacts; "
        "print(sorted(m for m in sys.modules if m.startswith(('dockyard.lifecycle', 'dockyard.tracking'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert set(dockyard.artifacts.USER_FUNCTIONS) == set(artifact_access.__all__)
    for name in dockyard.artifacts.USER_FUNCTIONS:
        assert getattr(dockyard.artifacts, name) is getattr(artifact_access, name)
        assert name in dir(dockyard.artifacts)
    from dockyard.artifacts import download_artifacts

    assert download_artifacts is artifact_access.download_artifacts
    with pytest.raises(AttributeError, match="no attribute 'load_table'"):
        dockyard.artifacts.load_table  # noqa: B018


def test_mlflow_style_attribute_access_works_after_import_dockyard_as_mlflow() -> None:
    code = "import dockyard as mlflow; print(mlflow.artifacts.load_text.__module__, mlflow.entities.Run.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["dockyard.lifecycle.artifact_access", "Run"]


def test_load_text_and_load_dict_by_runs_uri_and_by_location(run_id: str) -> None:
    artifact_uri = dockyard.get_run(run_id).info.artifact_uri
    assert dockyard.artifacts.load_text(f"runs:/{run_id}/notes/readme.txt") == "hello"
    assert dockyard.artifacts.load_text(artifact_uri + "/notes/readme.txt") == "hello"
    assert dockyard.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"lr": 0.1}
    assert dockyard.artifacts.load_dict(artifact_uri + "/config.yaml") == {"depth": 6}


def test_load_errors_name_the_uri_and_the_reason(run_id: str) -> None:
    with pytest.raises(InvalidParameter, match="not valid UTF-8"):
        dockyard.artifacts.load_text(f"runs:/{run_id}/latin.txt")
    with pytest.raises(InvalidParameter, match="not valid JSON"):
        dockyard.artifacts.load_dict(f"runs:/{run_id}/notes/readme.txt")
    with pytest.raises(InvalidParameter, match="names a directory"):
        dockyard.artifacts.load_text(f"runs:/{run_id}")
    with pytest.raises(ArtifactNotFound):
        dockyard.artifacts.load_text(f"runs:/{run_id}/missing.txt")
    with pytest.raises(InvalidParameter, match="not an image"):
        dockyard.artifacts.load_image(f"runs:/{run_id}/config.json")


def test_download_a_file_a_folder_and_a_whole_run(run_id: str, tmp_path: Path) -> None:
    one = dockyard.artifacts.download_artifacts(f"runs:/{run_id}/notes/readme.txt", dst_path=tmp_path / "one")
    assert Path(one).read_text() == "hello" and Path(one).parent == tmp_path / "one"
    folder = dockyard.artifacts.download_artifacts(run_id=run_id, artifact_path="notes", dst_path=tmp_path / "two")
    assert sorted(p.name for p in Path(folder).iterdir()) == ["readme.txt"]
    everything = Path(dockyard.artifacts.download_artifacts(run_id=run_id, dst_path=tmp_path / "three"))
    assert {"config.json", "config.yaml", "notes"} <= {p.name for p in everything.iterdir()}
    # Without dst_path, files on the local disk are returned where they are.
    in_place = dockyard.artifacts.download_artifacts(f"runs:/{run_id}/config.json")
    assert Path(in_place) == Path(dockyard.get_run(run_id).info.artifact_uri) / "config.json"


def test_list_artifacts_of_a_run_and_of_a_location(run_id: str) -> None:
    top = {i.path: i.is_dir for i in dockyard.artifacts.list_artifacts(run_id=run_id)}
    assert top["notes"] is True and top["config.json"] is False
    assert [i.path for i in dockyard.artifacts.list_artifacts(run_id=run_id, artifact_path="notes")] == [
        "notes/readme.txt"
    ]
    assert [i.path for i in dockyard.artifacts.list_artifacts(f"runs:/{run_id}/notes")] == ["notes/readme.txt"]
    location = dockyard.get_run(run_id).info.artifact_uri + "/notes"
    assert [i.path for i in dockyard.artifacts.list_artifacts(location)] == ["notes/readme.txt"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Exactly one of `run_id` or `artifact_uri` must be specified"),
        ({"artifact_uri": "runs:/x/y", "run_id": "x"}, "Exactly one of `run_id` or `artifact_uri` must be specified"),
        ({"artifact_uri": "runs:/x/y", "artifact_path": "y"}, "`artifact_path` cannot be specified"),
    ],
)
def test_argument_errors_use_mlflows_messages(store: Path, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        dockyard.artifacts.download_artifacts(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match=message):
        dockyard.artifacts.list_artifacts(**kwargs)  # type: ignore[arg-type]


def test_a_path_that_climbs_out_of_the_run_is_refused(run_id: str) -> None:
    with pytest.raises(InvalidParameter, match=r"'\.\.' components are not allowed"):
        dockyard.artifacts.download_artifacts(run_id=run_id, artifact_path="../../etc")


def test_model_uris_resolve_through_the_run_and_the_registry(store: Path, tmp_path: Path) -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    import dockyard.sklearn

    model = sklearn.LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with dockyard.start_run() as run:
        info = dockyard.sklearn.log_model(model, name="model", registered_model_name="linear")
    client = dockyard.MlflowClient(str(store))
    client.set_registered_model_alias("linear", "champion", 1)
    for uri in (f"runs:/{run.info.run_id}/model", "models:/linear/1", "models:/linear@champion", info.model_uri):
        listed = {i.path for i in dockyard.artifacts.list_artifacts(uri)}
        assert any(p.endswith("MLmodel") for p in listed), uri
    mlmodel = dockyard.artifacts.load_text(f"runs:/{run.info.run_id}/model/MLmodel")
    assert "flavors:" in mlmodel
    copied = Path(dockyard.artifacts.download_artifacts("models:/linear@champion", dst_path=tmp_path / "m"))
    assert (copied / "MLmodel").is_file()
    with pytest.raises(ModelVersionNotFound):
        dockyard.artifacts.download_artifacts("models:/linear/7")


def test_a_tracking_uri_argument_reads_another_store(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    client = dockyard.Client(str(other))
    run = client.create_run("0")
    client.log_dict(run.info.run_id, {"a": 1}, "a.json")
    dockyard.set_tracking_uri(str(tmp_path / "fluent.db"))
    listed = dockyard.artifacts.list_artifacts(run_id=run.info.run_id, tracking_uri=str(other))
    assert [i.path for i in listed] == ["a.json"]
    local = dockyard.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="a.json", tracking_uri=str(other)
    )
    assert json.loads(Path(local).read_text()) == {"a": 1}
