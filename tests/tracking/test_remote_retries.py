"""The remote client's retry rules, with httpx2's MockTransport standing in for the network."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from dockyard.core.errors import ExperimentNotFound, StoreUnavailable
from dockyard.tracking.remote import RemoteTrackingService

EXPERIMENT = {"experiment": {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active"}}


def _service(handler: Any) -> RemoteTrackingService:
    return RemoteTrackingService(
        "http://tracking", http=httpx2.Client(transport=httpx2.MockTransport(handler)), backoff=0
    )


def test_503_is_retried_then_succeeds() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            return httpx2.Response(503, json={"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})
        return httpx2.Response(200, json=EXPERIMENT)

    assert _service(handler).get_experiment("0").name == "Default"
    assert len(calls) == 3


def test_503_gives_up_after_the_retries() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(503, json={"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})

    with pytest.raises(StoreUnavailable):
        _service(handler).get_experiment("0")
    assert len(calls) == 6  # the first try and five retries


def test_connection_refused_is_retried_even_for_writes() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx2.ConnectError("connection refused", request=request)
        return httpx2.Response(200, json={"experiment_id": "7"})

    assert _service(handler).create_experiment("x") == "7"
    assert len(calls) == 2


def test_timeout_after_sending_is_not_retried_for_a_non_idempotent_write() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        raise httpx2.ReadTimeout("no answer", request=request)

    with pytest.raises(StoreUnavailable, match="not retried"):
        _service(handler).create_experiment("x")
    assert len(calls) == 1


def test_timeout_after_sending_is_retried_for_a_read() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx2.ReadTimeout("no answer", request=request)
        return httpx2.Response(200, json=EXPERIMENT)

    assert _service(handler).get_experiment("0").experiment_id == "0"
    assert len(calls) == 2


def test_client_errors_are_not_retried_and_keep_their_class() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        body = {
            "error_code": "RESOURCE_DOES_NOT_EXIST",
            "message": "No experiment",
            "error_class": "ExperimentNotFound",
        }
        return httpx2.Response(404, json=body)

    with pytest.raises(ExperimentNotFound):
        _service(handler).get_experiment("5")
    assert len(calls) == 1


def test_an_mlflow_server_error_without_our_class_maps_by_code() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(404, json={"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"})

    assert _service(handler).get_experiment_by_name("x") is None
