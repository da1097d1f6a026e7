"""The JSON codec: MLflow's protobuf-JSON conventions, and decode(encode(x)) == x."""

from __future__ import annotations

import math

import pytest

from dockyard.core.errors import InvalidParameter
from dockyard.tracking import wire
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
)

INFO = RunInfo("a" * 32, "3", "brave-otter-1", "me", RunStatus.FINISHED, 1000, 2000, "/art", LifecycleStage.ACTIVE)


@pytest.mark.parametrize(("value", "encoded"), [(1.5, 1.5), (math.inf, "Infinity"), (-math.inf, "-Infinity")])
def test_doubles(value: float, encoded: object) -> None:
    assert wire.encode_double(value) == encoded
    assert wire.decode_double(encoded, "v") == value


def test_nan_and_bad_doubles() -> None:
    assert wire.encode_double(math.nan) == "NaN"
    assert math.isnan(wire.decode_double("NaN", "v"))
    with pytest.raises(InvalidParameter, match="value"):
        wire.decode_double("high", "value")
    with pytest.raises(InvalidParameter, match="value"):
        wire.decode_double(True, "value")


@pytest.mark.parametrize(("raw", "expected"), [(5, 5), ("5", 5), (5.0, 5), (None, None), ("", None)])
def test_int64_as_number_or_string(raw: object, expected: int | None) -> None:
    assert wire.decode_int(raw, "n") == expected


@pytest.mark.parametrize("raw", ["x", 1.5, True, [1]])
def test_bad_ints_name_the_field(raw: object) -> None:
    with pytest.raises(InvalidParameter, match="start_time"):
        wire.decode_int(raw, "start_time")


def test_run_info_carries_both_ids_and_enums_by_name() -> None:
    encoded = wire.encode_run_info(INFO)
    assert encoded["run_id"] == encoded["run_uuid"] == "a" * 32
    assert encoded["status"] == "FINISHED" and encoded["lifecycle_stage"] == "active"
    assert wire.decode_run_info(encoded) == INFO


def test_empty_fields_are_left_out() -> None:
    info = RunInfo("b" * 32, "0", "n", "u", RunStatus.RUNNING, 1, None, "/a", LifecycleStage.ACTIVE)
    encoded = wire.encode_run(Run(info, RunData()))
    assert "end_time" not in encoded["info"]
    assert encoded["data"] == {} and encoded["inputs"] == {}
    assert "outputs" not in encoded


def test_run_round_trip() -> None:
    dataset = Dataset("loans", "d1", "local", '{"uri": "x"}', "{}", '{"num_rows": 1}')
    run = Run(
        INFO,
        RunData(
            metrics={"loss": 0.5},
            params={"lr": "0.1"},
            tags={"t": "v"},
            metric_objs=(Metric("loss", 0.5, 7, 3),),
        ),
        RunInputs((DatasetInput(dataset, {"mlflow.data.context": "training"}),), (ModelInput("m-" + "1" * 32),)),
        (ModelOutput("m-" + "2" * 32, 4),),
    )
    encoded = wire.encode_run(run)
    assert encoded["data"]["metrics"] == [{"key": "loss", "value": 0.5, "timestamp": 7, "step": 3}]
    assert encoded["outputs"] == {"model_outputs": [{"model_id": "m-" + "2" * 32, "step": 4}]}
    decoded = wire.decode_run(encoded)
    assert decoded == run
    assert decoded.data.metric_objs == (Metric("loss", 0.5, 7, 3),)


def test_experiment_round_trip() -> None:
    experiment = Experiment("7", "e", "/a/7", LifecycleStage.DELETED, 1, 2, {"k": "v"})
    assert wire.decode_experiment(wire.encode_experiment(experiment)) == experiment


def test_logged_model_round_trip() -> None:
    model = LoggedModel(
        model_id="m-" + "3" * 32,
        experiment_id="1",
        name="clf",
        artifact_location="mlflow-artifacts:/1/models/m-x/artifacts",
        creation_timestamp=10,
        last_updated_timestamp=20,
        status=LoggedModelStatus.READY,
        model_type="sklearn",
        source_run_id="a" * 32,
        tags={"t": "v"},
        params={"C": "1"},
        metrics=(Metric("acc", 0.9, 5, 1, run_id="a" * 32, model_id="m-" + "3" * 32, dataset_name="val"),),
    )
    encoded = wire.encode_logged_model(model)
    assert encoded["info"]["status"] == "LOGGED_MODEL_READY"
    assert encoded["info"]["creation_timestamp_ms"] == 10
    assert wire.decode_logged_model(encoded) == model


def test_key_value_lists_keep_duplicates_for_the_service_to_judge() -> None:
    pairs = [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]
    assert [(p.key, p.value) for p in wire.decode_params(pairs)] == [("a", "1"), ("a", "2")]
    assert wire.decode_key_values(pairs, "tags") == {"a": "2"}
    with pytest.raises(InvalidParameter, match=r"params\[0\]"):
        wire.decode_params([{"value": "no key"}])
    with pytest.raises(InvalidParameter, match="tags"):
        wire.decode_tags("k=v")
