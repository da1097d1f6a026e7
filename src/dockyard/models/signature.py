"""Model signatures: what a model takes and returns, in MLflow's ``MLmodel`` JSON form.

A signature has an input schema, an optional output schema and optional inference params. A schema is
either *columns* (a name and a type each, for tables) or *tensors* (a dtype and a shape each, ``-1``
for a variable dimension). ``MLmodel`` stores each part as a JSON string, exactly as MLflow writes
it, so either tool reads the other's signatures::

    >>> sig = ModelSignature(Schema([ColSpec("double", "x"), ColSpec("long", "n", required=False)]))
    >>> sig.to_dict()["inputs"]
    '[{"type": "double", "name": "x", "required": true}, {"type": "long", "name": "n", "required": false}]'
    >>> ModelSignature.from_dict(sig.to_dict()) == sig
    True

This module has no third-party imports; inference from data lives in :mod:`dockyard.models.infer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.core.errors import InvalidModel, InvalidParameter

# MLflow's scalar column types, with the numpy dtype each is held in.
COLUMN_TYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
# Composite types MLflow has ("array", "object", "map", "any"): kept and written back as they are, and
# checked only for presence.
COMPOSITE_TYPES = ("array", "object", "map", "any")
PARAM_TYPES = ("boolean", "integer", "long", "float", "double", "string", "datetime")


@dataclass(frozen=True)
class ColSpec:
    """One column: a type name from :data:`COLUMN_TYPES` (or a composite type as a dict), a name."""

    type: str | dict[str, Any]
    name: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.type, str) and self.type not in COLUMN_TYPES and self.type not in COMPOSITE_TYPES:
            allowed = ", ".join([*COLUMN_TYPES, *COMPOSITE_TYPES])
            raise InvalidParameter(f"column type {self.type!r} is not one of {allowed}")

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.type, str) and self.type in COLUMN_TYPES

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.type) if isinstance(self.type, dict) else {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    def describe(self) -> str:
        return self.type if isinstance(self.type, str) else json.dumps(self.type, sort_keys=True)


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: a numpy dtype name and a shape, ``-1`` for any size in that dimension."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}
        if self.name is not None:
            out["name"] = self.name
        return out


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """A list of column specs or of tensor specs (never both)."""

    specs: tuple[Spec, ...]

    def __init__(self, specs: Any) -> None:
        items = tuple(specs)
        if not items:
            raise InvalidParameter("a schema needs at least one column or tensor")
        kinds = {type(s) for s in items}
        if len(kinds) > 1:
            raise InvalidParameter("a schema holds columns or tensors, not both")
        names = [s.name for s in items]
        if any(n is None for n in names) and len(items) > 1:
            raise InvalidParameter("a schema with several entries needs a name for each")
        if len(set(names)) != len(names):
            raise InvalidParameter(f"schema names repeat: {names}")
        object.__setattr__(self, "specs", items)

    def __iter__(self) -> Any:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def is_tensor(self) -> bool:
        return isinstance(self.specs[0], TensorSpec)

    @property
    def has_names(self) -> bool:
        return self.specs[0].name is not None

    def names(self) -> list[str]:
        return [s.name for s in self.specs if s.name is not None]

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.specs])

    @classmethod
    def from_json(cls, text: str | list[dict[str, Any]]) -> Schema:
        items = json.loads(text) if isinstance(text, str) else text
        if not isinstance(items, list):
            raise InvalidModel(f"a schema must be a JSON list, got {type(items).__name__}")
        return cls(_spec_from_dict(item) for item in items)


def _spec_from_dict(item: dict[str, Any]) -> Spec:
    if not isinstance(item, dict) or "type" not in item:
        raise InvalidModel(f"schema entry {item!r} has no 'type'")
    if item["type"] == "tensor":
        spec = item.get("tensor-spec") or {}
        return TensorSpec(str(spec.get("dtype")), tuple(int(d) for d in spec.get("shape", ())), item.get("name"))
    kind = item["type"]
    if kind in COMPOSITE_TYPES:
        composite = {k: v for k, v in item.items() if k not in ("name", "required")}
        return ColSpec(composite, item.get("name"), bool(item.get("required", True)))
    return ColSpec(kind, item.get("name"), bool(item.get("required", True)))


@dataclass(frozen=True)
class ParamSpec:
    """An inference parameter: a name, a type, a default (and ``shape=(-1,)`` for a list)."""

    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise InvalidParameter(f"param {self.name!r}: type {self.type!r} is not one of {', '.join(PARAM_TYPES)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "shape": None if self.shape is None else list(self.shape),
        }


@dataclass(frozen=True)
class ParamSchema:
    specs: tuple[ParamSpec, ...]

    def __init__(self, specs: Any) -> None:
        object.__setattr__(self, "specs", tuple(specs))

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.specs])

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        items = json.loads(text)
        return cls(ParamSpec(i["name"], i["type"], i.get("default"), _shape(i.get("shape"))) for i in items)


@dataclass(frozen=True)
class ModelSignature:
    """Inputs, outputs and params of a model; any part may be missing."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = field(default=None)

    def to_dict(self) -> dict[str, str | None]:
        """The ``signature`` section of ``MLmodel``: each part a JSON string, or null."""
        return {
            "inputs": None if self.inputs is None else self.inputs.to_json(),
            "outputs": None if self.outputs is None else self.outputs.to_json(),
            "params": None if self.params is None else self.params.to_json(),
        }

    @classmethod
    def from_dict(cls, section: dict[str, Any]) -> ModelSignature:
        try:
            return cls(
                None if not section.get("inputs") else Schema.from_json(section["inputs"]),
                None if not section.get("outputs") else Schema.from_json(section["outputs"]),
                None if not section.get("params") else ParamSchema.from_json(section["params"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidModel(f"MLmodel signature is not valid: {exc}") from exc


def _shape(value: list[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(value)
