"""Tests for dockyard.core.search: filter parsing, order_by parsing and LIKE matching."""

from __future__ import annotations

import dataclasses
import re

import pytest

from dockyard.core.errors import InvalidFilter, InvalidParameter
from dockyard.core.search import (
    And,
    Comparison,
    Expr,
    Or,
    OrderKey,
    like_to_regex,
    parse_filter,
    parse_order_by,
)

C = Comparison


def m(key: str, op: str, value: float) -> Comparison:
    return C("metric", key, op, value)


def p(key: str, op: str, value: str) -> Comparison:
    return C("param", key, op, value)


def t(key: str, op: str, value: str) -> Comparison:
    return C("tag", key, op, value)


def a(key: str, op: str, value: float | str | tuple[str, ...]) -> Comparison:
    return C("attribute", key, op, value)


def parse_error(text: str, kind: str = "runs") -> InvalidFilter:
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text, kind=kind)
    return info.value


# ------------------------------------------------------------------------------------------ empty input


@pytest.mark.parametrize("text", [None, "", " ", "\t\n  "])
@pytest.mark.parametrize("kind", ["runs", "experiments"])
def test_empty_filter_is_none(text: str | None, kind: str) -> None:
    assert parse_filter(text, kind=kind) is None


def test_unknown_kind_is_value_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        parse_filter("metrics.a > 1", kind="models")
    with pytest.raises(ValueError, match="kind"):
        parse_order_by(["metrics.a"], kind="models")


# ---------------------------------------------------------------------------------- entities and ops


@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
@pytest.mark.parametrize("prefix", ["metric", "metrics", "Metrics"])
def test_metric_comparators(prefix: str, op: str) -> None:
    assert parse_filter(f"{prefix}.acc {op} 0.5") == m("acc", op, 0.5)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1.0),
        ("-1", -1.0),
        ("+2", 2.0),
        ("0.25", 0.25),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("-2.5e-3", -0.0025),
        ("4e+2", 400.0),
    ],
)
def test_metric_numbers(literal: str, value: float) -> None:
    got = parse_filter(f"metrics.loss < {literal}")
    assert got == m("loss", "<", value)
    assert isinstance(got, Comparison) and type(got.value) is float


@pytest.mark.parametrize("text", ["metrics.loss<-1", "metrics.loss <-1", "metrics.loss< -1"])
def test_no_spaces_needed_around_operators(text: str) -> None:
    assert parse_filter(text) == m("loss", "<", -1.0)


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("prefix", ["param", "params", "parameter", "parameters"])
def test_param_comparators(prefix: str, op: str) -> None:
    assert parse_filter(f"{prefix}.model {op} 'cnn%'") == p("model", op, "cnn%")


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("prefix", ["tag", "tags"])
def test_tag_comparators(prefix: str, op: str) -> None:
    assert parse_filter(f'{prefix}.team {op} "ml"') == t("team", op, "ml")


