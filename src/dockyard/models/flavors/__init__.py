"""Flavors: how one kind of model object is saved, loaded and asked for predictions.

Every flavor, built-in or third-party, registers under the entry-point group ``dockyard.flavors``
(see ``pyproject.toml``); the name is the flavor's ``MLmodel`` key and the value a :class:`Flavor`
object. A flavor module is imported only when a model of that kind is saved or loaded.

A third-party package adds one with::

    [project.entry-points."dockyard.flavors"]
    catboost = "my_package.dockyard_flavor:FLAVOR"
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from dockyard.core.errors import InvalidModel, UnsupportedModel

GROUP = "dockyard.flavors"

PredictFn = Callable[[Any, "dict[str, Any] | None"], Any]


@dataclass
class SavedFlavor:
    """What a flavor wrote: its ``MLmodel`` section, its ``python_function`` keys and what it needs."""

    section: dict[str, Any]
    pyfunc: dict[str, Any]
    requirements: list[str] = field(default_factory=list)  # distribution names; pinned by the caller


@dataclass
class Loaded:
    """A model ready to predict: the native object and ``predict(data, params)`` over it."""

    native: Any
    predict: PredictFn


class Flavor(Protocol):
    name: str  # the MLmodel flavor key, e.g. "sklearn"
    loader_module: str  # MLflow's python_function loader_module for it, e.g. "mlflow.sklearn"
    package: str  # the distribution whose version the section records, e.g. "scikit-learn"
    version_key: str  # the section key holding that version, e.g. "sklearn_version"
    priority: int  # higher is asked first by handles() (xgboost before sklearn: it subclasses sklearn)

    def handles(self, obj: Any) -> bool:
        """Whether ``obj`` is a model this flavor saves (without importing heavy libraries)."""
        ...

    def save(self, obj: Any, directory: Path, **options: Any) -> SavedFlavor:
        """Write the model files into ``directory``."""
        ...

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        """The native model object from a directory this flavor (or MLflow's) wrote.

        A format that runs code as it loads (a pickle...) calls
        :func:`dockyard.models.safety.require_code_execution` before opening the file.
        """
        ...

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        """``predict(data, params)`` for the ``python_function`` section; ``model`` is the MLmodel."""
        ...

    # Optional: ``predict_object(obj, data, pyfunc)`` predicts with the in-memory object, so saving can
    # infer the output schema without loading the files it just wrote.


_lock = threading.Lock()
_cache: dict[str, Flavor] = {}
_entry_points: dict[str, metadata.EntryPoint] | None = None


def _points() -> dict[str, metadata.EntryPoint]:
    global _entry_points
    with _lock:
        if _entry_points is None:
            _entry_points = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
        return _entry_points


def flavor_names() -> list[str]:
    """Every installed flavor's name."""
    return sorted(_points())


def get_flavor(name: str) -> Flavor:
    """The flavor registered as ``name`` (imports its module on first use)."""
    with _lock:
        found = _cache.get(name)
    if found is not None:
        return found
    point = _points().get(name)
    if point is None:
        raise UnsupportedModel(f"no flavor named {name!r}; installed flavors: {', '.join(flavor_names())}")
    flavor: Flavor = point.load()
    with _lock:
        _cache[name] = flavor
    return flavor


def flavor_for_object(obj: Any) -> Flavor:
    """The flavor that saves ``obj``, or UnsupportedModel listing the flavors there are."""
    flavors = sorted((get_flavor(n) for n in flavor_names()), key=lambda f: -f.priority)
    for flavor in flavors:
        if flavor.handles(obj):
            return flavor
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    raise UnsupportedModel(f"no flavor can save a {kind}; supported flavors: {', '.join(flavor_names())}")


def flavor_for_loader(loader_module: str) -> Flavor:
    """The flavor whose ``python_function`` loader this is (``mlflow.sklearn`` -> sklearn)."""
    for name in flavor_names():
        flavor = get_flavor(name)
        if flavor.loader_module == loader_module:
            return flavor
    raise InvalidModel(
        f"MLmodel names loader_module {loader_module!r}, which no installed flavor loads "
        f"(installed: {', '.join(flavor_names())})"
    )


def module_names(obj: Any) -> list[str]:
    """Modules of ``obj``'s class and its bases: type checks with no import of the library."""
    return [getattr(cls, "__module__", "") or "" for cls in type(obj).__mro__]


def qualified_class(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def import_class(path: str) -> Any:
    import importlib

    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidModel(f"cannot import model class {path!r}: {exc}") from exc


def reset_cache() -> None:
    """Forget loaded entry points (tests that install a flavor at run time)."""
    global _entry_points
    with _lock:
        _entry_points = None
        _cache.clear()
