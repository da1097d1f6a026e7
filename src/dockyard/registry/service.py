"""The registry service: validation and rules over a :class:`~dockyard.registry.store.RegistryStore`.

Both the local backend and the remote HTTP client (:mod:`dockyard.registry.remote`) expose this
surface, and ``tests/registry/contract.py`` checks both. Method names and arguments follow MLflow's
``MlflowClient``, so the server's handlers map REST calls one to one.

Sources of new versions are resolved by :mod:`dockyard.registry.sources`. A new version records the
content digest of its files (:mod:`dockyard.registry.digests`) in reserved ``dockyard.`` tags, which
clients can neither set nor delete; ``models:/`` loads verify it.

Audit: alias moves and stage transitions record who made them: ``user_id`` when given, else the
service's ``default_user()`` (the login name of this process, for a local store). ``promote`` and
``rollback`` are one transaction each (see :mod:`dockyard.registry.sql_aliases` for what a rollback
goes back to). Gates and validation records are :mod:`dockyard.registry.gate_service`'s; it checks every move.

Events: after a write commits, the service hands its events to the :class:`~dockyard.registry.webhooks.
WebhookDispatcher`, which delivers them to the subscribed webhooks from a background thread. Webhook
secrets are encrypted before they reach the store, and never returned.

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
from typing import Any

from dockyard.core import validation as cv
from dockyard.core.config import Settings
from dockyard.core.errors import InvalidParameter, ModelVersionNotFound
from dockyard.core.identity import current_user
from dockyard.core.paging import Page
from dockyard.core.search import parse_filter, parse_order_by
from dockyard.models.digest import RESERVED_TAG_PREFIX
from dockyard.registry import gates as g
from dockyard.registry import validation as v
from dockyard.registry.digests import StoreOpener, version_digest_tags
from dockyard.registry.entities import (
    WEBHOOK_EVENTS,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    Stage,
    Webhook,
    WebhookDelivery,
)
from dockyard.registry.gate_service import GateService
from dockyard.registry.lineage import Lineage, build_lineage
from dockyard.registry.sources import TrackingLookup, check_model_id, resolve_source
from dockyard.registry.store import RegistryStore
from dockyard.registry.webhook_secrets import is_sealed
from dockyard.registry.webhooks import TestResult, WebhookDispatcher, event_payload
from dockyard.tracking import validation as tv

MAX_SOURCE_LENGTH = 5000


def _order_by(order_by: Sequence[str] | None) -> list[str]:
    if order_by is None:
        return []
    if isinstance(order_by, str) or not all(isinstance(o, str) for o in order_by):
        raise InvalidParameter("order_by must be a list of strings such as ['name DESC']")
    return list(order_by)


def _check_unreserved(key: str) -> str:
    """A model-version tag key a client may write: ``dockyard.`` tags (the content digest) are the registry's."""
    if key.startswith(RESERVED_TAG_PREFIX):
        raise InvalidParameter(
            f"model version tag {key!r} is reserved: tags starting with {RESERVED_TAG_PREFIX!r} are written by "
            "the registry (the digest of the version's files) and cannot be set or deleted"
        )
    return key


