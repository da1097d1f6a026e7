"""The scripted sequence of raw REST calls that the differential suite sends to ``mlflow server`` and to
``dockyard server`` alike, and the normalisation that makes two answers comparable.

Each call is an :class:`Exchange`: the status, the ``error_code``, the message, the selected headers,
and the body's *shape* (ids, timestamps and generated names replaced by placeholders, numbers by their
JSON type). :func:`compare` says what differs between the two servers' exchanges of one step.

Run it by hand against two live servers (prints every difference)::

    python tests/compat/scenario.py http://127.0.0.1:5000 http://127.0.0.1:5001
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Fields whose values differ by construction (clock, random names): compared by presence and type.
VOLATILE_KEYS = frozenset(
    {
        "creation_time",
        "last_update_time",
        "start_time",
        "end_time",
        "timestamp",
        "creation_timestamp",
        "last_updated_timestamp",
        "creation_timestamp_ms",
        "last_updated_timestamp_ms",
        "run_name",
        "user_id",
        "creator_id",
        "file_size",
    }
)
# Dockyard adds the exception's class to every error envelope (its own client rebuilds the class from
# it); MLflow's client reads error_code and message only.
DOCKYARD_ONLY_KEYS = frozenset({"error_class"})
# MLflow 3.17 adds a SQLSTATE-like class to its error envelopes; no client reads it.
MLFLOW_ONLY_KEYS = frozenset({"sqlstate"})
VOLATILE_TAGS = frozenset({"mlflow.runName"})  # a generated name
DOCKYARD_TAG_PREFIX = "dockyard."  # the digests Dockyard records on model versions
HEADERS = ("content-type", "content-disposition")
_HEX_ID = re.compile(r"\b(m-)?[0-9a-f]{32}\b")


@dataclass
class Exchange:
    """One call's answer, normalised."""

    label: str
    status: int
    error_code: str | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    shape: Any = None
    # What of this exchange must match: "status" and "code" always; "message" and "shape" when asked.
    checks: tuple[str, ...] = ("status", "code")


@dataclass
class Ids:
    """What the scenario created on one server, to put into later calls and take out of answers."""

    values: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def __setitem__(self, name: str, value: str) -> None:
        self.values[name] = value

    def normalise(self, text: str) -> str:
        for name, value in sorted(self.values.items(), key=lambda item: -len(item[1])):
            if len(value) >= 16:  # run and model ids: wherever they appear
                text = text.replace(value, f"<{name}>")
            elif value:  # experiment ids and versions: a whole value or a whole path segment only
                text = re.sub(rf"(?:(?<=^)|(?<=[/:])){re.escape(value)}(?=$|/)", f"<{name}>", text)
        return _HEX_ID.sub(lambda m: "<m-id>" if m.group(1) else "<id>", text)


def shape_of(value: Any, ids: Ids, key: str = "") -> Any:
    """``value`` with ids named, volatile fields and numbers reduced to their type. An empty string is
    an unset field (protobuf's JSON reads both alike), and Dockyard's own reserved tags are left out."""
    if key in VOLATILE_KEYS:
        return f"<{type(value).__name__}>"
    if isinstance(value, dict):
        if value.get("key") in VOLATILE_TAGS:
            return {"key": value["key"], "value": "<str>"}
        return {
            k: shape_of(v, ids, k)
            for k, v in sorted(value.items())
            if k not in DOCKYARD_ONLY_KEYS | MLFLOW_ONLY_KEYS and v != ""
        }
    if isinstance(value, list):
        return [
            shape_of(v, ids, key)
            for v in value
            if not (isinstance(v, dict) and str(v.get("key", "")).startswith(DOCKYARD_TAG_PREFIX))
        ]
    if isinstance(value, str):
        return ids.normalise(value)
    if isinstance(value, bool) or value is None:
        return value
    return f"<{type(value).__name__}>"


