"""Signature checks where pandas is not installed (an ONNX or scikit-learn serving bundle): a table of
numeric columns becomes one 2-D array in the signature's order, under the same rules as with pandas.

The environment without pandas is real in tests/packaging/test_fresh_venv.py; here the pandas-free
functions are called directly."""

from __future__ import annotations

import numpy as np
import pytest

from dockyard.core.errors import MissingExtra, ModelInputError
from dockyard.models.enforce import _numeric_matrix
from dockyard.models.signature import ColSpec, Schema

SCHEMA = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("double", "c")])


def test_columns_records_and_arrays_become_one_array_in_the_signatures_order() -> None:
    expected = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    by_columns = _numeric_matrix({"c": [3.0, 6.0], "b": [2, 5], "a": [1, 4], "extra": ["x", "y"]}, SCHEMA)
    by_records = _numeric_matrix([{"a": 1.0, "b": 2, "c": 3.0}, {"b": 5, "a": 4.0, "c": 6.0}], SCHEMA)
    by_position = _numeric_matrix(expected.copy(), SCHEMA)
    for matrix in (by_columns, by_records, by_position):
        np.testing.assert_array_equal(matrix, expected)
        assert matrix.dtype == np.float64 and matrix.shape == (2, 3)


def test_missing_values_are_nan_in_float_columns_and_refused_in_integer_ones() -> None:
    out = _numeric_matrix({"a": [None, 1.0], "b": [1, 2], "c": [1.0, 2.0]}, SCHEMA)
    assert np.isnan(out[0, 0]) and out[1, 0] == 1.0
    with pytest.raises(ModelInputError, match=r"column 'b' has missing values, which an integer column \(long\)"):
        _numeric_matrix({"a": [1.0], "b": [None], "c": [1.0]}, SCHEMA)


def test_whole_floats_fit_integer_columns_and_nothing_lossy_passes() -> None:
    out = _numeric_matrix({"a": [1.0], "b": [3.0], "c": [1.0]}, SCHEMA)
    assert out[0, 1] == 3.0
    with pytest.raises(ModelInputError, match=r"column 'b': expected long, got float64"):
        _numeric_matrix({"a": [1.0], "b": [3.5], "c": [1.0]}, SCHEMA)
    with pytest.raises(ModelInputError, match=r"column 'a': expected double, got values such as True"):
        _numeric_matrix({"a": [True], "b": [1], "c": [1.0]}, SCHEMA)
    with pytest.raises(ModelInputError, match=r"column 'c': expected double, got values such as 'x'"):
        _numeric_matrix({"a": [1.0], "b": [1], "c": ["x"]}, SCHEMA)


def test_missing_columns_and_wrong_shapes_are_named() -> None:
    with pytest.raises(ModelInputError, match=r"missing input columns 'b' \(expected long\), 'c'"):
        _numeric_matrix({"a": [1.0]}, SCHEMA)
    with pytest.raises(ModelInputError, match=r"expected 3 columns \['a', 'b', 'c'\], got an array of 2"):
        _numeric_matrix(np.zeros((1, 2)), SCHEMA)
    with pytest.raises(ModelInputError, match="does not fit a column signature"):
        _numeric_matrix("text", SCHEMA)


def test_a_text_column_needs_pandas() -> None:
    with pytest.raises(MissingExtra, match="pandas is required"):
        _numeric_matrix({"s": ["x"]}, Schema([ColSpec("string", "s")]))


DOUBLES = Schema([ColSpec("double", "a"), ColSpec("double", "b")])


def _column_by_column(data: dict[str, list[object]]) -> np.ndarray:
    """The general rule, one ``_numeric_column`` per column, which the few-rows shortcut must equal."""
    from dockyard.models.enforce import _numeric_column

    specs = [s for s in DOUBLES.specs if isinstance(s, ColSpec)]
    return np.column_stack([_numeric_column(data[s.name], s, s.name) for s in specs])


def test_a_few_rows_of_doubles_take_the_shortcut_with_the_same_result() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    number = st.one_of(st.floats(allow_nan=True), st.integers(-(2**70), 2**70), st.booleans(), st.none())

    @settings(max_examples=300, deadline=None)
    @given(
        st.integers(0, 20).flatmap(
            lambda n: st.tuples(st.lists(number, min_size=n, max_size=n), st.lists(number, min_size=n, max_size=n))
        )
    )
    def same(columns: tuple[list[object], list[object]]) -> None:
        data = {"a": columns[0], "b": columns[1]}
        try:
            expected = _column_by_column(data)
        except ModelInputError as exc:
            with pytest.raises(ModelInputError, match=str(exc).replace("(", r"\(").replace(")", r"\)").split(":")[0]):
                _numeric_matrix(data, DOUBLES)
            return
        got = _numeric_matrix(data, DOUBLES)
        assert got.dtype == expected.dtype and got.shape == expected.shape and got.flags.c_contiguous
        np.testing.assert_array_equal(got, expected)

    same()