@pytest.mark.parametrize("attr", ["run_id", "run_name", "user_id", "status", "artifact_uri"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_string_attributes(attr: str, op: str) -> None:
    assert parse_filter(f"{attr} {op} 'x'") == a(attr, op, "x")


@pytest.mark.parametrize("attr", ["start_time", "end_time"])
@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_numeric_attributes(attr: str, op: str) -> None:
    got = parse_filter(f"attributes.{attr} {op} 1700000000000")
    assert got == a(attr, op, 1700000000000)
    assert isinstance(got, Comparison) and type(got.value) is int


@pytest.mark.parametrize(("literal", "value"), [("1e3", 1000), ("-5", -5), ("+7", 7), ("2.0", 2)])
def test_numeric_attribute_integral_numbers(literal: str, value: int) -> None:
    got = parse_filter(f"end_time > {literal}")
    assert got == a("end_time", ">", value)
    assert isinstance(got, Comparison) and type(got.value) is int


@pytest.mark.parametrize("prefix", ["", "attribute.", "attributes.", "attr.", "run.", "Attributes."])
def test_attribute_prefixes(prefix: str) -> None:
    assert parse_filter(f"{prefix}status = 'FINISHED'") == a("status", "=", "FINISHED")


@pytest.mark.parametrize(
    "ident",
    [
        "run_name",
        "attributes.run_name",
        '"run name"',
        "`run name`",
        '"Run name"',
        "`Run Name`",
        'attributes."run name"',
        "attributes.`Run name`",
        "RUN_NAME",
    ],
)
def test_run_name_aliases(ident: str) -> None:
    assert parse_filter(f"{ident} = 'best'") == a("run_name", "=", "best")


@pytest.mark.parametrize("ident", ["created", "attributes.created", "start_time", "`created`"])
def test_created_alias(ident: str) -> None:
    assert parse_filter(f"{ident} >= 10") == a("start_time", ">=", 10)


@pytest.mark.parametrize("op", ["IN", "in", "In", "NOT IN", "not in", "Not  In"])
def test_run_id_in(op: str) -> None:
    canonical = " ".join(op.upper().split())
    got = parse_filter(f"attributes.run_id {op} ('a1', \"b2\" ,'c3')")
    assert got == a("run_id", canonical, ("a1", "b2", "c3"))


@pytest.mark.parametrize("text", ["run_id IN ('only')", "run_id IN('only')", "run_id in (  'only'  )"])
def test_in_single_item_and_spacing(text: str) -> None:
    assert parse_filter(text) == a("run_id", "IN", ("only",))


@pytest.mark.parametrize("prefix", ["dataset", "datasets"])
@pytest.mark.parametrize("key", ["name", "digest", "context"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_dataset_string_comparators(prefix: str, key: str, op: str) -> None:
    assert parse_filter(f"{prefix}.{key} {op} 'v'") == C("dataset", key, op, "v")


@pytest.mark.parametrize("op", ["IN", "NOT IN"])
def test_dataset_in(op: str) -> None:
    assert parse_filter(f"datasets.context {op} ('train', 'eval')") == C("dataset", "context", op, ("train", "eval"))


# ------------------------------------------------------------------------------------------- experiments


@pytest.mark.parametrize("prefix", ["", "attribute.", "attributes.", "attr."])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_experiment_name(prefix: str, op: str) -> None:
    assert parse_filter(f"{prefix}name {op} 'exp%'", kind="experiments") == a("name", op, "exp%")


@pytest.mark.parametrize("attr", ["creation_time", "last_update_time"])
@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_experiment_numeric_attributes(attr: str, op: str) -> None:
    assert parse_filter(f"{attr} {op} 42", kind="experiments") == a(attr, op, 42)


@pytest.mark.parametrize("prefix", ["tag", "tags"])
def test_experiment_tags(prefix: str) -> None:
    got = parse_filter(f"{prefix}.`owner.team` ILIKE 'ML%'", kind="experiments")
    assert got == t("owner.team", "ILIKE", "ML%")


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("metrics.acc > 1", 0, "unknown prefix 'metrics'"),
        ("params.a = 'x'", 0, "unknown prefix 'params'"),
        ("datasets.name = 'x'", 0, "unknown prefix 'datasets'"),
        ("run.name = 'x'", 0, "unknown prefix 'run'"),
        (
            "status = 'x'",
            0,
            "expected an attribute (creation_time, last_update_time, name) but found 'status'",
        ),
        ("name IN ('a')", 5, "comparator 'IN' is not allowed for attribute 'name'"),
        ("name > 'a'", 5, "comparator '>' is not allowed"),
        ("creation_time > 'yesterday'", 16, "expected an integer timestamp"),
    ],
)
def test_experiment_errors(text: str, position: int, needle: str) -> None:
    err = parse_error(text, kind="experiments")
    assert err.position == position
    assert needle in err.message


def test_experiment_in_error_has_no_run_id_hint() -> None:
    assert "run_id" not in parse_error("name IN ('a')", kind="experiments").message


# ---------------------------------------------------------------------------------------------- quoting


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.a = 'single'", p("a", "=", "single")),
        ('params.a = "double"', p("a", "=", "double")),
        ("params.a = ''", p("a", "=", "")),
        ("params.a = 'it''s'", p("a", "=", "it's")),
        ("params.a = 'it\\'s'", p("a", "=", "it's")),
        ('params.a = "say ""hi"""', p("a", "=", 'say "hi"')),
        ('params.a = "say \\"hi\\""', p("a", "=", 'say "hi"')),
        ("params.a = 'mixed \"quotes\"'", p("a", "=", 'mixed "quotes"')),
        ("params.a = 'C:\\dir'", p("a", "=", "C:\\dir")),
        ("params.a = 'back\\\\'", p("a", "=", "back\\")),
        ("params.a = 'with AND or OR inside'", p("a", "=", "with AND or OR inside")),
        ("params.a = '(paren)'", p("a", "=", "(paren)")),
        ("params.a = 'ünïcødé'", p("a", "=", "ünïcødé")),
        ("params.a = '  spaced  '", p("a", "=", "  spaced  ")),
    ],
)
def test_string_values(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.val.loss < 1", m("val.loss", "<", 1.0)),
        ("metrics.`val.loss` < 1", m("val.loss", "<", 1.0)),
        ('metrics."val.loss" < 1', m("val.loss", "<", 1.0)),
        ("metrics.`val loss` < 1", m("val loss", "<", 1.0)),
        ("metrics.`a``b` < 1", m("a`b", "<", 1.0)),
        ("metrics.train/loss-v2:x < 1", m("train/loss-v2:x", "<", 1.0)),
        ("metrics.1st < 1", m("1st", "<", 1.0)),
        ("tags.mlflow.runName = 'r'", t("mlflow.runName", "=", "r")),
        ("tags.`mlflow.runName` = 'r'", t("mlflow.runName", "=", "r")),
        ('params."model class" = "cnn"', p("model class", "=", "cnn")),
        ("params.`a.b.c` = 'x'", p("a.b.c", "=", "x")),
        ("params.metrics.a = 'x'", p("metrics.a", "=", "x")),
        ("tags.`it's` = 'x'", t("it's", "=", "x")),
    ],
)
def test_keys(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


# -------------------------------------------------------------------------------------- boolean logic


def test_and_flat() -> None:
    got = parse_filter("metrics.a > 1 AND params.b = 'x' AND tags.c != 'y'")
    assert got == And((m("a", ">", 1.0), p("b", "=", "x"), t("c", "!=", "y")))


def test_or_flat() -> None:
    got = parse_filter("metrics.a > 1 OR metrics.b > 2 OR metrics.c > 3")
    assert got == Or((m("a", ">", 1.0), m("b", ">", 2.0), m("c", ">", 3.0)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "metrics.a > 1 OR metrics.b > 2 AND metrics.c > 3",
            Or((m("a", ">", 1.0), And((m("b", ">", 2.0), m("c", ">", 3.0))))),
        ),
        (
            "metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3",
            Or((And((m("a", ">", 1.0), m("b", ">", 2.0))), m("c", ">", 3.0))),
        ),
        (
            "metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3 AND metrics.d > 4",
            Or((And((m("a", ">", 1.0), m("b", ">", 2.0))), And((m("c", ">", 3.0), m("d", ">", 4.0))))),
        ),
    ],
)
def test_and_binds_tighter_than_or(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(metrics.a > 1)", m("a", ">", 1.0)),
        ("((((metrics.a > 1))))", m("a", ">", 1.0)),
        (
            "(metrics.a > 1 OR metrics.b > 2) AND metrics.c > 3",
            And((Or((m("a", ">", 1.0), m("b", ">", 2.0))), m("c", ">", 3.0))),
        ),
        (
            "metrics.a > 1 AND (metrics.b > 2 OR (metrics.c > 3 AND metrics.d > 4))",
            And((m("a", ">", 1.0), Or((m("b", ">", 2.0), And((m("c", ">", 3.0), m("d", ">", 4.0))))))),
        ),
        # Same-type nesting is flattened.
        (
            "(metrics.a > 1 AND metrics.b > 2) AND (metrics.c > 3 AND (metrics.d > 4))",
            And((m("a", ">", 1.0), m("b", ">", 2.0), m("c", ">", 3.0), m("d", ">", 4.0))),
        ),
        (
            "metrics.a > 1 OR (metrics.b > 2 OR (metrics.c > 3)) OR metrics.d > 4",
            Or((m("a", ">", 1.0), m("b", ">", 2.0), m("c", ">", 3.0), m("d", ">", 4.0))),
        ),
        (
            "((metrics.a > 1 OR metrics.b > 2)) AND ((metrics.c > 3))",
            And((Or((m("a", ">", 1.0), m("b", ">", 2.0))), m("c", ">", 3.0))),
        ),
        (
            "(metrics.a>1)OR(metrics.b>2)",
            Or((m("a", ">", 1.0), m("b", ">", 2.0))),
        ),
    ],
)
def test_parentheses(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


def _assert_flat(expr: Expr) -> None:
    if isinstance(expr, (And, Or)):
        assert len(expr.items) >= 2
        for item in expr.items:
            assert not isinstance(item, type(expr))
            _assert_flat(item)


@pytest.mark.parametrize(
    "text",
    [
        "(a1) AND ((a2 AND a3) AND (a4 OR a5 OR (a6 OR a7)))",
        "((a1 OR a2) OR (a3 OR (a4 AND (a5 AND a6))))",
        "(((a1)))",
    ],
)
def test_no_same_type_nesting_survives(text: str) -> None:
    for n in range(7, 0, -1):
        text = text.replace(f"a{n}", f"metrics.m{n} > {n}")
    _assert_flat(parse_filter(text))  # type: ignore[arg-type]


@pytest.mark.parametrize("and_kw", ["AND", "and", "And", "aNd"])
@pytest.mark.parametrize("or_kw", ["OR", "or", "Or"])
def test_keywords_case_insensitive(and_kw: str, or_kw: str) -> None:
    got = parse_filter(f"params.a like 'x%' {and_kw} tags.b iLike 'y' {or_kw} run_id not IN ('z')")
    assert got == Or((And((p("a", "LIKE", "x%"), t("b", "ILIKE", "y"))), a("run_id", "NOT IN", ("z",))))


def test_whitespace_variants() -> None:
    got = parse_filter("\n\tmetrics.a\t>=\n1   AND\tparams.b='x'  ")
    assert got == And((m("a", ">=", 1.0), p("b", "=", "x")))


def test_ast_is_frozen_and_hashable() -> None:
    got = parse_filter("metrics.a > 1 AND run_id IN ('x', 'y')")
    assert isinstance(got, And)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.items = ()  # type: ignore[misc]
    assert hash(got) == hash(parse_filter("metrics.a > 1 AND run_id IN ('x', 'y')"))
    assert not hasattr(got, "__dict__")


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "position", "needles"),
    [
        # unterminated strings: position of the opening quote
        ("params.a = 'abc", 11, ["unterminated string", "expected a closing '", "end of input"]),
        ('params.a = "abc', 11, ["unterminated double-quoted string"]),
        ("params.`abc = 'x'", 7, ["unterminated backticked name"]),
        ("params.a = 'it''s", 11, ["unterminated string"]),
        ("params.a = 'ends with backslash\\'", 11, ["unterminated string"]),
        # missing value
        ("metrics.a >", 11, ["expected a number for metric 'a'", "end of input"]),
        ("metrics.a >   ", 14, ["expected a number", "end of input"]),
        ("params.a =", 10, ["expected a quoted string", "end of input"]),
        ("params.a = AND tags.b = 'x'", 11, ["expected a quoted string", "found 'AND'"]),
        ("start_time >", 12, ["expected an integer timestamp", "end of input"]),
        # missing or bad comparator
        (
            "metrics.a",
            9,
            ["expected a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN)", "end of input"],
        ),
        (
            "metrics.a foo 1",
            10,
            ["expected a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN)", "'foo'"],
        ),
        ("metrics.a ! 1", 10, ["expected a comparator", "'!'"]),
        ("metrics.a == 1", 11, ["expected a number", "'='"]),
        ("metrics.a <> 1", 11, ["expected a number", "'>'"]),
        ("run_id NOT LIKE 'x'", 11, ["expected IN after NOT", "'LIKE'"]),
        ("run_id NOT", 10, ["expected IN after NOT", "end of input"]),
        # comparator not allowed for the entity
        ("metrics.a LIKE 1", 10, ["comparator 'LIKE' is not allowed for metric 'a'", "=, !=, >, >=, <, <="]),
        ("metrics.a IN ('1')", 10, ["comparator 'IN' is not allowed for metric 'a'"]),
        ("params.a > 'x'", 9, ["comparator '>' is not allowed for param 'a'", "=, !=, LIKE, ILIKE"]),
        ("tags.a <= 'x'", 7, ["comparator '<=' is not allowed for tag 'a'"]),
        ("params.a IN ('x')", 9, ["comparator 'IN' is not allowed for param 'a'"]),
        ("status > 'x'", 7, ["comparator '>' is not allowed for attribute 'status'"]),
        ("start_time LIKE 'x'", 11, ["comparator 'LIKE' is not allowed for attribute 'start_time'"]),
        ("datasets.name > 'x'", 14, ["comparator '>' is not allowed for dataset field 'name'"]),
        # IN on attributes other than run_id
        (
            "status IN ('a')",
            7,
            ["comparator 'IN' is not allowed for attribute 'status'", "only apply to run_id"],
        ),
        ("run_name NOT IN ('a')", 9, ["comparator 'NOT IN' is not allowed for attribute 'run_name'"]),
        ("attributes.user_id in ('a')", 19, ["comparator 'IN' is not allowed for attribute 'user_id'"]),
        # wrong value type
        ("metrics.a > 'x'", 12, ["expected a number for metric 'a'", "found \"'x'\""]),
        ('metrics.a > "1"', 12, ["expected a number"]),
        ("metrics.a > abc", 12, ["expected a number", "found 'abc'"]),
        ("metrics.a > 1.2.3", 12, ["expected a number", "found '1.2.3'"]),
        ("metrics.a > 1e", 12, ["expected a number", "found '1e'"]),
        ("params.a = 1", 11, ["expected a quoted string ('...' or \"...\") for param 'a'", "found '1'"]),
        ("params.a = bare", 11, ["expected a quoted string", "found 'bare'"]),
        ("params.a = `tick`", 11, ["expected a quoted string", "found '`tick`'"]),
        ("start_time > 1.5", 13, ["expected an integer timestamp (milliseconds) for attribute 'start_time'"]),
        ("end_time < 'now'", 11, ["expected an integer timestamp"]),
        ("status = FINISHED", 9, ["expected a quoted string", "for attribute 'status'", "found 'FINISHED'"]),
        # IN lists
        ("run_id IN ()", 11, ["expected a quoted string", "found ')'"]),
        ("run_id IN 'a'", 10, ["expected '(' to start the list", "found \"'a'\""]),
        ("run_id IN ('a',)", 15, ["expected a quoted string", "found ')'"]),
        ("run_id IN ('a' 'b')", 15, ["expected ',' or ')' in the list", "found \"'b'\""]),
        ("run_id IN ('a', 1)", 16, ["expected a quoted string", "found '1'"]),
        ("run_id IN ('a'", 14, ["expected ',' or ')' in the list", "end of input"]),
        ("run_id IN (", 11, ["expected a quoted string", "end of input"]),
        # unknown prefixes, attributes and keys
        ("foo.bar = 'x'", 0, ["unknown prefix 'foo'", "metrics", "params", "tags", "attributes", "datasets"]),
        ("metrics.a > 1 AND mertics.b > 2", 18, ["unknown prefix 'mertics'"]),
        (
            "nope = 'x'",
            0,
            [
                "expected an attribute (artifact_uri, end_time, run_id, run_name, start_time, status, user_id)",
                "'nope'",
            ],
        ),
        ("attributes.experiment_id = '1'", 0, ["expected an attribute", "'experiment_id'"]),
        ("`run_uuid` = 'x'", 0, ["expected an attribute", "'run_uuid'"]),
        ("datasets.size = 'x'", 0, ["expected a dataset field (name, digest, context)", "'size'"]),
        ("metrics. > 1", 9, ["expected a key after 'metrics.'", "'>'"]),
        ("metrics. `a` > 1", 9, ["expected a key after 'metrics.'"]),
        ("metrics.'a' > 1", 8, ["expected a key after 'metrics.'"]),
        ("metrics.`` > 1", 0, ["expected a non-empty metric name"]),
        # missing identifier
        ("= 'x'", 0, ["expected an identifier", "found '='"]),
        ("'status' = 'x'", 0, ["expected an identifier", "found \"'status'\""]),
        ("metrics.a > 1 AND", 17, ["expected an identifier", "end of input"]),
        ("metrics.a > 1 OR OR metrics.b > 2", 17, ["expected an identifier", "found 'OR'"]),
        ("AND metrics.a > 1", 0, ["expected an identifier", "found 'AND'"]),
        ("metrics.a > 1 AND @", 18, ["expected an identifier", "found '@'"]),
        # trailing garbage
        ("metrics.a > 1 metrics.b > 2", 14, ["expected AND, OR or end of input", "found 'metrics.b'"]),
        ("metrics.a > 1 2", 14, ["expected AND, OR or end of input", "found '2'"]),
        ("params.a = 'x' 'y'", 15, ["expected AND, OR or end of input", "found \"'y'\""]),
        ("metrics.a > 1;", 13, ["expected AND, OR or end of input", "found ';'"]),
        ("metrics.a > 1 NOT", 14, ["expected AND, OR or end of input", "found 'NOT'"]),
        # unbalanced parentheses
        ("(metrics.a > 1", 14, ["expected AND, OR or ')' to close the '(' at position 0", "end of input"]),
        ("((metrics.a > 1)", 16, ["to close the '(' at position 0", "end of input"]),
        ("(metrics.a > 1 OR (metrics.b > 2)", 33, ["to close the '(' at position 0"]),
        ("metrics.a > 1)", 13, ["unbalanced ')'", "found ')'"]),
        ("(metrics.a > 1))", 15, ["unbalanced ')'"]),
        ("(metrics.a > 1 metrics.b > 2)", 15, ["expected AND, OR or ')'", "found 'metrics.b'"]),
        ("()", 1, ["expected an identifier", "found ')'"]),
        (")", 0, ["expected an identifier", "found ')'"]),
        ("(", 1, ["expected an identifier", "end of input"]),
    ],
)
def test_errors(text: str, position: int, needles: list[str]) -> None:
    err = parse_error(text)
    assert err.position == position, err.message
    assert err.text == text
    for needle in needles:
        assert needle in err.message
    assert f"(at position {position} of {text!r})" in err.message


