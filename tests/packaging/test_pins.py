"""A bundle's requirements: exact pins, the runtime's packages, and what is refused."""

from __future__ import annotations

import pytest

from dockyard.core.errors import InvalidModel
from dockyard.models.requirements import installed_version
from dockyard.packaging.pins import bundle_pins, pin_line


def test_exact_pins_are_kept_and_mlflow_and_dockyard_are_left_out() -> None:
    assert pin_line("scikit-learn==1.5.1") == "scikit-learn==1.5.1"
    assert pin_line("torch==2.13.0+cpu") == "torch==2.13.0+cpu"
    assert pin_line("uvloop==0.19; sys_platform != 'win32'") == "uvloop==0.19; sys_platform != 'win32'"
    for replaced in ("mlflow==3.6.0", "mlflow-skinny==3.6.0", "dockyard[serve]==0.1.0", "Dockyard"):
        assert pin_line(replaced) is None


def test_a_range_is_pinned_to_the_installed_version_that_satisfies_it() -> None:
    numpy = installed_version("numpy")
    assert pin_line("numpy>=1.20") == f"numpy=={numpy}"
    assert pin_line("numpy") == f"numpy=={numpy}"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("numpy<1.0", "does not satisfy <1.0"),
        ("no-such-package-anywhere>=1", "no-such-package-anywhere is not installed here"),
        ("git+https://example.com/x.git", "a URL, a path or a pip option"),
        ("-e ./src", "a URL, a path or a pip option"),
        ("./wheels/thing.whl", "a URL, a path or a pip option"),
        ("thing @ https://example.com/thing.whl", "a URL, a path or a pip option"),
        ("-r other.txt", "a URL, a path or a pip option"),
    ],
)
def test_an_unpinnable_requirement_is_refused_naming_it(line: str, why: str) -> None:
    with pytest.raises(InvalidModel, match="cannot be pinned to an exact version") as refused:
        pin_line(line)
    assert repr(line) in refused.value.message and why in refused.value.message


def test_the_runtime_is_pinned_and_the_models_pin_wins() -> None:
    pins = bundle_pins(["numpy==1.26.4", "mlflow==3.6.0", "scikit-learn==1.5.1"], table_input=True)
    assert pins.lines[:2] == ("numpy==1.26.4", "scikit-learn==1.5.1")
    names = pins.names
    assert {"starlette", "uvicorn", "prometheus-client", "pandas"} <= set(names) and names.count("numpy") == 1
    assert pins.dropped == ("mlflow==3.6.0",)
    assert all("==" in line for line in pins.lines)


def test_arrays_need_no_pandas_and_excluded_requirements_are_left_out() -> None:
    pins = bundle_pins(["onnxruntime==1.18.0", "tqdm==4.0.0"], table_input=False, exclude=["TQDM"])
    assert "pandas" not in pins.names and "tqdm" not in pins.names
    assert pins.dropped == ("tqdm==4.0.0",)