def exchange(
    label: str, response: Any, ids: Ids, checks: tuple[str, ...], *, headers: tuple[str, ...] = ()
) -> Exchange:
    out = Exchange(label, response.status_code, checks=("status", "code", *checks))
    for name in headers:
        out.headers[name] = ids.normalise(response.headers.get(name, "<absent>"))
    body: Any = None
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
    if isinstance(body, dict) and "error_code" in body:
        out.error_code = body["error_code"]
        out.message = ids.normalise(str(body.get("message", "")))
    out.shape = shape_of(body, ids) if body is not None else ids.normalise(response.text[:200])
    return out


def covers(ours: Any, theirs: Any) -> bool:
    """Whether Dockyard's body has everything MLflow's has, alike: the same list lengths and items, every
    field MLflow sends. Dockyard may send more fields (the recorded user, a version's logged model, an
    empty list MLflow leaves out): MLflow's client parses with unknown fields ignored."""
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and all(k in ours and covers(ours[k], v) for k, v in theirs.items())
    if isinstance(theirs, list):
        return isinstance(ours, list) and len(ours) == len(theirs) and all(map(covers, ours, theirs))
    return bool(ours == theirs)


# Steps where MLflow's own answer is a fault, not a behaviour to copy; Dockyard must answer 200 there.
KNOWN_MLFLOW_FAULTS = {
    "model-versions/get-artifact": (
        "MLflow 3.17.2 answers 500 for a version whose source is runs:/ on an mlflow-artifacts: root (its "
        "server resolves the runs:/ URI with its own SQL tracking URI, which cannot reach the proxy)"
    ),
}


def compare(ours: Exchange, theirs: Exchange) -> list[str]:
    """What differs between Dockyard's exchange (``ours``) and MLflow's (``theirs``) for one step."""
    if theirs.label in KNOWN_MLFLOW_FAULTS:
        return (
            [] if ours.status == 200 else [f"status {ours.status}; expected 200 ({KNOWN_MLFLOW_FAULTS[theirs.label]})"]
        )
    diffs = []
    if ours.status != theirs.status:
        diffs.append(f"status {ours.status} != MLflow's {theirs.status}")
    if ours.error_code != theirs.error_code:
        diffs.append(f"error_code {ours.error_code} != MLflow's {theirs.error_code}")
    if "message" in theirs.checks and ours.message != theirs.message:
        diffs.append(f"message {ours.message!r} != MLflow's {theirs.message!r}")
    if "shape" in theirs.checks and not covers(ours.shape, theirs.shape):
        diffs.append(f"body {json.dumps(ours.shape)} != MLflow's {json.dumps(theirs.shape)}")
    for name, value in theirs.headers.items():
        if ours.headers.get(name) != value:
            diffs.append(f"header {name} {ours.headers.get(name)!r} != MLflow's {value!r}")
    return diffs


def _short(shape: Any, limit: int = 600) -> str:
    text = json.dumps(shape)
    return text if len(text) <= limit else text[:limit] + "..."


class Answer:
    """A response, with ``json_path`` to take an id out of it (``"<missing>"`` when the call failed, so
    the scenario goes on and the comparison reports the failed step)."""

    def __init__(self, response: Any) -> None:
        self.response = response

    def json(self) -> Any:
        try:
            return self.response.json()
        except ValueError:
            return {}

    def json_path(self, *keys: str) -> str:
        value = self.json()
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return "<missing>"
            value = value[key]
        return str(value)


