"""The ``MLmodel`` file: what a model directory holds and how to load it.

Dockyard writes the keys MLflow writes (``flavors`` with a ``python_function`` section whose
``loader_module`` is MLflow's module for the flavor, ``run_id``, ``model_id``, ``model_uuid``,
``artifact_path``, ``utc_time_created``, ``signature``, ``saved_input_example_info``...) so that
``mlflow.pyfunc.load_model`` loads a Dockyard model, and keeps keys it does not know when it reads
an MLflow model, so nothing is lost on a round trip.

    >>> m = Model(flavors={"sklearn": {"pickled_model": "model.skops"}}, model_uuid="abc")
    >>> Model.from_yaml(m.to_yaml()).flavors
    {'sklearn': {'pickled_model': 'model.skops'}}
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidModel
from dockyard.models.signature import ModelSignature

MLMODEL = "MLmodel"
PYFUNC = "python_function"

_KNOWN = (
    "artifact_path",
    "flavors",
    "model_id",
    "model_uuid",
    "run_id",
    "utc_time_created",
    "signature",
    "saved_input_example_info",
    "model_size_bytes",
    "metadata",
)


def utc_now() -> str:
    """MLflow's ``utc_time_created`` form: a naive UTC timestamp with microseconds."""
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Model:
    """The parsed ``MLmodel`` of one model directory."""

    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(default_factory=utc_now)
    run_id: str | None = None
    model_id: str | None = None
    artifact_path: str | None = None
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_size_bytes: int | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys another writer added; written back as read

    @property
    def pyfunc(self) -> dict[str, Any] | None:
        return self.flavors.get(PYFUNC)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        if self.artifact_path is not None:
            out["artifact_path"] = self.artifact_path
        out["flavors"] = self.flavors
        out["is_signature_from_type_hint"] = self.extra.get("is_signature_from_type_hint", False)
        out["model_id"] = self.model_id
        if self.model_size_bytes is not None:
            out["model_size_bytes"] = self.model_size_bytes
        out["model_uuid"] = self.model_uuid
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        out["type_hint_from_example"] = self.extra.get("type_hint_from_example", False)
        out["utc_time_created"] = self.utc_time_created
        return out

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict) or not data["flavors"]:
            raise InvalidModel("MLmodel has no 'flavors' section")
        signature = data.get("signature")
        return cls(
            flavors={str(k): dict(v or {}) for k, v in data["flavors"].items()},
            model_uuid=str(data.get("model_uuid") or uuid.uuid4().hex),
            utc_time_created=str(data.get("utc_time_created") or ""),
            run_id=data.get("run_id"),
            model_id=data.get("model_id"),
            artifact_path=data.get("artifact_path"),
            signature=None if not signature else ModelSignature.from_dict(signature),
            saved_input_example_info=data.get("saved_input_example_info"),
            model_size_bytes=data.get("model_size_bytes"),
            metadata=data.get("metadata"),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    @classmethod
    def from_yaml(cls, text: str) -> Model:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidModel(f"MLmodel is not valid YAML: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read ``<path>/MLmodel`` (``path`` may also be the MLmodel file itself)."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL
        if not target.is_file():
            raise InvalidModel(f"{target.parent} is not a model directory: missing file {MLMODEL}")
        return cls.from_yaml(target.read_text(encoding="utf-8"))

    def save(self, directory: str | os.PathLike[str]) -> None:
        Path(directory, MLMODEL).write_text(self.to_yaml(), encoding="utf-8")


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model``/``save_model`` return: where the model is and what it is."""

    model_uri: str
    flavors: dict[str, dict[str, Any]]
    signature: ModelSignature | None
    utc_time_created: str
    model_uuid: str
    model_id: str | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    name: str | None = None
    registered_model_version: int | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def of(cls, model: Model, model_uri: str, name: str | None = None, version: int | None = None) -> ModelInfo:
        return cls(
            model_uri=model_uri,
            flavors=model.flavors,
            signature=model.signature,
            utc_time_created=model.utc_time_created,
            model_uuid=model.model_uuid,
            model_id=model.model_id,
            run_id=model.run_id,
            artifact_path=model.artifact_path,
            name=name,
            registered_model_version=version,
            saved_input_example_info=model.saved_input_example_info,
            metadata=model.metadata,
        )
