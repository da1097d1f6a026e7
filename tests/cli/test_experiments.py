"""dockyard experiments list / create / delete / restore / rename."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

import dockyard


def test_list_table(cli: Callable[..., Result], client: dockyard.Client) -> None:
    client.create_experiment("fraud-detection")
    result = cli("experiments", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "Name", "Created", "Artifact", "location"]
    assert lines[1].split()[:2] == ["1", "fraud-detection"]  # newest first
    assert lines[2].split()[:2] == ["0", "Default"]
    assert all(line == line.rstrip() for line in lines)


def test_list_json_shape(cli: Callable[..., Result], client: dockyard.Client) -> None:
    client.create_experiment("exp", tags={"team": "risk", "a": "1"})
    result = cli("experiments", "list", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == ["experiments"]
    first = payload["experiments"][0]
    assert list(first) == [
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "creation_time",
        "last_update_time",
        "tags",
    ]
    assert first["name"] == "exp"
    assert first["lifecycle_stage"] == "active"
    assert isinstance(first["creation_time"], int)
    assert first["tags"] == [{"key": "a", "value": "1"}, {"key": "team", "value": "risk"}]


def test_list_views(cli: Callable[..., Result], client: dockyard.Client) -> None:
    gone = client.create_experiment("gone")
    client.create_experiment("kept")
    client.delete_experiment(gone)

    def names(*extra: str) -> set[str]:
        result = cli("experiments", "list", "--json", *extra)
        assert result.exit_code == 0, result.output
        return {e["name"] for e in json.loads(result.stdout)["experiments"]}

    assert names() == {"Default", "kept"}
    assert names("--view", "active") == {"Default", "kept"}
    assert names("--view", "deleted") == {"gone"}
    assert names("--view", "all") == {"Default", "kept", "gone"}
    table = cli("experiments", "list", "--view", "all")
    assert "Stage" in table.stdout.splitlines()[0]
    assert "deleted" in table.stdout


def test_list_filter_and_max_results(cli: Callable[..., Result], client: dockyard.Client) -> None:
    for name in ("fraud-a", "fraud-b", "churn"):
        client.create_experiment(name)
    result = cli("experiments", "list", "--json", "--filter", "name LIKE 'fraud%'")
    assert result.exit_code == 0, result.output
    assert sorted(e["name"] for e in json.loads(result.stdout)["experiments"]) == ["fraud-a", "fraud-b"]

    limited = cli("experiments", "list", "--json", "--max-results", "2")
    assert len(json.loads(limited.stdout)["experiments"]) == 2
    table = cli("experiments", "list", "--max-results", "2")
    assert "use --max-results to see more" in table.stderr


def test_list_bad_filter_is_one_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    result = cli("experiments", "list", "--filter", "name ==")
    assert result.exit_code == 1
    one_error_line(result)


def test_list_empty(cli: Callable[..., Result]) -> None:
    result = cli("experiments", "list", "--view", "deleted")
    assert result.exit_code == 0, result.output
    assert result.stdout == "No experiments found.\n"
    as_json = cli("experiments", "list", "--view", "deleted", "--json")
    assert json.loads(as_json.stdout) == {"experiments": []}


def test_create_prints_the_id(tmp_path: Path, cli: Callable[..., Result], client: dockyard.Client) -> None:
    location = str(tmp_path / "elsewhere")
    result = cli(
        "experiments", "create", "new", "--artifact-location", location, "--tag", "team=risk", "--tag", "q=a=b"
    )
    assert result.exit_code == 0, result.output
    exp_id = result.stdout.strip()
    exp = client.get_experiment(exp_id)
    assert exp.name == "new"
    assert exp.artifact_location.endswith("elsewhere")
    assert exp.tags == {"team": "risk", "q": "a=b"}


def test_create_duplicate_is_one_line(
    cli: Callable[..., Result], client: dockyard.Client, one_error_line: Callable[[Result], str]
) -> None:
    client.create_experiment("dup")
    result = cli("experiments", "create", "dup")
    assert result.exit_code == 1
    assert "dup" in one_error_line(result)


def test_create_bad_tag_is_a_usage_error(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    result = cli("experiments", "create", "x", "--tag", "novalue")
    assert result.exit_code == 2
    assert "KEY=VALUE" in one_error_line(result)


def test_delete_and_restore(cli: Callable[..., Result], client: dockyard.Client) -> None:
    exp_id = client.create_experiment("temp")
    deleted = cli("experiments", "delete", exp_id)
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == f"Deleted experiment {exp_id}.\n"
    assert client.get_experiment(exp_id).lifecycle_stage.value == "deleted"
    restored = cli("experiments", "restore", exp_id)
    assert restored.exit_code == 0, restored.output
    assert restored.stdout == f"Restored experiment {exp_id}.\n"
    assert client.get_experiment(exp_id).lifecycle_stage.value == "active"


def test_delete_unknown_is_one_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    result = cli("experiments", "delete", "999")
    assert result.exit_code == 1
    assert "999" in one_error_line(result)
    restore = cli("experiments", "restore", "999")
    assert restore.exit_code == 1
    one_error_line(restore)


def test_rename(cli: Callable[..., Result], client: dockyard.Client, one_error_line: Callable[[Result], str]) -> None:
    exp_id = client.create_experiment("old")
    result = cli("experiments", "rename", exp_id, "new-name")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Renamed experiment {exp_id} to 'new-name'.\n"
    assert client.get_experiment(exp_id).name == "new-name"
    missing = cli("experiments", "rename", "999", "x")
    assert missing.exit_code == 1
    one_error_line(missing)
