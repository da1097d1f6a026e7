from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.core.errors import InvalidParameter
from dockyard.tracking import datasets
from dockyard.tracking.datasets import DIGEST_LENGTH, from_numpy, from_pandas, from_path, to_dataset
from dockyard.tracking.entities import Dataset

HEX = set("0123456789abcdef")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [25, 32, 47],
            "income": [50_000.0, 64_000.5, 81_000.25],
            "city": ["Oslo", "Lima", "Pune"],
            "churned": [False, True, False],
        }
    )


def _assert_digest(digest: str) -> None:
    assert len(digest) == DIGEST_LENGTH == 16
    assert set(digest) <= HEX


# ---------------------------------------------------------------------- pandas


def test_pandas_digest_is_stable_across_calls_and_copies() -> None:
    df = _frame()
    first = from_pandas(df).digest
    _assert_digest(first)
    assert from_pandas(df).digest == first
    assert from_pandas(df.copy(deep=True)).digest == first
    assert from_pandas(_frame()).digest == first


def test_pandas_digest_is_sha256_of_schema_then_row_hashes() -> None:
    df = _frame()
    ds = from_pandas(df)
    h = hashlib.sha256(ds.schema.encode())  # type: ignore[union-attr]
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    assert ds.digest == h.hexdigest()[:16]


@pytest.mark.parametrize(
    ("column", "row", "value"),
    [("age", 0, 26), ("income", 2, 81_000.26), ("city", 1, "Lyon"), ("churned", 2, True)],
)
def test_pandas_digest_changes_when_one_value_changes(column: str, row: int, value: Any) -> None:
    df = _frame()
    before = from_pandas(df).digest
    changed = df.copy()
    changed.loc[row, column] = value
    assert from_pandas(changed).digest != before
    assert from_pandas(df).digest == before  # the original is untouched


def test_pandas_digest_changes_with_row_order_index_column_name_and_dtype() -> None:
    df = _frame()
    base = from_pandas(df).digest
    variants = {
        "row order": df.iloc[[1, 0, 2]].reset_index(drop=True),
        "index": df.set_axis([10, 11, 12], axis=0),
        "column name": df.rename(columns={"age": "years"}),
        "dtype": df.astype({"age": "float64"}),
        "fewer rows": df.iloc[:2],
        "column order": df[["income", "age", "city", "churned"]],
    }
    digests = {name: from_pandas(v).digest for name, v in variants.items()}
    assert base not in digests.values(), digests
    assert len(set(digests.values())) == len(digests)


def test_pandas_schema_json() -> None:
    ds = from_pandas(_frame())
    assert ds.schema == (
        '{"mlflow_colspec":['
        '{"name":"age","required":true,"type":"long"},'
        '{"name":"income","required":true,"type":"double"},'
        '{"name":"city","required":true,"type":"string"},'
        '{"name":"churned","required":true,"type":"boolean"}]}'
    )


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (pd.Series([True, False]), "boolean"),
        (pd.Series([1, 2], dtype="int8"), "long"),
        (pd.Series([1, 2], dtype="int64"), "long"),
        (pd.Series([1, 2], dtype="uint16"), "long"),
        (pd.Series([1, None], dtype="Int64"), "long"),
        (pd.Series([1.5, 2.5], dtype="float32"), "double"),
        (pd.Series([1.5, 2.5], dtype="float64"), "double"),
        (pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])), "datetime"),
        (pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)), "datetime"),
        (pd.Series(["a", "b"]), "string"),
        (pd.Series(["a", "b"], dtype=object), "string"),
        (pd.Series(pd.Categorical(["a", "b"])), "string"),
    ],
)
def test_pandas_column_types(series: pd.Series, expected: str) -> None:
    schema = json.loads(from_pandas(pd.DataFrame({"c": series})).schema)  # type: ignore[arg-type]
    assert schema == {"mlflow_colspec": [{"name": "c", "type": expected, "required": True}]}


def test_pandas_non_string_column_names_become_strings() -> None:
    schema = json.loads(from_pandas(pd.DataFrame({0: [1], "b": [2.0], 2: ["x"]})).schema)  # type: ignore[arg-type]
    assert [c["name"] for c in schema["mlflow_colspec"]] == ["0", "b", "2"]


def test_pandas_bytes_column_is_binary() -> None:
    schema = json.loads(from_pandas(pd.DataFrame({"c": [b"a", b"bc"]})).schema)  # type: ignore[arg-type]
    assert schema["mlflow_colspec"][0]["type"] == "binary"