class RegistryService:
    """Registered models, versions, tags, aliases, stages and their audit history, validated."""

    def __init__(
        self,
        store: RegistryStore,
        *,
        tracking: TrackingLookup | None = None,
        default_user: Callable[[], str] = current_user,
        webhooks: WebhookDispatcher | None = None,
        settings: Settings | None = None,
        open_artifacts: StoreOpener | None = None,
    ) -> None:
        """``settings``: ``webhook_allowed_hosts`` and ``secret_key`` for the webhook dispatcher (when
        ``webhooks`` is not given)."""
        self.store = store
        self.tracking = tracking
        self.default_user = default_user
        # How create_model_version reads a version's files to record their digest (None: by URI scheme;
        # a server proxying artifacts passes digests.proxied_store_opener).
        self.open_artifacts = open_artifacts
        self.webhooks = webhooks or WebhookDispatcher(
            store.webhooks,
            allowed_hosts=settings.webhook_allowed_hosts if settings else (),
            secret_key=settings.secret_key if settings else None,
        )
        self._gates = GateService(store, self._user)

    def _user(self, user_id: str | None) -> str:
        return v.check_user(user_id if user_id else self.default_user())

    def _publish(self, events: Sequence[RegistryEvent]) -> None:
        for event in events:
            self.webhooks.publish(*event_payload(event))

    def close(self) -> None:
        """Let queued webhook deliveries finish (up to the dispatcher's ``drain_seconds``)."""
        self.webhooks.close()

    # ------------------------------------------------------------------ registered models

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        model = self.store.create_registered_model(
            v.check_model_name(name), v.check_tags(tags, "registered model tag"), v.check_description(description)
        )
        data = {"name": model.name, "tags": model.tags, "description": model.description}
        self.webhooks.publish("registered_model.created", data)
        return model

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
        self.store.delete_registered_model_tag(v.check_model_name(name), cv.check_key(key, "registered model tag key"))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        return self.store.search_registered_models(
            parse_filter(filter_string, "registered_models"),
            cv.check_max_results(max_results, v.MAX_SEARCH_MODELS),
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
        model_id = check_model_id(model_id) if model_id else None
        checked_tags = v.check_tags(tags, "model version tag")
        for key in checked_tags:
            _check_unreserved(key)
        storage, run_id, model_id = resolve_source(self, self.tracking, source, run_id, model_id)
        # The files as registered: a models:/ load refuses them once they change. runs:/ and models:/
        # sources the registry could not resolve (no tracking store) have nothing to read.
        location = storage or (None if source.startswith(("runs:/", "models:/")) else source)
        if self.open_artifacts is None:
            digest = version_digest_tags(location)
        else:
            digest = version_digest_tags(location, self.open_artifacts)
        created = self.store.create_model_version(
            name,
            source,
            storage,
            run_id,
            {**checked_tags, **digest},
            v.check_optional_text(run_link, "run_link", MAX_SOURCE_LENGTH),
            v.check_description(description),
            v.check_user(user_id) if user_id else None,
            model_id,
        )
        data = {
            "name": created.name,
            "version": str(created.version),
            "source": created.source,
            "run_id": created.run_id,
            "model_id": created.model_id,
            "tags": created.tags,
            "description": created.description,
            "user_id": created.user_id,
        }
        self.webhooks.publish("model_version.created", data)
        return created

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.store.get_model_version(v.check_model_name(name), v.check_version(version))

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        return self.store.update_model_version(
            v.check_model_name(name), v.check_version(version), v.check_description(description)
        )

    def delete_model_version(self, name: str, version: int | str, user_id: str | None = None) -> None:
        """Soft delete; the aliases on the version are removed, each with an audit event."""
        self._publish(
            self.store.delete_model_version(v.check_model_name(name), v.check_version(version), self._user(user_id))
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        name, number, (key, text) = (
            v.check_model_name(name),
            v.check_version(version),
            v.check_tag(key, value, "model version tag"),
        )
        _check_unreserved(key)
        self.store.set_model_version_tag(name, number, key, text)
        self.webhooks.publish(
            "model_version_tag.set", {"name": name, "version": str(number), "key": key, "value": text}
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        name, number = v.check_model_name(name), v.check_version(version)
        key = _check_unreserved(cv.check_key(key, "model version tag key"))
        self.store.delete_model_version_tag(name, number, key)
        self.webhooks.publish("model_version_tag.deleted", {"name": name, "version": str(number), "key": key})

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
        name, number = v.check_model_name(name), v.check_version(version)
        reason = v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH)
        moved, events = self._gates.gated(
            name,
            number,
            None,
            target,
            False,
            reason,
            lambda why, holders: self.store.transition_model_version_stage(
                name, number, target, archive_existing_versions, self._user(user_id), why, expected_holders=holders
            ),
        )
        self._publish(events)
        return moved

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        return self.store.search_model_versions(
            parse_filter(filter_string, "model_versions"),
            cv.check_max_results(max_results, v.MAX_SEARCH_VERSIONS),
            parse_order_by(_order_by(order_by), "model_versions"),
            page_token or None,
        )

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        return self.store.get_model_version_download_uri(v.check_model_name(name), v.check_version(version))

    # ------------------------------------------------------------------ aliases and history

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it from where it was), recording who, when and why. A gate on
        the alias refuses a version without a passing validation (:class:`GateRefused`)."""
        name, alias, number = v.check_model_name(name), v.check_alias(alias), v.check_version(version)
        reason = v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH)
        events = self._gates.gated(
            name,
            number,
            alias,
            None,
            False,
            reason,
            lambda why, holders: self.store.set_registered_model_alias(
                name, alias, number, self._user(user_id), why, expected_holders=holders
            ),
        )
        self._publish(events)

    def delete_registered_model_alias(
        self, name: str, alias: str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        events = self.store.delete_registered_model_alias(
            v.check_model_name(name),
            v.check_alias(alias, for_write=False),
            self._user(user_id),
            v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH),
        )
        self._publish(events)

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
            cv.check_max_results(max_results, v.MAX_EVENTS_PAGE),
            page_token or None,
            bool(newest_first),
        )

    # ------------------------------------------------------------------ promotion, rollback, lineage

    def promote(
        self,
        name: str,
        version: int | str,
        alias: str | None = None,
        stage: str | Stage | None = None,
        reason: str | None = None,
        user_id: str | None = None,
        archive_existing: bool = False,
        force: bool = False,
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` and/or move it to ``stage``, in one transaction; a version that
        is deleted or whose status is not READY is refused with nothing changed, and so is one a gate
        refuses unless ``force`` (which needs a ``reason``; the audit event records the rules it skipped)."""
        if alias is None and stage is None:
            raise InvalidParameter("promote needs an alias, a stage, or both")
        target = None if stage is None else v.check_stage(stage)
        if not isinstance(archive_existing, bool):
            raise InvalidParameter("archive_existing must be true or false")
        if not isinstance(force, bool):
            raise InvalidParameter("force must be true or false")
        if archive_existing and (target is None or not target.is_active):
            raise InvalidParameter("archive_existing needs a stage of Staging or Production")
        name, number = v.check_model_name(name), v.check_version(version)
        checked_alias = None if alias is None else v.check_alias(alias)
        reason = v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH)
        if force and not (reason and reason.strip()):
            raise InvalidParameter("reason: a forced promotion needs a reason (it is written to the audit history)")
        promoted, events = self._gates.gated(
            name,
            number,
            checked_alias,
            target,
            force,
            reason,
            lambda why, holders: self.store.promote(
                name,
                number,
                checked_alias,
                target,
                archive_existing,
                self._user(user_id),
                why,
                expected_holders=holders,
            ),
        )
        self._publish(events)
        return promoted

    def rollback(self, name: str, alias: str, reason: str | None = None, user_id: str | None = None) -> ModelVersion:
        """Point ``alias`` back at the version that held it before its newest move not yet rolled back;
        returns that version. :class:`~dockyard.core.errors.NothingToRollBack` when there is none."""
        restored, events = self.store.rollback(
            v.check_model_name(name),
            v.check_alias(alias),
            self._user(user_id),
            v.check_optional_text(reason, "reason", v.MAX_DESCRIPTION_LENGTH),
        )
        self._publish(events)
        return restored

    def get_model_version_lineage(self, name: str, version: int | str) -> Lineage:
        """The version's logged model, run, datasets, git commit and parent runs (see registry.lineage)."""
        if self.tracking is None:
            raise InvalidParameter("this registry has no tracking store to read lineage from")
        return build_lineage(self, self.tracking, v.check_model_name(name), v.check_version(version))

    # ------------------------------------------------------------------ gates and validations (see GateService)

    def check_gate(
        self, name: str, version: int | str, alias: str | None = None, stage: str | Stage | None = None
    ) -> g.GateCheck:
        return self._gates.check_gate(name, version, alias, stage)

    def set_gate(
        self,
        name: str,
        rules: Sequence[str],
        alias: str | None = None,
        stage: str | Stage | None = None,
        user_id: str | None = None,
    ) -> g.Gate:
        return self._gates.set_gate(name, rules, alias, stage, user_id)

    def get_gates(self, name: str) -> list[g.Gate]:
        return self._gates.get_gates(name)

    def delete_gate(self, name: str, alias: str | None = None, stage: str | Stage | None = None) -> None:
        self._gates.delete_gate(name, alias, stage)

    def log_validation(
        self,
        name: str,
        version: int | str,
        results: Sequence[g.RuleResult],
        baseline_version: int | str | None = None,
        data_digest: str | None = None,
        metrics: dict[str, float] | None = None,
        report_uri: str | None = None,
        user_id: str | None = None,
    ) -> g.Validation:
        return self._gates.log_validation(
            name, version, results, baseline_version, data_digest, metrics, report_uri, user_id
        )

    def list_validations(
        self, name: str, version: int | str | None = None, max_results: int = 100
    ) -> list[g.Validation]:
        return self._gates.list_validations(name, version, max_results)

    def report_drift(
        self,
        name: str,
        version: int | str,
        drifted: Sequence[str] = (),
        failed_rules: Sequence[str] = (),
        metrics: dict[str, float] | None = None,
        run_id: str | None = None,
    ) -> None:
        """Tell the webhooks that monitoring found drift (``drifted`` columns) or ``failed_rules`` on a version
        (the ``model_version.drift_detected`` event); stores nothing."""
        data = self._gates.drift_event(name, version, drifted, failed_rules, metrics, run_id)
        self.webhooks.publish("model_version.drift_detected", data)

    # ------------------------------------------------------------------ webhooks

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        secret: str | None = None,
        status: str = "ACTIVE",
    ) -> Webhook:
        checked_name = v.check_model_name(name)
        checked_url = v.check_webhook_url(url, self.webhooks.allowed_hosts)
        checked_events = v.check_webhook_events(events, WEBHOOK_EVENTS)
        checked_description = v.check_description(description)
        checked_secret = v.check_optional_text(secret, "secret", 1000)
        checked_status = v.check_webhook_status(status)
        created = self.store.webhooks.create_webhook(
            checked_name,
            checked_url,
            checked_events,
            checked_description,
            self.webhooks.secrets.seal(checked_secret),
            checked_status,
        )
        self.webhooks.invalidate()
        return created

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self.store.webhooks.get_webhook(cv.check_string(webhook_id, "webhook_id", 40, allow_empty=False))

    def list_webhooks(self, max_results: int = 100, page_token: str | None = None) -> Page[Webhook]:
        return self.store.webhooks.list_webhooks(
            cv.check_max_results(max_results, v.MAX_WEBHOOKS_PAGE), page_token or None
        )

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        description: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        """Change the fields given (None: unchanged; ``secret=""`` removes the secret). A secret stored in
        plaintext by an older version is encrypted by any update."""
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = v.check_model_name(name)
        if description is not None:
            changes["description"] = v.check_description(description)
        if url is not None:
            changes["url"] = v.check_webhook_url(url, self.webhooks.allowed_hosts)
        if events is not None:
            changes["events"] = v.check_webhook_events(events, WEBHOOK_EVENTS)
        new_secret = None if secret is None else v.check_optional_text(secret, "secret", 1000)
        if status is not None:
            changes["status"] = v.check_webhook_status(status)
        hook_id = self.get_webhook(webhook_id).webhook_id
        if secret is not None:
            changes["secret"] = self.webhooks.secrets.seal(new_secret)
        elif self.webhooks.secrets.available():
            stored = self.store.webhooks.get_secret(hook_id)
            if stored and not is_sealed(stored):
                changes["secret"] = self.webhooks.secrets.seal(stored)
        updated = self.store.webhooks.update_webhook(hook_id, changes)
        self.webhooks.invalidate()
        return updated

    def delete_webhook(self, webhook_id: str) -> None:
        self.store.webhooks.delete_webhook(self.get_webhook(webhook_id).webhook_id)
        self.webhooks.invalidate()

    def test_webhook(self, webhook_id: str, event: str | None = None) -> TestResult:
        """Send one sample ``event`` (default: the webhook's first) now, without retries."""
        if event is not None:
            event = v.check_webhook_events([event], WEBHOOK_EVENTS)[0]
        return self.webhooks.test(self.get_webhook(webhook_id).webhook_id, event)

    def list_webhook_deliveries(
        self, webhook_id: str | None = None, max_results: int = 100, page_token: str | None = None
    ) -> Page[WebhookDelivery]:
        """Delivery attempts, newest first (one webhook's when ``webhook_id`` is given)."""
        return self.store.webhooks.list_deliveries(
            webhook_id or None, cv.check_max_results(max_results, v.MAX_DELIVERIES_PAGE), page_token or None
        )
