"""The registry contract, continued: promotion, rollback, lineage and webhook configuration.

Mixed into the same test classes as :class:`registry.contract.RegistryContract` (local service on SQLite
and PostgreSQL, remote client against the in-process server), with the same fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.core.errors import (
    InvalidParameter,
    ModelVersionNotFound,
    NothingToRollBack,
    RegisteredModelNotFound,
    WebhookNotFound,
)
from dockyard.registry.entities import RegistryEventKind, Stage, WebhookStatus
from dockyard.tracking.entities import Dataset, DatasetInput, Metric, Param, RunTag


def _model(registry: Any, name: str = "m", versions: int = 3) -> None:
    registry.create_registered_model(name)
    for _ in range(versions):
        registry.create_model_version(name, "s3://bucket/model")


def _holder(registry: Any, name: str, alias: str) -> int:
    return int(registry.get_model_version_by_alias(name, alias).version)


class PromotionContract:
    # ------------------------------------------------------------------ promote

    def test_promote_moves_the_alias_and_the_stage(self, registry: Any) -> None:
        _model(registry)
        registry.promote("m", 1, alias="champion", stage="Production", reason="first", user_id="ana")
        promoted = registry.promote(
            "m", "2", alias="champion", stage="production", reason="better auc", user_id="bo", archive_existing=True
        )
        assert (promoted.version, promoted.current_stage, promoted.aliases) == (2, Stage.PRODUCTION, ("champion",))
        assert registry.get_model_version("m", 1).current_stage is Stage.ARCHIVED
        last = list(registry.get_registry_events("m", newest_first=True, max_results=3))
        assert [(e.kind, e.stage, e.to_version, e.user_id) for e in last] == [
            (RegistryEventKind.STAGE_TRANSITION, Stage.PRODUCTION, 2, "bo"),
            (RegistryEventKind.STAGE_TRANSITION, Stage.ARCHIVED, 1, "bo"),
            (RegistryEventKind.ALIAS_SET, None, 2, "bo"),
        ]
        assert last[-1].reason == "better auc" and last[-1].from_version == 1
        only_alias = registry.promote("m", 3, alias="challenger")
        assert only_alias.current_stage is Stage.NONE and _holder(registry, "m", "challenger") == 3

    def test_promote_refuses_bad_input_and_changes_nothing(self, registry: Any) -> None:
        _model(registry)
        registry.promote("m", 1, alias="champion")
        registry.delete_model_version("m", 3)
        before = len(registry.get_registry_events("m"))
        with pytest.raises(ModelVersionNotFound, match="deleted"):
            registry.promote("m", 3, alias="champion", stage="Production")
        with pytest.raises(ModelVersionNotFound):
            registry.promote("m", 9, alias="champion")
        with pytest.raises(RegisteredModelNotFound):
            registry.promote("nope", 1, alias="champion")
        with pytest.raises(InvalidParameter, match="alias"):
            registry.promote("m", 2)
        with pytest.raises(InvalidParameter):
            registry.promote("m", 2, alias="latest")
        with pytest.raises(InvalidParameter):
            registry.promote("m", 2, alias="champion", stage="Gold")
        with pytest.raises(InvalidParameter, match="archive_existing"):
            registry.promote("m", 2, alias="champion", archive_existing=True)
        assert _holder(registry, "m", "champion") == 1
        assert registry.get_model_version("m", 2).current_stage is Stage.NONE
        assert len(registry.get_registry_events("m")) == before

    # ------------------------------------------------------------------ rollback

    def test_rollback_restores_exactly_the_previous_holder(self, registry: Any) -> None:
        _model(registry)
        for version in (1, 2, 3):
            registry.promote("m", version, alias="champion", reason=f"v{version}")
        registry.promote("m", 1, alias="shadow")
        undone = registry.get_registry_events("m", alias="champion", newest_first=True, max_results=1)[0]
        restored = registry.rollback("m", "champion", reason="incident 42", user_id="oncall")
        assert restored.version == 2 and _holder(registry, "m", "champion") == 2
        assert _holder(registry, "m", "shadow") == 1  # other aliases are untouched
        event = registry.get_registry_events("m", alias="champion", newest_first=True, max_results=1)[0]
        assert (event.kind, event.from_version, event.to_version) == (RegistryEventKind.ALIAS_SET, 3, 2)
        assert (event.reason, event.user_id, event.undoes_event_id) == ("incident 42", "oncall", undone.event_id)
        assert event.is_rollback and not undone.is_rollback

    def test_two_rollbacks_walk_back_through_the_moves(self, registry: Any) -> None:
        _model(registry)
        for version in (1, 2, 3):
            registry.set_registered_model_alias("m", "champion", version)
        assert registry.rollback("m", "champion").version == 2
        assert registry.rollback("m", "champion").version == 1  # further back, not back to 3
        with pytest.raises(NothingToRollBack, match="champion"):
            registry.rollback("m", "champion")
        assert _holder(registry, "m", "champion") == 1
        moves = [(e.from_version, e.to_version) for e in registry.get_registry_events("m", alias="champion")]
        assert moves == [(None, 1), (1, 2), (2, 3), (3, 2), (2, 1)]
        default_reason = registry.get_registry_events("m", alias="champion", newest_first=True)[0].reason
        assert default_reason and "rollback" in default_reason

    def test_a_move_after_a_rollback_is_undone_first(self, registry: Any) -> None:
        _model(registry, versions=4)
        for version in (1, 2, 3):
            registry.set_registered_model_alias("m", "champion", version)
        registry.rollback("m", "champion")  # 3 -> 2
        registry.set_registered_model_alias("m", "champion", 4)  # 2 -> 4
        assert registry.rollback("m", "champion").version == 2
        assert registry.rollback("m", "champion").version == 1

    def test_rollback_without_history_is_an_error(self, registry: Any) -> None:
        _model(registry)
        with pytest.raises(NothingToRollBack) as info:
            registry.rollback("m", "champion")
        assert (info.value.http_status, info.value.error_code) == (400, "INVALID_PARAMETER_VALUE")
        registry.set_registered_model_alias("m", "champion", 1)
        with pytest.raises(NothingToRollBack):
            registry.rollback("m", "champion")  # created once: there is no earlier holder
        assert _holder(registry, "m", "champion") == 1
        assert len(registry.get_registry_events("m")) == 1
        with pytest.raises(RegisteredModelNotFound):
            registry.rollback("nope", "champion")

    def test_rollback_after_the_alias_was_removed_restores_it(self, registry: Any) -> None:
        _model(registry)
        registry.set_registered_model_alias("m", "champion", 1)
        registry.set_registered_model_alias("m", "champion", 2)
        registry.delete_registered_model_alias("m", "champion")
        assert registry.rollback("m", "champion").version == 2
        assert registry.rollback("m", "champion").version == 1

    def test_rollback_to_a_deleted_version_is_refused(self, registry: Any) -> None:
        _model(registry)
        registry.set_registered_model_alias("m", "champion", 1)
        registry.set_registered_model_alias("m", "champion", 2)
        registry.delete_model_version("m", 1)
        with pytest.raises(NothingToRollBack, match="deleted"):
            registry.rollback("m", "champion")
        assert _holder(registry, "m", "champion") == 2

    # ------------------------------------------------------------------ lineage

    def test_lineage_of_a_version(self, registry: Any, tracking: Any) -> None:
        parent = tracking.create_run("0", run_name="sweep")
        run = tracking.create_run("0", run_name="trial", tags={"mlflow.parentRunId": parent.info.run_id})
        tracking.log_batch(
            run.info.run_id,
            metrics=[Metric("auc", 0.91, 1000, 3)],
            params=[Param("lr", "0.1")],
            tags=[RunTag("mlflow.source.git.commit", "abc123"), RunTag("mlflow.source.git.branch", "main")],
        )
        dataset = Dataset("train", "d1g3st", "local", '{"uri": "/data/train.csv"}')
        tracking.log_inputs(run.info.run_id, [DatasetInput(dataset, {"mlflow.data.context": "training"})])
        logged = tracking.create_logged_model("0", name="model", source_run_id=run.info.run_id, params={"depth": "6"})
        registry.create_registered_model("m")
        registry.create_model_version("m", f"models:/{logged.model_id}", model_id=logged.model_id)

        lineage = registry.get_model_version_lineage("m", 1)
        assert (lineage.name, lineage.version, lineage.source) == ("m", 1, f"models:/{logged.model_id}")
        assert lineage.storage_location == logged.artifact_location
        assert lineage.logged_model is not None and lineage.logged_model.params == {"depth": "6"}
        assert lineage.run is not None and lineage.run.run_id == run.info.run_id
        assert (lineage.run.params, lineage.run.metrics) == ({"lr": "0.1"}, {"auc": 0.91})
        assert lineage.run.git == {"commit": "abc123", "branch": "main"}
        assert [(d.name, d.digest, d.context) for d in lineage.run.datasets] == [("train", "d1g3st", "training")]
        assert [(p.run_id, p.run_name) for p in lineage.parents] == [(parent.info.run_id, "sweep")]
        with pytest.raises(ModelVersionNotFound):
            registry.get_model_version_lineage("m", 2)

    def test_lineage_of_a_version_without_a_run(self, registry: Any) -> None:
        _model(registry, versions=1)
        lineage = registry.get_model_version_lineage("m", 1)
        assert (lineage.run, lineage.logged_model, lineage.parents) == (None, None, ())
        assert lineage.source == "s3://bucket/model"

    # ------------------------------------------------------------------ webhook configuration

    def test_webhook_configuration(self, registry: Any) -> None:
        hook = registry.create_webhook(
            "ci", "https://ci.example.com/hook", ["model_version.created", "model_version_alias.created"], secret="s"
        )
        assert (hook.name, hook.url, hook.status) == ("ci", "https://ci.example.com/hook", WebhookStatus.ACTIVE)
        assert hook.events == ("model_version.created", "model_version_alias.created")
        assert not hasattr(hook, "secret")  # write-only
        assert registry.get_webhook(hook.webhook_id) == hook
        other = registry.create_webhook("chat", "http://chat.local/x", ["model_version.stage_changed"])
        # Dockyard's own event round-trips whole (the remote client asks the server for it)
        assert other.events == ("model_version.stage_changed",) and registry.get_webhook(other.webhook_id) == other
        first = registry.list_webhooks(max_results=1)
        rest = registry.list_webhooks(max_results=5, page_token=first.next_page_token)
        assert [w.webhook_id for w in [*first, *rest]] == [hook.webhook_id, other.webhook_id]
        assert [*rest][-1].events == ("model_version.stage_changed",)
        changed = registry.update_webhook(hook.webhook_id, status="DISABLED", events=["model_version.created"])
        assert (changed.status, changed.events, changed.url) == (
            WebhookStatus.DISABLED,
            ("model_version.created",),
            hook.url,
        )
        registry.delete_webhook(other.webhook_id)
        with pytest.raises(WebhookNotFound):
            registry.get_webhook(other.webhook_id)
        with pytest.raises(WebhookNotFound):
            registry.list_webhook_deliveries(other.webhook_id)
        assert list(registry.list_webhook_deliveries(hook.webhook_id)) == []

    @pytest.mark.parametrize(
        ("url", "events"),
        [
            ("ftp://x/y", ["model_version.created"]),
            ("not a url", ["model_version.created"]),
            ("https://x/y", []),
            ("https://x/y", ["model_version.exploded"]),
            # Not public (see tests/registry/test_webhooks.py for the whole set and the send-time checks).
            ("http://169.254.169.254/latest/meta-data/", ["model_version.created"]),
            ("http://[::1]:8080/x", ["model_version.created"]),
            ("http://0x7f000001/x", ["model_version.created"]),
            ("http://10.0.0.8/x", ["model_version.created"]),
            ("https://user:password@ci.example.com/x", ["model_version.created"]),
        ],
    )
    def test_invalid_webhooks(self, registry: Any, url: str, events: list[str]) -> None:
        with pytest.raises(InvalidParameter):
            registry.create_webhook("bad", url, events)
        assert list(registry.list_webhooks()) == []
