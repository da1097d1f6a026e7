"""dockyard runs list / show / delete / restore."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from click.testing import Result

import dockyard
from dockyard.tracking.entities import Dataset, Run

TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def make_run(
    client: dockyard.Client,
    experiment_id: str = "0",
    name: str = "run",
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    finish: bool = True,
) -> Run:
    run = client.create_run(experiment_id, run_name=name, start_time=1_700_000_000_000)
    run_id = run.info.run_id
    for key, value in (metrics or {}).items():
        client.log_metric(run_id, key, value)
    for key, value in (params or {}).items():
        client.log_param(run_id, key, value)
    if finish:
        client.set_terminated(run_id, end_time=1_700_000_245_000)
    return client.get_run(run_id)


def rows(result: Result) -> list[list[str]]:
    assert result.exit_code == 0, result.output
    return [line.split() for line in result.stdout.splitlines()]


def test_list_table(cli: Callable[..., Result], client: dockyard.Client) -> None:
    run = make_run(client, name="alpha", metrics={"loss": 0.25, "acc": 0.9})
    result = cli("runs", "list")
    table = rows(result)
    assert table[0] == ["Run", "ID", "Name", "Status", "Started", "Duration", "acc", "loss"]
    line = result.stdout.splitlines()[1]
    assert line.split()[:3] == [run.info.run_id, "alpha", "FINISHED"]
    assert TIME.search(line)
    assert "4m 05s" in line
    assert line.split()[-2:] == ["0.9", "0.25"]


def test_list_running_run_has_no_duration(cli: Callable[..., Result], client: dockyard.Client) -> None:
    make_run(client, name="live", finish=False)
    line = rows(cli("runs", "list"))[1]
    assert line[2] == "RUNNING"
    assert line[-1] == "-"


def test_list_json_shape(cli: Callable[..., Result], client: dockyard.Client) -> None:
    run = make_run(client, name="alpha", metrics={"loss": 0.25}, params={"lr": "0.1"})
    result = cli("runs", "list", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == ["runs"]
    (item,) = payload["runs"]
    assert list(item) == ["info", "data", "inputs"]
    assert item["info"] == {
        "run_id": run.info.run_id,
        "run_name": "alpha",
        "experiment_id": "0",
        "user_id": run.info.user_id,
        "status": "FINISHED",
        "start_time": 1_700_000_000_000,
        "end_time": 1_700_000_245_000,
        "artifact_uri": run.info.artifact_uri,
        "lifecycle_stage": "active",
    }
    assert item["data"]["metrics"] == [{"key": "loss", "value": 0.25}]
    assert item["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert {"key": "mlflow.runName", "value": "alpha"} in item["data"]["tags"]
    assert item["inputs"] == {"dataset_inputs": []}


def test_list_json_non_finite_metrics(cli: Callable[..., Result], client: dockyard.Client) -> None:
    make_run(client, metrics={"a": float("nan"), "b": float("inf"), "c": float("-inf")})
    result = cli("runs", "list", "--json")
    assert result.exit_code == 0, result.output
    assert "NaN" in result.stdout and "Infinity" in result.stdout
    metrics = json.loads(result.stdout)["runs"][0]["data"]["metrics"]  # strict JSON parses
    assert metrics == [
        {"key": "a", "value": "NaN"},
        {"key": "b", "value": "Infinity"},
        {"key": "c", "value": "-Infinity"},
    ]
    table = cli("runs", "list")
    assert table.stdout.splitlines()[1].split()[-3:] == ["NaN", "Infinity", "-Infinity"]


def test_list_by_experiment(cli: Callable[..., Result], client: dockyard.Client) -> None:
    one = client.create_experiment("one")
    two = client.create_experiment("two")
    r1 = make_run(client, one, "in-one")
    r2 = make_run(client, two, "in-two")

    def ids(*args: str) -> set[str]:
        result = cli("runs", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return {r["info"]["run_id"] for r in json.loads(result.stdout)["runs"]}

    assert ids("--experiment-id", one) == {r1.info.run_id}
    assert ids("--experiment-id", one, "--experiment-id", two) == {r1.info.run_id, r2.info.run_id}
    assert ids("--experiment-name", "two") == {r2.info.run_id}
    # without a selection: every active experiment, with an Experiment column in the table
    assert ids() == {r1.info.run_id, r2.info.run_id}
    assert "Experiment" in cli("runs", "list").stdout.splitlines()[0]
    client.delete_experiment(two)
    assert ids() == {r1.info.run_id}


def test_list_experiment_selection_errors(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    both = cli("runs", "list", "--experiment-id", "0", "--experiment-name", "Default")
    assert both.exit_code == 2
    assert "not both" in one_error_line(both)
    missing = cli("runs", "list", "--experiment-name", "nope")
    assert missing.exit_code == 1
    assert one_error_line(missing) == "Error: Experiment 'nope' not found"


def test_list_filter_order_by_and_metric_columns(cli: Callable[..., Result], client: dockyard.Client) -> None:
    make_run(client, name="good", metrics={"rmse": 0.1, "a1": 1, "a2": 2, "a3": 3, "a4": 4})
    make_run(client, name="bad", metrics={"rmse": 0.9, "a1": 1, "a2": 2, "a3": 3, "a4": 4})
    filtered = rows(cli("runs", "list", "--filter", "metrics.rmse < 0.5"))
    assert [r[1] for r in filtered[1:]] == ["good"]

    ordered = rows(cli("runs", "list", "--order-by", "metrics.rmse DESC"))
    assert [r[1] for r in ordered[1:]] == ["bad", "good"]
    # the sort metric comes first among the (at most four) metric columns
    assert ordered[0][6:] == ["rmse", "a1", "a2", "a3"]


def test_list_bad_order_by_is_one_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    result = cli("runs", "list", "--order-by", "nonsense ASCENDING sideways")
    assert result.exit_code == 1
    one_error_line(result)


def test_list_views_and_max_results(cli: Callable[..., Result], client: dockyard.Client) -> None:
    runs = [make_run(client, name=f"r{i}") for i in range(3)]
    client.delete_run(runs[0].info.run_id)

    def names(*args: str) -> list[str]:
        result = cli("runs", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return sorted(r["info"]["run_name"] for r in json.loads(result.stdout)["runs"])

    assert names() == ["r1", "r2"]
    assert names("--view", "deleted") == ["r0"]
    assert names("--view", "all") == ["r0", "r1", "r2"]
    assert len(names("--view", "all", "--max-results", "2")) == 2
    table = cli("runs", "list", "--view", "all", "--max-results", "1")
    assert len(table.stdout.splitlines()) == 2
    assert "use --max-results to see more" in table.stderr
    assert "Stage" in table.stdout.splitlines()[0]


def test_list_empty(cli: Callable[..., Result]) -> None:
    result = cli("runs", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout == "No runs found.\n"
    assert json.loads(cli("runs", "list", "--json").stdout) == {"runs": []}


def test_list_prints_names_literally(cli: Callable[..., Result], client: dockyard.Client) -> None:
    make_run(client, name="[bold]x[/bold]")
    assert "[bold]x[/bold]" in cli("runs", "list").stdout


def log_everything(client: dockyard.Client) -> Run:
    exp_id = client.create_experiment("shown")
    run = make_run(client, exp_id, "detailed", metrics={"loss": 0.5}, params={"lr": "0.01"})
    run_id = run.info.run_id
    client.set_tag(run_id, "team", "risk")
    client.log_input(
        run_id, Dataset(name="train", digest="abc123", source_type="local", source="/data/train.csv"), "training"
    )
    client.log_text(run_id, "hello", "notes/readme.txt")
    client.log_text(run_id, "12345", "model.txt")
    return client.get_run(run_id)


def test_show_table(cli: Callable[..., Result], client: dockyard.Client) -> None:
    run = log_everything(client)
    result = cli("runs", "show", run.info.run_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"Run {run.info.run_id}\n")
    for section in ("Params", "Metrics", "Tags", "Dataset inputs", "Artifacts"):
        assert f"\n{section}\n" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["Experiment", f"{run.info.experiment_id}", "(shown)"] in lines
    assert ["Status", "FINISHED"] in lines
    assert ["Duration", "4m", "05s"] in lines
    assert ["lr", "0.01"] in lines
    assert ["loss", "0.5"] in lines
    assert ["team", "risk"] in lines
    assert ["train", "abc123", "training", "local", "/data/train.csv"] in lines
    assert ["notes/", "dir"] in lines
    assert ["model.txt", "5", "B"] in lines


def test_show_empty_sections(cli: Callable[..., Result], client: dockyard.Client) -> None:
    run = client.create_run("0")
    out = cli("runs", "show", run.info.run_id).stdout
    assert "Params\n(none)" in out
    assert "Artifacts\n(none)" in out


def test_show_json_shape(cli: Callable[..., Result], client: dockyard.Client) -> None:
    run = log_everything(client)
    result = cli("runs", "show", run.info.run_id, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == ["run", "artifacts"]
    assert list(payload["run"]) == ["info", "data", "inputs"]
    assert payload["run"]["info"]["run_id"] == run.info.run_id
    assert payload["run"]["data"]["params"] == [{"key": "lr", "value": "0.01"}]
    assert payload["run"]["data"]["metrics"] == [{"key": "loss", "value": 0.5}]
    assert payload["run"]["inputs"]["dataset_inputs"] == [
        {
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {
                "name": "train",
                "digest": "abc123",
                "source_type": "local",
                "source": "/data/train.csv",
                "schema": None,
                "profile": None,
            },
        }
    ]
    assert payload["artifacts"] == {
        "root_uri": run.info.artifact_uri,
        "files": [
            {"path": "model.txt", "is_dir": False, "file_size": 5},
            {"path": "notes", "is_dir": True, "file_size": None},
        ],
    }


def test_show_unknown_run_is_one_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    for extra in ((), ("--json",)):
        result = cli("runs", "show", "0123456789abcdef0123456789abcdef", *extra)
        assert result.exit_code == 1
        assert "0123456789abcdef0123456789abcdef" in one_error_line(result)


def test_delete_and_restore(cli: Callable[..., Result], client: dockyard.Client) -> None:
    run_id = make_run(client).info.run_id
    deleted = cli("runs", "delete", run_id)
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == f"Deleted run {run_id}.\n"
    assert client.get_run(run_id).info.lifecycle_stage.value == "deleted"
    restored = cli("runs", "restore", run_id)
    assert restored.exit_code == 0, restored.output
    assert restored.stdout == f"Restored run {run_id}.\n"
    assert client.get_run(run_id).info.lifecycle_stage.value == "active"


def test_delete_and_restore_unknown_run(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    for command in ("delete", "restore"):
        result = cli("runs", command, "nope")
        assert result.exit_code == 1
        assert "nope" in one_error_line(result)
