from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockyard.__about__ import __version__
from dockyard.core.errors import InvalidParameter
from dockyard.models import requirements as reqs


def test_inferred_requirements_are_the_pinned_packages_and_no_dockyard_runtime() -> None:
    lines = reqs.model_requirements(["numpy", "scipy"])
    assert lines == [reqs.pinned("numpy"), reqs.pinned("scipy")]
    assert all("==" in line for line in lines)
    assert reqs.runtime_requirement() == f"dockyard[serve]=={__version__}" not in lines


def test_local_version_labels_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reqs.metadata, "version", lambda name: "2.13.0+cpu")
    assert reqs.pinned("torch") == "torch==2.13.0"


def test_extra_requirements_add_and_override() -> None:
    lines = reqs.model_requirements(["numpy"], extra_pip_requirements=["numpy<3", "requests==2.0"])
    assert lines == ["numpy<3", "requests==2.0"]


def test_pip_requirements_replace_everything(tmp_path: Path) -> None:
    assert reqs.model_requirements(["numpy"], pip_requirements=["scikit-learn==1.0"]) == ["scikit-learn==1.0"]
    file = tmp_path / "req.txt"
    file.write_text("# pinned by hand\nnumpy==1.0\n\n")
    assert reqs.model_requirements([], pip_requirements=str(file)) == ["numpy==1.0"]


def test_bad_requirement_arguments() -> None:
    with pytest.raises(InvalidParameter, match="not both"):
        reqs.model_requirements([], pip_requirements=["a"], extra_pip_requirements=["b"])
    with pytest.raises(InvalidParameter, match="not a requirements file"):
        reqs.model_requirements([], pip_requirements="/no/such/file.txt")
    with pytest.raises(InvalidParameter, match="not valid"):
        reqs.model_requirements([], extra_pip_requirements=["==1.0"])
    with pytest.raises(InvalidParameter, match="list of strings"):
        reqs.model_requirements([], extra_pip_requirements=[1])  # type: ignore[list-item]


def test_requirement_names_are_normalised() -> None:
    assert reqs.requirement_name("Scikit_Learn>=1.0") == "scikit-learn"
    assert reqs.requirement_name("dockyard[serve]==1") == "dockyard"


def test_environment_files(tmp_path: Path) -> None:
    reqs.write_environment(tmp_path, ["numpy==2.0"])
    assert (tmp_path / "requirements.txt").read_text() == "numpy==2.0\n"
    python_env = yaml.safe_load((tmp_path / "python_env.yaml").read_text())
    assert python_env["python"] == reqs.python_version()
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((tmp_path / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": ["numpy==2.0"]}
    assert reqs.read_requirements(tmp_path) == ["numpy==2.0"]