def test_error_is_invalid_parameter_with_400() -> None:
    err = parse_error("metrics.a LIKE 'x'")
    assert isinstance(err, InvalidParameter)
    assert err.http_status == 400
    assert err.error_code == "INVALID_PARAMETER_VALUE"


def test_error_position_counts_leading_whitespace() -> None:
    assert parse_error("   metrics.a ~ 1").position == 13


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    text = "(" * 500 + "metrics.a > 1" + ")" * 500
    err = parse_error(text)
    assert "nested deeper" in err.message
    assert err.position is not None and err.position < 500


def test_moderate_nesting_is_fine() -> None:
    text = "(" * 40 + "metrics.a > 1" + ")" * 40
    assert parse_filter(text) == m("a", ">", 1.0)


# -------------------------------------------------------------------------------------------- order_by


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.loss", OrderKey("metric", "loss", True)),
        ("metrics.loss ASC", OrderKey("metric", "loss", True)),
        ("metrics.loss desc", OrderKey("metric", "loss", False)),
        ("metrics.val.loss DESC", OrderKey("metric", "val.loss", False)),
        ("metrics.`val loss` Desc", OrderKey("metric", "val loss", False)),
        ('params."lr" asc', OrderKey("param", "lr", True)),
        ("tags.mlflow.runName", OrderKey("tag", "mlflow.runName", True)),
        ("  start_time   DESC  ", OrderKey("attribute", "start_time", False)),
        ("created", OrderKey("attribute", "start_time", True)),
        ("attributes.created DESC", OrderKey("attribute", "start_time", False)),
        ("`Run Name` ASC", OrderKey("attribute", "run_name", True)),
        ('attributes."run name"', OrderKey("attribute", "run_name", True)),
        ("run_id", OrderKey("attribute", "run_id", True)),
        ("user_id", OrderKey("attribute", "user_id", True)),
        ("status desc", OrderKey("attribute", "status", False)),
        ("attr.end_time", OrderKey("attribute", "end_time", True)),
        ("artifact_uri", OrderKey("attribute", "artifact_uri", True)),
    ],
)
def test_order_by_runs(clause: str, expected: OrderKey) -> None:
    assert parse_order_by([clause]) == [expected]


