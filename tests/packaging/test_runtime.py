"""The serving runtime a bundle carries: the serving modules only, found from their imports."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from dockyard.packaging.runtime import runtime_modules, third_party_imports, write_runtime


def test_the_runtime_carries_serving_models_and_the_core_they_use_and_nothing_of_the_stores() -> None:
    modules = runtime_modules()
    assert {"dockyard.serving.app", "dockyard.serving.bundle", "dockyard.models.flavors.sklearn"} <= set(modules)
    assert {"dockyard", "dockyard.__about__", "dockyard.core.errors"} <= set(modules)
    layers = {name.split(".")[1] for name in modules if name.count(".")}
    assert layers <= {"serving", "models", "core", "__about__"}, layers
    assert "dockyard.core.transport" not in modules and "dockyard.core.search" not in modules


def test_the_runtime_names_no_library_of_the_tracking_store_or_the_cli() -> None:
    libraries = third_party_imports(runtime_modules().values())
    assert not libraries & {"sqlalchemy", "alembic", "click", "rich", "httpx2", "boto3", "jinja2"}, libraries
    # yaml is named only where a model is saved or MLmodel is parsed from YAML; a bundle parses neither.
    assert {"starlette", "uvicorn", "numpy"} <= libraries


def test_the_copied_runtime_finds_its_flavors_through_entry_points(tmp_path: Path) -> None:
    carried = write_runtime(tmp_path)
    assert "dockyard.serving.bundle" in carried
    assert (tmp_path / "dockyard" / "serving" / "bundle.py").is_file()
    assert not (tmp_path / "dockyard" / "tracking").exists() and not (tmp_path / "dockyard" / "cli").exists()
    (dist,) = metadata.distributions(path=[str(tmp_path)])
    assert dist.metadata["Name"] == "dockyard"
    flavors = {ep.name: ep.value for ep in dist.entry_points if ep.group == "dockyard.flavors"}
    assert flavors["sklearn"] == "dockyard.models.flavors.sklearn:FLAVOR" and "onnx" in flavors
