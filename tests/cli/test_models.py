"""dockyard models list / show / versions / register / alias / delete / history / promote / rollback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from dockyard.core.config import Settings
from dockyard.registry.backends import open_registry
from dockyard.registry.service import RegistryService

MLMODEL = """\
flavors:
  python_function:
    loader_module: example
model_uuid: 0123
utc_time_created: '2026-01-01 00:00:00.000000'
signature:
  inputs: '[{{"type": "double", "name": "x", "required": true}}{extra}]'
  outputs: null
  params: null
"""


def write_model(root: Path, name: str, requirements: list[str], extra_input: str = "") -> Path:
    """A minimal model directory: MLmodel with a signature, and requirements.txt."""
    path = root / name
    path.mkdir(parents=True)
    extra = f', {{"type": "{extra_input}", "name": "y", "required": true}}' if extra_input else ""
    (path / "MLmodel").write_text(MLMODEL.format(extra=extra))
    (path / "requirements.txt").write_text("\n".join(["# pinned", *requirements]) + "\n")
    return path


@pytest.fixture
def registry(store_path: str) -> RegistryService:
    return open_registry(Settings.from_env({"DOCKYARD_TRACKING_URI": store_path}))


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_register_list_show_and_versions(cli: Callable[..., Result], tmp_path: Path) -> None:
    model = write_model(tmp_path, "model", ["scikit-learn==1.5.0"])
    assert ok(cli("models", "register", str(model), "churn", "--tag", "team=risk")).stdout == (
        "Registered churn version 1.\n"
    )
    ok(cli("models", "register", str(model), "churn", "--description", "second"))
    listed = ok(cli("models", "list")).stdout.splitlines()
    assert listed[0].split() == ["Name", "Latest", "Aliases", "Updated", "Description"]
    assert listed[1].split()[:2] == ["churn", "2"]
    payload = json.loads(ok(cli("models", "list", "--json")).stdout)
    assert [m["name"] for m in payload["registered_models"]] == ["churn"]
    shown = ok(cli("models", "show", "churn")).stdout
    assert "Registered model churn" in shown and "Latest versions" in shown
    versions = json.loads(ok(cli("models", "versions", "churn", "--json")).stdout)["model_versions"]
    assert [(v["version"], v.get("description")) for v in versions] == [("2", "second"), ("1", None)]
    tags = versions[1]["tags"]
    assert [t for t in tags if not t["key"].startswith("dockyard.")] == [{"key": "team", "value": "risk"}]
    assert {t["key"] for t in tags} >= {"dockyard.model_digest", "dockyard.model_files"}  # recorded at registration
    table = ok(cli("models", "versions", "churn")).stdout.splitlines()
    assert table[0].split()[:3] == ["Version", "Stage", "Aliases"] and table[1].split()[0] == "2"


def test_unknown_model_is_one_error_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    assert "nope" in one_error_line(cli("models", "show", "nope"))
    assert "nope" in one_error_line(cli("models", "versions", "nope"))
    assert "No registered models found." in ok(cli("models", "list")).stdout


def test_alias_moves_and_history(cli: Callable[..., Result], registry: RegistryService) -> None:
    registry.create_registered_model("churn")
    for _ in range(2):
        registry.create_model_version("churn", "s3://bucket/model")
    ok(cli("models", "alias", "churn", "champion", "1", "--reason", "first"))
    assert "version 2" in ok(cli("models", "alias", "churn", "champion", "2")).stdout
    ok(cli("models", "alias", "churn", "champion", "--delete", "--reason", "incident"))
    assert registry.get_registered_model("churn").aliases == {}
    history = ok(cli("models", "history", "churn")).stdout.splitlines()
    assert history[0].split() == ["#", "When", "Who", "What", "Change", "Reason"]
    assert "champion: (unset) -> version 1" in history[1] and history[1].rstrip().endswith("first")
    assert "champion: version 2 -> (removed)" in history[3] and "incident" in history[3]
    events = json.loads(ok(cli("models", "history", "churn", "--alias", "champion", "--json")).stdout)["events"]
    assert [(e["kind"], e.get("from_version"), e.get("to_version")) for e in events] == [
        ("alias_set", None, "1"),
        ("alias_set", "1", "2"),
        ("alias_deleted", "2", None),
    ]


def test_alias_usage_errors(
    cli: Callable[..., Result], registry: RegistryService, one_error_line: Callable[[Result], str]
) -> None:
    registry.create_registered_model("churn")
    registry.create_model_version("churn", "s3://bucket/model")
    assert "VERSION" in one_error_line(cli("models", "alias", "churn", "champion"))
    assert "not both" in one_error_line(cli("models", "alias", "churn", "champion", "1", "--delete"))
    assert "reserved" in one_error_line(cli("models", "alias", "churn", "latest", "1"))


def test_promote_and_rollback(
    cli: Callable[..., Result], registry: RegistryService, one_error_line: Callable[[Result], str]
) -> None:
    registry.create_registered_model("churn")
    for _ in range(3):
        registry.create_model_version("churn", "s3://bucket/model")
    out = ok(cli("models", "promote", "churn", "1", "--alias", "champion", "--stage", "production", "--reason", "go"))
    assert out.stdout == "Promoted churn version 1: alias 'champion' and stage Production.\n"
    ok(cli("models", "promote", "churn", "2", "--alias", "champion"))
    promoted = json.loads(
        ok(
            cli(
                "models",
                "promote",
                "churn",
                "3",
                "--alias",
                "champion",
                "--stage",
                "Production",
                "--archive-existing",
                "--json",
            )
        ).stdout
    )["model_version"]
    assert (promoted["version"], promoted["current_stage"], promoted["aliases"]) == ("3", "Production", ["champion"])
    assert registry.get_model_version("churn", 1).current_stage.value == "Archived"
    rolled = ok(cli("models", "rollback", "churn", "--alias", "champion", "--reason", "latency"))
    assert rolled.stdout == "Rolled back 'champion' of churn to version 2.\n"
    again = json.loads(ok(cli("models", "rollback", "churn", "--alias", "champion", "--json")).stdout)
    assert again["model_version"]["version"] == "1"
    assert "no earlier version" in one_error_line(cli("models", "rollback", "churn", "--alias", "champion"))
    history = ok(cli("models", "history", "churn", "--alias", "champion")).stdout
    assert "(rollback of #" in history and "latency" in history
    registry.delete_model_version("churn", 3)
    assert "deleted" in one_error_line(cli("models", "promote", "churn", "3", "--alias", "champion"))
    assert "--alias" in one_error_line(cli("models", "promote", "churn", "2"))
    assert "--alias" in one_error_line(cli("models", "rollback", "churn"))


def test_delete_version_and_model(
    cli: Callable[..., Result],
    registry: RegistryService,
    store_path: str,
    one_error_line: Callable[[Result], str],
) -> None:
    from click.testing import CliRunner

    from dockyard.cli import main

    registry.create_registered_model("churn")
    for _ in range(2):
        registry.create_model_version("churn", "s3://bucket/model")
    assert ok(cli("models", "delete", "churn", "--version", "1")).stdout == "Deleted churn version 1.\n"
    aborted = CliRunner().invoke(main, ["models", "delete", "churn", "--tracking-uri", store_path], input="n\n")
    assert aborted.exit_code == 1 and registry.get_registered_model("churn").name == "churn"
    assert ok(cli("models", "delete", "churn", "--yes")).stdout == "Deleted registered model churn.\n"
    assert "churn" in one_error_line(cli("models", "show", "churn"))
