"""ONNX and PyTorch (CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import dockyard.onnx
import dockyard.pytorch
from dockyard.core.errors import InvalidModel, InvalidParameter
from dockyard.models import load_model

torch = pytest.importorskip("torch")

X = np.random.default_rng(2).random((8, 3)).astype("float32")


def _net() -> object:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))


def test_onnx_round_trip(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    sk = LinearRegression().fit(X, X.sum(axis=1))
    proto = to_onnx(sk, X[:1])
    info = dockyard.onnx.save_model(proto, tmp_path / "m", input_example=X[:2])
    assert info.flavors["onnx"]["providers"] == ["CPUExecutionProvider"]
    assert type(dockyard.onnx.load_model(tmp_path / "m")).__name__ == "ModelProto"
    out = load_model(tmp_path / "m").predict(X)
    np.testing.assert_allclose(out.ravel(), sk.predict(X), rtol=1e-4)


def test_onnx_rejects_a_broken_model(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    dockyard.onnx.save_model(to_onnx(LinearRegression().fit(X, X[:, 0]), X[:1]), tmp_path / "m")
    (tmp_path / "m" / "model.onnx").unlink()
    with pytest.raises(InvalidModel, match=r"missing file model\.onnx"):
        load_model(tmp_path / "m")


def test_pytorch_pickle_round_trip(tmp_path: Path) -> None:
    net = _net()
    info = dockyard.pytorch.save_model(net, tmp_path / "m", input_example=X[:2])
    assert (tmp_path / "m" / "data" / "model.pth").is_file()
    assert info.signature is not None and info.signature.outputs is not None
    loaded = dockyard.pytorch.load_model(tmp_path / "m", allow_pickle=True)  # a pickled module: opted in
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(loaded(torch.from_numpy(X)).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(load_model(tmp_path / "m", allow_pickle=True).predict(X), expected, rtol=1e-6)
    requirements = (tmp_path / "m" / "requirements.txt").read_text()
    assert "torch==" in requirements and "+cpu" not in requirements


def test_pytorch_export_round_trip(tmp_path: Path) -> None:
    net = _net()
    dockyard.pytorch.save_model(net, tmp_path / "m", input_example=X[:2], serialization_format="pt2")
    assert (tmp_path / "m" / "data" / "model.pt2").is_file()
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
    # The batch dimension is dynamic: 8 rows work though the example had 2.
    np.testing.assert_allclose(load_model(tmp_path / "m").predict(X), expected, rtol=1e-5)


def test_pytorch_bad_options(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="needs an input_example"):
        dockyard.pytorch.save_model(_net(), tmp_path / "a", serialization_format="pt2")
    with pytest.raises(InvalidParameter, match="not one of pickle, pt2"):
        dockyard.pytorch.save_model(_net(), tmp_path / "b", serialization_format="onnx")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_pytorch_section_is_mlflows(tmp_path: Path) -> None:
    dockyard.pytorch.save_model(_net(), tmp_path / "m")
    flavors = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]
    assert flavors["pytorch"]["model_data"] == "data"
    assert flavors["python_function"]["loader_module"] == "mlflow.pytorch"
    assert (tmp_path / "m" / "data" / "pickle_module_info.txt").read_text() == "mlflow.pytorch.pickle_module"
