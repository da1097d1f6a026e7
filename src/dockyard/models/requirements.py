"""The environment files of a model: ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``.

Dockyard records what *loading the model* needs and nothing else: each flavor names its packages
(for a skops scikit-learn model: scikit-learn, numpy, scipy, skops), each pinned to the installed
version; Dockyard itself only where the model's own code imports it (a custom Python model subclasses
its ``PythonModel``). The serving runtime is a serving bundle's business (``dockyard package``), so the
file installs anywhere: tools that rebuild a model's environment from it (MLflow's ``--env-manager
virtualenv``, Spark UDF environments) never meet a package no index has. MLflow instead lists ``mlflow``
itself, which pulls its whole server stack into every serving image.

    >>> merge_requirements(["numpy==2.0.0", "scipy==1.0"], extra=["numpy==2.1.0", "torch"])
    ['numpy==2.1.0', 'scipy==1.0', 'torch']
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter

REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA_ENV = "conda.yaml"
SERVING_RUNTIME = "dockyard[serve]"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, without a local label (``2.13.0+cpu`` -> ``2.13.0``)."""
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    return version.split("+", 1)[0]


def pinned(distribution: str) -> str:
    """``name==version`` for an installed distribution, the bare name when it is not installed."""
    version = installed_version(distribution)
    return distribution if version is None else f"{distribution}=={version}"


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a pip requirement line (``Scikit_Learn>=1`` -> ``scikit-learn``)."""
    match = _NAME.match(requirement)
    if not match:
        raise InvalidParameter(f"pip requirement {requirement!r} is not valid")
    return re.sub(r"[-_.]+", "-", match.group(1).split("[", 1)[0]).lower()


def runtime_requirement() -> str:
    """``dockyard[serve]==<version>``: what serving needs of Dockyard (no longer written into models)."""
    from dockyard.__about__ import __version__

    return f"{SERVING_RUNTIME}=={__version__}"


def merge_requirements(base: Sequence[str], extra: Iterable[str] = ()) -> list[str]:
    """``base`` with ``extra`` added; an extra naming a package already in ``base`` replaces it."""
    out: dict[str, str] = {}
    for line in [*base, *extra]:
        text = str(line).strip()
        if not text:
            continue
        out[text if text.startswith("-") else requirement_name(text)] = text
    return list(out.values())


def model_requirements(
    distributions: Iterable[str],
    *,
    pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    extra_pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
) -> list[str]:
    """The lines of ``requirements.txt``: the flavor's pinned packages, or the user's.

    ``pip_requirements`` replaces the inferred list; ``extra_pip_requirements`` adds to it (and
    overrides a pin of the same package). Either may be a list or the path of a requirements file.
    """
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise InvalidParameter("pass pip_requirements or extra_pip_requirements, not both")
    if pip_requirements is not None:
        return merge_requirements(_lines(pip_requirements, "pip_requirements"))
    inferred = sorted({pinned(d) for d in distributions}, key=requirement_name)
    return merge_requirements(inferred, _lines(extra_pip_requirements or [], "extra_pip_requirements"))


def _lines(value: Sequence[str] | str | os.PathLike[str], field: str) -> list[str]:
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if not path.is_file():
            raise InvalidParameter(f"{field}: {str(value)!r} is not a requirements file")
        return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if not all(isinstance(item, str) for item in value):
        raise InvalidParameter(f"{field} must be a list of strings")
    for item in value:
        requirement_name(item)  # raises for a line that is not a requirement
    return list(value)


def python_version() -> str:
    return platform.python_version()


def write_environment(directory: Path, requirements: Sequence[str]) -> None:
    """Write ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` into a model directory."""
    import yaml

    (directory / REQUIREMENTS).write_text("\n".join(requirements) + "\n", encoding="utf-8")
    pip = installed_version("pip")
    python_env: dict[str, Any] = {
        "python": python_version(),
        "build_dependencies": [pinned("pip") if pip else "pip", pinned("setuptools"), "wheel"],
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    (directory / PYTHON_ENV).write_text(yaml.safe_dump(python_env, sort_keys=False), encoding="utf-8")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python_version()}", f"pip<={pip}" if pip else "pip", {"pip": list(requirements)}],
        "name": "dockyard-env",
    }
    (directory / CONDA_ENV).write_text(yaml.safe_dump(conda, sort_keys=False), encoding="utf-8")


def read_requirements(directory: Path) -> list[str]:
    path = directory / REQUIREMENTS
    if not path.is_file():
        return []
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
