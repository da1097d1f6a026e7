"""Object serialization shared by flavors: skops (safe, MLflow 3's default) and (cloud)pickle.

Loading goes through :mod:`dockyard.models.safety`: a pickle is refused before it is opened unless the
caller opted in, and a skops file loads only with types Dockyard or the caller trusts (never the
``skops_trusted_types`` its ``MLmodel`` lists, which are written for MLflow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter, MissingExtra, UnsafeModel
from dockyard.models import safety

FORMATS = ("skops", "cloudpickle", "pickle")


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise InvalidParameter(f"serialization_format {value!r} is not one of {', '.join(FORMATS)}")
    return value


def skops_dump(obj: Any, path: Path) -> list[str] | None:
    """Write ``obj`` with skops; return the types skops does not trust by default (recorded in ``MLmodel``
    as MLflow does, for MLflow's loader: Dockyard's never trusts a list the model brings)."""
    try:
        import skops.io as sio
    except ImportError as exc:
        raise MissingExtra("skops", "sklearn") from exc
    sio.dump(obj, path)
    untrusted = sorted(sio.get_untrusted_types(file=path))
    return untrusted or None


def skops_load(path: Path) -> Any:
    """The object in a skops file whose every type skops, Dockyard or the caller trusts."""
    try:
        import skops.io as sio
    except ImportError as exc:
        raise MissingExtra("skops", "sklearn") from exc
    # Reading the schema builds nothing: the types are known before any object is.
    found = sorted(sio.get_untrusted_types(file=path))
    refused = safety.untrusted(found)
    if refused:
        raise UnsafeModel(
            f"{path.name} is a skops file with types Dockyard does not trust: {', '.join(refused)}; skops "
            "builds what the file names and their code runs when the model predicts. If you trust its source, "
            f"pass trusted_types={refused!r} to load_model (--trusted-type on dockyard serve and predict)"
        )
    return sio.load(path, trusted=found)


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


def pickle_load(path: Path, kind: str = "a pickle") -> Any:
    """Unpickle ``path``, which is ``kind`` (named in the refusal), if the caller allowed code to run."""
    safety.require_code_execution(path.name, kind)
    # cloudpickle writes ordinary pickles: the standard loader reads both.
    import pickle

    with path.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - only past require_code_execution: the caller trusts this file


def dump(obj: Any, path_stem: Path, fmt: str) -> tuple[str, list[str] | None]:
    """Write ``obj`` as ``<stem>.skops`` or ``<stem>.pkl``; return the file name and trusted types."""
    check_format(fmt)
    if fmt == "skops":
        target = path_stem.with_suffix(".skops")
        return target.name, skops_dump(obj, target)
    target = path_stem.with_suffix(".pkl")
    pickle_dump(obj, target, fmt)
    return target.name, None


def load(path: Path, fmt: str | None) -> Any:
    if fmt == "skops" or (fmt is None and path.suffix == ".skops"):
        return skops_load(path)
    return pickle_load(path, f"a pickle (serialization_format: {fmt or 'pickle'})")


def requirements(fmt: str) -> list[str]:
    return {"skops": ["skops"], "cloudpickle": ["cloudpickle"], "pickle": []}[fmt]
