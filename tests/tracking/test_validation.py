from __future__ import annotations

import decimal
import fractions
import math

import numpy as np
import pytest

from dockyard.core import validation as cv
from dockyard.core.errors import InvalidParameter
from dockyard.core.validation import check_int, check_key, check_max_results, check_string
from dockyard.tracking import validation as v
from dockyard.tracking.validation import (
    check_experiment_id,
    check_experiment_name,
    check_metric_value,
    check_run_id,
)


def test_limits_match_mlflow() -> None:
    assert cv.MAX_KEY_LENGTH == 250
    assert v.MAX_PARAM_VALUE_LENGTH == 6000
    assert v.MAX_TAG_VALUE_LENGTH == 8000
    assert v.MAX_EXPERIMENT_NAME_LENGTH == 500
    assert v.MAX_RUN_NAME_LENGTH == 250
    assert (v.MAX_BATCH_METRICS, v.MAX_BATCH_PARAMS, v.MAX_BATCH_TAGS, v.MAX_BATCH_ENTITIES) == (1000, 100, 100, 1000)
    assert (v.MAX_SEARCH_RUNS, v.MAX_SEARCH_EXPERIMENTS, v.MAX_METRIC_HISTORY_PAGE) == (50_000, 50_000, 25_000)


# ---------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "key",
    [
        "loss",
        "val/loss",
        "a.b.c",
        "train-acc",
        "under_score",
        "with space",
        "ns:metric",
        "a/b/c/d",
        "A1",
        "0",
        "x" * 250,
        "v1.2",
        "...a",
        "a..b",
        "..x",
        "x..",
        "a/.hidden",
        "ünïcode",
        "日本",
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert check_key(key, "metric key") == key


def test_key_length_edge() -> None:
    assert check_key("k" * 250, "param key") == "k" * 250
    with pytest.raises(InvalidParameter) as info:
        check_key("k" * 251, "param key")
    assert info.value.message == f"param key {'k' * 40!r}... is 251 characters; the limit is 250"


@pytest.mark.parametrize(
    "key", ["a!b", "a\tb", "a\nb", "loss\n", "a,b", "a=b", "a\\b", "tab\t", "a$", "é?", "a+b", "(x)", "a'b", 'a"b']
)
def test_invalid_characters(key: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_key(key, "tag key")
    assert info.value.message == (
        f"tag key {key!r} is invalid: use letters, digits, underscores, dashes, periods, spaces, colons and slashes"
    )


@pytest.mark.parametrize(
    "key", ["..", "../x", "x/..", "a/../b", "./x", "x/.", "a/./b", "/abs", "/", "a//b", "a/", "//x", "./", "../.."]
)
def test_path_like_keys_rejected(key: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_key(key, "metric key")
    assert info.value.message == f"metric key {key!r} is invalid: it must not be a relative path like '..' or './'"


def test_dot_key_rejected() -> None:
    with pytest.raises(InvalidParameter, match="relative path"):
        check_key(".", "metric key")


def test_empty_key() -> None:
    with pytest.raises(InvalidParameter) as info:
        check_key("", "param key")
    assert info.value.message == "param key must not be empty"


@pytest.mark.parametrize(("key", "type_name"), [(None, "NoneType"), (1, "int"), (b"loss", "bytes"), (["a"], "list")])
def test_non_string_key(key: object, type_name: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_key(key, "metric key")
    assert info.value.message == f"metric key must be a string, got {type_name}"


@pytest.mark.parametrize("field", ["metric key", "param key", "tag key", "experiment tag key"])
def test_key_errors_name_the_field(field: str) -> None:
    for bad in ["", "a!b", "../x", 3, "x" * 251]:
        with pytest.raises(InvalidParameter) as info:
            check_key(bad, field)
        assert info.value.message.startswith(field)


# ---------------------------------------------------------------------- strings


@pytest.mark.parametrize(("limit", "field"), [(6000, "param 'lr' value"), (8000, "tag 'note' value")])
def test_check_string_limit_edges(limit: int, field: str) -> None:
    assert check_string("a" * limit, field, limit) == "a" * limit
    with pytest.raises(InvalidParameter) as info:
        check_string("a" * (limit + 1), field, limit)
    assert info.value.message == f"{field} is {limit + 1} characters; the limit is {limit}"


def test_check_string_limit_counts_characters_not_bytes() -> None:
    assert check_string("é" * 6000, "param value", v.MAX_PARAM_VALUE_LENGTH) == "é" * 6000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (0.1, "0.1"),
        (3, "3"),
        (True, "True"),
        (None, "None"),
        ([1, 2], "[1, 2]"),
        ({"a": 1}, "{'a': 1}"),
        (np.float32(0.5), "0.5"),
        (np.int64(7), "7"),
    ],
)
def test_check_string_stores_str_of_any_value(value: object, expected: str) -> None:
    assert check_string(value, "param value", 6000) == expected


def test_check_string_limit_applies_to_str_of_value() -> None:
    with pytest.raises(InvalidParameter, match="param x value is 11 characters; the limit is 10"):
        check_string(10**10, "param x value", 10)


def test_check_string_empty() -> None:
    assert check_string("", "tag value", 8000) == ""
    with pytest.raises(InvalidParameter) as info:
        check_string("", "run name", 250, allow_empty=False)
    assert info.value.message == "run name must not be empty"
    assert check_string(" ", "run name", 250, allow_empty=False) == " "


# ---------------------------------------------------------------------- metric values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0.5),
        (1, 1.0),
        (-3, -3.0),
        (0, 0.0),
        (2**53, float(2**53)),
        (np.float32(1.5), 1.5),
        (np.float16(0.25), 0.25),
        (np.float64(2.25), 2.25),
        (np.int64(7), 7.0),
        (np.int8(-2), -2.0),
        (np.uint32(9), 9.0),
        (fractions.Fraction(1, 4), 0.25),
        (True, 1.0),
        (False, 0.0),
    ],
)
def test_metric_values_become_floats(value: object, expected: float) -> None:
    result = check_metric_value(value, "loss")
    assert result == expected
    assert isinstance(result, float)
    if not isinstance(value, np.float64):
        assert type(result) is float


