"""The /invocations and Open Inference Protocol codecs, in process."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.core.errors import BadRequest, UnsupportedMediaType
from dockyard.models.signature import ColSpec, Schema, TensorSpec
from dockyard.serving import payloads, v2
from dockyard.serving.payloads import decode_request, encode_predictions, jsonable, parse_content_type

COLUMNS = Schema([ColSpec("double", "x"), ColSpec("long", "k")])
TENSOR = Schema([TensorSpec("float64", (-1, 2))])
NAMED = Schema([TensorSpec("float64", (-1,), "a"), TensorSpec("int64", (-1, 2), "b")])


def decode(payload: bytes, schema: Schema | None = COLUMNS, content_type: str = "application/json") -> Any:
    return decode_request(payload, content_type, schema)


@pytest.mark.parametrize(
    ("header", "media"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ('application/json; charset="UTF-8"', "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv"),
    ],
)
def test_content_types(header: str, media: str) -> None:
    assert parse_content_type(header) == media


@pytest.mark.parametrize(
    "header", ["", "text/plain", "application/json; charset=latin-1", "application/json; format=pandas-split"]
)
def test_unsupported_content_types(header: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_content_type(header)


def test_split_without_index_stays_rows_until_needed() -> None:
    item = decode(b'{"dataframe_split": {"columns": ["x", "k"], "data": [[1.5, 2], [2.5, 3]]}}')
    assert item.data is None and item.records == [[1.5, 2], [2.5, 3]] and item.rows == 2
    frame = item.frame()
    assert list(frame.columns) == ["x", "k"] and frame["k"].tolist() == [2, 3]


def test_split_with_index_and_without_columns() -> None:
    item = decode(b'{"dataframe_split": {"columns": ["x"], "data": [[1.0]], "index": [5]}}')
    assert item.data.index.tolist() == [5]
    item = decode(b'{"dataframe_split": {"data": [[1.0, 2]]}}')
    assert item.data.shape == (1, 2)


def test_records_with_different_keys_become_a_frame() -> None:
    item = decode(b'{"dataframe_records": [{"x": 1.0, "k": 1}, {"k": 2, "x": 3.0}]}')
    assert item.records is None
    assert item.frame().to_dict("list") == {"x": [1.0, 3.0], "k": [1, 2]}


def test_instances_for_columns_tensors_and_named_tensors() -> None:
    rows = decode(b'{"instances": [{"x": 1.0, "k": 1}]}')
    assert rows.frame().to_dict("list") == {"x": [1.0], "k": [1]}
    tensor = decode(b'{"instances": [[1, 2], [3, 4]]}', TENSOR)
    assert isinstance(tensor.data, np.ndarray) and tensor.data.shape == (2, 2) and tensor.rows == 2
    named = decode(b'{"instances": [{"a": 1.0, "b": [1, 2]}, {"a": 2.0, "b": [3, 4]}]}', NAMED)
    assert named.data["b"].shape == (2, 2) and named.rows == 2


def test_inputs_columns_tensor_and_plain_values() -> None:
    columns = decode(b'{"inputs": {"x": [1.0, 2.0], "k": [1, 2]}}')
    assert columns.data.to_dict("list") == {"x": [1.0, 2.0], "k": [1, 2]}
    one_row = decode(b'{"inputs": {"x": 1.0, "k": 1}}')
    assert one_row.data.to_dict("list") == {"x": [1.0], "k": [1]}
    tensors = decode(b'{"inputs": {"a": [1.0], "b": [[1, 2]]}}', NAMED)
    assert tensors.data["b"].shape == (1, 2)
    text = decode(b'{"inputs": "hello"}', None)
    assert text.data == "hello" and text.rows is None
    ragged = decode(b'{"inputs": [[1], [2, 3]]}', None)
    assert ragged.data == [[1], [2, 3]]


def test_params_are_kept_and_must_be_an_object() -> None:
    assert decode(b'{"inputs": {"x": [1.0], "k": [1]}, "params": {"sleep": 0}}').params == {"sleep": 0}
    with pytest.raises(BadRequest, match="params"):
        decode(b'{"inputs": {"x": [1.0], "k": [1]}, "params": 3}')


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not valid JSON"),
        (b'"text"', "got a JSON str"),
        (b"{}", "exactly one of"),
        (b'{"columns": ["x"], "data": [[1]]}', "MLflow 2.0"),
        (b'{"dataframe_split": [[1]]}', "dataframe_split must be"),
        (b'{"dataframe_split": {"columns": "x", "data": []}}', "'columns' must be"),
        (b'{"dataframe_split": {"columns": ["x"], "data": [[1]], "index": [1, 2]}}', "'index'"),
        (b'{"dataframe_records": {"x": 1}}', "list of objects"),
        (b'{"instances": {"x": 1}}', "list of rows"),
        (b'{"inputs": {"x": [1.0, 2.0], "k": [1]}}', "same number of values"),
    ],
)
def test_bad_json_bodies(body: bytes, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        decode(body)


def test_csv() -> None:
    item = decode(b"x,k\n1.5,2\n", content_type="text/csv")
    assert item.data.to_dict("list") == {"x": [1.5], "k": [2]} and item.rows == 1
    with pytest.raises(BadRequest, match="not valid CSV"):
        decode(b'x,k\n"1,2\n', content_type="text/csv")
    with pytest.raises(BadRequest):
        decode(b"\xff\xfe\x00", content_type="text/csv")


def test_jsonable_converts_numpy_and_pandas() -> None:
    frame = pd.DataFrame({"p": [0.5, float("nan")], "label": ["a", "b"]})
    assert jsonable(frame) == [{"p": 0.5, "label": "a"}, {"p": None, "label": "b"}]
    assert jsonable(pd.Series([1, 2])) == [1, 2]
    assert jsonable({"a": np.array([1.0, np.inf]), "b": np.int64(3)}) == {"a": [1.0, None], "b": 3}
    assert jsonable(np.array([[True, False]])) == [[True, False]]
    assert jsonable(pd.Timestamp("2024-01-02")) == "2024-01-02T00:00:00"
    assert encode_predictions(np.array([1, 2])) == b'{"predictions":[1,2]}'


def test_v2_decode_columns_one_matrix_and_tensors() -> None:
    one_matrix = {"inputs": [{"name": "in", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
    frame = v2.decode_infer(one_matrix, COLUMNS).data
    assert frame.to_dict("list") == {"x": [1.0, 3.0], "k": [2.0, 4.0]}
    tensor = v2.decode_infer(one_matrix, TENSOR)
    assert tensor.data.shape == (2, 2) and tensor.rows == 2
    named = {
        "inputs": [
            {"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
            {"name": "b", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]},
        ],
        "parameters": {"content_type": "np", "sleep": 0},
    }
    item = v2.decode_infer(named, NAMED)
    assert item.data["b"].tolist() == [[1, 2]] and item.params == {"sleep": 0}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({}, "non-empty 'inputs'"),
        ({"inputs": [1]}, "must be an object"),
        ({"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1.0]}]}, "does not fit shape"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "DOUBLE", "data": [1.0]}]}, "datatype"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}]}, "shape \\[n\\]"),
        ({"inputs": [{"shape": [1], "datatype": "FP64", "data": [1.0]}]}, "'name'"),
    ],
)
def test_v2_bad_requests(payload: Any, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        v2.decode_infer(payload, COLUMNS)


def test_v2_outputs() -> None:
    frame = pd.DataFrame({"p": [0.5, 0.25], "label": ["a", "b"]})
    assert v2.encode_outputs(frame) == [
        {"name": "p", "shape": [2], "datatype": "FP64", "data": [0.5, 0.25]},
        {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]},
    ]
    assert v2.encode_outputs({"y": np.zeros((1, 2), dtype="float32")}) == [
        {"name": "y", "shape": [1, 2], "datatype": "FP32", "data": [0.0, 0.0]}
    ]
    assert v2.encode_outputs(pd.Series([True])) == [
        {"name": "predict", "shape": [1], "datatype": "BOOL", "data": [True]}
    ]


@pytest.mark.parametrize("fast", [True, False])
def test_json_with_and_without_orjson(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    if not fast:
        monkeypatch.setattr(payloads, "_orjson", None)
    body = b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [NaN, 3]]}}'  # NaN: Python's json
    frame = payloads.decode_request(body, "application/json").frame()
    assert frame["b"].tolist() == [2, 3] and frame["a"].isna().tolist() == [False, True]
    with pytest.raises(BadRequest, match="not valid JSON"):
        payloads.decode_request(b'{"inputs": [1,', "application/json")
    assert json.loads(payloads.encode_predictions([1, 2**70, float("nan")])) == {"predictions": [1, 2**70, None]}
