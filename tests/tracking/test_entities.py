from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dockyard.artifacts.base import FileInfo
from dockyard.core.paging import Page
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)


def _info(**overrides: Any) -> RunInfo:
    fields: dict[str, Any] = {
        "run_id": "abc123",
        "experiment_id": "0",
        "run_name": "brave-otter-1",
        "user_id": "me",
        "status": RunStatus.RUNNING,
        "start_time": 1000,
        "end_time": None,
        "artifact_uri": "/art/0/abc123/artifacts",
        "lifecycle_stage": LifecycleStage.ACTIVE,
    }
    fields.update(overrides)
    return RunInfo(**fields)


DATASET = Dataset("train", "0123456789abcdef", "local", '{"uri":"/d.csv"}')

# One instance of every entity, and a field to try to reassign.
INSTANCES = [
    (Metric("loss", 0.5, 1700000000000, 3), "value"),
    (Param("lr", "0.1"), "value"),
    (RunTag("k", "v"), "value"),
    (ExperimentTag("k", "v"), "key"),
    (Experiment("1", "churn", "/art/1", LifecycleStage.ACTIVE), "name"),
    (_info(), "status"),
    (RunData(), "metrics"),
    (DATASET, "digest"),
    (DatasetInput(DATASET), "dataset"),
    (RunInputs(), "dataset_inputs"),
    (Run(_info(), RunData()), "info"),
    (FileInfo("model/MLmodel", False, 12), "path"),
    (Page([1, 2]), "items"),
]


# ---------------------------------------------------------------------- RunStatus


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("RUNNING", RunStatus.RUNNING),
        ("running", RunStatus.RUNNING),
        ("Scheduled", RunStatus.SCHEDULED),
        ("finished", RunStatus.FINISHED),
        ("FAILED", RunStatus.FAILED),
        ("kIlLeD", RunStatus.KILLED),
        (RunStatus.KILLED, RunStatus.KILLED),
    ],
)
def test_run_status_parse(raw: Any, expected: RunStatus) -> None:
    assert RunStatus.parse(raw) is expected


@pytest.mark.parametrize("raw", ["", "done", "RUN", " running", "running ", "FINISHED!", 3, None, "active"])
def test_run_status_parse_rejects(raw: Any) -> None:
    with pytest.raises(ValueError, match="is not one of") as info:
        RunStatus.parse(raw)
    assert str(info.value) == f"status {raw!r} is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"


def test_run_status_values_and_str_enum() -> None:
    assert [m.value for m in RunStatus] == ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
    assert RunStatus.FINISHED == "FINISHED"
    assert isinstance(RunStatus.FAILED, str)


@pytest.mark.parametrize(
    ("status", "terminated"),
    [
        (RunStatus.RUNNING, False),
        (RunStatus.SCHEDULED, False),
        (RunStatus.FINISHED, True),
        (RunStatus.FAILED, True),
        (RunStatus.KILLED, True),
    ],
)
def test_run_status_is_terminated(status: RunStatus, terminated: bool) -> None:
    assert status.is_terminated is terminated


def test_lifecycle_stage_values() -> None:
    assert [m.value for m in LifecycleStage] == ["active", "deleted"]
    assert LifecycleStage.DELETED == "deleted"


# ---------------------------------------------------------------------- ViewType


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACTIVE_ONLY", ViewType.ACTIVE_ONLY),
        ("active_only", ViewType.ACTIVE_ONLY),
        ("Deleted_Only", ViewType.DELETED_ONLY),
        ("all", ViewType.ALL),
        ("ALL", ViewType.ALL),
        (ViewType.DELETED_ONLY, ViewType.DELETED_ONLY),
    ],
)
def test_view_type_parse(raw: Any, expected: ViewType) -> None:
    assert ViewType.parse(raw) is expected


@pytest.mark.parametrize("raw", ["", "active", "ACTIVE-ONLY", "deleted", "everything", 1, None, " ALL"])
def test_view_type_parse_rejects(raw: Any) -> None:
    with pytest.raises(ValueError, match="is not one of") as info:
        ViewType.parse(raw)
    assert str(info.value) == f"view type {raw!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL"


@pytest.mark.parametrize(
    ("view", "stages"),
    [
        (ViewType.ACTIVE_ONLY, (LifecycleStage.ACTIVE,)),
        (ViewType.DELETED_ONLY, (LifecycleStage.DELETED,)),
        (ViewType.ALL, (LifecycleStage.ACTIVE, LifecycleStage.DELETED)),
    ],
)
def test_view_type_stages(view: ViewType, stages: tuple[LifecycleStage, ...]) -> None:
    assert view.stages() == stages


# ---------------------------------------------------------------------- dataclasses