def test_metric_value_np_float64_becomes_builtin_float() -> None:
    assert type(check_metric_value(np.float64(2.25), "loss")) is float


@pytest.mark.parametrize("value", [math.inf, -math.inf, np.float32("inf")])
def test_metric_infinities_accepted(value: float) -> None:
    assert check_metric_value(value, "loss") == float(value)


@pytest.mark.parametrize("value", [math.nan, np.float64("nan"), np.float32("nan")])
def test_metric_nan_accepted(value: float) -> None:
    assert math.isnan(check_metric_value(value, "loss"))


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ("0.5", "str"),
        ("", "str"),
        (None, "NoneType"),
        (b"1", "bytes"),
        ([1.0], "list"),
        (1 + 2j, "complex"),
        (decimal.Decimal("1.5"), "Decimal"),
        (np.array([1.0]), "ndarray"),
    ],
)
def test_metric_non_numbers_rejected(value: object, type_name: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_metric_value(value, "val/acc")
    assert info.value.message == (f"metric 'val/acc': value must be a number, got {type_name} {str(value)[:40]!r}")


def test_metric_error_truncates_long_value() -> None:
    with pytest.raises(InvalidParameter) as info:
        check_metric_value("z" * 100, "m")
    assert info.value.message == f"metric 'm': value must be a number, got str {'z' * 40!r}"


# ---------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (5, 5),
        (-5, -5),
        (np.int64(42), 42),
        (np.int32(-3), -3),
        (np.uint8(255), 255),
        (np.uint64(2**63 - 1), 2**63 - 1),
        (3.0, 3),
        (-0.0, 0),
        (np.float64(4.0), 4),
        (1e18, 10**18),
        (2**63 - 1, 2**63 - 1),
        (-(2**63), -(2**63)),
    ],
)
def test_check_int_accepts(value: object, expected: int) -> None:
    result = check_int(value, "step")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.5, "float 1.5"),
        (math.nan, "float nan"),
        (math.inf, "float inf"),
        ("3", "str '3'"),
        (None, "NoneType None"),
        (True, "bool True"),
        (False, "bool False"),
        (np.float64(1.5), "float64 np.float64(1.5)"),
        (np.bool_(True), "bool np.True_"),
    ],
)
def test_check_int_rejects_non_integers(value: object, shown: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_int(value, "step")
    assert info.value.message == f"step must be an integer, got {shown}"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30, np.uint64(2**63), 2.0**63])