@pytest.mark.parametrize("clauses", [None, []])
def test_order_by_empty(clauses: list[str] | None) -> None:
    assert parse_order_by(clauses) == []
    assert parse_order_by(clauses, kind="experiments") == []


def test_order_by_keeps_order() -> None:
    got = parse_order_by(["metrics.a DESC", "params.b", "start_time ASC"])
    assert got == [
        OrderKey("metric", "a", False),
        OrderKey("param", "b", True),
        OrderKey("attribute", "start_time", True),
    ]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("name", OrderKey("attribute", "name", True)),
        ("attributes.name DESC", OrderKey("attribute", "name", False)),
        ("experiment_id", OrderKey("attribute", "experiment_id", True)),
        ("creation_time desc", OrderKey("attribute", "creation_time", False)),
        ("last_update_time", OrderKey("attribute", "last_update_time", True)),
        ("tags.owner DESC", OrderKey("tag", "owner", False)),
    ],
)
def test_order_by_experiments(clause: str, expected: OrderKey) -> None:
    assert parse_order_by([clause], kind="experiments") == [expected]


@pytest.mark.parametrize(
    ("clauses", "kind", "position", "needles"),
    [
        (["metrics.a up"], "runs", 10, ["order_by clause 1", "expected ASC, DESC or end of clause", "'up'"]),
        (["metrics.a ASC DESC"], "runs", 14, ["expected ASC, DESC or end of clause", "'DESC'"]),
        (
            ["metrics.a", "bogus DESC"],
            "runs",
            0,
            ["order_by clause 2", "expected an orderable attribute", "'bogus'"],
        ),
        ([""], "runs", 0, ["expected an identifier", "end of input"]),
        (["   "], "runs", 3, ["expected an identifier", "end of input"]),
        (["DESC"], "runs", 0, ["expected an orderable attribute", "'DESC'"]),
        (["foo.bar"], "runs", 0, ["unknown prefix 'foo'"]),
        (["datasets.name"], "runs", 0, ["cannot order by a dataset field"]),
        (["metrics.a, metrics.b"], "runs", 9, ["expected ASC, DESC or end of clause", "','"]),
        (["params.`a"], "runs", 7, ["unterminated backticked name"]),
        (["metrics."], "runs", 8, ["expected a key after 'metrics.'"]),
        (["experiment_id"], "runs", 0, ["expected an orderable attribute"]),
        (
            ["status"],
            "experiments",
            0,
            ["expected an orderable attribute (creation_time, experiment_id, last_update_time, name)"],
        ),
        (["metrics.a"], "experiments", 0, ["unknown prefix 'metrics'"]),
        (["created"], "experiments", 0, ["expected an orderable attribute", "'created'"]),
    ],
)
def test_order_by_errors(clauses: list[str], kind: str, position: int, needles: list[str]) -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_order_by(clauses, kind=kind)
    err = info.value
    assert err.position == position, err.message
    assert err.text == clauses[-1]
    for needle in needles:
        assert needle in err.message