@pytest.mark.parametrize(
    "cells",
    [[[1, 2], [3]], [{"a": 1}, {"b": 2}], [np.array([1.0, 2.0]), np.array([3.0])]],
    ids=["lists", "dicts", "arrays"],
)
def test_pandas_digest_of_unhashable_cells(cells: list[Any]) -> None:
    df = pd.DataFrame({"c": cells})
    ds = from_pandas(df)
    _assert_digest(ds.digest)
    assert from_pandas(df.copy()).digest == ds.digest


def test_pandas_mixed_object_cells_are_hashed() -> None:
    a = pd.DataFrame({"c": [1, "a", None]})
    b = pd.DataFrame({"c": [1, "b", None]})
    assert from_pandas(a).digest == from_pandas(a.copy()).digest
    assert from_pandas(a).digest != from_pandas(b).digest


def test_pandas_profile_and_defaults() -> None:
    ds = from_pandas(_frame())
    assert ds.profile == '{"num_elements":12,"num_rows":3}'
    assert json.loads(ds.profile) == {"num_rows": 3, "num_elements": 12}
    assert ds.name == "dataset"
    assert ds.source_type == "code"
    assert ds.source == '{"uri":"pandas.DataFrame"}'


def test_pandas_empty_frame() -> None:
    ds = from_pandas(pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    assert json.loads(ds.profile) == {"num_rows": 0, "num_elements": 0}  # type: ignore[arg-type]
    _assert_digest(ds.digest)


def test_pandas_targets_in_profile() -> None:
    ds = from_pandas(_frame(), targets="churned", name="churn")
    assert ds.name == "churn"
    assert json.loads(ds.profile) == {"num_rows": 3, "num_elements": 12, "targets": "churned"}  # type: ignore[arg-type]
    assert ds.digest == from_pandas(_frame()).digest  # targets describe, they do not change the content


def test_pandas_unknown_target_names_the_column() -> None:
    with pytest.raises(InvalidParameter) as info:
        from_pandas(_frame(), targets="label")
    assert info.value.message == "from_pandas: targets column 'label' is not in the DataFrame"


@pytest.mark.parametrize("bad", [[1, 2], {"a": [1]}, np.zeros(3), None, pd.Series([1, 2])])
def test_from_pandas_rejects_non_frames(bad: Any) -> None:
    with pytest.raises(InvalidParameter) as info:
        from_pandas(bad)
    assert info.value.message == f"from_pandas: expected a pandas DataFrame, got {type(bad).__name__}"


@pytest.mark.parametrize(
    ("source", "source_type"),
    [
        ("/data/train.csv", "local"),
        ("./train.csv", "local"),
        ("../train.csv", "local"),
        ("file:///data/train.csv", "local"),
        ("s3://bucket/train.parquet", "s3"),
        ("gs://bucket/train.parquet", "gs"),
        ("https://example.com/train.csv", "https"),
        ("hf://datasets/x", "hf"),
        ("warehouse.churn_table", "code"),
    ],
)
def test_source_type_from_source(source: str, source_type: str) -> None:
    ds = from_pandas(_frame(), source=source)
    assert ds.source_type == source_type
    assert ds.source == json.dumps({"uri": source}, separators=(",", ":"))


def test_source_existing_relative_file_is_local() -> None:
    Path("train.csv").write_text("a\n1\n")  # cwd is a fresh folder
    assert from_pandas(_frame(), source="train.csv").source_type == "local"
    assert from_pandas(_frame(), source="other.csv").source_type == "code"


def test_source_does_not_change_the_digest() -> None:
    assert from_pandas(_frame(), source="s3://b/k").digest == from_pandas(_frame()).digest


# ---------------------------------------------------------------------- numpy


@pytest.mark.parametrize(
    ("shape", "spec_shape", "rows"),
    [((3, 2), [-1, 2], 3), ((5,), [-1], 5), ((2, 3, 4), [-1, 3, 4], 2), ((0, 3), [-1, 3], 0), ((), [-1], 1)],
)
def test_numpy_shapes(shape: tuple[int, ...], spec_shape: list[int], rows: int) -> None:
    array = np.zeros(shape)
    ds = from_numpy(array)
    assert json.loads(ds.schema) == {"mlflow_tensorspec": {"dtype": "float64", "shape": spec_shape}}  # type: ignore[arg-type]
    assert json.loads(ds.profile) == {"num_rows": rows, "num_elements": int(array.size)}  # type: ignore[arg-type]
    _assert_digest(ds.digest)


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.zeros(2, dtype=np.float32), "float32"),
        (np.zeros(2, dtype=np.int64), "int64"),
        (np.zeros(2, dtype=np.uint8), "uint8"),
        (np.zeros(2, dtype=bool), "bool"),
        (np.array(["ab", "c"]), "<U2"),
        (np.array([{"a": 1}, None], dtype=object), "object"),
    ],
)
def test_numpy_dtypes(array: np.ndarray, dtype: str) -> None:
    schema = json.loads(from_numpy(array).schema)  # type: ignore[arg-type]
    assert schema["mlflow_tensorspec"]["dtype"] == dtype