def test_check_int_rejects_over_64_bits(value: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_int(value, "timestamp")
    assert info.value.message == f"timestamp {int(value)} does not fit in a 64-bit integer"


@pytest.mark.parametrize("value", [np.float32(3.0), np.float16(2.0)])
def test_check_int_accepts_integral_numpy_floats(value: object) -> None:
    assert check_int(value, "step") == int(value)


def test_check_int_minimum() -> None:
    assert check_int(0, "step", minimum=0) == 0
    assert check_int(1, "max_results", minimum=1) == 1
    with pytest.raises(InvalidParameter) as info:
        check_int(-1, "step", minimum=0)
    assert info.value.message == "step must be at least 0, got -1"
    with pytest.raises(InvalidParameter, match=r"^max_results must be at least 1, got 0$"):
        check_int(0.0, "max_results", minimum=1)


# ---------------------------------------------------------------------- run ids


@pytest.mark.parametrize(
    "run_id",
    ["a", "0", "0123456789abcdef0123456789abcdef", "run-1", "run_1", "A" + "b" * 255, "Z_-_-"],
)
def test_valid_run_ids(run_id: str) -> None:
    assert check_run_id(run_id) == run_id


@pytest.mark.parametrize(
    "run_id",
    ["", "-a", "_a", "a b", "a/b", "a.b", "../x", "a\n", "A" + "b" * 256, " a", "a;DROP", None, 5, b"abc"],
)
def test_invalid_run_ids(run_id: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_run_id(run_id)
    assert info.value.message == f"run_id {run_id!r} is not a valid run id"


def test_run_id_error_names_the_field() -> None:
    with pytest.raises(InvalidParameter) as info:
        check_run_id("bad id", "parent_run_id")
    assert info.value.message == "parent_run_id 'bad id' is not a valid run id"


# ---------------------------------------------------------------------- experiment ids


@pytest.mark.parametrize(
    ("value", "expected"), [("0", "0"), ("12", "12"), ("007", "7"), (0, "0"), (42, "42"), ("00", "0")]
)
def test_valid_experiment_ids_are_canonical_strings(value: object, expected: str) -> None:
    assert check_experiment_id(value) == expected


@pytest.mark.parametrize("value", ["", "-1", "1.0", "abc", " 1", "1 ", "0x1", "+1", -1, True, False, None, 1.0, b"1"])
def test_invalid_experiment_ids(value: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_experiment_id(value)
    assert info.value.message == f"experiment_id {value!r} is not a valid experiment id (a string of digits)"


def test_experiment_id_error_names_the_field() -> None:
    with pytest.raises(InvalidParameter, match=r"^experiment_ids\[2\] 'x' is not a valid experiment id"):
        check_experiment_id("x", "experiment_ids[2]")


@pytest.mark.parametrize("value", ["²", "١٢", "1" * 5000], ids=["superscript", "arabic-indic", "huge"])
def test_experiment_id_non_ascii_or_huge_rejected(value: str) -> None:
    with pytest.raises(InvalidParameter, match="experiment_id"):
        check_experiment_id(value)


# ---------------------------------------------------------------------- experiment names


@pytest.mark.parametrize("name", ["churn", "Default", " padded ", "x" * 500, "a/b: c", "日本"])
def test_valid_experiment_names(name: str) -> None:
    assert check_experiment_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "experiment name must not be empty"),
        ("   ", "experiment name must not be empty"),
        ("\n\t", "experiment name must not be empty"),
        ("x" * 501, "experiment name is 501 characters; the limit is 500"),
        (None, "experiment name must be a string, got NoneType"),
        (5, "experiment name must be a string, got int"),
    ],
)
def test_invalid_experiment_names(name: object, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_experiment_name(name)
    assert info.value.message == message


def test_experiment_name_error_names_the_field() -> None:
    with pytest.raises(InvalidParameter, match=r"^experiment new_name must not be empty$"):
        check_experiment_name("", "new_name")


# ---------------------------------------------------------------------- max_results


@pytest.mark.parametrize(
    ("value", "cap"),
    [(1, 1000), (1000, 1000), (v.MAX_SEARCH_RUNS, v.MAX_SEARCH_RUNS), (v.MAX_METRIC_HISTORY_PAGE, 25_000)],
)
def test_max_results_within_cap(value: int, cap: int) -> None:
    assert check_max_results(value, cap) == value


@pytest.mark.parametrize(
    ("value", "cap"),
    [(1001, 1000), (v.MAX_SEARCH_RUNS + 1, v.MAX_SEARCH_RUNS), (v.MAX_SEARCH_EXPERIMENTS + 1, 50_000)],
)
def test_max_results_over_cap(value: int, cap: int) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_max_results(value, cap)
    assert info.value.message == f"Invalid value {value} for parameter 'max_results' supplied. It must be at most {cap}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"),
        (-10, "Invalid value -10 for parameter 'max_results' supplied. It must be a positive integer"),
        ("10", "max_results must be an integer, got str '10'"),
        (2.5, "max_results must be an integer, got float 2.5"),
        (None, "max_results must be an integer, got NoneType None"),
    ],
)
def test_max_results_invalid(value: object, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_max_results(value, 1000)
    assert info.value.message == message


def test_max_results_accepts_numpy_and_integral_float() -> None:
    assert check_max_results(np.int64(10), 100) == 10
    assert check_max_results(10.0, 100) == 10


def test_max_results_custom_field() -> None:
    with pytest.raises(
        InvalidParameter, match=r"^Invalid value 101 for parameter 'page_size' supplied. It must be at most 100$"
    ):
        check_max_results(101, 100, field="page_size")


# ---------------------------------------------------------------------- finite or nan
