"""The registry service: validation and rules over a :class:`~dockyard.registry.store.RegistryStore`.

Both the local backend and the remote HTTP client (:mod:`dockyard.registry.remote`) expose this
surface, and ``tests/registry/contract.py`` checks both. Method names and arguments follow MLflow's
``MlflowClient``, so the server's handlers map REST calls one to one.

Sources of new versions: ``runs:/<run_id>/<path>`` records the run; ``models:/m-<id>`` records the
logged model and, when the service has the tracking service of the same store, the run that logged it
and its artifact location (what ``get_model_version_download_uri`` returns); ``models:/NAME/VERSION``
or ``models:/NAME@ALIAS`` copies that version's location; anything else is kept as given.

Audit: alias moves and stage transitions record who made them: ``user_id`` when given, else the
service's ``default_user()`` (the login name of this process, for a local store).

>>> from dockyard.db import Database
>>> from dockyard.registry.sql_store import SqlRegistryStore
>>> svc = RegistryService(SqlRegistryStore(Database("sqlite://")), default_user=lambda: "ana")
>>> svc.create_registered_model("churn").name
'churn'
>>> svc.create_model_version("churn", "runs:/0123abcd/model").run_id
'0123abcd'
>>> svc.set_registered_model_alias("churn", "champion", 1, reason="first")
>>> [(e.kind.value, e.alias, e.from_version, e.to_version, e.user_id) for e in svc.get_registry_events("churn")]
[('alias_set', 'champion', None, 1, 'ana')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from dockyard.errors import InvalidParameter, ModelVersionNotFound
from dockyard.registry import validation as v
from dockyard.registry.entities import ModelVersion, RegisteredModel, RegistryEvent, Stage
from dockyard.registry.store import RegistryStore
from dockyard.tracking import validation as tv
from dockyard.tracking.context import current_user
from dockyard.tracking.entities import LoggedModel, Page, Run
from dockyard.tracking.search import parse_filter, parse_order_by

MAX_SOURCE_LENGTH = 5000


class TrackingLookup(Protocol):
    """The two tracking calls the registry uses to resolve a version's source."""

    def get_run(self, run_id: str) -> Run: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...


def _order_by(order_by: Sequence[str] | None) -> list[str]:
    if order_by is None:
        return []
    if isinstance(order_by, str) or not all(isinstance(o, str) for o in order_by):
        raise InvalidParameter("order_by must be a list of strings such as ['name DESC']")
    return list(order_by)


def _model_id(model_id: Any) -> str:
    if not isinstance(model_id, str) or not model_id.startswith("m-") or len(model_id) > 40:
        raise InvalidParameter(f"model_id {model_id!r} is not a logged model id (m-<hex>)")
    tv.check_run_id(model_id[2:], "model_id")
    return model_id


