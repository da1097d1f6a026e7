"""Object serialization shared by flavors: skops (safe, MLflow 3's default) and (cloud)pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidModel, InvalidParameter, MissingExtra

FORMATS = ("skops", "cloudpickle", "pickle")


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise InvalidParameter(f"serialization_format {value!r} is not one of {', '.join(FORMATS)}")
    return value


def skops_dump(obj: Any, path: Path) -> list[str] | None:
    """Write ``obj`` with skops; return the types skops does not trust by default (recorded so that a
    loader, Dockyard or MLflow, can trust exactly those and nothing else)."""
    try:
        import skops.io as sio
    except ImportError as exc:
        raise MissingExtra("skops", "sklearn") from exc
    sio.dump(obj, path)
    untrusted = sorted(sio.get_untrusted_types(file=path))
    return untrusted or None


def skops_load(path: Path, trusted: list[str] | None) -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise MissingExtra("skops", "sklearn") from exc
    untrusted = set(sio.get_untrusted_types(file=path))
    unexpected = sorted(untrusted - set(trusted or ()))
    if unexpected:
        raise InvalidModel(
            f"{path.name} contains types its MLmodel does not list as trusted: {unexpected}; "
            "refusing to load it (add them to skops_trusted_types if you trust this file)"
        )
    return sio.load(path, trusted=sorted(untrusted))


def pickle_dump(obj: Any, path: Path, fmt: str) -> None:
    if fmt == "cloudpickle":
        try:
            import cloudpickle
        except ImportError as exc:
            raise MissingExtra("cloudpickle", "sklearn") from exc
        with path.open("wb") as fh:
            cloudpickle.dump(obj, fh)
        return
    import pickle

    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def pickle_load(path: Path) -> Any:
    # cloudpickle writes ordinary pickles: the standard loader reads both.
    import pickle

    with path.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - a model file is trusted code by definition (documented)


def dump(obj: Any, path_stem: Path, fmt: str) -> tuple[str, list[str] | None]:
    """Write ``obj`` as ``<stem>.skops`` or ``<stem>.pkl``; return the file name and trusted types."""
    check_format(fmt)
    if fmt == "skops":
        target = path_stem.with_suffix(".skops")
        return target.name, skops_dump(obj, target)
    target = path_stem.with_suffix(".pkl")
    pickle_dump(obj, target, fmt)
    return target.name, None


def load(path: Path, fmt: str | None, trusted: list[str] | None) -> Any:
    if fmt == "skops" or (fmt is None and path.suffix == ".skops"):
        return skops_load(path, trusted)
    return pickle_load(path)


def requirements(fmt: str) -> list[str]:
    return {"skops": ["skops"], "cloudpickle": ["cloudpickle"], "pickle": []}[fmt]
