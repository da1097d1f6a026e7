"""The tracking contract: what every implementation of the tracking service surface must do.

Subclass :class:`TrackingContract` in a test module and provide a ``tracking`` fixture: the local
``TrackingService`` (``test_service.py``, on SQLite and PostgreSQL) and the remote HTTP client against
the in-process server (``test_remote.py``). Tests only use the public surface and error classes.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from dockyard.core.errors import (
    ExperimentAlreadyExists,
    ExperimentNotFound,
    InvalidFilter,
    InvalidParameter,
    LoggedModelNotFound,
    ParamValueChanged,
    ResourceAlreadyExists,
    ResourceNotFound,
    RunNotActive,
    RunNotFound,
    TagNotFound,
)
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    LifecycleStage,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)


def _run(tracking: Any, experiment_id: str = "0", **kwargs: Any) -> str:
    return tracking.create_run(experiment_id, user_id="tester", **kwargs).info.run_id


def _ids(page: Any) -> list[str]:
    return [r.info.run_id for r in page.items]


class TrackingContract:
    # ------------------------------------------------------------------ experiments

    def test_default_experiment_exists(self, tracking: Any) -> None:
        exp = tracking.get_experiment("0")
        assert exp.name == "Default"
        assert exp.lifecycle_stage is LifecycleStage.ACTIVE
        assert tracking.get_experiment_by_name("Default").experiment_id == "0"

    def test_create_and_get_experiment(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("exp-a", tags={"team": "risk"})
        exp = tracking.get_experiment(exp_id)
        assert exp.name == "exp-a"
        assert exp.tags == {"team": "risk"}
        assert exp.artifact_location
        assert exp.creation_time and exp.last_update_time
        assert tracking.get_experiment_by_name("exp-a") == exp
        assert tracking.get_experiment_by_name("missing") is None

    def test_duplicate_experiment_name(self, tracking: Any) -> None:
        tracking.create_experiment("dup")
        with pytest.raises(ExperimentAlreadyExists, match="dup"):
            tracking.create_experiment("dup")
        with pytest.raises(ResourceAlreadyExists):
            tracking.create_experiment("dup")

    @pytest.mark.parametrize("name", ["", "   ", None, 5, "x" * 501])
    def test_invalid_experiment_name(self, tracking: Any, name: Any) -> None:
        with pytest.raises(InvalidParameter, match="name"):
            tracking.create_experiment(name)

    def test_unknown_experiment(self, tracking: Any) -> None:
        with pytest.raises(ExperimentNotFound):
            tracking.get_experiment("987654")
        with pytest.raises(InvalidParameter, match="experiment_id"):
            tracking.get_experiment("abc")

    def test_rename_experiment(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("old")
        tracking.create_experiment("taken")
        tracking.rename_experiment(exp_id, "new")
        assert tracking.get_experiment(exp_id).name == "new"
        with pytest.raises(ExperimentAlreadyExists):
            tracking.rename_experiment(exp_id, "taken")
        assert tracking.get_experiment(exp_id).name == "new"

    def test_delete_and_restore_experiment_with_its_runs(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("to-delete")
        run_id = _run(tracking, exp_id)
        tracking.delete_experiment(exp_id)
        assert tracking.get_experiment(exp_id).lifecycle_stage is LifecycleStage.DELETED
        assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.DELETED
        with pytest.raises(InvalidParameter):
            tracking.create_run(exp_id)
        with pytest.raises(ResourceAlreadyExists, match="deleted"):
            tracking.create_experiment("to-delete")
        tracking.restore_experiment(exp_id)
        assert tracking.get_experiment(exp_id).lifecycle_stage is LifecycleStage.ACTIVE
        assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.ACTIVE

    def test_default_experiment_cannot_be_deleted(self, tracking: Any) -> None:
        with pytest.raises(InvalidParameter, match="Default"):
            tracking.delete_experiment("0")

    def test_experiment_tags(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("tagged")
        tracking.set_experiment_tag(exp_id, "k", "v1")
        tracking.set_experiment_tag(exp_id, "k", "v2")
        assert tracking.get_experiment(exp_id).tags == {"k": "v2"}
        tracking.delete_experiment_tag(exp_id, "k")
        assert tracking.get_experiment(exp_id).tags == {}
        with pytest.raises(TagNotFound):
            tracking.delete_experiment_tag(exp_id, "k")

    def test_search_experiments(self, tracking: Any) -> None:
        for name in ("alpha", "beta", "gamma"):
            tracking.create_experiment(name, tags={"kind": "greek" if name != "beta" else "other"})
        names = [e.name for e in tracking.search_experiments(filter_string="name LIKE '%a'").items]
        assert sorted(names) == ["alpha", "beta", "gamma"]
        found = tracking.search_experiments(filter_string="tags.kind = 'greek'", order_by=["name DESC"])
        assert [e.name for e in found.items] == ["gamma", "alpha"]
        either = tracking.search_experiments(filter_string="name = 'alpha' OR name = 'beta'", order_by=["name"])
        assert [e.name for e in either.items] == ["alpha", "beta"]

    def test_search_experiments_view_type_and_paging(self, tracking: Any) -> None:
        ids = [tracking.create_experiment(f"e{i}") for i in range(5)]
        tracking.delete_experiment(ids[0])
        active = tracking.search_experiments(max_results=100).items
        assert ids[0] not in [e.experiment_id for e in active]
        deleted = tracking.search_experiments(view_type=ViewType.DELETED_ONLY).items
        assert [e.experiment_id for e in deleted] == [ids[0]]
        every = tracking.search_experiments(view_type="ALL", max_results=100).items
        assert len(every) == 6
        seen: list[str] = []
        page = tracking.search_experiments(view_type="ALL", max_results=2, order_by=["name"])
        while True:
            seen.extend(e.name for e in page.items)
            if not page.next_page_token:
                break
            page = tracking.search_experiments(
                view_type="ALL", max_results=2, order_by=["name"], page_token=page.next_page_token
            )
        assert seen == sorted(["Default", "e0", "e1", "e2", "e3", "e4"])

    def test_experiment_run_stats_count_active_runs_and_the_latest_start(self, tracking: Any) -> None:
        busy, empty = tracking.create_experiment("busy"), tracking.create_experiment("empty")
        for start in (1000, 3000, 2000):
            tracking.create_run(busy, start_time=start)
        tracking.delete_run(tracking.create_run(busy, start_time=9000).info.run_id)
        stats = tracking.experiment_run_stats([empty, busy])
        assert [(s.experiment_id, s.run_count, s.last_run_start_time) for s in stats] == [
            (empty, 0, None),
            (busy, 3, 3000),
        ]
        assert tracking.experiment_run_stats(["123456789"])[0].run_count == 0  # no such experiment: no runs
        with pytest.raises(ExperimentNotFound):
            tracking.experiment_run_stats(["not-an-id"])

    def test_experiment_keys_are_every_active_runs_keys_sorted(self, tracking: Any) -> None:
        exp, other = tracking.create_experiment("keyed"), tracking.create_experiment("unkeyed")
        first = tracking.create_run(exp, start_time=1000).info.run_id
        tracking.log_param(first, "lr", 0.1)
        tracking.log_metric(first, "loss", 0.5)
        tracking.set_tag(first, "team", "a")
        second = tracking.create_run(exp, start_time=2000).info.run_id
        tracking.log_param(second, "depth", 3)
        tracking.log_metric(second, "auc", 0.9)
        tracking.log_metric(second, "loss", 0.4)
        gone = tracking.create_run(exp, start_time=3000).info.run_id
        tracking.log_param(gone, "deleted_param", 1)
        tracking.delete_run(gone)
        elsewhere = tracking.create_run(other, start_time=1000).info.run_id
        tracking.log_param(elsewhere, "foreign", 1)
        keys = tracking.experiment_keys([exp])
        assert keys.params == ("depth", "lr")
        assert keys.metrics == ("auc", "loss")
        assert "team" in keys.tags and list(keys.tags) == sorted(keys.tags)
        assert not keys.truncated
        both = tracking.experiment_keys([exp, other])
        assert both.params == ("depth", "foreign", "lr")
        assert tracking.experiment_keys([]).params == ()
        assert tracking.experiment_keys(["123456789"]).metrics == ()  # no such experiment: no keys
        with pytest.raises(ExperimentNotFound):
            tracking.experiment_keys(["not-an-id"])
        with pytest.raises(InvalidParameter):
            tracking.experiment_keys(exp)  # a string, not a list

    # ------------------------------------------------------------------ runs

    def test_create_and_get_run(self, tracking: Any) -> None:
        run = tracking.create_run("0", user_id="alice", start_time=1000, run_name="first", tags={"a": "b"})
        info = run.info
        assert len(info.run_id) == 32 and info.run_id == info.run_id.lower()
        assert info.run_uuid == info.run_id
        assert (info.run_name, info.user_id, info.start_time) == ("first", "alice", 1000)
        assert info.status is RunStatus.RUNNING and info.end_time is None
        assert info.artifact_uri.endswith(f"{info.run_id}/artifacts")
        fetched = tracking.get_run(info.run_id)
        assert fetched.info == info
        assert fetched.data.tags == {"a": "b", "mlflow.runName": "first"}

    def test_run_gets_a_name_when_none_given(self, tracking: Any) -> None:
        run = tracking.create_run("0")
        assert run.info.run_name
        assert tracking.get_run(run.info.run_id).data.tags["mlflow.runName"] == run.info.run_name

    def test_run_name_from_tag(self, tracking: Any) -> None:
        run = tracking.create_run("0", tags={"mlflow.runName": "from-tag"})
        assert run.info.run_name == "from-tag"

    def test_unknown_run(self, tracking: Any) -> None:
        with pytest.raises(RunNotFound):
            tracking.get_run("0" * 32)
        with pytest.raises(ResourceNotFound):
            tracking.log_metric("0" * 32, "m", 1.0)
        with pytest.raises(InvalidParameter, match="run_id"):
            tracking.get_run("../etc")

    def test_create_run_in_unknown_experiment(self, tracking: Any) -> None:
        with pytest.raises(ExperimentNotFound):
            tracking.create_run("424242")

    def test_update_run(self, tracking: Any) -> None:
        run_id = _run(tracking)
        info = tracking.update_run(run_id, status="FINISHED", end_time=5000, run_name="renamed")
        assert (info.status, info.end_time, info.run_name) == (RunStatus.FINISHED, 5000, "renamed")
        run = tracking.get_run(run_id)
        assert run.info.run_name == "renamed"
        assert run.data.tags["mlflow.runName"] == "renamed"
        with pytest.raises(InvalidParameter, match="status"):
            tracking.update_run(run_id, status="DONE")

    def test_renaming_via_tag_updates_run_name(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.set_tag(run_id, "mlflow.runName", "via-tag")
        assert tracking.get_run(run_id).info.run_name == "via-tag"

    def test_delete_and_restore_run(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.delete_run(run_id)
        assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.DELETED
        with pytest.raises(RunNotActive):
            tracking.log_param(run_id, "p", 1)
        assert tracking.get_run(run_id).data.params == {}
        tracking.restore_run(run_id)
        tracking.log_param(run_id, "p", 1)
        assert tracking.get_run(run_id).data.params == {"p": "1"}

    # ------------------------------------------------------------------ params, tags, metrics

    def test_params_are_immutable(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.log_param(run_id, "lr", 0.1)
        tracking.log_param(run_id, "lr", "0.1")  # same value again is fine
        with pytest.raises(ParamValueChanged, match="lr"):
            tracking.log_param(run_id, "lr", 0.2)
        assert tracking.get_run(run_id).data.params == {"lr": "0.1"}

    def test_tags_set_overwrite_delete(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.set_tag(run_id, "k", "v1")
        tracking.set_tag(run_id, "k", "v2")
        assert tracking.get_run(run_id).data.tags["k"] == "v2"
        tracking.delete_tag(run_id, "k")
        assert "k" not in tracking.get_run(run_id).data.tags
        with pytest.raises(TagNotFound, match="k"):
            tracking.delete_tag(run_id, "k")

    def test_metrics_latest_value_and_history(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.log_metric(run_id, "loss", 3.0, timestamp=10, step=2)
        tracking.log_metric(run_id, "loss", 1.0, timestamp=20, step=0)
        tracking.log_metric(run_id, "loss", 2.0, timestamp=30, step=1)
        assert tracking.get_run(run_id).data.metrics == {"loss": 3.0}  # latest = highest step
        history = tracking.get_metric_history(run_id, "loss").items
        assert [(m.step, m.value, m.timestamp) for m in history] == [(0, 1.0, 20), (1, 2.0, 30), (2, 3.0, 10)]
        assert all(m.key == "loss" for m in history)
        assert tracking.get_metric_history(run_id, "absent").items == []

    def test_non_finite_metric_values_round_trip(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.log_batch(
            run_id,
            metrics=[
                Metric("nan", math.nan, 1, 0),
                Metric("pinf", math.inf, 1, 0),
                Metric("ninf", -math.inf, 1, 0),
            ],
        )
        metrics = tracking.get_run(run_id).data.metrics
        assert math.isnan(metrics["nan"])
        assert metrics["pinf"] == math.inf and metrics["ninf"] == -math.inf
        assert math.isnan(tracking.get_metric_history(run_id, "nan").items[0].value)
        assert tracking.get_metric_history(run_id, "ninf").items[0].value == -math.inf

    def test_an_exact_duplicate_metric_point_is_stored_once(self, tracking: Any) -> None:
        """As in MLflow, whose log_model re-sends the run's metrics: same key, value, timestamp and step."""
        run_id = _run(tracking)
        point = Metric("loss", 0.5, 100, 0)
        tracking.log_batch(run_id, metrics=[point, point])  # twice in one call
        tracking.log_batch(run_id, metrics=[point])  # again in another call
        tracking.log_metric(run_id, "loss", 0.5, timestamp=100, step=0)
        history = tracking.get_metric_history(run_id, "loss").items
        assert [(m.step, m.timestamp, m.value) for m in history] == [(0, 100, 0.5)]
        assert tracking.get_run(run_id).data.metrics == {"loss": 0.5}

    def test_duplicate_nan_and_infinite_points_are_stored_once(self, tracking: Any) -> None:
        run_id = _run(tracking)
        points = [Metric("nan", math.nan, 1, 0), Metric("inf", math.inf, 1, 0), Metric("ninf", -math.inf, 1, 0)]
        tracking.log_batch(run_id, metrics=points + points)
        tracking.log_batch(run_id, metrics=points)
        for key in ("nan", "inf", "ninf"):
            assert len(tracking.get_metric_history(run_id, key).items) == 1, key
        assert math.isnan(tracking.get_run(run_id).data.metrics["nan"])

    def test_points_re_sent_with_a_model_id_are_not_doubled_in_the_run(self, tracking: Any) -> None:
        """MLflow 3's log_model: the run's points again, each with the new model's id."""
        run_id = _run(tracking)
        tracking.log_batch(run_id, metrics=[Metric("acc", 0.9, 100, 0), Metric("acc", 0.95, 200, 1)])
        model = tracking.create_logged_model("0", name="m", source_run_id=run_id)
        tracking.log_batch(
            run_id, metrics=[Metric("acc", 0.9, 100, 0, model_id=model.model_id), Metric("acc", 0.95, 200, 1)]
        )
        history = tracking.get_metric_history(run_id, "acc").items
        assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.95)]
        assert tracking.get_run(run_id).data.metrics == {"acc": 0.95}
        assert [(m.key, m.value) for m in tracking.get_logged_model(model.model_id).metrics] == [("acc", 0.9)]

    def test_points_differing_in_value_timestamp_or_step_are_all_kept(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.log_batch(
            run_id,
            metrics=[
                Metric("m", 1.0, 100, 0),
                Metric("m", 2.0, 100, 0),  # another value
                Metric("m", 1.0, 101, 0),  # another timestamp
                Metric("m", 1.0, 100, 1),  # another step
                Metric("m", math.nan, 100, 0),  # NaN beside a number
            ],
        )
        tracking.log_metric(run_id, "m", 3.0, timestamp=100, step=0)
        tracking.log_batch(run_id, metrics=[Metric("other", 1.0, 100, 0)])  # same point, another key
        history = tracking.get_metric_history(run_id, "m").items
        got = sorted((m.step, m.timestamp, -1.0 if math.isnan(m.value) else m.value) for m in history)
        assert got == [(0, 100, -1.0), (0, 100, 1.0), (0, 100, 2.0), (0, 100, 3.0), (0, 101, 1.0), (1, 100, 1.0)]
        assert len(tracking.get_metric_history(run_id, "other").items) == 1
        assert tracking.get_run(run_id).data.metrics["m"] == 1.0  # latest: highest step

    def test_metric_history_pages(self, tracking: Any) -> None:
        run_id = _run(tracking)
        for start in range(0, 250, 50):
            tracking.log_batch(run_id, metrics=[Metric("m", float(i), 1000 + i, i) for i in range(start, start + 50)])
        steps: list[int] = []
        page = tracking.get_metric_history(run_id, "m", max_results=40)
        pages = 1
        while page.next_page_token:
            steps.extend(m.step for m in page.items)
            page = tracking.get_metric_history(run_id, "m", max_results=40, page_token=page.next_page_token)
            pages += 1
        steps.extend(m.step for m in page.items)
        assert steps == list(range(250))
        assert pages == 7
        with pytest.raises(InvalidParameter, match="page_token"):
            tracking.get_metric_history(run_id, "m", page_token="not-a-token")

    def test_log_batch_is_all_or_nothing(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.log_param(run_id, "fixed", "a")
        with pytest.raises(ParamValueChanged):
            tracking.log_batch(
                run_id,
                metrics=[Metric("m", 1.0, 1, 0)],
                params=[Param("new", "x"), Param("fixed", "b")],
                tags=[RunTag("t", "v")],
            )
        run = tracking.get_run(run_id)
        assert run.data.metrics == {} and run.data.params == {"fixed": "a"} and "t" not in run.data.tags
        assert tracking.get_metric_history(run_id, "m").items == []

    def test_log_batch_limits(self, tracking: Any) -> None:
        run_id = _run(tracking)
        with pytest.raises(InvalidParameter, match="1000 metrics"):
            tracking.log_batch(run_id, metrics=[Metric("m", 1.0, 1, i) for i in range(1001)])
        with pytest.raises(InvalidParameter, match="twice"):
            tracking.log_batch(run_id, params=[Param("a", "1"), Param("a", "2")])

    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda t, r: t.log_param(r, "k" * 251, "v"), "param key"),
            (lambda t, r: t.log_param(r, "k", "v" * 6001), "param 'k' value"),
            (lambda t, r: t.set_tag(r, "k", "v" * 8001), "tag 'k' value"),
            (lambda t, r: t.log_metric(r, "bad key!", 1.0), "metric key"),
            (lambda t, r: t.log_metric(r, "../up", 1.0), "metric key"),
            (lambda t, r: t.log_metric(r, "m", "high"), "metric 'm'"),
            (lambda t, r: t.log_metric(r, "m", 1.0, step=1.5), "step"),
            (lambda t, r: t.log_metric(r, "m", 1.0, timestamp="now"), "timestamp"),
            (lambda t, r: t.set_tag(r, "", "v"), "tag key"),
        ],
    )
    def test_bad_input_names_the_field(self, tracking: Any, call: Any, field: str) -> None:
        run_id = _run(tracking)
        with pytest.raises(InvalidParameter) as info:
            call(tracking, run_id)
        assert field in str(info.value)
        run = tracking.get_run(run_id)
        assert run.data.metrics == {} and run.data.params == {}

    def test_limits_at_the_edge_are_accepted(self, tracking: Any) -> None:
        run_id = _run(tracking)
        tracking.log_param(run_id, "k" * 250, "v" * 6000)
        tracking.set_tag(run_id, "t", "v" * 8000)
        run = tracking.get_run(run_id)
        assert run.data.params["k" * 250] == "v" * 6000
        assert run.data.tags["t"] == "v" * 8000

    # ------------------------------------------------------------------ datasets

    def test_log_inputs(self, tracking: Any) -> None:
        run_id = _run(tracking)
        dataset = Dataset(
            "loans", "abc123", "local", '{"uri": "/data/loans.parquet"}', '{"cols": []}', '{"num_rows": 3}'
        )
        tracking.log_inputs(run_id, [DatasetInput(dataset, {"mlflow.data.context": "training"})])
        tracking.log_inputs(run_id, [DatasetInput(dataset, {"mlflow.data.context": "training"})])  # idempotent
        inputs = tracking.get_run(run_id).inputs.dataset_inputs
        assert len(inputs) == 1
        assert inputs[0].dataset == dataset
        assert inputs[0].tags == {"mlflow.data.context": "training"}
        found = tracking.search_runs(["0"], "dataset.name = 'loans' AND dataset.context = 'training'")
        assert _ids(found) == [run_id]
        assert _ids(tracking.search_runs(["0"], "dataset.digest = 'other'")) == []

    def test_log_inputs_rejects_bad_dataset(self, tracking: Any) -> None:
        run_id = _run(tracking)
        with pytest.raises(InvalidParameter, match="name"):
            tracking.log_inputs(run_id, [DatasetInput(Dataset("", "d", "local", "{}"))])

    # ------------------------------------------------------------------ search

    def _search_fixture(self, tracking: Any) -> tuple[str, dict[str, str]]:
        exp_id = tracking.create_experiment("search")
        runs = {}
        for name, acc, lr, model, start in [
            ("r1", 0.70, "0.1", "tree", 1000),
            ("r2", 0.85, "0.01", "tree", 2000),
            ("r3", 0.90, "0.01", "Forest", 3000),
            ("r4", None, "0.1", "linear", 4000),
        ]:
            run_id = _run(tracking, exp_id, run_name=name, start_time=start)
            if acc is not None:
                tracking.log_metric(run_id, "acc", acc)
            tracking.log_param(run_id, "lr", lr)
            tracking.set_tag(run_id, "model", model)
            runs[name] = run_id
        tracking.update_run(runs["r1"], status="FINISHED", end_time=1500)
        return exp_id, runs

    def test_search_runs_filters(self, tracking: Any) -> None:
        exp_id, runs = self._search_fixture(tracking)

        def names(filter_string: str, **kwargs: Any) -> list[str]:
            page = tracking.search_runs([exp_id], filter_string, **kwargs)
            return sorted(r.info.run_name for r in page.items)

        assert names("") == ["r1", "r2", "r3", "r4"]
        assert names("metrics.acc > 0.8") == ["r2", "r3"]
        assert names("metrics.acc != 0.7") == ["r2", "r3"]
        assert names("params.lr = '0.01'") == ["r2", "r3"]
        assert names("tags.model LIKE 'tr%'") == ["r1", "r2"]
        assert names("tags.model LIKE 'forest'") == []
        assert names("tags.model ILIKE 'forest'") == ["r3"]
        assert names("attributes.status = 'FINISHED'") == ["r1"]
        assert names("attributes.run_name = 'r4'") == ["r4"]
        assert names("attributes.start_time >= 3000") == ["r3", "r4"]
        assert names(f"attributes.run_id IN ('{runs['r1']}', '{runs['r2']}')") == ["r1", "r2"]
        assert names(f"attributes.run_id NOT IN ('{runs['r1']}')") == ["r2", "r3", "r4"]
        assert names("params.lr = '0.1' and metrics.acc < 1") == ["r1"]
        # Dockyard extends MLflow's grammar with OR and parentheses.
        assert names("metrics.acc > 0.88 OR tags.model = 'linear'") == ["r3", "r4"]
        assert names("(params.lr = '0.1' OR metrics.acc > 0.88) AND tags.model != 'linear'") == ["r1", "r3"]

    def test_search_runs_order_by(self, tracking: Any) -> None:
        exp_id, _ = self._search_fixture(tracking)

        def order(*order_by: str) -> list[str]:
            return [r.info.run_name for r in tracking.search_runs([exp_id], order_by=list(order_by)).items]

        assert order() == ["r4", "r3", "r2", "r1"]  # start_time DESC by default
        assert order("metrics.acc DESC") == ["r3", "r2", "r1", "r4"]  # missing values last
        assert order("metrics.acc ASC") == ["r1", "r2", "r3", "r4"]
        assert order("params.lr", "attributes.start_time") == ["r2", "r3", "r1", "r4"]
        assert order("tags.model DESC") == ["r2", "r1", "r4", "r3"]  # ties: start_time DESC

    def test_search_runs_pages_and_views(self, tracking: Any) -> None:
        exp_id, runs = self._search_fixture(tracking)
        tracking.delete_run(runs["r2"])
        assert len(tracking.search_runs([exp_id]).items) == 3
        assert _ids(tracking.search_runs([exp_id], run_view_type="DELETED_ONLY")) == [runs["r2"]]
        collected: list[str] = []
        page = tracking.search_runs([exp_id], run_view_type=ViewType.ALL, max_results=3)
        collected.extend(_ids(page))
        assert page.next_page_token
        page = tracking.search_runs([exp_id], run_view_type="ALL", max_results=3, page_token=page.next_page_token)
        collected.extend(_ids(page))
        assert page.next_page_token == ""
        assert sorted(collected) == sorted(runs.values())

    def test_search_runs_returns_full_runs(self, tracking: Any) -> None:
        exp_id, runs = self._search_fixture(tracking)
        run = next(r for r in tracking.search_runs([exp_id]).items if r.info.run_id == runs["r2"])
        assert run.data.metrics == {"acc": 0.85}
        assert run.data.params == {"lr": "0.01"}
        assert run.data.tags["model"] == "tree"

    def test_search_across_experiments(self, tracking: Any) -> None:
        a, b = tracking.create_experiment("A"), tracking.create_experiment("B")
        ra, rb = _run(tracking, a), _run(tracking, b)
        assert sorted(_ids(tracking.search_runs([a, b]))) == sorted([ra, rb])
        assert _ids(tracking.search_runs([b])) == [rb]

    @pytest.mark.parametrize(
        ("filter_string", "position", "expected"),
        [
            ("metrics.acc >", 13, "end of input"),
            ("metrics.acc > 'high'", 14, "number"),
            ("params.lr > '0.1'", 10, "comparator"),
            ("metrics.acc > 1 AND", 19, ""),
            ("(metrics.acc > 1", 16, ")"),
            ("foo.bar = 1", 0, "prefix"),
        ],
    )
    def test_bad_filter_names_position(self, tracking: Any, filter_string: str, position: int, expected: str) -> None:
        with pytest.raises(InvalidFilter) as info:
            tracking.search_runs(["0"], filter_string)
        assert info.value.position == position
        assert expected in str(info.value)
        assert info.value.http_status == 400

    def test_search_runs_bad_arguments(self, tracking: Any) -> None:
        with pytest.raises(InvalidParameter, match="max_results"):
            tracking.search_runs(["0"], max_results=50_001)
        with pytest.raises(InvalidParameter, match="experiment_ids"):
            tracking.search_runs([])
        with pytest.raises(InvalidParameter, match="run_view_type"):
            tracking.search_runs(["0"], run_view_type="SOME")
        with pytest.raises(InvalidParameter, match="page_token"):
            tracking.search_runs(["0"], page_token="%%%")
        with pytest.raises(InvalidFilter):
            tracking.search_runs(["0"], order_by=["metrics.acc SIDEWAYS"])

    # ------------------------------------------------------------------ logged models (MLflow 3)

    def test_logged_model_lifecycle(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("models")
        run_id = _run(tracking, exp_id)
        model = tracking.create_logged_model(
            exp_id, name="clf", model_type="sklearn", source_run_id=run_id, params={"C": 1.0}, tags={"t": "v"}
        )
        assert model.model_id.startswith("m-") and model.status is LoggedModelStatus.PENDING
        assert model.artifact_location.endswith(f"{exp_id}/models/{model.model_id}/artifacts")
        assert (model.name, model.model_type, model.source_run_id) == ("clf", "sklearn", run_id)
        assert model.params == {"C": "1.0"} and model.tags == {"t": "v"}
        ready = tracking.finalize_logged_model(model.model_id, "LOGGED_MODEL_READY")
        assert ready.status is LoggedModelStatus.READY
        tracking.set_logged_model_tags(model.model_id, {"t": "w", "u": "x"})
        tracking.delete_logged_model_tag(model.model_id, "u")
        tracking.log_logged_model_params(model.model_id, {"gamma": "auto"})
        fetched = tracking.get_logged_model(model.model_id)
        assert fetched.tags == {"t": "w"} and fetched.params == {"C": "1.0", "gamma": "auto"}
        tracking.delete_logged_model(model.model_id)
        with pytest.raises(LoggedModelNotFound):
            tracking.get_logged_model(model.model_id)

    def test_logged_model_bad_input(self, tracking: Any) -> None:
        with pytest.raises(InvalidParameter, match="model_id"):
            tracking.get_logged_model("not-a-model")
        with pytest.raises(LoggedModelNotFound):
            tracking.get_logged_model("m-" + "0" * 32)
        with pytest.raises(ExperimentNotFound):
            tracking.create_logged_model("424242", name="x")
        model = tracking.create_logged_model("0", name="x")
        with pytest.raises(InvalidParameter, match="status"):
            tracking.finalize_logged_model(model.model_id, "DONE")

    def test_metrics_logged_against_a_model_and_run_outputs(self, tracking: Any) -> None:
        run_id = _run(tracking)
        model = tracking.create_logged_model("0", name="m", source_run_id=run_id)
        tracking.log_batch(
            run_id, metrics=[Metric("acc", 0.9, 5, 1, model_id=model.model_id, dataset_name="val", dataset_digest="d1")]
        )
        tracking.log_outputs(run_id, [ModelOutput(model.model_id, 1)])
        metrics = tracking.get_logged_model(model.model_id).metrics
        assert [(m.key, m.value, m.step, m.run_id, m.dataset_name) for m in metrics] == [("acc", 0.9, 1, run_id, "val")]
        assert tracking.get_run(run_id).outputs == (ModelOutput(model.model_id, 1),)
        consumer = _run(tracking)
        tracking.log_inputs(consumer, models=[ModelInput(model.model_id)])
        tracking.log_inputs(consumer, models=[ModelInput(model.model_id)])  # idempotent
        assert tracking.get_run(consumer).inputs.model_inputs == (ModelInput(model.model_id),)
        with pytest.raises(LoggedModelNotFound):
            tracking.log_inputs(consumer, models=[ModelInput("m-" + "2" * 32)])
        assert tracking.get_run(run_id).data.metrics == {"acc": 0.9}  # also an ordinary run metric
        with pytest.raises(LoggedModelNotFound):
            tracking.log_batch(run_id, metrics=[Metric("acc", 1.0, 5, 2, model_id="m-" + "1" * 32)])

    def test_search_logged_models(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("model-search")
        run_id = _run(tracking, exp_id)
        ids = {}
        for name, acc in (("a", 0.7), ("b", 0.9), ("c", None)):
            model = tracking.create_logged_model(exp_id, name=name, source_run_id=run_id)
            ids[name] = model.model_id
            if acc is not None:
                tracking.log_batch(run_id, metrics=[Metric("acc", acc, 1, 0, model_id=model.model_id)])
        names = [m.name for m in tracking.search_logged_models([exp_id], order_by=["metrics.acc DESC"]).items]
        assert names == ["b", "a", "c"]
        assert [m.name for m in tracking.search_logged_models([exp_id], "name = 'a'").items] == ["a"]
        found = tracking.search_logged_models([exp_id], "metrics.acc > 0.8 OR name = 'c'", order_by=["name"])
        assert [m.name for m in found.items] == ["b", "c"]
        assert len(tracking.search_logged_models([exp_id], f"source_run_id = '{run_id}'").items) == 3
        page = tracking.search_logged_models([exp_id], max_results=2, order_by=["name"])
        assert [m.name for m in page.items] == ["a", "b"] and page.next_page_token
        rest = tracking.search_logged_models(
            [exp_id], max_results=2, order_by=["name"], page_token=page.next_page_token
        )
        assert [m.name for m in rest.items] == ["c"] and not rest.next_page_token

    def test_search_logged_models_on_datasets(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("model-datasets")
        run_id = _run(tracking, exp_id)
        ids = {}
        for name, dataset, acc in (("a", "train", 0.7), ("b", "eval", 0.9), ("c", None, None)):
            ids[name] = tracking.create_logged_model(exp_id, name=name).model_id
            if dataset is not None:
                metric = Metric("acc", acc, 1, 0, model_id=ids[name], dataset_name=dataset, dataset_digest="d")
                tracking.log_batch(run_id, metrics=[metric])

        def names(datasets: list[DatasetRef], filter_string: str | None = None) -> list[str]:
            page = tracking.search_logged_models([exp_id], filter_string, ["name"], datasets=datasets)
            return [m.name for m in page.items]

        assert names([DatasetRef("train", "d")]) == ["a"]
        assert names([DatasetRef("train", "d"), DatasetRef("eval", "d")]) == ["a", "b"]
        assert names([DatasetRef("train", "other")]) == []
        assert names([DatasetRef("train")]) == []  # no digest: metrics logged without one, as in MLflow
        assert names([DatasetRef("eval", "d")], "metrics.acc > 0.8") == ["b"]
        assert names([DatasetRef("train", "d")], "metrics.acc > 0.8") == []

    def test_search_datasets(self, tracking: Any) -> None:
        exp_id = tracking.create_experiment("dataset-summaries")
        run_id = _run(tracking, exp_id)
        for name, context in (("train", "training"), ("test", "evaluation"), ("train", "other")):
            dataset = Dataset(name, f"{name}-digest", "local", "{}")
            tracking.log_inputs(run_id, [DatasetInput(dataset, {"mlflow.data.context": context})])
        assert sorted(tracking.search_datasets([exp_id]), key=lambda s: s.name) == [
            DatasetSummary(exp_id, "test", "test-digest", "evaluation"),
            DatasetSummary(exp_id, "train", "train-digest", "training"),
        ]
        with pytest.raises(InvalidParameter, match="at least one experiment_id"):
            tracking.search_datasets([])
        with pytest.raises(InvalidParameter, match="more than 20 experiment_ids"):
            tracking.search_datasets([str(i) for i in range(21)])

    # ------------------------------------------------------------------ Dockyard extensions

    def test_metric_histories_of_many_runs(self, tracking: Any) -> None:
        a, b = _run(tracking), _run(tracking)
        tracking.log_batch(a, metrics=[Metric("loss", float(i), 1, i) for i in range(3)])
        tracking.log_batch(b, metrics=[Metric("loss", float(i), 1, i) for i in range(5)])
        points = tracking.get_metric_histories([a, b], "loss", max_results=4)
        assert [(m.run_id, m.step) for m in points] == [(a, 0), (a, 1), (a, 2), (b, 0), (b, 1), (b, 2), (b, 3)]
        with pytest.raises(RunNotFound):
            tracking.get_metric_histories([a, "f" * 32], "loss")
        with pytest.raises(InvalidParameter, match="run_ids"):
            tracking.get_metric_histories([], "loss")

    def test_downsampled_history_keeps_each_buckets_extremes(self, tracking: Any) -> None:
        run_id = _run(tracking)
        values = [float(i % 10) for i in range(1000)]
        values[537] = 100.0  # a spike that every-n-th sampling would miss
        values[812] = -50.0
        for start in range(0, 1000, 500):
            tracking.log_batch(run_id, metrics=[Metric("m", values[i], 1, i) for i in range(start, start + 500)])
        points = tracking.get_metric_history_downsampled(run_id, "m", max_points=20)
        assert len(points) <= 20
        assert [p.step for p in points] == sorted(p.step for p in points)
        assert 100.0 in [p.value for p in points] and -50.0 in [p.value for p in points]
        window = tracking.get_metric_history_downsampled(run_id, "m", max_points=10, start_step=100, end_step=199)
        assert all(100 <= p.step <= 199 for p in window) and len(window) <= 10
        assert tracking.get_metric_history_downsampled(run_id, "absent") == []
        with pytest.raises(InvalidParameter, match="max_points"):
            tracking.get_metric_history_downsampled(run_id, "m", max_points=1)
