from __future__ import annotations

import json

import pytest

from dockyard.core.errors import InvalidModel, InvalidParameter
from dockyard.models.signature import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, TensorSpec


def test_column_schema_is_mlflow_json() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("string", "b", required=False)])
    assert schema.to_json() == (
        '[{"type": "double", "name": "a", "required": true}, {"type": "string", "name": "b", "required": false}]'
    )
    assert Schema.from_json(schema.to_json()) == schema
    assert schema.names() == ["a", "b"] and not schema.is_tensor and schema.has_names


def test_tensor_schema_is_mlflow_json() -> None:
    schema = Schema([TensorSpec("float32", (-1, 3))])
    assert json.loads(schema.to_json()) == [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]
    assert Schema.from_json(schema.to_json()) == schema
    assert schema.is_tensor and not schema.has_names


def test_signature_round_trip_with_params() -> None:
    sig = ModelSignature(
        Schema([ColSpec("long", "x")]),
        Schema([ColSpec("double")]),
        ParamSchema([ParamSpec("k", "long", 3), ParamSpec("tags", "string", ["a"], (-1,))]),
    )
    section = sig.to_dict()
    assert set(section) == {"inputs", "outputs", "params"}
    assert all(isinstance(v, str) for v in section.values())
    assert ModelSignature.from_dict(section) == sig


def test_missing_parts_are_null() -> None:
    assert ModelSignature(Schema([ColSpec("long", "x")])).to_dict()["outputs"] is None
    assert ModelSignature.from_dict({"inputs": None, "outputs": None, "params": None}) == ModelSignature()


def test_composite_types_survive_a_round_trip() -> None:
    text = '[{"type": "array", "items": {"type": "string"}, "name": "words", "required": true}]'
    schema = Schema.from_json(text)
    assert schema.to_json() == text


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "at least one"),
        ([ColSpec("long", "a"), TensorSpec("float32", (-1,))], "not both"),
        ([ColSpec("long"), ColSpec("long")], "needs a name"),
        ([ColSpec("long", "a"), ColSpec("double", "a")], "repeat"),
    ],
)
def test_bad_schemas(specs: list, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        Schema(specs)


def test_unknown_column_type() -> None:
    with pytest.raises(InvalidParameter, match="'decimal' is not one of"):
        ColSpec("decimal", "x")


def test_unknown_param_type() -> None:
    with pytest.raises(InvalidParameter, match="param 'k'"):
        ParamSpec("k", "complex", 1)


def test_corrupted_signature_section() -> None:
    with pytest.raises(InvalidModel, match="signature"):
        ModelSignature.from_dict({"inputs": "[{not json"})
    with pytest.raises(InvalidModel, match="no 'type'"):
        ModelSignature.from_dict({"inputs": '[{"name": "x"}]'})
