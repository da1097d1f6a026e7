"""``package_model(model_uri, options, client=...)``: write a self-contained serving bundle.

The bundle is written into a staging folder beside ``options.output`` and renamed into place only when
every file is there, so a refusal or a failure leaves no half-written folder; an existing output folder is
replaced only with ``force``. What goes in (see ``docs/packaging.md``):

| path | what |
| --- | --- |
| ``model/`` | the model's files, checked against the registered digest (or the ONNX model converted from them) |
| ``requirements.txt`` | exact pins: the model's libraries as recorded, and the serving runtime's |
| ``runtime/`` | Dockyard's serving modules and their metadata (:mod:`dockyard.packaging.runtime`) |
| ``bundle.json`` | the model's name, version, digest and ``MLmodel`` (as JSON), how to load it |
| ``serve``, ``scripts/`` | start the server; make the environment, check health, score the example |
| ``README.md`` | the model, and how to run, test and deploy it |
| ``Dockerfile``, ``.dockerignore`` | ``--target docker`` |
| ``k8s/`` | ``--target kubernetes`` |
| ``<name>.pyz`` | ``--target zipapp`` |
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.__about__ import __version__
from dockyard.core.errors import InvalidParameter
from dockyard.models.requirements import read_requirements, requirement_name
from dockyard.packaging.pins import Pins, bundle_pins
from dockyard.packaging.sizes import EnvironmentSize, environment_size
from dockyard.packaging.source import COMPLETE_MARKER, SourceModel, model_digest, registered_digest, resolve_source

if TYPE_CHECKING:
    from dockyard.lifecycle.client import Client
    from dockyard.models.loading import Predictor

TARGETS = ("docker", "kubernetes", "zipapp")
BUNDLE_FORMAT = 1  # bundle.json's "format" (dockyard.serving.bundle.FORMAT reads up to it)


@dataclass(frozen=True)
class PackageOptions:
    """How to package: where, which targets, ONNX or not, and what the model may do when it loads."""

    output: Path
    targets: tuple[str, ...] = ()
    onnx: bool = False
    force: bool = False
    allow_pickle: bool = False  # the model runs code when it loads (a pickle): the bundle loads it too
    trusted_types: tuple[str, ...] = ()  # skops types trusted beyond Dockyard's list, in the bundle too
    image: str | None = None  # the image the Dockerfile builds and the manifests run; default NAME:VERSION
    exclude: tuple[str, ...] = ()  # names of the model's requirements to leave out
    onnx_rtol: float = 1e-4  # ONNX vs original: |a - b| <= atol + rtol * |b| for every value
    onnx_atol: float = 1e-5
    onnx_rows: int = 1000  # generated rows checked beside the input example
    replicas: int = 2

    def check(self) -> None:
        unknown = sorted(set(self.targets) - set(TARGETS))
        if unknown:
            raise InvalidParameter(f"target: unknown {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
        if self.onnx_rows < 0:
            raise InvalidParameter(f"onnx_rows must be 0 or more, got {self.onnx_rows}")


@dataclass(frozen=True)
class Bundle:
    """What ``package_model`` wrote."""

    path: Path
    name: str
    version: str | None
    digest: str
    pins: Pins
    environment: EnvironmentSize
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)  # what the user should know (dropped requirements...)


def safe_name(text: str) -> str:
    """``text`` fit for a file name (``Churn model/v2`` -> ``Churn-model-v2``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"


def _check_output(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise InvalidParameter(f"output: {output} already exists; choose another folder or pass --force to replace it")
    if output.exists() and not output.is_dir():
        raise InvalidParameter(f"output: {output} exists and is not a folder; refusing to replace it")
    if not output.parent.is_dir():
        raise InvalidParameter(f"output: the folder {output.parent} that would hold {output.name} does not exist")


def _copy_model(source: SourceModel, target: Path) -> None:
    shutil.copytree(source.directory, target, ignore=shutil.ignore_patterns(COMPLETE_MARKER, "__pycache__"))
    source.verify_copy(target)  # the copy, not only the cache it came from, is the registered model


def _load(directory: Path, options: PackageOptions) -> Predictor:
    """Load the model as the bundle will (so an unsafe or broken model is refused now, not at deploy)."""
    from dockyard.models.loading import load_predictor

    return load_predictor(directory, allow_pickle=options.allow_pickle, trusted_types=options.trusted_types)


ARRAY_FLAVORS = ("sklearn", "onnx")  # flavors whose models take a 2-D array as well as a DataFrame
_NUMERIC = ("integer", "long", "float", "double")


def needs_pandas(predictor: Predictor, requirement_lines: list[str]) -> bool:
    """Whether serving this model needs pandas: when its requirements say so, or when its input is a table
    that cannot go to it as one numeric array (text or date columns, no signature, a flavor whose
    ``predict`` expects a DataFrame, such as a custom Python model). A scikit-learn model of numeric
    columns is served pandas-free: its columns go to it as one array, in the signature's order."""
    if any(requirement_name(line) == "pandas" for line in requirement_lines if line and not line.startswith("-")):
        return True
    signature = predictor.signature
    if signature is None or signature.inputs is None:
        return True
    if signature.inputs.is_tensor:
        return False
    numeric = all(getattr(spec, "type", None) in _NUMERIC for spec in signature.inputs.specs)
    return not (numeric and predictor.flavor in ARRAY_FLAVORS)


def _bundle_json(
    source: SourceModel, model_dir: Path, digest: str, options: PackageOptions, extra: dict[str, Any]
) -> dict[str, Any]:
    from dockyard.models.manifest import Model

    return {
        "format": BUNDLE_FORMAT,
        "dockyard_version": __version__,
        "model": {
            "uri": source.uri,
            "name": source.name,
            "version": source.version,
            "digest": digest,
            "registered_digest": registered_digest(source),
            **extra,
        },
        "loading": {"allow_pickle": options.allow_pickle, "trusted_types": list(options.trusted_types)},
        "mlmodel": Model.load(model_dir).to_dict(),
    }


def package_model(model_uri: str, options: PackageOptions, *, client: Client) -> Bundle:
    """Write the bundle of ``model_uri`` to ``options.output``; nothing is left behind if it fails."""
    options.check()
    output = Path(os.path.abspath(options.output))
    _check_output(output, options.force)
    source = resolve_source(model_uri, client)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        bundle = _write(source, staging, output, options)
        _replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return bundle


def _replace(staging: Path, output: Path) -> None:
    """Move the finished bundle into place; an old one (``--force``) goes only once the new one is ready."""
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(old)
    staging.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write(source: SourceModel, staging: Path, output: Path, options: PackageOptions) -> Bundle:
    from dockyard.packaging.readme import ReadmeFacts, readme
    from dockyard.packaging.runtime import write_runtime
    from dockyard.packaging.scripts import write_scripts

    model_dir = staging / "model"
    notes: list[str] = []
    extra: dict[str, Any] = {}
    original = _staged_original(source, staging)
    predictor = _load(original, options)
    requirement_lines = read_requirements(original)
    if options.onnx:
        from dockyard.packaging.onnx import convert_to_onnx

        converted = convert_to_onnx(predictor, model_dir, options)
        notes.append(converted.report)
        extra["converted_from"] = {"flavor": predictor.flavor, "digest": model_digest(original)}
        requirement_lines = converted.requirements
        shutil.rmtree(original)
        table_input = False
    else:
        original.rename(model_dir)
        table_input = needs_pandas(predictor, requirement_lines)
    digest = model_digest(model_dir)
    pins = bundle_pins(requirement_lines, table_input=table_input, exclude=options.exclude)
    if pins.dropped:
        notes.append(f"left out of requirements.txt (the bundle's runtime serves the model): {', '.join(pins.dropped)}")
    header = (
        f"The environment of the serving bundle of {source.uri}, written by dockyard package {__version__}.\n"
        "Exact pins: the model's libraries as recorded when it was logged, then the serving runtime's.\n"
        "Dockyard itself is not installed from an index: it is in runtime/ (the serve script adds it)."
    )
    (staging / "requirements.txt").write_text(pins.text(header), encoding="utf-8")
    write_runtime(staging / "runtime")
    info = _bundle_json(source, model_dir, digest, options, extra)
    (staging / "bundle.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    write_scripts(staging)
    name = safe_name(source.label)
    image = options.image or f"{name.lower()}:{source.version or 'latest'}"
    if "docker" in options.targets:
        from dockyard.packaging.docker import ImageLabels, write_docker

        write_docker(staging, ImageLabels(source.label, source.version, digest, source.uri, __version__))
    if "kubernetes" in options.targets:
        from dockyard.packaging.kubernetes import Cluster, write_kubernetes

        write_kubernetes(staging, Cluster(source.label, image, source.version, digest, replicas=options.replicas))
    pyz = None
    if "zipapp" in options.targets:
        from dockyard.packaging.zipapp import write_zipapp

        pyz = f"{name}.pyz"
        write_zipapp(staging, staging / pyz)
    facts = ReadmeFacts(
        name=source.label,
        version=source.version,
        model_uri=source.uri,
        digest=digest,
        flavor=predictor.flavor,
        metadata=source.metadata,
        targets=options.targets,
        onnx=options.onnx,
        image=image,
        pyz=pyz,
        original_digest=extra.get("converted_from", {}).get("digest"),
    )
    (staging / "README.md").write_text(readme(facts), encoding="utf-8")
    _share(staging)
    files = tuple(sorted(p.relative_to(staging).as_posix() for p in staging.iterdir()))
    return Bundle(output, source.label, source.version, digest, pins, environment_size(pins.lines), files, tuple(notes))


def _share(directory: Path) -> None:
    """Readable by everyone, writable by the owner (the staging folder is private; a container's
    unprivileged user must read what root copied in); executables stay executable."""
    for path in [directory, *directory.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or bool(path.stat().st_mode & 0o100)
        path.chmod(0o755 if executable else 0o644)


def _staged_original(source: SourceModel, staging: Path) -> Path:
    """The model's files copied into the staging folder and verified (the original, before any conversion)."""
    target = staging / ".original"
    _copy_model(source, target)
    return target
