"""An OpenAPI 3.1 document for one model, generated from its signature (``GET /openapi.json``).

Columns become the properties of a row (``dataframe_records``) and the items of ``dataframe_split``;
tensors become nested arrays of their dtype. The input example, when the model has one, is the
request example.
"""

from __future__ import annotations

from typing import Any

from dockyard.serving.model import ServedModel

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "byte"},
    "datetime": {"type": "string", "format": "date-time"},
}


def _column_type(spec: Any) -> dict[str, Any]:
    kind = spec.type
    if not isinstance(kind, str):
        return {}
    schema = dict(_JSON_TYPES.get(kind, {}))
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _tensor(spec: Any) -> dict[str, Any]:
    kind = spec.dtype
    item: dict[str, Any] = (
        {"type": "number"}
        if kind.startswith("float")
        else {"type": "integer"}
        if kind.startswith(("int", "uint"))
        else {"type": "boolean"}
        if kind == "bool"
        else {"type": "string"}
    )
    for size in reversed(spec.shape):
        item = {"type": "array", "items": item, **({"minItems": size, "maxItems": size} if size != -1 else {})}
    return item


def _request_schema(model: ServedModel) -> dict[str, Any]:
    schema = model.input_schema
    if schema is None:
        return {"type": "object", "description": "The model has no signature: any of the formats is accepted."}
    # Undeclared params are ignored (with a warning header), not refused, as MLflow does: no
    # additionalProperties: false.
    params: dict[str, Any] = {
        "type": "object",
        "description": "Params the signature does not declare are ignored (named in X-Dockyard-Warning).",
    }
    signature = model.predictor.signature
    if signature is not None and signature.params is not None:
        params["properties"] = {
            p.name: {**_JSON_TYPES.get(p.type, {}), "default": p.default} for p in signature.params.specs
        }
    if schema.is_tensor:
        tensors = list(schema.specs)
        if schema.has_names:
            inputs: dict[str, Any] = {
                "type": "object",
                "properties": {s.name: _tensor(s) for s in tensors},
                "required": schema.names(),
            }
        else:
            inputs = _tensor(tensors[0])
        options = [
            {"type": "object", "properties": {"inputs": inputs, "params": params}, "required": ["inputs"]},
            {
                "type": "object",
                "properties": {"instances": {"type": "array"}, "params": params},
                "required": ["instances"],
            },
        ]
        return {"oneOf": options}
    row = {
        "type": "object",
        "properties": {s.name: _column_type(s) for s in schema.specs if s.name is not None},
        "required": [s.name for s in schema.specs if getattr(s, "required", True) and s.name is not None],
    }
    split = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string", "enum": schema.names()}},
            "data": {"type": "array", "items": {"type": "array"}},
            "index": {"type": "array"},
        },
        "required": ["columns", "data"],
    }
    records = {"type": "array", "items": row}
    formats = {
        "dataframe_split": split,
        "dataframe_records": records,
        "instances": records,
        "inputs": {"type": "object"},
    }
    return {
        "oneOf": [
            {"type": "object", "properties": {key: value, "params": params}, "required": [key]}
            for key, value in formats.items()
        ]
    }


def _example(model: ServedModel) -> Any:
    try:
        example = model.predictor.input_example
    except Exception:  # an unreadable example only loses the example
        return None
    if example is None:
        return None
    from dockyard.serving.payloads import jsonable

    if hasattr(example, "columns"):
        return {"dataframe_split": {"columns": [str(c) for c in example.columns], "data": jsonable(example.to_numpy())}}
    return {"inputs": jsonable(example)}


def _error() -> dict[str, Any]:
    return {
        "description": "The error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(model: ServedModel, *, title: str, version: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": _request_schema(model)}
    example = _example(model)
    if example is not None:
        body["example"] = example
    predictions = {"type": "object", "properties": {"predictions": {}}}
    ok = {"description": "Predictions", "content": {"application/json": {"schema": predictions}}}
    plain = {"200": {"description": "OK"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": f"Scoring API of {model.model_uri}"},
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Predict",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": body, "text/csv": {"schema": {"type": "string"}}},
                    },
                    "responses": {
                        "200": ok,
                        "400": _error(),
                        "413": _error(),
                        "415": _error(),
                        "500": _error(),
                        "504": _error(),
                    },
                }
            },
            "/ping": {"get": {"summary": "Liveness", "responses": plain}},
            "/health": {"get": {"summary": "Liveness", "responses": plain}},
            "/version": {"get": {"summary": "The model version serving", "responses": plain}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": plain}},
            "/v2/health/live": {"get": {"summary": "Open Inference Protocol: live", "responses": plain}},
            "/v2/health/ready": {"get": {"summary": "Open Inference Protocol: ready", "responses": plain}},
            "/v2/models/{name}": {"get": {"summary": "Open Inference Protocol: model metadata", "responses": plain}},
            "/v2/models/{name}/ready": {"get": {"summary": "Open Inference Protocol: model ready", "responses": plain}},
            "/v2/models/{name}/infer": {"post": {"summary": "Open Inference Protocol: infer", "responses": plain}},
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["error_code", "message"],
                }
            }
        },
    }