def test_numpy_defaults_and_exact_digest() -> None:
    array = np.arange(6, dtype=np.int64).reshape(3, 2)
    ds = from_numpy(array)
    schema = '{"mlflow_tensorspec":{"dtype":"int64","shape":[-1,2]}}'
    h = hashlib.sha256(schema.encode())
    h.update(array.tobytes())
    assert ds == Dataset(
        name="dataset",
        digest=h.hexdigest()[:16],
        source_type="code",
        source='{"uri":"numpy.ndarray"}',
        schema=schema,
        profile='{"num_elements":6,"num_rows":3}',
    )


def test_numpy_digest_stable_and_sensitive() -> None:
    array = np.arange(12, dtype=np.float64).reshape(4, 3)
    base = from_numpy(array).digest
    assert from_numpy(array.copy()).digest == base
    assert from_numpy(np.asfortranarray(array)).digest == base  # memory layout does not matter
    changed = array.copy()
    changed[3, 2] = 11.5
    assert from_numpy(changed).digest != base
    assert from_numpy(array.astype(np.float32)).digest != base
    assert from_numpy(array.reshape(3, 4)).digest != base
    assert from_numpy(array.reshape(12)).digest != base


def test_numpy_non_contiguous_view_hashes_its_content() -> None:
    array = np.arange(20, dtype=np.int32).reshape(4, 5)
    view = array[:, ::2]
    assert from_numpy(view).digest == from_numpy(view.copy()).digest


def test_numpy_object_arrays() -> None:
    a = np.array([{"a": 1}, "x", None], dtype=object)
    b = np.array([{"a": 2}, "x", None], dtype=object)
    assert from_numpy(a).digest == from_numpy(a.copy()).digest
    assert from_numpy(a).digest != from_numpy(b).digest


def test_numpy_name_and_source() -> None:
    ds = from_numpy(np.ones(3), name="ones", source="s3://b/ones.npy")
    assert (ds.name, ds.source_type, ds.source) == ("ones", "s3", '{"uri":"s3://b/ones.npy"}')


@pytest.mark.parametrize("bad", [[1, 2], np.float64(1.0), pd.DataFrame({"a": [1]}), 3, None])
def test_from_numpy_rejects_non_arrays(bad: Any) -> None:
    with pytest.raises(InvalidParameter) as info:
        from_numpy(bad)
    assert info.value.message == f"from_numpy: expected a numpy ndarray, got {type(bad).__name__}"


# ---------------------------------------------------------------------- files


def test_from_path_parquet(tmp_path: Path) -> None:
    df = _frame()
    path = tmp_path / "train.parquet"
    df.to_parquet(path)
    ds = from_path(path)
    assert ds.name == "train"
    assert ds.source_type == "local"
    assert ds.source == json.dumps({"uri": str(path)}, separators=(",", ":"))
    assert json.loads(ds.profile) == {"num_rows": 3, "num_elements": 12}  # type: ignore[arg-type]
    assert ds.schema == from_pandas(df).schema
    assert ds.digest == from_pandas(df).digest  # the same data gives the same digest, from a file or not
    assert from_path(str(path)).digest == ds.digest


@pytest.mark.parametrize("suffix", [".csv", ".CSV", ".csv.gz"])
def test_from_path_csv(tmp_path: Path, suffix: str) -> None:
    df = _frame()
    path = tmp_path / f"churn{suffix}"
    df.to_csv(path, index=False, compression="gzip" if suffix.endswith(".gz") else None)
    ds = from_path(path, targets="churned")
    assert ds.name == "churn"
    assert json.loads(ds.profile) == {"num_rows": 3, "num_elements": 12, "targets": "churned"}  # type: ignore[arg-type]
    assert [c["type"] for c in json.loads(ds.schema)["mlflow_colspec"]] == ["long", "double", "string", "boolean"]  # type: ignore[arg-type]
    assert ds.digest == from_pandas(pd.read_csv(path)).digest