# ------------------------------------------------------------------------------------------ like_to_regex


@pytest.mark.parametrize(
    ("pattern", "value", "case_sensitive", "matches"),
    [
        ("abc", "abc", True, True),
        ("abc", "abcd", True, False),
        ("abc", "xabc", True, False),
        ("abc", "ABC", True, False),
        ("abc", "ABC", False, True),
        ("a%", "a", True, True),
        ("a%", "abc", True, True),
        ("a%", "ba", True, False),
        ("%a", "cba", True, True),
        ("%b%", "abc", True, True),
        ("%b%", "ac", True, False),
        ("a_c", "abc", True, True),
        ("a_c", "ac", True, False),
        ("a_c", "abbc", True, False),
        ("___", "abc", True, True),
        ("___", "ab", True, False),
        ("%", "", True, True),
        ("", "", True, True),
        ("", "a", True, False),
        ("a%", "a\nb", True, True),
        ("a_b", "a\nb", True, True),
        ("a.c", "abc", True, False),
        ("a.c", "a.c", True, True),
        ("(x)+[y]*", "(x)+[y]*", True, True),
        ("^$\\", "^$\\", True, True),
        ("50%%", "50% off", True, True),
        ("Run-%", "run-42", False, True),
        ("Run-%", "run-42", True, False),
        ("ÉTÉ%", "été 2024", False, True),
        ("abc", "abc\n", True, False),
    ],
)
def test_like_to_regex(pattern: str, value: str, case_sensitive: bool, matches: bool) -> None:
    regex = like_to_regex(pattern, case_sensitive)
    assert isinstance(regex, re.Pattern)
    assert bool(regex.match(value)) is matches
    assert bool(regex.search(value)) is matches