@pytest.mark.parametrize(("obj", "attr"), INSTANCES, ids=[type(o).__name__ for o, _ in INSTANCES])
def test_entities_are_frozen(obj: Any, attr: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, attr, None)


@pytest.mark.parametrize(("obj", "attr"), INSTANCES, ids=[type(o).__name__ for o, _ in INSTANCES])
def test_entities_use_slots(obj: Any, attr: str) -> None:
    assert not hasattr(obj, "__dict__")
    with pytest.raises((AttributeError, TypeError)):
        obj.not_a_field = 1


@pytest.mark.parametrize(("obj", "attr"), INSTANCES, ids=[type(o).__name__ for o, _ in INSTANCES])
def test_entities_compare_by_value(obj: Any, attr: str) -> None:
    assert obj == dataclasses.replace(obj)
    assert obj is not dataclasses.replace(obj)


def test_metric_fields_and_defaults() -> None:
    m = Metric("loss", 0.5, timestamp=1700000000000)
    assert (m.key, m.value, m.timestamp, m.step, m.run_id) == ("loss", 0.5, 1700000000000, 0, None)
    assert Metric("loss", 0.5, 1, 3, "r1").run_id == "r1"
    assert Metric("a", 1.0, 1, 2) != Metric("a", 1.0, 1, 3)


def test_metric_is_hashable() -> None:
    assert len({Metric("a", 1.0, 1), Metric("a", 1.0, 1), Metric("a", 1.0, 2)}) == 2
    assert len({Param("a", "1"), Param("a", "1")}) == 1


def test_experiment_defaults() -> None:
    e = Experiment("1", "churn", "/art/1", LifecycleStage.ACTIVE)
    assert (e.creation_time, e.last_update_time, e.tags) == (None, None, {})


def test_default_dicts_are_not_shared() -> None:
    a, b = RunData(), RunData()
    assert a.metrics is not b.metrics
    assert a.params is not b.params
    assert a.tags is not b.tags
    e1 = Experiment("1", "a", "/a", LifecycleStage.ACTIVE)
    e2 = Experiment("2", "b", "/b", LifecycleStage.ACTIVE)
    assert e1.tags is not e2.tags
    assert DatasetInput(DATASET).tags is not DatasetInput(DATASET).tags


def test_run_defaults_to_empty_inputs() -> None:
    run = Run(_info(), RunData(metrics={"loss": 0.5}, params={"lr": "0.1"}, tags={"t": "v"}))
    assert run.inputs == RunInputs()
    assert run.inputs.dataset_inputs == ()
    assert run.data.metrics == {"loss": 0.5}


def test_dataset_defaults() -> None:
    assert (DATASET.schema, DATASET.profile) == (None, None)
    assert DatasetInput(DATASET).tags == {}


def test_file_info_defaults() -> None:
    assert FileInfo("dir", True) == FileInfo("dir", True, None)


@pytest.mark.parametrize("run_id", ["abc123", "0" * 32, "r"])
def test_run_uuid_is_alias_of_run_id(run_id: str) -> None:
    info = _info(run_id=run_id)
    assert info.run_uuid == run_id
    assert info.run_uuid is info.run_id


def test_run_uuid_is_read_only() -> None:
    info = _info()
    # Python 3.11's frozen+slots dataclasses raise TypeError (not FrozenInstanceError) for non-field names.
    with pytest.raises((AttributeError, TypeError)):
        info.run_uuid = "other"  # type: ignore[misc]
    assert info.run_uuid == "abc123"


def test_run_uuid_is_not_a_field() -> None:
    assert "run_uuid" not in {f.name for f in dataclasses.fields(RunInfo)}


# ---------------------------------------------------------------------- Page


def test_page_iteration_len_getitem() -> None:
    page = Page(["a", "b", "c"], next_page_token="tok")
    assert list(page) == ["a", "b", "c"]
    assert len(page) == 3
    assert page[0] == "a"
    assert page[-1] == "c"
    assert page.next_page_token == "tok"


def test_page_default_token_is_empty() -> None:
    assert Page([1]).next_page_token == ""


def test_empty_page() -> None:
    page: Page[int] = Page([])
    assert len(page) == 0
    assert list(page) == []
    assert not page
    with pytest.raises(IndexError):
        page[0]


def test_page_getitem_out_of_range() -> None:
    with pytest.raises(IndexError):
        Page([1, 2])[2]


def test_page_slice_returns_list() -> None:
    assert Page([1, 2, 3, 4])[1:3] == [2, 3]


def test_page_can_be_iterated_twice() -> None:
    page = Page([1, 2])
    assert list(page) == list(page) == [1, 2]


def test_page_truthiness_follows_items() -> None:
    assert Page([0])
    assert not Page([], next_page_token="more")


def test_page_equality() -> None:
    assert Page([1], "t") == Page([1], "t")
    assert Page([1], "t") != Page([1], "")