def test_from_path_pq_extension_and_name(tmp_path: Path) -> None:
    path = tmp_path / "data.v2.pq"
    _frame().to_parquet(path)
    assert from_path(path).name == "data"
    assert from_path(path, name="custom").name == "custom"


def test_from_path_digest_changes_with_file_content(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    before = from_path(path).digest
    assert from_path(path).digest == before
    path.write_text("a,b\n1,2\n3,5\n")
    assert from_path(path).digest != before


def test_from_path_relative_path_source_is_absolute() -> None:
    Path("rel.csv").write_text("a\n1\n")
    ds = from_path("rel.csv")
    assert json.loads(ds.source) == {"uri": os.path.abspath("rel.csv")}
    assert ds.source_type == "local"


@pytest.mark.parametrize("name", ["data.json", "data.txt", "data", "data.parquet.bak", "data.xlsx"])
def test_from_path_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("a\n1\n")
    with pytest.raises(InvalidParameter) as info:
        from_path(path)
    assert info.value.message == f"dataset path {str(path)!r}: only .parquet and .csv files are supported"


def test_from_path_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    with pytest.raises(InvalidParameter) as info:
        from_path(path)
    assert info.value.message == f"dataset path {str(path)!r} is not a file"


def test_from_path_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.parquet"
    folder.mkdir()
    with pytest.raises(InvalidParameter, match="is not a file"):
        from_path(folder)


def test_from_path_unknown_target(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidParameter, match="targets column 'label'"):
        from_path(path, targets="label")


# ---------------------------------------------------------------------- to_dataset


def test_to_dataset_passes_datasets_through() -> None:
    ds = Dataset("d", "0" * 16, "code", '{"uri":"x"}')
    assert to_dataset(ds) is ds
    assert to_dataset(ds, name="ignored") is ds


def test_to_dataset_pandas() -> None:
    ds = to_dataset(_frame(), name="churn", source="s3://b/churn", targets="churned")
    assert ds == from_pandas(_frame(), name="churn", source="s3://b/churn", targets="churned")


def test_to_dataset_numpy() -> None:
    array = np.ones((2, 2))
    assert to_dataset(array, name="ones", source="/a.npy") == from_numpy(array, name="ones", source="/a.npy")


@pytest.mark.parametrize("as_path", [True, False], ids=["PathLike", "str"])
def test_to_dataset_path(tmp_path: Path, as_path: bool) -> None:
    path = tmp_path / "train.csv"
    path.write_text("a,b\n1,2\n")
    ds = to_dataset(path if as_path else str(path), name="t", targets="b")
    assert ds == from_path(path, name="t", targets="b")


@pytest.mark.parametrize("bad", [[1, 2], {"a": 1}, None, 3, 1.5, b"x", object()])
def test_to_dataset_unsupported_type(bad: Any) -> None:
    with pytest.raises(InvalidParameter) as info:
        to_dataset(bad)
    assert info.value.message == (
        f"log_input: cannot describe a {type(bad).__name__}; pass a pandas DataFrame, a numpy array, "
        "a .parquet/.csv path or a dockyard Dataset"
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (pd.Series([1, 2]), "from_pandas: expected a pandas DataFrame, got Series"),
        (np.float64(1.0), "from_numpy: expected a numpy ndarray, got float64"),
    ],
)
def test_to_dataset_other_pandas_numpy_objects(bad: Any, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        to_dataset(bad)
    assert info.value.message == message


def test_to_dataset_missing_path() -> None:
    with pytest.raises(InvalidParameter, match=r"dataset path 'nope\.csv' is not a file"):
        to_dataset("nope.csv")


def test_module_exports() -> None:
    assert datasets.DIGEST_LENGTH == 16


@pytest.mark.parametrize(
    ("module", "function"), [("pandas", "from_pandas"), ("numpy", "from_numpy"), ("pandas", "from_path")]
)
def test_missing_library_raises_missing_extra(monkeypatch: pytest.MonkeyPatch, module: str, function: str) -> None:
    import sys

    from dockyard.core.errors import MissingExtra

    Path("x.csv").write_text("a\n1\n")
    arg = {"from_pandas": _frame(), "from_numpy": np.zeros(2), "from_path": "x.csv"}[function]
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtra) as info:
        getattr(datasets, function)(arg)
    assert (info.value.package, info.value.extra) == (module, "data")