class RegistryService:
    """Registered models, versions, tags, aliases, stages and their audit history, validated."""

    def __init__(
        self,
        store: RegistryStore,
        *,
        tracking: TrackingLookup | None = None,
        default_user: Callable[[], str] = current_user,
    ) -> None:
        self.store = store
        self.tracking = tracking
        self.default_user = default_user

    def _user(self, user_id: str | None) -> str:
        return v.check_user(user_id if user_id else self.default_user())

    # ------------------------------------------------------------------ registered models

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self.store.create_registered_model(
            v.check_model_name(name), v.check_tags(tags, "registered model tag"), v.check_description(description)
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(v.check_model_name(name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.store.rename_registered_model(v.check_model_name(name), v.check_model_name(new_name, "new_name"))

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.store.update_registered_model(v.check_model_name(name), v.check_description(description))

    def delete_registered_model(self, name: str) -> None:
        self.store.delete_registered_model(v.check_model_name(name))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.store.set_registered_model_tag(v.check_model_name(name), *v.check_tag(key, value, "registered model tag"))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.store.delete_registered_model_tag(v.check_model_name(name), tv.check_key(key, "registered model tag key"))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        return self.store.search_registered_models(
            parse_filter(filter_string, "registered_models"),
            tv.check_max_results(max_results, v.MAX_SEARCH_MODELS),
            parse_order_by(_order_by(order_by), "registered_models"),
            page_token or None,
        )

    def get_latest_versions(self, name: str, stages: Sequence[str | Stage] | None = None) -> list[ModelVersion]:
        """The highest version in each of ``stages`` (every stage when None or empty)."""
        if isinstance(stages, str):
            raise InvalidParameter("stages must be a list of stage names such as ['Production']")
        return self.store.get_latest_versions(
            v.check_model_name(name), [v.check_stage(s, "stages") for s in stages or ()]
        )

    # ------------------------------------------------------------------ versions

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        model_id: str | None = None,
        run_link: str | None = None,
        user_id: str | None = None,
    ) -> ModelVersion:
        """A new version (status READY) numbered one past the model's highest, deleted ones included."""
        name = v.check_model_name(name)
        if not isinstance(source, str) or not source.strip():
            raise InvalidParameter("Missing value for required parameter 'source'")
        if "\x00" in source or len(source) > MAX_SOURCE_LENGTH:
            raise InvalidParameter(f"source {source[:80]!r} is not a valid model location")
        run_id = tv.check_run_id(run_id) if run_id else None
        model_id = _model_id(model_id) if model_id else None
        storage, run_id, model_id = self._resolve_source(source, run_id, model_id)
        return self.store.create_model_version(
            name,
            source,
            storage,
            run_id,
            v.check_tags(tags, "model version tag"),
            v.check_optional_text(run_link, "run_link", MAX_SOURCE_LENGTH),
            v.check_description(description),
            v.check_user(user_id) if user_id else None,
            model_id,
        )

    def _resolve_source(
        self, source: str, run_id: str | None, model_id: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """(storage location, run id, logged model id) for a new version's source."""
        storage: str | None = None
        if source.startswith("runs:/"):
            source_run, _, path = source[len("runs:/") :].partition("/")
            source_run = tv.check_run_id(source_run, "source run id")
            run_id = run_id or source_run
            if self.tracking is not None:
                root = self.tracking.get_run(source_run).info.artifact_uri.rstrip("/")
                storage = f"{root}/{path.strip('/')}" if path.strip("/") else root
        elif source.startswith("models:/m-"):
            model_id = model_id or _model_id(source[len("models:/") :].rstrip("/"))
        elif source.startswith("models:/"):
            storage = self._version_location(source[len("models:/") :])
        if model_id and self.tracking is not None:
            logged = self.tracking.get_logged_model(model_id)
            run_id = run_id or logged.source_run_id
            if source.startswith("models:/m-"):
                storage = logged.artifact_location
        return storage, run_id, model_id

    def _version_location(self, rest: str) -> str:
        """Where ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` lives (copying a registered version)."""
        if "@" in rest:
            name, _, alias = rest.partition("@")
            found = self.get_model_version_by_alias(name, alias)
            return self.get_model_version_download_uri(found.name, found.version)
        name, _, version = rest.rstrip("/").partition("/")
        if not version.isdigit():
            raise InvalidParameter(
                f"source 'models:/{rest}': expected models:/NAME/VERSION, models:/NAME@ALIAS or models:/m-ID"
            )
        return self.get_model_version_download_uri(name, version)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.store.get_model_version(v.check_model_name(name), v.check_version(version))

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        return self.store.update_model_version(
            v.check_model_name(name), v.check_version(version), v.check_description(description)
        )

    def delete_model_version(self, name: str, version: int | str, user_id: str | None = None) -> None:
        """Soft delete; the aliases on the version are removed, each with an audit event."""
        self.store.delete_model_version(v.check_model_name(name), v.check_version(version), self._user(user_id))

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.store.set_model_version_tag(
            v.check_model_name(name), v.check_version(version), *v.check_tag(key, value, "model version tag")
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.store.delete_model_version_tag(
            v.check_model_name(name), v.check_version(version), tv.check_key(key, "model version tag key")
        )

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str | Stage,
        archive_existing_versions: bool = False,
        reason: str | None = None,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage; ``archive_existing_versions`` (Staging and Production only) moves
        the versions already there to Archived. Each change is an audit event."""
        target = v.check_stage(stage)
        if not isinstance(archive_existing_versions, bool):
            raise InvalidParameter("archive_existing_versions must be true or false")
        if archive_existing_versions and not target.is_active:
            raise InvalidParameter(
                f"Model version transition cannot archive existing model versions because {target.value!r} "
                "is not an active stage (Staging or Production)"
            )
        return self.store.transition_model_version_stage(
            v.check_model_name(name),
            v.check_version(version),
            target,
            archive_existing_versions,
            self._user(user_id),
            v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH),
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        return self.store.search_model_versions(
            parse_filter(filter_string, "model_versions"),
            tv.check_max_results(max_results, v.MAX_SEARCH_VERSIONS),
            parse_order_by(_order_by(order_by), "model_versions"),
            page_token or None,
        )

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        return self.store.get_model_version_download_uri(v.check_model_name(name), v.check_version(version))

    # ------------------------------------------------------------------ aliases and history

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it from where it was), recording who, when and why."""
        self.store.set_registered_model_alias(
            v.check_model_name(name),
            v.check_alias(alias),
            v.check_version(version),
            self._user(user_id),
            v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH),
        )

    def delete_registered_model_alias(
        self, name: str, alias: str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        self.store.delete_registered_model_alias(
            v.check_model_name(name),
            v.check_alias(alias, for_write=False),
            self._user(user_id),
            v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH),
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points to; ``latest`` (any case) is the highest live version."""
        name = v.check_model_name(name)
        alias = v.check_alias(alias, for_write=False)
        if alias.lower() == v.LATEST:
            versions = self.store.get_latest_versions(name, [])
            if not versions:
                raise ModelVersionNotFound(f"Latest version not found for model {name}.")
            return max(versions, key=lambda mv: mv.version)
        return self.store.get_model_version_by_alias(name, alias)

    def get_registry_events(
        self,
        name: str,
        alias: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> Page[RegistryEvent]:
        """The model's audit history (alias moves and stage transitions), oldest first unless
        ``newest_first``; ``alias`` keeps only that alias's events. It follows renames."""
        return self.store.get_registry_events(
            v.check_model_name(name),
            None if alias is None else v.check_alias(alias, for_write=False),
            tv.check_max_results(max_results, v.MAX_EVENTS_PAGE),
            page_token or None,
            bool(newest_first),
        )
