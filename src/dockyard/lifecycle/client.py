"""``dockyard.Client``: MLflow's ``MlflowClient`` surface, tracking and the model registry in one object.

The tracking methods are :class:`~dockyard.tracking.client.TrackingClient`'s; the registry methods below
are declared here (so editors complete them and mypy checks their callers) and served by the registry
the client's settings name (``DOCKYARD_REGISTRY_URI``, else the tracking URI).

>>> import tempfile
>>> client = Client(tempfile.mkdtemp())
>>> client.create_registered_model("churn").name
'churn'
>>> [m.name for m in client.search_registered_models().items]
['churn']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.core.paging import Page
from dockyard.lifecycle import images, tables
from dockyard.registry.backends import open_registry
from dockyard.registry.entities import ModelVersion, RegisteredModel, RegistryEvent, Stage
from dockyard.registry.protocol import RegistryAPI
from dockyard.tracking.client import TrackingClient


class Client(TrackingClient):
    """Experiments, runs, metrics, artifacts and logged models (see :class:`TrackingClient`), plus
    MlflowClient's registry methods and Dockyard's promotion, rollback and audit history."""

    _registry: RegistryAPI | None = None

    @property
    def registry(self) -> RegistryAPI:
        """The model registry of this client's settings (``DOCKYARD_REGISTRY_URI``, else the tracking URI)."""
        if self._registry is None:
            self._registry = open_registry(self.settings)
        return self._registry

    # ------------------------------------------------------------------ tables and images (MlflowClient's names)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Save a DataFrame or dict as the table ``artifact_file`` (``.json`` or ``.parquet``) of the run,
        after the rows already there (see :mod:`dockyard.lifecycle.tables`)."""
        tables.log_table(self, run_id, data, artifact_file)

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: Sequence[str] | None = None,
        extra_columns: Sequence[str] | None = None,
    ) -> Any:
        """The table ``artifact_file`` of ``run_ids`` (every active run of the experiment when None) as one
        DataFrame; ``extra_columns=["run_id"]`` adds each row's run."""
        return tables.load_table(self, experiment_id, artifact_file, run_ids, extra_columns)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log a numpy array or PIL image as ``artifact_file``, or as step ``step`` of the image series ``key``
        (see :mod:`dockyard.lifecycle.images`)."""
        images.log_image(self, run_id, image, artifact_file, key, step, timestamp, synchronous is not False)

    # ------------------------------------------------------------------ model registry (MlflowClient's names)

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self.registry.create_registered_model(name, tags, description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.registry.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.registry.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        return self.registry.delete_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        return self.registry.set_registered_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        return self.registry.delete_registered_model_tag(name, key)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        return self.registry.search_registered_models(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: Sequence[str | Stage] | None = None) -> list[ModelVersion]:
        """The highest version in each of ``stages`` (every stage when None or empty)."""
        return self.registry.get_latest_versions(name, stages)

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
        return self.registry.create_model_version(name, source, run_id, tags, description, model_id, run_link, user_id)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.registry.get_model_version(name, version)

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        return self.registry.update_model_version(name, version, description)

    def delete_model_version(self, name: str, version: int | str, user_id: str | None = None) -> None:
        """Soft delete; the aliases on the version are removed, each with an audit event."""
        return self.registry.delete_model_version(name, version, user_id)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        return self.registry.set_model_version_tag(name, version, key, value)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        return self.registry.delete_model_version_tag(name, version, key)

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str | Stage,
        archive_existing_versions: bool = False,
        reason: str | None = None,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage; ``archive_existing_versions`` (Staging and Production only) moves the versions
        already there to Archived. Each change is an audit event."""
        return self.registry.transition_model_version_stage(
            name, version, stage, archive_existing_versions, reason, user_id
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        return self.registry.search_model_versions(filter_string, max_results, order_by, page_token)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        return self.registry.get_model_version_download_uri(name, version)

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it from where it was), recording who, when and why."""
        return self.registry.set_registered_model_alias(name, alias, version, reason, user_id)

    def delete_registered_model_alias(
        self, name: str, alias: str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        return self.registry.delete_registered_model_alias(name, alias, reason, user_id)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points to; ``latest`` (any case) is the highest live version."""
        return self.registry.get_model_version_by_alias(name, alias)

    def get_registry_events(
        self,
        name: str,
        alias: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> Page[RegistryEvent]:
        """The model's audit history (alias moves and stage transitions), oldest first unless ``newest_first``;
        ``alias`` keeps only that alias's events. It follows renames."""
        return self.registry.get_registry_events(name, alias, max_results, page_token, newest_first)

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
        """Point ``alias`` at ``version`` and/or move it to ``stage``, in one transaction; a version that is deleted or
        whose status is not READY is refused with nothing changed, and so is one the registry's gate on the alias or
        stage refuses (:class:`~dockyard.core.errors.GateRefused`) unless ``force``: it needs a ``reason`` (and MANAGE
        on the model with auth on), and the audit history records the reason with the rules it skipped."""
        return self.registry.promote(name, version, alias, stage, reason, user_id, archive_existing, force=force)

    def rollback(self, name: str, alias: str, reason: str | None = None, user_id: str | None = None) -> ModelVersion:
        """Point ``alias`` back at the version that held it before its newest move not yet rolled back; returns that
        version. :class:`~dockyard.core.errors.NothingToRollBack` when there is none."""
        return self.registry.rollback(name, alias, reason, user_id)


# MLflow's name for the same client, so `import dockyard as mlflow` scripts keep `mlflow.MlflowClient()`.
MlflowClient = Client
