"""Validation gates enforced by a real ``dockyard server`` process, whichever client asks: the official
``mlflow`` client's ``set_registered_model_alias`` and ``transition_model_version_stage``, and Dockyard's
own remote client. The gate and the validations are written with Dockyard's client (MLflow has no call
for them); the moves are refused with MLflow's ``INVALID_STATE`` and a message naming the rule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from dockyard.core.errors import GateRefused
from dockyard.registry.gates import RuleResult
from dockyard.registry.remote import RemoteRegistryService

from server.dockyard_process import Server


@pytest.fixture
def dockyard_client(server: Server) -> Any:
    client = RemoteRegistryService(server.url, retries=0)
    yield client
    client.close()


def _model(client: MlflowClient, versions: int) -> str:
    name = f"gated-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    for _ in range(versions):
        client.create_model_version(name, "file:///nowhere/model")
    return name


def test_the_official_client_cannot_move_an_alias_past_the_gate(client: MlflowClient, dockyard_client: Any) -> None:
    name = _model(client, 3)
    dockyard_client.set_gate(name, ["roc_auc >= 0.8", "roc_auc >= baseline - 0.005"], alias="champion")
    # A version with no validation: refused, naming the missing rule.
    with pytest.raises(MlflowException) as missing:
        client.set_registered_model_alias(name, "champion", "1")
    assert missing.value.error_code == "INVALID_STATE"
    assert "rule 'roc_auc >= 0.8' of alias 'champion': version 1 has no validation" in missing.value.message
    # The first champion passes the absolute rule (there is no baseline yet).
    dockyard_client.log_validation(name, 1, [RuleResult("roc_auc >= 0.8", 0.84)])
    client.set_registered_model_alias(name, "champion", "1")
    # A worse candidate, validated against the champion: refused through both clients.
    dockyard_client.log_validation(
        name,
        2,
        [RuleResult("roc_auc >= 0.8", 0.81), RuleResult("roc_auc >= baseline - 0.005", 0.81, 0.84)],
        baseline_version=1,
    )
    with pytest.raises(MlflowException) as worse:
        client.set_registered_model_alias(name, "champion", "2")
    assert worse.value.error_code == "INVALID_STATE"
    assert "rule 'roc_auc >= baseline - 0.005' of alias 'champion' failed: roc_auc = 0.81" in worse.value.message
    with pytest.raises(GateRefused, match=r"baseline - 0\.005"):
        dockyard_client.promote(name, 2, alias="champion")
    # A better one is promoted.
    dockyard_client.log_validation(
        name,
        3,
        [RuleResult("roc_auc >= 0.8", 0.86), RuleResult("roc_auc >= baseline - 0.005", 0.86, 0.84)],
        baseline_version=1,
    )
    client.set_registered_model_alias(name, "champion", "3")
    assert client.get_model_version_by_alias(name, "champion").version == "3"


@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")
def test_the_official_client_cannot_transition_past_a_stage_gate(client: MlflowClient, dockyard_client: Any) -> None:
    name = _model(client, 2)
    dockyard_client.set_gate(name, ["accuracy >= 0.9"], stage="Production")
    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage(name, "1", "Production")
    assert refused.value.error_code == "INVALID_STATE"
    assert "rule 'accuracy >= 0.9' of stage 'Production'" in refused.value.message
    assert client.get_model_version(name, "1").current_stage == "None"
    dockyard_client.log_validation(name, 2, [RuleResult("accuracy >= 0.9", 0.93)])
    assert client.transition_model_version_stage(name, "2", "Production").current_stage == "Production"
