from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockyard.core.errors import InvalidModel
from dockyard.models.manifest import Model
from dockyard.models.signature import ColSpec, ModelSignature, Schema


def test_round_trip_keeps_keys_another_writer_added(tmp_path: Path) -> None:
    written = {
        "artifact_path": "s3://bucket/models/m-1/artifacts",
        "flavors": {"python_function": {"loader_module": "mlflow.sklearn"}, "sklearn": {"pickled_model": "m.pkl"}},
        "mlflow_version": "3.17.2",
        "model_id": "m-1",
        "model_uuid": "m-1",
        "prompts": None,
        "run_id": "abc",
        "utc_time_created": "2026-01-01 00:00:00.000000",
        "signature": {"inputs": '[{"type": "long", "name": "x", "required": true}]', "outputs": None, "params": None},
    }
    (tmp_path / "MLmodel").write_text(yaml.safe_dump(written))
    model = Model.load(tmp_path)
    assert model.signature == ModelSignature(Schema([ColSpec("long", "x")]))
    assert model.pyfunc == {"loader_module": "mlflow.sklearn"}
    model.save(tmp_path)
    again = yaml.safe_load((tmp_path / "MLmodel").read_text())
    for key, value in written.items():
        assert again[key] == value


def test_missing_mlmodel_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        Model.load(tmp_path)


@pytest.mark.parametrize("text", ["flavors: [oops", "run_id: x\n", "flavors: {}\n"])
def test_corrupted_mlmodel(tmp_path: Path, text: str) -> None:
    (tmp_path / "MLmodel").write_text(text)
    with pytest.raises(InvalidModel, match="MLmodel"):
        Model.load(tmp_path)


def test_new_models_get_an_id_and_a_timestamp() -> None:
    a, b = Model(flavors={"x": {}}), Model(flavors={"x": {}})
    assert a.model_uuid != b.model_uuid and len(a.model_uuid) == 32
    assert len(a.utc_time_created) == len("2026-01-01 00:00:00.000000")
