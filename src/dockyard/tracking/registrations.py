"""A logged model's record of the registered versions made from it: MLflow 3's ``mlflow.modelVersions`` tag.

The server writes it when ``model-versions/create`` names a logged model (as MLflow's server does), and
the client writes it when it registers through a store that does not; both go through here.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

MODEL_VERSIONS_TAG = "mlflow.modelVersions"


class LoggedModelTags(Protocol):
    """What recording needs: the tracking service (local or remote) or the lifecycle Client."""

    def get_logged_model(self, model_id: str) -> Any: ...

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None: ...


def record_registration(tracking: LoggedModelTags, model_id: str, name: str, version: int) -> None:
    """Append ``{name, version}`` to the logged model's ``mlflow.modelVersions`` tag (a JSON list that
    MLflow's UI and clients read); an entry already there (recorded by the other side) is not added twice,
    and a tag that is not a JSON list is started afresh."""
    current = tracking.get_logged_model(model_id).tags.get(MODEL_VERSIONS_TAG)
    try:
        entries = json.loads(current) if current else []
    except ValueError:
        entries = []
    if not isinstance(entries, list):
        entries = []
    entry = {"name": name, "version": version}
    if entry not in entries:
        tracking.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps([*entries, entry])})
