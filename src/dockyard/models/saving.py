"""Save a model object as a model directory (``MLmodel`` + flavor files + environment + example).

Everything is written into a temporary directory beside the target and renamed into place at the
end, so a save that fails halfway leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.core.errors import DockyardError, InvalidParameter, UnsupportedModel
from dockyard.models import requirements as reqs
from dockyard.models.examples import save_example
from dockyard.models.flavors import Flavor, SavedFlavor, flavor_for_object, get_flavor
from dockyard.models.manifest import PYFUNC, Model
from dockyard.models.signature import ModelSignature

CODE_DIR = "code"


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    extra_pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    **flavor_options: Any,
) -> Model:
    """Write ``model`` as a model directory at ``path`` (which must not exist or be empty).

    ``flavor`` picks the flavor by name; by default the one that handles the object's type.
    ``signature=None`` infers the signature from ``input_example`` (and the model's output on it);
    ``signature=False`` saves none. Returns the ``MLmodel`` written.
    """
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidParameter(f"path {str(target)!r} already exists and is not an empty directory")
    chosen = _flavor(model, flavor)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        manifest = write_model_dir(
            model,
            staging,
            chosen,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            code_paths=code_paths,
            metadata=metadata,
            flavor_options=flavor_options,
        )
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _flavor(model: Any, name: str | None) -> Flavor:
    if name is None:
        return flavor_for_object(model)
    flavor = get_flavor(name)
    if not flavor.handles(model):
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
        try:
            other = f"; use dockyard.{flavor_for_object(model).name.replace('python_function', 'pyfunc')}"
        except UnsupportedModel:
            other = ""
        raise UnsupportedModel(f"the {name} flavor cannot save a {kind}{other}")
    return flavor


def write_model_dir(
    model: Any,
    directory: Path,
    flavor: Flavor,
    *,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    extra_pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    flavor_options: dict[str, Any] | None = None,
    model_id: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> Model:
    """Write every file of a model into the existing, empty ``directory``; return its ``MLmodel``."""
    if signature is not None and not isinstance(signature, ModelSignature | bool):
        raise InvalidParameter(f"signature must be a ModelSignature, None or False, not {type(signature).__name__}")
    # Checked before anything is written; the flavor's own packages are known only after it saved.
    reqs.model_requirements((), pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements)
    options = dict(flavor_options or {})
    if input_example is not None:
        options.setdefault("input_example", input_example)
    saved: SavedFlavor = flavor.save(model, directory, **options)
    code = _copy_code(directory, code_paths)
    example_info = None if input_example is None else save_example(directory, input_example)
    if signature is None and input_example is not None:
        signature = _infer(model, flavor, directory, saved, input_example)
    requirements_list = reqs.model_requirements(
        saved.requirements, pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements
    )
    reqs.write_environment(directory, requirements_list)

    pyfunc = dict(saved.pyfunc)
    pyfunc["env"] = {"conda": reqs.CONDA_ENV, "virtualenv": reqs.PYTHON_ENV}
    pyfunc["python_version"] = reqs.python_version()
    if code is not None:
        pyfunc["code"] = code
    flavors: dict[str, dict[str, Any]] = {PYFUNC: pyfunc}
    if flavor.name != PYFUNC:
        section = dict(saved.section)
        section["code"] = code
        flavors[flavor.name] = section
    manifest = Model(
        flavors=flavors,
        signature=signature if isinstance(signature, ModelSignature) else None,
        saved_input_example_info=example_info,
        metadata=metadata,
        model_id=model_id,
        run_id=run_id,
        artifact_path=artifact_path,
    )
    if model_id is not None:
        manifest.model_uuid = model_id  # MLflow 3: model_uuid is the logged model's id
    manifest.model_size_bytes = _size(directory)
    manifest.save(directory)
    return manifest


def _copy_code(directory: Path, code_paths: Sequence[str | os.PathLike[str]] | None) -> str | None:
    if not code_paths:
        return None
    code_dir = directory / CODE_DIR
    code_dir.mkdir()
    for entry in code_paths:
        source = Path(entry)
        if not source.exists():
            raise InvalidParameter(f"code_paths: {str(entry)!r} does not exist")
        target = code_dir / source.name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    return CODE_DIR


def _infer(model: Any, flavor: Flavor, directory: Path, saved: SavedFlavor, example: Any) -> ModelSignature | None:
    """The signature from the example and the model's output on it (inputs only if predicting fails)."""
    from dockyard.models.infer import infer_schema

    inputs = infer_schema(example)
    try:
        predict_object = getattr(flavor, "predict_object", None)
        if predict_object is not None:  # predict with the object in hand: no reload
            output = predict_object(model, example, saved.pyfunc)
        else:
            manifest = Model(flavors={PYFUNC: saved.pyfunc, flavor.name: saved.section})
            output = flavor.predictor(directory, saved.pyfunc, manifest).predict(example, None)
        outputs = infer_schema(output, output=True)
    except (DockyardError, ValueError, TypeError, AttributeError, RuntimeError, KeyError) as exc:
        warnings.warn(
            f"could not infer the model's output schema from its input example ({exc}); the signature has inputs only",
            UserWarning,
            stacklevel=4,
        )
        outputs = None
    return ModelSignature(inputs, outputs)


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