def test_like_to_regex_flags() -> None:
    assert like_to_regex("x", case_sensitive=False).flags & re.IGNORECASE
    assert not like_to_regex("x", case_sensitive=True).flags & re.IGNORECASE


# -------------------------------------------------------------------------------------------- limits


def _alternating(levels: int) -> str:
    """A filter whose AND and OR alternate ``levels`` deep: ``a AND (b OR (c AND ...))``."""
    text = "metrics.m0 > 1"
    for level in range(1, levels + 1):
        text = f"metrics.m{level} > 1 {'AND' if level % 2 else 'OR'} ({text})"
    return text


def test_500_comparisons_parse_and_501_name_the_limit() -> None:
    parsed = parse_filter(" AND ".join(f"params.p{i} = 'x'" for i in range(500)))
    assert isinstance(parsed, And) and len(parsed.items) == 500
    err = parse_error(" OR ".join(f"params.p{i} = 'x'" for i in range(3000)))
    assert "more than 500 comparisons" in err.message
    assert len(err.message) < 200  # the 3,000 clauses are not repeated in the message


def test_in_lists_are_limited_in_values() -> None:
    values = ", ".join(f"'r{i}'" for i in range(10_000))
    assert len(parse_filter(f"attributes.run_id IN ({values})").value) == 10_000  # type: ignore[union-attr]
    err = parse_error(f"attributes.run_id IN ({values}, 'one more')")
    assert "more than 10000 values in IN lists" in err.message


