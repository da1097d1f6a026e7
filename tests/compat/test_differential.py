"""The same scripted REST calls against ``mlflow server`` and ``dockyard server``: status, error code,
message (where MLflow's words matter) and body shape must match, family by family (issue 12, items 1-6).

The scenario lives in :mod:`compat.scenario`; run it by hand against two live servers with
``python tests/compat/scenario.py MLFLOW_URL DOCKYARD_URL``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from compat.conftest import MlflowServer
from compat.scenario import SECTIONS, Caller, Exchange, compare

from server.dockyard_process import Server


@pytest.fixture(scope="module")
def exchanges(mlflow_server: MlflowServer, dockyard: Server) -> Iterator[dict[str, list[tuple[Exchange, Exchange]]]]:
    """Each section's pairs of exchanges (Dockyard's, MLflow's), from one run of the whole scenario."""
    import httpx2

    with httpx2.Client(timeout=60) as http:
        ours, theirs = Caller(http, dockyard.url), Caller(http, mlflow_server.url)
        out: dict[str, list[tuple[Exchange, Exchange]]] = {}
        for section in SECTIONS:
            before = len(ours.exchanges)
            section(theirs)
            section(ours)
            out[section.__name__] = list(zip(ours.exchanges[before:], theirs.exchanges[before:], strict=True))
        yield out


def _differences(pairs: list[tuple[Exchange, Exchange]]) -> list[str]:
    lines = []
    for ours, theirs in pairs:
        for diff in compare(ours, theirs):
            lines.append(f"{theirs.label}: {diff}")
    return lines


@pytest.mark.parametrize("section", [s.__name__ for s in SECTIONS])
def test_dockyard_answers_as_mlflow_does(exchanges: dict[str, list[tuple[Exchange, Exchange]]], section: str) -> None:
    pairs = exchanges[section]
    assert pairs, f"section {section} made no calls"
    differences = _differences(pairs)
    assert not differences, "\n".join(differences)


def _ours(exchanges: dict[str, list[tuple[Exchange, Exchange]]], label: str) -> Exchange:
    for pairs in exchanges.values():
        for ours, _ in pairs:
            if ours.label == label:
                return ours
    raise KeyError(label)


def test_the_bulk_history_is_sorted_by_run_then_time_and_capped_in_total(
    dockyard: Server, exchanges: dict[str, list[tuple[Exchange, Exchange]]]
) -> None:
    import httpx2

    full = _ours(exchanges, "bulk history").shape["metrics"]
    assert len(full) == 22  # 11 points of each of the two runs; the unknown third run adds none
    capped = _ours(exchanges, "bulk history capped").shape["metrics"]
    assert len(capped) == 5
    # The order itself, on real values (the shapes above hide them).
    run = httpx2.post(f"{dockyard.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, timeout=30).json()[
        "run"
    ]["info"]["run_id"]
    batch = [
        {"key": "k", "value": v, "timestamp": ts, "step": s} for v, ts, s in ((3.0, 5, 1), (1.0, 5, 0), (2.0, 4, 9))
    ]
    httpx2.post(f"{dockyard.url}/api/2.0/mlflow/runs/log-batch", json={"run_id": run, "metrics": batch}, timeout=30)
    got = httpx2.get(
        f"{dockyard.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
        params={"run_id": [run, "f" * 32], "metric_key": "k"},
        timeout=30,
    ).json()["metrics"]
    assert [(m["timestamp"], m["step"], m["value"]) for m in got] == [(4, 9, 2.0), (5, 0, 1.0), (5, 1, 3.0)]
    assert {m["run_id"] for m in got} == {run}


def test_sampled_histories_keep_the_first_and_last_step(dockyard: Server) -> None:
    import httpx2

    base = f"{dockyard.url}/api/2.0/mlflow"
    run = httpx2.post(f"{base}/runs/create", json={"experiment_id": "0"}, timeout=30).json()["run"]["info"]["run_id"]
    batch = [{"key": "s", "value": float(s), "timestamp": 1, "step": s} for s in range(100)]
    httpx2.post(f"{base}/runs/log-batch", json={"run_id": run, "metrics": batch}, timeout=30)

    def steps(**params: Any) -> list[int]:
        query = {"run_ids": run, "metric_key": "s", **params}
        answer = httpx2.get(f"{base}/metrics/get-history-bulk-interval", params=query, timeout=30).json()
        return [m["step"] for m in answer["metrics"]]

    assert steps(max_results=5) == [0, 25, 50, 74, 99]
    assert steps(max_results=1) == [99]
    assert steps(start_step=10, end_step=20, max_results=3) == [10, 15, 20]
    assert len(steps()) == 100


def test_the_suite_ran_against_a_real_mlflow_server(mlflow_server: MlflowServer) -> None:
    """The version the comparison was made against, shown in the test log (-rA)."""
    major, minor = (int(x) for x in mlflow_server.version.split(".")[:2])
    assert (major, minor) >= (3, 17), mlflow_server.version
    print(json.dumps({"mlflow_server_version": mlflow_server.version}))
