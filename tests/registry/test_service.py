"""The registry contract against the local service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.core.errors import GateRefused
from dockyard.db import Database
from dockyard.registry.gates import HolderChanged, RuleResult
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore
from registry.contract import RegistryContract
from registry.contract_gates import GatesContract
from registry.contract_promotion import PromotionContract


@pytest.fixture
def db(db_uri: str) -> Iterator[Database]:
    database = Database(db_uri)
    yield database
    database.dispose()


@pytest.fixture
def tracking(db: Database, artifact_root: Path) -> TrackingService:
    return TrackingService(SqlTrackingStore(db, artifact_root=str(artifact_root)))


@pytest.fixture
def registry(db: Database, tracking: TrackingService) -> Any:
    return RegistryService(SqlRegistryStore(db), tracking=tracking)


class TestLocalService(RegistryContract, PromotionContract, GatesContract):
    pass


def test_promote_refuses_a_version_that_is_not_ready(db: Database, registry: RegistryService) -> None:

    from dockyard.core.errors import ModelVersionNotReady
    from dockyard.db import tables as t

    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://bucket/model")
    with db.write() as conn:
        conn.execute(t.model_versions.update().values(status="PENDING_REGISTRATION", status_message="uploading"))
    with pytest.raises(ModelVersionNotReady, match=r"PENDING_REGISTRATION.*uploading"):
        registry.promote("m", 1, alias="champion", stage="Production")
    assert registry.get_registered_model("m").aliases == {}
    assert registry.get_model_version("m", 1).current_stage.value == "None"
    assert list(registry.get_registry_events("m")) == []


# ---------------------------------------------------------------------- a gate's check and its move are atomic


class _Interleaved(SqlRegistryStore):
    """A real store that lets another client commit a move between the service's gate check and this move, as a
    concurrent request can: ``between`` runs once, at the start of the next move (before its transaction)."""

    between: Callable[[], object] | None = None

    def _interleave(self) -> None:
        hook, self.between = self.between, None
        if hook is not None:
            hook()

    def set_registered_model_alias(self, *args: Any, **kwargs: Any) -> Any:
        self._interleave()
        return super().set_registered_model_alias(*args, **kwargs)

    def promote(self, *args: Any, **kwargs: Any) -> Any:
        self._interleave()
        return super().promote(*args, **kwargs)

    def transition_model_version_stage(self, *args: Any, **kwargs: Any) -> Any:
        self._interleave()
        return super().transition_model_version_stage(*args, **kwargs)


def _race(db: Database, name: str, rule: str, **target: str) -> tuple[RegistryService, _Interleaved, RegistryService]:
    """Versions 1 to 3 of ``name``; a baseline ``rule`` gates ``target``; version 1 holds it; versions 2 and 3
    passed a validation against version 1. Returns (this client, its store, another client)."""
    store = _Interleaved(db)
    mine, other = RegistryService(store), RegistryService(SqlRegistryStore(db))
    mine.create_registered_model(name)
    for _ in range(3):
        mine.create_model_version(name, "s3://bucket/model")
    mine.set_gate(name, [rule], **target)
    mine.promote(name, 1, **target)  # nothing holds the target yet: no baseline to compare with
    for version in (2, 3):
        mine.log_validation(name, version, [RuleResult(rule, 0.9, 0.9)], baseline_version=1)
    return mine, store, other


@pytest.mark.parametrize("how", ["set_registered_model_alias", "promote"])
def test_an_alias_moved_between_the_gate_check_and_the_move_is_not_a_baseline_any_more(db: Database, how: str) -> None:
    rule = "roc_auc >= baseline - 0.005"
    mine, store, other = _race(db, "race", rule, alias="champion")
    store.between = lambda: other.set_registered_model_alias("race", "champion", 3, reason="meanwhile")

    def move() -> None:
        if how == "promote":
            mine.promote("race", 2, alias="champion")
        else:
            mine.set_registered_model_alias("race", "champion", 2)

    with pytest.raises(GateRefused, match="version 2 was validated against version 1, but version 3 holds 'champion'"):
        move()
    assert mine.get_model_version_by_alias("race", "champion").version == 3
    assert [(e.from_version, e.to_version) for e in mine.get_registry_events("race")] == [(None, 1), (1, 3)]
    # Validated against version 3 too, version 2 passes the check; another client puts version 1 back before the
    # move: the store refuses the move, the service checks again against version 1, and version 2 goes through.
    mine.log_validation("race", 2, [RuleResult(rule, 0.9, 0.9)], baseline_version=3)
    store.between = lambda: other.promote("race", 1, alias="champion", force=True, reason="back")
    move()
    events = [(e.from_version, e.to_version) for e in mine.get_registry_events("race")]
    assert events == [(None, 1), (1, 3), (3, 1), (1, 2)]


def test_a_stage_entered_between_the_gate_check_and_the_transition_is_not_a_baseline_any_more(db: Database) -> None:
    mine, store, other = _race(db, "race-stage", "accuracy >= baseline - 0.01", stage="Production")
    store.between = lambda: other.transition_model_version_stage("race-stage", 3, "Production")
    with pytest.raises(GateRefused, match="validated against version 1, but version 3 holds 'Production'"):
        mine.transition_model_version_stage("race-stage", 2, "Production")
    assert mine.get_model_version("race-stage", 2).current_stage.value == "None"


def test_the_store_refuses_a_move_whose_gate_was_checked_against_another_holder(db: Database) -> None:
    mine, store, _ = _race(db, "cas", "roc_auc >= baseline", alias="champion")
    with pytest.raises(
        HolderChanged, match="alias 'champion' of model 'cas' moved from version 3 to version 1"
    ) as info:
        store.set_registered_model_alias("cas", "champion", 2, "ana", None, expected_holders={("alias", "champion"): 3})
    assert info.value.error_code == "INVALID_STATE"
    with pytest.raises(HolderChanged, match="stage 'Production' of model 'cas' moved from version 1 to no version"):
        store.promote("cas", 2, None, None, False, "ana", None, expected_holders={("stage", "Production"): 1})
    assert mine.get_model_version_by_alias("cas", "champion").version == 1