def test_a_huge_filter_is_refused_before_tokenizing() -> None:
    err = parse_error("metrics.a > 1 AND " * 20_000 + "metrics.a > 1")
    assert "over the limit of 250000" in err.message and err.position is None


def test_and_or_nesting_is_limited_but_redundant_parentheses_are_not() -> None:
    assert isinstance(parse_filter(_alternating(16)), Or)
    err = parse_error(_alternating(17))
    assert "more than 16 levels deep" in err.message
    assert parse_filter("(" * 60 + "metrics.a > 1" + ")" * 60) == m("a", ">", 1.0)


def test_order_by_is_limited_in_clauses_and_joins() -> None:
    assert len(parse_order_by(["start_time"] * 100)) == 100
    with pytest.raises(InvalidFilter, match="order_by has 2000 clauses, over the limit of 100"):
        parse_order_by(["start_time"] * 2000)
    mixed = [f"metrics.m{i}" for i in range(16)] + [f"params.p{i}" for i in range(8)] + [f"tags.t{i}" for i in range(8)]
    assert len(parse_order_by(mixed)) == 32
    with pytest.raises(InvalidFilter, match="33 clauses on metrics, params or tags, over the limit of 32"):
        parse_order_by([*mixed, "metrics.one_more"])
    with pytest.raises(InvalidFilter, match="order_by clause 1 is 250001 characters long"):
        parse_order_by(["x" * 250_001])
