"""The vocabulary of the search grammar: which entities, keys and comparators each kind of search takes.

Data only; :mod:`dockyard.core.search` parses with it.
"""

from __future__ import annotations

_KINDS = ("runs", "experiments", "logged_models", "registered_models", "model_versions")

_ATTRIBUTE_AND_TAG = {
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "tag": "tag",
    "tags": "tag",
}

_PREFIXES: dict[str, dict[str, str]] = {
    "runs": {
        "metric": "metric",
        "metrics": "metric",
        "parameter": "param",
        "parameters": "param",
        "param": "param",
        "params": "param",
        "tag": "tag",
        "tags": "tag",
        "attribute": "attribute",
        "attributes": "attribute",
        "attr": "attribute",
        "run": "attribute",
        "dataset": "dataset",
        "datasets": "dataset",
    },
    "experiments": {
        "attribute": "attribute",
        "attributes": "attribute",
        "attr": "attribute",
        "tag": "tag",
        "tags": "tag",
    },
    "logged_models": {
        "metric": "metric",
        "metrics": "metric",
        "parameter": "param",
        "parameters": "param",
        "param": "param",
        "params": "param",
        "tag": "tag",
        "tags": "tag",
        "attribute": "attribute",
        "attributes": "attribute",
        "attr": "attribute",
    },
    "registered_models": _ATTRIBUTE_AND_TAG,
    "model_versions": _ATTRIBUTE_AND_TAG,
}

_NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
_LIST_OPS = ("IN", "NOT IN")
_ALL_OPS = (*_NUMERIC_OPS, "LIKE", "ILIKE", *_LIST_OPS)

# attribute name -> (value type, allowed comparators); value type is "string" or "int".
_FILTER_ATTRIBUTES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "runs": {
        "run_id": ("string", _STRING_OPS + _LIST_OPS),
        "run_name": ("string", _STRING_OPS),
        "user_id": ("string", _STRING_OPS),
        "status": ("string", _STRING_OPS),
        "artifact_uri": ("string", _STRING_OPS),
        "start_time": ("int", _NUMERIC_OPS),
        "end_time": ("int", _NUMERIC_OPS),
    },
    "experiments": {
        "name": ("string", _STRING_OPS),
        "creation_time": ("int", _NUMERIC_OPS),
        "last_update_time": ("int", _NUMERIC_OPS),
    },
    "logged_models": {
        "name": ("string", _STRING_OPS + _LIST_OPS),
        "model_id": ("string", _STRING_OPS + _LIST_OPS),
        "model_type": ("string", _STRING_OPS + _LIST_OPS),
        "status": ("string", _STRING_OPS + _LIST_OPS),
        "source_run_id": ("string", _STRING_OPS + _LIST_OPS),
        "creation_timestamp": ("int", _NUMERIC_OPS),
        "last_updated_timestamp": ("int", _NUMERIC_OPS),
    },
    "registered_models": {
        "name": ("string", _STRING_OPS + _LIST_OPS),
        "creation_timestamp": ("int", _NUMERIC_OPS),
        "last_updated_timestamp": ("int", _NUMERIC_OPS),
    },
    "model_versions": {
        "name": ("string", _STRING_OPS + _LIST_OPS),
        "run_id": ("string", _STRING_OPS + _LIST_OPS),
        "source_path": ("string", _STRING_OPS),
        "version_number": ("int", _NUMERIC_OPS),
        "creation_timestamp": ("int", _NUMERIC_OPS),
        "last_updated_timestamp": ("int", _NUMERIC_OPS),
    },
}

_ORDER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "runs": ("run_id", "run_name", "user_id", "status", "start_time", "end_time", "artifact_uri"),
    "experiments": ("name", "experiment_id", "creation_time", "last_update_time"),
    "logged_models": (
        "name",
        "model_id",
        "model_type",
        "status",
        "source_run_id",
        "creation_timestamp",
        "last_updated_timestamp",
    ),
    "registered_models": ("name", "creation_timestamp", "last_updated_timestamp"),
    "model_versions": ("name", "version_number", "creation_timestamp", "last_updated_timestamp"),
}

_ATTRIBUTE_ALIASES: dict[str, dict[str, str]] = {
    "runs": {"created": "start_time"},
    "experiments": {},
    "logged_models": {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
    # MLflow's older registered-model order_by key "timestamp" means the last update.
    "registered_models": {"timestamp": "last_updated_timestamp"},
    "model_versions": {"version": "version_number", "source": "source_path"},
}

_DATASET_KEYS = ("name", "digest", "context")

_ENTITY_LABEL = {
    "metric": "metric",
    "param": "param",
    "tag": "tag",
    "attribute": "attribute",
    "dataset": "dataset field",
}

# Words that are never read as a bare identifier.
_RESERVED = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE"})

_COMPARATORS_TEXT = "=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN"
_MAX_DEPTH = 64

# Limits that turn what the database would refuse (or choke on) into a 400 naming the limit.
_MAX_FILTER_LENGTH = 250_000  # characters of a filter or an order_by clause, checked before tokenizing
_MAX_COMPARISONS = 500  # per filter: SQLite refuses expression trees deeper than 1000 (3,000 clauses failed)
# AND inside OR inside AND...: each level nests the SQL once more, and SQLite's parser overflowed at 30 levels
# (dataset comparisons) and 40 (the others). Parentheses around a single comparison nest nothing.
_MAX_NESTING = 16
_MAX_LIST_VALUES = 10_000  # values of a filter's IN lists together: PostgreSQL takes 65535 bind parameters
_MAX_ORDER_KEYS = 100  # order_by clauses per search
_MAX_ORDER_JOINS = 32  # order_by clauses on metrics, params or tags: one join each; SQLite joins 64 tables at most