class Caller:
    """Sends the scenario's calls to one server and records the exchanges."""

    def __init__(self, http: Any, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.ids = Ids()
        self.exchanges: list[Exchange] = []

    def __call__(
        self,
        label: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        check: tuple[str, ...] = ("shape",),
        compare_headers: tuple[str, ...] = (),
        unordered: str | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body).encode()
            kwargs["headers"] = {"content-type": "application/json", **(headers or {})}
        elif content is not None:
            kwargs["content"] = content
        response = self.http.request(method, self.base + path, **kwargs)
        record = exchange(label, response, self.ids, check, headers=compare_headers)
        if unordered and isinstance(record.shape, dict) and isinstance(record.shape.get(unordered), list):
            record.shape[unordered].sort(key=lambda item: json.dumps(item, sort_keys=True))
        self.exchanges.append(record)
        return Answer(response)


API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
MSG = ("message",)
OCTETS = {"content-type": "application/octet-stream"}
BOTH = ("message", "shape")


def validation(call: Caller) -> None:
    """Item 4: types, missing fields, limits and unsafe paths, with MLflow's messages."""
    ids = call.ids
    ids["exp"] = call("create experiment", "POST", f"{API}/experiments/create", json_body={"name": "compat"}).json_path(
        "experiment_id"
    )
    call("experiment name as a number", "POST", f"{API}/experiments/create", json_body={"name": 123}, check=BOTH)
    call("experiment without a name", "POST", f"{API}/experiments/create", json_body={}, check=BOTH)
    call(
        "artifact_location as a number",
        "POST",
        f"{API}/experiments/create",
        json_body={"name": "x", "artifact_location": 7},
        check=BOTH,
    )
    call("tags not a list", "POST", f"{API}/experiments/create", json_body={"name": "y", "tags": {"a": 1}}, check=BOTH)
    ids["run"] = call("create run", "POST", f"{API}/runs/create", json_body={"experiment_id": ids["exp"]}).json_path(
        "run", "info", "run_id"
    )
    call(
        "param key as a number",
        "POST",
        f"{API}/runs/log-parameter",
        json_body={"run_id": ids["run"], "key": 5, "value": "a"},
        check=BOTH,
    )
    call(
        "param value as a number",
        "POST",
        f"{API}/runs/log-parameter",
        json_body={"run_id": ids["run"], "key": "p", "value": 5},
        check=BOTH,
    )
    call(
        "tag value as a number",
        "POST",
        f"{API}/runs/set-tag",
        json_body={"run_id": ids["run"], "key": "t", "value": 1.5},
        check=BOTH,
    )
    call("run_id as a number", "POST", f"{API}/runs/update", json_body={"run_id": 42, "status": "FINISHED"}, check=MSG)
    call(
        "metric step not an integer",
        "POST",
        f"{API}/runs/log-metric",
        json_body={"run_id": ids["run"], "key": "m", "value": 1.0, "timestamp": 1, "step": "two"},
        check=BOTH,
    )
    call(
        "metric without a timestamp",
        "POST",
        f"{API}/runs/log-metric",
        json_body={"run_id": ids["run"], "key": "m", "value": 1.0},
        check=BOTH,
    )
    call(
        "metric without a key",
        "POST",
        f"{API}/runs/log-metric",
        json_body={"run_id": ids["run"], "value": 1.0, "timestamp": 1},
        check=BOTH,
    )
    call(
        "log-batch metrics not a list",
        "POST",
        f"{API}/runs/log-batch",
        json_body={"run_id": ids["run"], "metrics": {"key": "m", "value": 1, "timestamp": 1}},
        check=BOTH,
    )
    call(
        "log-batch metric without a timestamp",
        "POST",
        f"{API}/runs/log-batch",
        json_body={"run_id": ids["run"], "metrics": [{"key": "m", "value": 1.0, "step": 0}]},
        check=("shape",),
    )
    call(
        "history after the refused metrics",
        "GET",
        f"{API}/metrics/get-history",
        params={"run_id": ids["run"], "metric_key": "m"},
    )
    call("history without metric_key", "GET", f"{API}/metrics/get-history", params={"run_id": ids["run"]}, check=BOTH)
    call(
        "search runs max_results 0",
        "POST",
        f"{API}/runs/search",
        json_body={"experiment_ids": [ids["exp"]], "max_results": 0},
        check=("shape",),
    )
    call(
        "search runs max_results over the cap",
        "POST",
        f"{API}/runs/search",
        json_body={"experiment_ids": [ids["exp"]], "max_results": 50001},
        check=(),  # both name the value; MLflow's words here are its generic type hint, ours say the cap
    )
    call(
        "search experiments max_results over the cap",
        "POST",
        f"{API}/experiments/search",
        json_body={"max_results": 50001},
        check=BOTH,
    )
    call(
        "list artifacts with ..",
        "GET",
        f"{API}/artifacts/list",
        params={"run_id": ids["run"], "path": "../secrets"},
        check=BOTH,
    )
    call(
        "download with ..",
        "GET",
        "/get-artifact",
        params={"run_id": ids["run"], "path": "a/../../b"},
        check=BOTH,
    )


def wording(call: Caller) -> None:
    """Item 5: the messages of common errors."""
    ids = call.ids
    call(
        "delete a missing run tag",
        "POST",
        f"{API}/runs/delete-tag",
        json_body={"run_id": ids["run"], "key": "nope"},
        check=BOTH,
    )
    ids["dead"] = call("create run 2", "POST", f"{API}/runs/create", json_body={"experiment_id": ids["exp"]}).json_path(
        "run", "info", "run_id"
    )
    call("delete run 2", "POST", f"{API}/runs/delete", json_body={"run_id": ids["dead"]})
    call(
        "log a param to a deleted run",
        "POST",
        f"{API}/runs/log-parameter",
        json_body={"run_id": ids["dead"], "key": "p", "value": "v"},
        check=BOTH,
    )
    call(
        "set a tag on a deleted run",
        "POST",
        f"{API}/runs/set-tag",
        json_body={"run_id": ids["dead"], "key": "t", "value": "v"},
        check=BOTH,
    )
    call("get a missing run", "GET", f"{API}/runs/get", params={"run_id": "0" * 32}, check=BOTH)
    call("get a missing experiment", "GET", f"{API}/experiments/get", params={"experiment_id": "9999"}, check=BOTH)
    ids["model"] = call(
        "create logged model",
        "POST",
        f"{API}/logged-models",
        json_body={"experiment_id": ids["exp"], "name": "lm", "source_run_id": ids["run"]},
    ).json_path("model", "info", "model_id")
    call(
        "delete a missing logged-model tag",
        "DELETE",
        f"{API}/logged-models/{ids['model']}/tags/nope",
        check=BOTH,
    )
    call("get a missing logged model", "GET", f"{API}/logged-models/m-{'0' * 32}", check=BOTH)


def sources(call: Caller) -> None:
    """Item 1: model-version sources and the logged model's version tag."""
    ids = call.ids
    ghost = "a" * 32
    ids["ghost"] = ghost
    call("create registered model", "POST", f"{API}/registered-models/create", json_body={"name": "compat-model"})
    call(
        "version from runs:/ of an unknown run",
        "POST",
        f"{API}/model-versions/create",
        json_body={"name": "compat-model", "source": f"runs:/{ghost}/model", "run_id": ghost},
    )
    call(
        "version from runs:/ with another run_id",
        "POST",
        f"{API}/model-versions/create",
        json_body={"name": "compat-model", "source": f"runs:/{ghost}/model", "run_id": ids["run"]},
        check=BOTH,
    )
    call(
        "version from runs:/ without run_id",
        "POST",
        f"{API}/model-versions/create",
        json_body={"name": "compat-model", "source": f"runs:/{ghost}/model"},
        check=BOTH,
    )
    call(
        "logged model with an unknown source run",
        "POST",
        f"{API}/logged-models",
        json_body={"experiment_id": ids["exp"], "name": "lm2", "source_run_id": ghost},
    )
    call(
        "version of a logged model",
        "POST",
        f"{API}/model-versions/create",
        json_body={
            "name": "compat-model",
            "source": f"models:/{ids['model']}",
            "model_id": ids["model"],
            "run_id": ids["run"],
        },
    )
    model = call("logged model after registration", "GET", f"{API}/logged-models/{ids['model']}")
    tags = {t["key"]: t["value"] for t in model.json().get("model", {}).get("info", {}).get("tags", [])}
    call.exchanges.append(
        Exchange(
            "the logged model's mlflow.modelVersions tag",
            200,
            shape=json.loads(tags.get("mlflow.modelVersions", "null")),
            checks=("status", "code", "shape"),
        )
    )


FILES = {
    "notes.txt": b"hello\n",
    "MLmodel": b"flavors: {}\n",
    "plot.png": b"\x89PNG\r\n\x1a\n",
    "weights.bin": b"\x00\x01",
    "data.json": b"{}",
    "r\u00e9sum\u00e9 v2.csv": b"a,b\n",
}


def artifacts(call: Caller) -> None:
    """Items 2 and 3: downloads (types and names), the root download routes, the UI's upload."""
    ids = call.ids
    root = f"{ids['exp']}/{ids['run']}/artifacts"
    for name, data in FILES.items():
        call(f"upload {name}", "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{root}/dir/{name}", content=data, check=())
    for name in FILES:
        call(
            f"proxy download {name}",
            "GET",
            f"/api/2.0/mlflow-artifacts/artifacts/{root}/dir/{name}",
            headers={"accept": "application/json"},
            compare_headers=HEADERS,
        )
        call(
            f"get-artifact {name}",
            "GET",
            "/get-artifact",
            params={"run_id": ids["run"], "path": f"dir/{name}"},
            compare_headers=HEADERS,
        )
    call("get-artifact with run_uuid", "GET", "/get-artifact", params={"run_uuid": ids["run"], "path": "dir/notes.txt"})
    call("get-artifact with //", "GET", "/get-artifact", params={"run_id": ids["run"], "path": "dir//notes.txt"})
    call(
        "get-artifact of a missing file",
        "GET",
        "/get-artifact",
        params={"run_id": ids["run"], "path": "dir/none"},
        check=(),  # MLflow's message names the file's place in the artifact store; Dockyard's does not
    )
    call("get-artifact of an unknown run", "GET", "/get-artifact", params={"run_id": "b" * 32, "path": "x"}, check=BOTH)
    call(
        "upload-artifact",
        "POST",
        f"{AJAX}/upload-artifact",
        params={"run_uuid": ids["run"], "path": "ui/up.txt"},
        content=b"from the UI",
        headers=OCTETS,
        check=(),
    )
    call("read the uploaded file", "GET", "/get-artifact", params={"run_id": ids["run"], "path": "ui/up.txt"})
    call("upload-artifact without path", "POST", f"{AJAX}/upload-artifact", params={"run_uuid": ids["run"]}, check=MSG)
    call("upload-artifact without run_uuid", "POST", f"{AJAX}/upload-artifact", params={"path": "a.txt"}, check=MSG)
    call(
        "upload-artifact without data",
        "POST",
        f"{AJAX}/upload-artifact",
        params={"run_uuid": ids["run"], "path": "empty.txt"},
        headers=OCTETS,
        check=MSG,
    )
    call(
        "upload-artifact with ..",
        "POST",
        f"{AJAX}/upload-artifact",
        params={"run_uuid": ids["run"], "path": "../x.txt"},
        content=b"x",
        headers=OCTETS,
        check=MSG,
    )
    call(
        "upload-artifact over 10 MB",
        "POST",
        f"{AJAX}/upload-artifact",
        params={"run_uuid": ids["run"], "path": "big.bin"},
        content=b"0" * (10 * 1024 * 1024 + 1),
        headers=OCTETS,
        check=MSG,
    )
    # A registered version whose files are the run's: the registry's own download route.
    version = call(
        "version of the run's dir",
        "POST",
        f"{API}/model-versions/create",
        json_body={"name": "compat-model", "source": f"runs:/{ids['run']}/dir", "run_id": ids["run"]},
    ).json_path("model_version", "version")
    ids["version"] = version
    call(
        "model-versions/get-artifact",
        "GET",
        "/model-versions/get-artifact",
        params={"name": "compat-model", "version": version, "path": "MLmodel"},
        compare_headers=HEADERS,
    )
    call(
        "model-versions/get-artifact with ..",
        "GET",
        "/model-versions/get-artifact",
        params={"name": "compat-model", "version": version, "path": "../x"},
        check=BOTH,
    )
    call(
        "model-versions/get-artifact of a missing version",
        "GET",
        "/model-versions/get-artifact",
        params={"name": "compat-model", "version": "99", "path": "MLmodel"},
    )
    # A logged model's own files.
    model_root = f"{ids['exp']}/models/{ids['model']}/artifacts"
    call(
        "upload a logged-model file",
        "PUT",
        f"/api/2.0/mlflow-artifacts/artifacts/{model_root}/MLmodel",
        content=b"x",
        check=(),
    )
    call(
        "upload a nested logged-model file",
        "PUT",
        f"/api/2.0/mlflow-artifacts/artifacts/{model_root}/sub/conda.yaml",
        content=b"y",
        check=(),
    )
    call("logged-model directories", "GET", f"{API}/logged-models/{ids['model']}/artifacts/directories")
    call(
        "logged-model directories of sub",
        "GET",
        f"{API}/logged-models/{ids['model']}/artifacts/directories",
        params={"artifact_directory_path": "sub"},
    )
    call(
        "logged-model directories with ..",
        "GET",
        f"{API}/logged-models/{ids['model']}/artifacts/directories",
        params={"artifact_directory_path": "../x"},
        check=BOTH,
    )
    call(
        "logged-model file",
        "GET",
        f"{AJAX}/logged-models/{ids['model']}/artifacts/files",
        params={"artifact_file_path": "MLmodel"},
        compare_headers=HEADERS,
    )
    call(
        "logged-model file without a path",
        "GET",
        f"{AJAX}/logged-models/{ids['model']}/artifacts/files",
        check=BOTH,
    )


def histories(call: Caller) -> None:
    """Item 3: one metric of many runs, in full and sampled."""
    ids = call.ids
    ids["r1"] = call("run 1", "POST", f"{API}/runs/create", json_body={"experiment_id": ids["exp"]}).json_path(
        "run", "info", "run_id"
    )
    ids["r2"] = call("run 2", "POST", f"{API}/runs/create", json_body={"experiment_id": ids["exp"]}).json_path(
        "run", "info", "run_id"
    )
    for name, offset in (("r1", 0.0), ("r2", 100.0)):
        metrics = [{"key": "loss", "value": offset + s, "timestamp": 1000 + s, "step": s} for s in range(0, 30, 3)]
        metrics.append({"key": "loss", "value": offset - 1, "timestamp": 999, "step": 0})
        call(f"log {name}", "POST", f"{API}/runs/log-batch", json_body={"run_id": ids[name], "metrics": metrics})
    both = {"run_id": [ids["r1"], ids["r2"], "c" * 32], "metric_key": "loss"}
    # Sorted by run id first: random ids on each server, so the runs are compared as a set here and the
    # order is checked on Dockyard's side by the tests.
    call("bulk history", "GET", f"{AJAX}/metrics/get-history-bulk", params=both, unordered="metrics")
    call("bulk history capped", "GET", f"{AJAX}/metrics/get-history-bulk", params={**both, "max_results": 5}, check=())
    call(
        "bulk history without runs",
        "GET",
        f"{AJAX}/metrics/get-history-bulk",
        params={"metric_key": "loss"},
        check=BOTH,
    )
    call(
        "bulk history without key",
        "GET",
        f"{AJAX}/metrics/get-history-bulk",
        params={"run_id": ids["r1"]},
        check=BOTH,
    )
    call(
        "bulk history of 101 runs",
        "GET",
        f"{AJAX}/metrics/get-history-bulk",
        params={"run_id": [f"{i:032x}" for i in range(101)], "metric_key": "loss"},
        check=BOTH,
    )
    pair = {"run_ids": [ids["r1"], ids["r2"]], "metric_key": "loss"}
    for prefix in (API, AJAX):
        call(f"sampled {prefix}", "GET", f"{prefix}/metrics/get-history-bulk-interval", params=pair)
    call("sampled 4", "GET", f"{API}/metrics/get-history-bulk-interval", params={**pair, "max_results": 4})
    call(
        "sampled window",
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={**pair, "start_step": 6, "end_step": 20, "max_results": 3},
    )
    call(
        "sampled start only",
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={**pair, "start_step": 6},
        check=BOTH,
    )
    call(
        "sampled reversed window",
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={**pair, "start_step": 9, "end_step": 3},
        check=BOTH,
    )
    call(
        "sampled max_results 0",
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={**pair, "max_results": 0},
        check=BOTH,
    )
    call(
        "sampled max_results 2501",
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={**pair, "max_results": 2501},
        check=BOTH,
    )
    call(
        "sampled without runs",
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={"metric_key": "loss"},
        check=BOTH,
    )


def datasets(call: Caller) -> None:
    """Items 3 and 6: dataset summaries per experiment, logged-model search by dataset."""
    ids = call.ids
    ids["dexp"] = call("dataset experiment", "POST", f"{API}/experiments/create", json_body={"name": "ds"}).json_path(
        "experiment_id"
    )
    ids["drun"] = call("dataset run", "POST", f"{API}/runs/create", json_body={"experiment_id": ids["dexp"]}).json_path(
        "run", "info", "run_id"
    )
    for name, digest, context in (("train", "d1", "training"), ("eval", "d2", "evaluation"), ("train", "d1", "x")):
        dataset = {"name": name, "digest": digest, "source_type": "local", "source": "{}"}
        call(
            f"log input {name} {context}",
            "POST",
            f"{API}/runs/log-inputs",
            json_body={
                "run_id": ids["drun"],
                "datasets": [{"tags": [{"key": "mlflow.data.context", "value": context}], "dataset": dataset}],
            },
        )
    call("search datasets", "POST", f"{AJAX}/experiments/search-datasets", json_body={"experiment_ids": [ids["dexp"]]})
    call("search datasets without ids", "POST", f"{AJAX}/experiments/search-datasets", json_body={}, check=BOTH)
    call(
        "search datasets of 21 experiments",
        "POST",
        f"{AJAX}/experiments/search-datasets",
        json_body={"experiment_ids": [str(i) for i in range(21)]},
        check=BOTH,
    )
    for name in ("m_train", "m_eval", "m_none"):
        ids[name] = call(
            f"logged model {name}",
            "POST",
            f"{API}/logged-models",
            json_body={"experiment_id": ids["dexp"], "name": name, "source_run_id": ids["drun"]},
        ).json_path("model", "info", "model_id")
    for name, dataset, digest in (("m_train", "train", "d1"), ("m_eval", "eval", "d2")):
        call(
            f"metric of {name}",
            "POST",
            f"{API}/runs/log-metric",
            json_body={
                "run_id": ids["drun"],
                "key": "acc",
                "value": 0.9,
                "timestamp": 1,
                "step": 0,
                "model_id": ids[name],
                "dataset_name": dataset,
                "dataset_digest": digest,
            },
        )
    for label, filters in (
        ("models on train", [{"dataset_name": "train"}]),
        ("models on train d1", [{"dataset_name": "train", "dataset_digest": "d1"}]),
        ("models on train d2", [{"dataset_name": "train", "dataset_digest": "d2"}]),
        ("models on train or eval", [{"dataset_name": "train"}, {"dataset_name": "eval"}]),
    ):
        call(
            label,
            "POST",
            f"{API}/logged-models/search",
            json_body={"experiment_ids": [ids["dexp"]], "datasets": filters, "order_by": [{"field_name": "name"}]},
        )


SECTIONS: tuple[Callable[[Caller], None], ...] = (validation, wording, sources, artifacts, histories, datasets)


def run_all(call: Caller) -> Iterator[tuple[str, Exchange]]:
    for section in SECTIONS:
        before = len(call.exchanges)
        section(call)
        for item in call.exchanges[before:]:
            yield section.__name__, item


def main(mlflow_url: str, dockyard_url: str) -> int:
    import httpx2

    with httpx2.Client(timeout=60) as http:
        theirs = list(run_all(Caller(http, mlflow_url)))
        ours = list(run_all(Caller(http, dockyard_url)))
    failures = 0
    for (section, mine), (_, other) in zip(ours, theirs, strict=True):
        diffs = compare(mine, other)
        if diffs:
            failures += 1
            print(f"[{section}] {other.label}:")
            for diff in diffs:
                print(f"    {diff}")
    print(f"{failures} of {len(theirs)} exchanges differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
