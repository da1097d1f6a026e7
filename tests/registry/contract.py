"""The registry contract: what every implementation of the registry service surface must do.

Subclass :class:`RegistryContract` in a test module and provide ``registry`` (the service under test)
and ``tracking`` (a tracking service on the same store, to make runs and logged models):
``test_service.py`` runs it on the local service (SQLite and PostgreSQL), ``test_remote.py`` on the
HTTP client against the in-process server. Tests use only the public surface and error classes.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from dockyard.core.errors import (
    AliasNotFound,
    InvalidFilter,
    InvalidParameter,
    ModelVersionNotFound,
    RegisteredModelAlreadyExists,
    RegisteredModelNotFound,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from dockyard.models.digest import DIGEST_TAG, FILES_TAG, directory_files, manifest_digest
from dockyard.registry.entities import ModelVersionStatus, RegistryEventKind, Stage

PROMPT = "mlflow.prompt.is_prompt"
NOT_PROMPT = f"tag.`{PROMPT}` != 'true'"


def _versions(registry: Any, name: str, n: int, source: str = "s3://bucket/model") -> list[int]:
    return [registry.create_model_version(name, source).version for _ in range(n)]


def _moves(registry: Any, name: str, alias: str | None = None) -> list[tuple[str, int | None, int | None]]:
    events = registry.get_registry_events(name, alias=alias)
    return [(e.kind.value, e.from_version, e.to_version) for e in events]


class RegistryContract:
    # ------------------------------------------------------------------ registered models

    def test_create_and_get_registered_model(self, registry: Any) -> None:
        created = registry.create_registered_model("churn", tags={"team": "risk"}, description="d")
        assert (created.name, created.description, created.tags) == ("churn", "d", {"team": "risk"})
        assert created.creation_timestamp > 0 and created.last_updated_timestamp >= created.creation_timestamp
        assert created.latest_versions == () and created.aliases == {}
        assert registry.get_registered_model("churn") == created

    def test_duplicate_and_missing_registered_model(self, registry: Any) -> None:
        registry.create_registered_model("dup")
        with pytest.raises(RegisteredModelAlreadyExists, match="dup") as info:
            registry.create_registered_model("dup")
        assert isinstance(info.value, ResourceAlreadyExists)
        assert (info.value.http_status, info.value.error_code) == (400, "RESOURCE_ALREADY_EXISTS")
        with pytest.raises(RegisteredModelNotFound) as missing:
            registry.get_registered_model("nope")
        assert (missing.value.http_status, missing.value.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")

    @pytest.mark.parametrize("name", ["", "  ", "a/b", "a:b", "x" * 257])
    def test_invalid_model_name(self, registry: Any, name: str) -> None:
        with pytest.raises(InvalidParameter):
            registry.create_registered_model(name)

    def test_rename_moves_versions_aliases_and_history(self, registry: Any) -> None:
        registry.create_registered_model("old")
        _versions(registry, "old", 2)
        registry.set_registered_model_alias("old", "champion", 2)
        registry.create_registered_model("taken")
        with pytest.raises(RegisteredModelAlreadyExists):
            registry.rename_registered_model("old", "taken")
        renamed = registry.rename_registered_model("old", "new")
        assert renamed.name == "new" and renamed.aliases == {"champion": 2}
        assert registry.get_model_version("new", 1).name == "new"
        assert registry.get_model_version_by_alias("new", "champion").version == 2
        assert _moves(registry, "new") == [("alias_set", None, 2)]
        with pytest.raises(RegisteredModelNotFound):
            registry.get_registered_model("old")

    def test_update_and_delete_registered_model(self, registry: Any) -> None:
        registry.create_registered_model("m", description="before")
        assert registry.update_registered_model("m", description="after").description == "after"
        _versions(registry, "m", 2)
        registry.set_registered_model_alias("m", "prod", 1)
        registry.delete_registered_model("m")
        with pytest.raises(RegisteredModelNotFound):
            registry.get_registered_model("m")
        with pytest.raises(RegisteredModelNotFound):
            registry.get_model_version("m", 1)
        registry.create_registered_model("m")  # a new model of the same name starts afresh
        assert registry.create_model_version("m", "/p").version == 1
        assert list(registry.get_registry_events("m")) == []
        with pytest.raises(RegisteredModelNotFound):
            registry.delete_registered_model("never")

    def test_registered_model_tags(self, registry: Any) -> None:
        registry.create_registered_model("m", tags={"a": "1"})
        registry.set_registered_model_tag("m", "a", "2")
        registry.set_registered_model_tag("m", "b", 3)
        assert registry.get_registered_model("m").tags == {"a": "2", "b": "3"}
        registry.delete_registered_model_tag("m", "a")
        registry.delete_registered_model_tag("m", "not-set")  # nothing to delete: not an error (MLflow)
        assert registry.get_registered_model("m").tags == {"b": "3"}
        with pytest.raises(RegisteredModelNotFound):
            registry.set_registered_model_tag("nope", "a", "1")
        with pytest.raises(InvalidParameter):
            registry.set_registered_model_tag("m", "../x", "1")

    # ------------------------------------------------------------------ versions

    def test_create_versions_from_a_run(self, registry: Any, tracking: Any) -> None:
        run = tracking.create_run("0", user_id="tester")
        registry.create_registered_model("m")
        mv = registry.create_model_version(
            "m", f"runs:/{run.info.run_id}/model", tags={"k": "v"}, description="first", run_link="http://x"
        )
        assert (mv.name, mv.version, mv.run_id, mv.source) == (
            "m",
            1,
            run.info.run_id,
            f"runs:/{run.info.run_id}/model",
        )
        assert (mv.status, mv.current_stage, mv.tags, mv.description) == (
            ModelVersionStatus.READY,
            Stage.NONE,
            {"k": "v"},
            "first",
        )
        assert mv.run_link == "http://x"
        assert registry.get_model_version("m", "1") == mv
        assert registry.get_model_version_download_uri("m", 1) == f"{run.info.artifact_uri}/model"
        assert registry.create_model_version("m", "/data/model").version == 2
        assert registry.get_model_version_download_uri("m", 2) == "/data/model"
        # A run this store does not know (logged on another server) is kept as given, as MLflow keeps it;
        # a run_id other than the source's is refused with MLflow's message.
        ghost = registry.create_model_version("m", "runs:/0123456789abcdef/model", run_id="0123456789abcdef")
        assert (ghost.version, ghost.run_id) == (3, "0123456789abcdef")
        with pytest.raises(InvalidParameter, match="The run_id request parameter must identify the resource"):
            registry.create_model_version("m", "runs:/0123456789abcdef/model", run_id=run.info.run_id)
        assert registry.get_registered_model("m").latest_versions[0].version == 3

    def test_create_version_from_a_logged_model(self, registry: Any, tracking: Any) -> None:
        run = tracking.create_run("0", user_id="tester")
        logged = tracking.create_logged_model("0", name="model", source_run_id=run.info.run_id)
        registry.create_registered_model("m")
        mv = registry.create_model_version("m", f"models:/{logged.model_id}", model_id=logged.model_id)
        assert (mv.model_id, mv.run_id) == (logged.model_id, run.info.run_id)
        assert registry.get_model_version_download_uri("m", 1) == logged.artifact_location
        implied = registry.create_model_version("m", f"models:/{logged.model_id}")
        assert implied.model_id == logged.model_id
        copied = registry.create_model_version("m", "models:/m/1")
        assert registry.get_model_version_download_uri("m", copied.version) == logged.artifact_location

    def test_version_errors(self, registry: Any) -> None:
        registry.create_registered_model("m")
        with pytest.raises(RegisteredModelNotFound):
            registry.create_model_version("nope", "/p")
        with pytest.raises(InvalidParameter):
            registry.create_model_version("m", "")
        with pytest.raises(ModelVersionNotFound) as info:
            registry.get_model_version("m", 1)
        assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        for bad in ("abc", "0", -1):
            with pytest.raises(InvalidParameter):
                registry.get_model_version("m", bad)

    def test_update_version_and_tags(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 1)
        assert registry.update_model_version("m", 1, description="better").description == "better"
        registry.set_model_version_tag("m", 1, "k", "v")
        registry.set_model_version_tag("m", "1", "k2", "v2")
        registry.delete_model_version_tag("m", 1, "k")
        registry.delete_model_version_tag("m", 1, "not-set")
        assert registry.get_model_version("m", 1).tags == {"k2": "v2"}
        with pytest.raises(ModelVersionNotFound):
            registry.set_model_version_tag("m", 9, "k", "v")

    def test_a_new_version_records_the_digest_of_its_model_files(self, registry: Any, tmp_path: Path) -> None:
        model = tmp_path / "model"
        (model / "data").mkdir(parents=True)
        (model / "MLmodel").write_text("flavors: {}\n")
        (model / "data" / "model.pth").write_bytes(b"weights")
        registry.create_registered_model("m")
        created = registry.create_model_version("m", str(model), tags={"team": "risk"})
        files = directory_files(model)
        assert created.tags.keys() == {"team", DIGEST_TAG, FILES_TAG}
        assert created.tags[DIGEST_TAG] == manifest_digest(files)
        assert json.loads(created.tags[FILES_TAG]) == files
        assert registry.get_model_version("m", 1).tags == created.tags
        # A source that is not a model directory (no MLmodel at its top) records nothing.
        assert registry.create_model_version("m", str(tmp_path)).tags == {}

    def test_reserved_dockyard_tags_cannot_be_set_or_deleted(self, registry: Any) -> None:
        registry.create_registered_model("m")
        with pytest.raises(InvalidParameter, match=r"model version tag 'dockyard\.model_digest' is reserved"):
            registry.create_model_version("m", "s3://bucket/model", tags={DIGEST_TAG: "sha256:" + "0" * 64})
        _versions(registry, "m", 1)
        with pytest.raises(InvalidParameter, match=r"'dockyard\.model_digest' is reserved"):
            registry.set_model_version_tag("m", 1, DIGEST_TAG, "sha256:" + "0" * 64)
        with pytest.raises(InvalidParameter, match=r"'dockyard\.model_files' is reserved"):
            registry.delete_model_version_tag("m", 1, FILES_TAG)
        with pytest.raises(InvalidParameter, match=r"'dockyard\.anything' is reserved"):
            registry.set_model_version_tag("m", 1, "dockyard.anything", "x")
        assert registry.get_model_version("m", 1).tags == {}

    def test_deleted_version_numbers_are_not_reused(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 3)
        registry.set_registered_model_alias("m", "champion", 3, user_id="ana")
        registry.set_registered_model_alias("m", "shadow", 3, user_id="ana")
        registry.delete_model_version("m", 3, user_id="bob")
        registry.delete_model_version("m", 2)
        with pytest.raises(ModelVersionNotFound):
            registry.get_model_version("m", 3)
        with pytest.raises(ModelVersionNotFound):
            registry.delete_model_version("m", 3)
        with pytest.raises(ModelVersionNotFound):
            registry.set_registered_model_alias("m", "champion", 3)  # an alias on a deleted version
        assert registry.create_model_version("m", "/p").version == 4
        assert registry.get_registered_model("m").aliases == {}
        with pytest.raises(AliasNotFound):
            registry.get_model_version_by_alias("m", "champion")
        deleted = [e for e in registry.get_registry_events("m") if e.kind is RegistryEventKind.ALIAS_DELETED]
        assert [(e.alias, e.from_version, e.to_version, e.user_id) for e in deleted] == [
            ("champion", 3, None, "bob"),
            ("shadow", 3, None, "bob"),
        ]
        assert [v.version for v in registry.search_model_versions("name = 'm'")] == [4, 1]

    # ------------------------------------------------------------------ stages

    def test_transition_stages(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 3)
        assert registry.transition_model_version_stage("m", 1, "production").current_stage is Stage.PRODUCTION
        registry.transition_model_version_stage("m", 2, "STAGING")
        moved = registry.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
        assert moved.current_stage is Stage.PRODUCTION
        assert registry.get_model_version("m", 1).current_stage is Stage.ARCHIVED
        assert registry.get_model_version("m", 2).current_stage is Stage.STAGING
        with pytest.raises(InvalidParameter):
            registry.transition_model_version_stage("m", 1, "Shipping")
        with pytest.raises(InvalidParameter):
            registry.transition_model_version_stage("m", 1, "Archived", archive_existing_versions=True)
        with pytest.raises(ModelVersionNotFound):
            registry.transition_model_version_stage("m", 7, "Staging")
        stages = [
            (e.to_version, e.from_stage, e.stage, e.from_version)
            for e in registry.get_registry_events("m")
            if e.kind is RegistryEventKind.STAGE_TRANSITION
        ]
        assert stages == [
            (1, Stage.NONE, Stage.PRODUCTION, None),
            (2, Stage.NONE, Stage.STAGING, None),
            (1, Stage.PRODUCTION, Stage.ARCHIVED, None),
            (3, Stage.NONE, Stage.PRODUCTION, 1),
        ]

    def test_latest_versions(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 5)
        registry.transition_model_version_stage("m", 1, "Production")
        registry.transition_model_version_stage("m", 2, "Production")
        registry.transition_model_version_stage("m", 3, "Staging")
        registry.delete_model_version("m", 5)
        assert [v.version for v in registry.get_latest_versions("m", ["production"])] == [2]
        assert sorted(v.version for v in registry.get_latest_versions("m", ["Production", "Staging"])) == [2, 3]
        assert sorted(v.version for v in registry.get_latest_versions("m")) == [2, 3, 4]
        assert sorted(v.version for v in registry.get_registered_model("m").latest_versions) == [2, 3, 4]
        assert registry.get_latest_versions("m", ["Archived"]) == []
        with pytest.raises(RegisteredModelNotFound):
            registry.get_latest_versions("nope")
        assert registry.get_model_version_by_alias("m", "latest").version == 4

    # ------------------------------------------------------------------ aliases and history

    def test_aliases(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 2)
        registry.set_registered_model_alias("m", "champion", 1)
        registry.set_registered_model_alias("m", "challenger", "2")
        assert registry.get_model_version_by_alias("m", "champion").version == 1
        assert registry.get_model_version("m", 2).aliases == ("challenger",)
        assert registry.get_registered_model("m").aliases == {"challenger": 2, "champion": 1}
        registry.delete_registered_model_alias("m", "challenger")
        registry.delete_registered_model_alias("m", "challenger")  # already gone: not an error
        with pytest.raises(AliasNotFound) as info:
            registry.get_model_version_by_alias("m", "challenger")
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"  # MLflow's code for a missing alias
        with pytest.raises(ModelVersionNotFound):
            registry.set_registered_model_alias("m", "x", 9)
        with pytest.raises(RegisteredModelNotFound):
            registry.set_registered_model_alias("nope", "x", 1)

    @pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "has space", "dot.ted", ""])
    def test_invalid_alias_names(self, registry: Any, alias: str) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 1)
        with pytest.raises(InvalidParameter):
            registry.set_registered_model_alias("m", alias, 1)
        assert registry.get_registered_model("m").aliases == {}
        assert list(registry.get_registry_events("m")) == []

    def test_alias_history_supports_rollback(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 3)
        for version in (1, 2, 3):
            registry.set_registered_model_alias("m", "champion", version, reason=f"promote {version}", user_id="ana")
        registry.set_registered_model_alias("m", "champion", 3)  # already there: nothing to record
        registry.set_registered_model_alias("m", "shadow", 1)
        assert _moves(registry, "m", alias="champion") == [
            ("alias_set", None, 1),
            ("alias_set", 1, 2),
            ("alias_set", 2, 3),
        ]
        events = list(registry.get_registry_events("m", alias="champion"))
        assert [e.reason for e in events] == ["promote 1", "promote 2", "promote 3"]
        assert {e.user_id for e in events} == {"ana"} and {e.name for e in events} == {"m"}
        assert events[0].timestamp <= events[-1].timestamp
        newest = registry.get_registry_events("m", alias="champion", newest_first=True, max_results=1)
        assert [e.from_version for e in newest] == [2]  # where a rollback would move the alias back to
        assert newest.next_page_token
        rest = registry.get_registry_events(
            "m", alias="champion", newest_first=True, max_results=5, page_token=newest.next_page_token
        )
        assert [e.to_version for e in rest] == [2, 1] and not rest.next_page_token
        registry.delete_registered_model_alias("m", "champion", reason="incident")
        last = registry.get_registry_events("m", newest_first=True, max_results=1)[0]
        assert (last.kind, last.from_version, last.to_version, last.reason) == (
            RegistryEventKind.ALIAS_DELETED,
            3,
            None,
            "incident",
        )
        assert len(registry.get_registry_events("m")) == 5
        with pytest.raises(RegisteredModelNotFound):
            registry.get_registry_events("nope")

    def test_concurrent_alias_moves_leave_a_consistent_history(self, registry: Any) -> None:
        registry.create_registered_model("m")
        _versions(registry, "m", 4)
        errors: list[BaseException] = []

        def mover(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for _ in range(8):
                    registry.set_registered_model_alias("m", "champion", rng.randint(1, 4))
            except BaseException as exc:  # reported below; a thread's exception is otherwise lost
                errors.append(exc)

        threads = [threading.Thread(target=mover, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        chain = _moves(registry, "m", alias="champion")
        assert chain and chain[0][1] is None
        for before, after in itertools.pairwise(chain):
            assert after[1] == before[2]  # each move starts where the previous one left the alias
            assert after[1] != after[2]
        assert registry.get_model_version_by_alias("m", "champion").version == chain[-1][2]

    # ------------------------------------------------------------------ search

    def test_search_registered_models(self, registry: Any) -> None:
        for name in ("alpha", "beta", "gamma"):
            registry.create_registered_model(name, tags={"team": "a" if name != "beta" else "b"})
        registry.create_registered_model("prompt-1", tags={PROMPT: "true"})
        names = [m.name for m in registry.search_registered_models()]
        assert names == ["alpha", "beta", "gamma"]  # prompts are left out unless asked for
        assert [m.name for m in registry.search_registered_models(NOT_PROMPT)] == names
        assert [m.name for m in registry.search_registered_models(f"name LIKE '%a' AND {NOT_PROMPT}")] == [
            "alpha",
            "beta",
            "gamma",
        ]
        assert [m.name for m in registry.search_registered_models("tags.team = 'b'")] == ["beta"]
        assert [m.name for m in registry.search_registered_models(f"tag.`{PROMPT}` = 'true'")] == ["prompt-1"]
        assert [m.name for m in registry.search_registered_models("name ILIKE 'ALP%'")] == ["alpha"]
        assert [m.name for m in registry.search_registered_models("name IN ('beta', 'gamma')")] == ["beta", "gamma"]
        assert [m.name for m in registry.search_registered_models(order_by=["name DESC"])] == names[::-1]
        first = registry.search_registered_models(max_results=2, order_by=["name"])
        assert [m.name for m in first] == ["alpha", "beta"] and first.next_page_token
        rest = registry.search_registered_models(max_results=2, order_by=["name"], page_token=first.next_page_token)
        assert [m.name for m in rest] == ["gamma"] and not rest.next_page_token
        with pytest.raises(InvalidFilter):
            registry.search_registered_models("metrics.x > 1")
        with pytest.raises(InvalidFilter):
            registry.search_registered_models(order_by=["source_path"])
        with pytest.raises(InvalidParameter):
            registry.search_registered_models(max_results=1001)

    def test_search_model_versions(self, registry: Any, tracking: Any) -> None:
        aaa, bbb = (tracking.create_run("0", user_id="tester").info.run_id for _ in range(2))
        registry.create_registered_model("a")
        registry.create_registered_model("b")
        a1 = registry.create_model_version("a", f"runs:/{aaa}/model", tags={"kind": "x"})
        registry.create_model_version("a", "s3://bucket/a2")
        registry.create_model_version("b", f"runs:/{bbb}/model")
        registry.create_model_version("b", f"runs:/{bbb}/other")
        registry.delete_model_version("b", 2)

        def found(filter_string: str | None = None, **kwargs: Any) -> list[tuple[str, int]]:
            return [(v.name, v.version) for v in registry.search_model_versions(filter_string, **kwargs)]

        assert found("name = 'a'", order_by=["version_number"]) == [("a", 1), ("a", 2)]
        assert found(f"run_id IN ('{aaa}', '{bbb}')", order_by=["name"]) == [("a", 1), ("b", 1)]
        assert found("version_number > 1") == [("a", 2)]
        assert found("tags.kind = 'x'") == [("a", 1)]
        assert found("source_path LIKE 's3://%'") == [("a", 2)]
        assert found(f"name = 'a' AND {NOT_PROMPT}", order_by=["version_number DESC"]) == [("a", 2), ("a", 1)]
        assert set(found()) == {("a", 1), ("a", 2), ("b", 1)}
        first = registry.search_model_versions(max_results=2, order_by=["name", "version_number"])
        assert [(v.name, v.version) for v in first] == [("a", 1), ("a", 2)]
        rest = registry.search_model_versions(
            max_results=2, order_by=["name", "version_number"], page_token=first.next_page_token
        )
        assert [(v.name, v.version) for v in rest] == [("b", 1)] and not rest.next_page_token
        assert registry.search_model_versions("name = 'a'", order_by=["version_number"])[0] == a1
        with pytest.raises(InvalidFilter):
            found("version_number = 'one'")
        with pytest.raises(InvalidParameter):
            found(None, page_token="not-a-token")

    def test_errors_are_resource_errors(self, registry: Any) -> None:
        with pytest.raises(ResourceNotFound):
            registry.get_model_version_by_alias("nope", "x")
