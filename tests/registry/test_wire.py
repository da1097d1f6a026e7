"""The registry codec: MLflow's field names, versions as strings, empty fields left out, round trips."""

from __future__ import annotations

from dockyard.registry import wire
from dockyard.registry.entities import (
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    Stage,
)


def test_model_version_round_trip_and_shape() -> None:
    mv = ModelVersion(
        "m", 3, 10, 20, description="d", current_stage=Stage.PRODUCTION, source="s", run_id="r",
        tags={"k": "v"}, aliases=("champion",), model_id="m-abc",
    )  # fmt: skip
    encoded = wire.encode_model_version(mv)
    assert encoded["version"] == "3" and encoded["current_stage"] == "Production" and encoded["status"] == "READY"
    assert encoded["tags"] == [{"key": "k", "value": "v"}] and encoded["aliases"] == ["champion"]
    assert "run_link" not in encoded and "user_id" not in encoded
    assert wire.decode_model_version(encoded) == mv


def test_registered_model_round_trip_and_shape() -> None:
    latest = ModelVersion("m", 2, 1, 2, source="s")
    model = RegisteredModel("m", 1, 2, latest_versions=(latest,), tags={"a": "b"}, aliases={"champion": 2})
    encoded = wire.encode_registered_model(model)
    assert encoded["aliases"] == [{"alias": "champion", "version": "2"}]
    assert "description" not in encoded
    assert wire.decode_registered_model(encoded) == model


def test_event_round_trip() -> None:
    event = RegistryEvent(
        7, 100, "ana", "m", RegistryEventKind.STAGE_TRANSITION, stage=Stage.STAGING, from_stage=Stage.NONE,
        from_version=None, to_version=4, reason="ok",
    )  # fmt: skip
    encoded = wire.encode_event(event)
    assert encoded["to_version"] == "4" and "from_version" not in encoded and encoded["kind"] == "stage_transition"
    assert wire.decode_event(encoded) == event


def test_decoding_accepts_numbers_for_versions() -> None:
    assert wire.decode_model_version({"name": "m", "version": 5}).version == 5
