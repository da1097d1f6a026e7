"""``dockyard db backup|restore|check`` and ``dockyard gc``: a backup taken under write load restores into
an empty store with everything acknowledged before it started; check reports integrity, the schema
revision and orphaned artifacts; gc removes deleted runs, experiments and logged models for good."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import dockyard
from dockyard.cli import main
from dockyard.tracking.entities import Metric, Param, RunTag
from reliability.scratch import Acknowledged, batch_writer, needs_postgres, scratch_database, wait_for

WRITERS = 4


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _log_batch(client: dockyard.Client) -> object:
    def log(run_id: str, step: int) -> None:
        client.log_batch(
            run_id,
            metrics=[Metric("m", float(step), 1_700_000_000_000 + step, step)],
            params=[Param(f"p{step}", str(step))],
            tags=[RunTag(f"t{step}", str(step))],
        )

    return log


def backup_under_load(source_uri: str, target_uri: str, path: Path) -> None:
    """Writers log batches into ``source_uri`` while it is backed up; the backup restored into
    ``target_uri`` holds every batch acknowledged before the backup began, each batch whole."""
    writers = [dockyard.Client(source_uri) for _ in range(WRITERS)]
    experiment = writers[0].create_experiment("under-load")
    runs = [w.create_run(experiment).info.run_id for w in writers]
    acknowledged, stop = Acknowledged(), threading.Event()
    threads = [batch_writer(_log_batch(w), r, acknowledged, stop) for w, r in zip(writers, runs, strict=True)]
    try:
        wait_for(lambda: len(acknowledged.snapshot()) >= 40 or bool(acknowledged.errors), 60, "writes to begin")
        before = acknowledged.snapshot()
        result = cli("db", "backup", str(path), "--tracking-uri", source_uri)
        assert result.exit_code == 0, result.output
        during = len(acknowledged.snapshot()) - len(before)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        for w in writers:
            w.close()
    assert not acknowledged.errors, acknowledged.errors
    assert not Path(f"{path}.partial").exists()

    result = cli("db", "restore", str(path), "--tracking-uri", target_uri)
    assert result.exit_code == 0, result.output
    restored = dockyard.Client(target_uri)
    try:
        for run_id in runs:
            run = restored.get_run(run_id)
            params = {k for k in run.data.params}
            tags = {k for k in run.data.tags if k.startswith("t")}
            steps = {m.step for m in restored.get_metric_history(run_id, "m")}
            # A batch is all or nothing: its param, tag and point are there together or not at all.
            assert {f"p{s}" for s in steps} == params and {f"t{s}" for s in steps} == tags
            wanted = {step for r, step in before if r == run_id}
            assert wanted <= steps, f"run {run_id}: acknowledged steps lost: {sorted(wanted - steps)[:5]}"
    finally:
        restored.close()
    assert during >= 0  # writes went on while the backup ran (how many depends on the machine)


def test_a_sqlite_backup_under_write_load_restores_everything_acknowledged(tmp_path: Path) -> None:
    backup_under_load(str(tmp_path / "live.db"), str(tmp_path / "restored" / "store.db"), tmp_path / "backup.db")


@needs_postgres
@pytest.mark.postgres
def test_a_postgres_backup_under_write_load_restores_everything_acknowledged(tmp_path: Path) -> None:
    with scratch_database("dockyard_rel_src") as source, scratch_database("dockyard_rel_dst") as target:
        dockyard.Client(target).close()  # a fresh store that a server has opened once: migrated, still empty
        backup_under_load(source, target, tmp_path / "backup.pgdump")


def test_restore_refuses_a_store_that_is_not_empty(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    client = dockyard.Client(store)
    client.create_experiment("kept")
    client.close()
    assert cli("db", "backup", str(tmp_path / "b.db"), "--tracking-uri", store).exit_code == 0
    result = cli("db", "restore", str(tmp_path / "b.db"), "--tracking-uri", store)
    assert result.exit_code == 1
    assert "the store is not empty" in result.output
    assert cli("db", "restore", str(tmp_path / "b.db"), "--tracking-uri", store, "--force").exit_code == 0


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database")
    result = cli("db", "restore", str(junk), "--tracking-uri", str(tmp_path / "s.db"))
    assert result.exit_code == 1
    assert "is not a Dockyard backup" in result.output


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, dockyard.Client]]:
    uri = str(tmp_path / "s.db")
    client = dockyard.Client(uri)
    yield uri, client
    client.close()


def test_check_reports_integrity_schema_and_orphaned_artifacts(
    tmp_path: Path, store: tuple[str, dockyard.Client]
) -> None:
    uri, client = store
    run = client.create_run(client.create_experiment("e"))
    client.log_text(run.info.run_id, "kept", "a.txt")
    result = cli("db", "check", "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["integrity: ok", "schema: 0007 (current)", "orphaned artifacts: 0"]

    stray = tmp_path / "artifacts" / "99"  # an experiment folder the database does not know
    stray.mkdir(parents=True)
    result = cli("db", "check", "--tracking-uri", uri)
    assert result.exit_code == 1
    assert result.output.splitlines()[2:] == ["orphaned artifacts: 1", f"  {stray}"]


def test_check_says_when_the_schema_is_behind(tmp_path: Path, store: tuple[str, dockyard.Client]) -> None:
    from dockyard.db import Database
    from dockyard.db.migrate import downgrade

    uri, _client = store
    db = Database(f"sqlite:///{uri}")
    downgrade(db, "0006")
    db.dispose()
    result = cli("db", "check", "--tracking-uri", uri)
    assert result.exit_code == 1
    assert "schema: 0006 (behind 0007: run 'dockyard db upgrade')" in result.output


def test_gc_removes_deleted_runs_and_experiments_with_their_files(
    tmp_path: Path, store: tuple[str, dockyard.Client]
) -> None:
    uri, client = store
    experiment = client.create_experiment("e")
    keep, gone = (client.create_run(experiment).info.run_id for _ in range(2))
    for run_id in (keep, gone):
        client.log_text(run_id, "data", "f.txt")
        client.log_param(run_id, "p", "1")
    doomed_experiment = client.create_experiment("doomed")
    in_doomed = client.create_run(doomed_experiment).info.run_id
    client.log_text(in_doomed, "data", "f.txt")
    client.delete_run(gone)
    client.delete_experiment(doomed_experiment)
    artifacts = tmp_path / "artifacts"

    dry = cli("gc", "--dry-run", "--tracking-uri", uri)
    assert dry.exit_code == 0, dry.output
    assert f"would remove run {gone}" in dry.output and f"would remove experiment {doomed_experiment}" in dry.output
    assert (artifacts / experiment / gone).exists() and client.get_run(gone).info.lifecycle_stage == "deleted"

    done = cli("gc", "--tracking-uri", uri)
    assert done.exit_code == 0, done.output
    assert f"removed run {gone}" in done.output
    for run_id in (gone, in_doomed):
        with pytest.raises(dockyard.errors.RunNotFound):
            client.get_run(run_id)
    with pytest.raises(dockyard.errors.ExperimentNotFound):
        client.get_experiment(doomed_experiment)
    assert not (artifacts / experiment / gone).exists() and not (artifacts / doomed_experiment).exists()
    assert (artifacts / experiment / keep / "artifacts" / "f.txt").read_text() == "data"
    assert client.get_run(keep).data.params == {"p": "1"}
    assert cli("db", "check", "--tracking-uri", uri).exit_code == 0


def test_gc_older_than_spares_what_was_deleted_recently(store: tuple[str, dockyard.Client]) -> None:
    uri, client = store
    run_id = client.create_run("0").info.run_id
    client.delete_run(run_id)
    result = cli("gc", "--older-than", "1d", "--tracking-uri", uri)
    assert result.exit_code == 0 and run_id not in result.output
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert run_id in cli("gc", "--older-than", "0s", "--run-ids", run_id, "--tracking-uri", uri).output


def test_gc_keeps_a_run_a_model_version_was_registered_from(store: tuple[str, dockyard.Client]) -> None:
    uri, client = store
    run_id = client.create_run("0").info.run_id
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{run_id}/model", run_id=run_id)
    client.delete_run(run_id)
    result = cli("gc", "--tracking-uri", uri)
    assert result.exit_code == 0
    assert f"kept run {run_id}: the source of a model version" in result.output
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"


def _model_folder(location: str) -> Path:
    """The folder of a logged model's files (``<experiment>/models/<id>``), from its artifact location."""
    path = Path(location.removeprefix("file://"))
    assert path.name == "artifacts"
    return path.parent


def test_gc_removes_deleted_logged_models_and_keeps_those_registered(store: tuple[str, dockyard.Client]) -> None:
    uri, client = store
    experiment = client.create_experiment("models")
    kept, gone, registered = (client.create_logged_model(experiment, name=n) for n in ("kept", "gone", "registered"))
    for model in (kept, gone, registered):
        (_model_folder(model.artifact_location) / "artifacts").mkdir(parents=True, exist_ok=True)
        (_model_folder(model.artifact_location) / "artifacts" / "MLmodel").write_text("flavors: {}\n")
    client.log_model_params(gone.model_id, {"alpha": "1"})
    client.create_registered_model("m")
    client.create_model_version("m", f"models:/{registered.model_id}", model_id=registered.model_id)
    client.delete_logged_model(gone.model_id)
    client.delete_logged_model(registered.model_id)

    dry = cli("gc", "--dry-run", "--tracking-uri", uri)
    assert dry.exit_code == 0, dry.output
    assert f"would remove logged model {gone.model_id}" in dry.output
    assert _model_folder(gone.artifact_location).exists()
    # Ids of another kind only: no logged model is touched.
    assert gone.model_id not in cli("gc", "--run-ids", "nothing", "--tracking-uri", uri).output

    done = cli("gc", "--logged-model-ids", f"{gone.model_id},{registered.model_id}", "--tracking-uri", uri)
    assert done.exit_code == 0, done.output
    assert f"removed logged model {gone.model_id}" in done.output
    assert f"kept logged model {registered.model_id}: the source of a model version" in done.output
    assert not _model_folder(gone.artifact_location).exists()
    assert (_model_folder(registered.artifact_location) / "artifacts" / "MLmodel").exists()
    assert (_model_folder(kept.artifact_location) / "artifacts" / "MLmodel").exists()
    assert client.get_logged_model(kept.model_id).name == "kept"
    # The deleted model's rows are gone (its params cascade), not only hidden: a restore cannot find it.
    import sqlalchemy as sa

    from dockyard.db import tables as t
    from dockyard.db.engine import Database

    db = Database(f"sqlite:///{uri}")
    try:
        with db.read() as conn:
            ids = {m for (m,) in conn.execute(sa.select(t.logged_models.c.model_id))}
            params = conn.execute(
                sa.select(t.logged_model_params).where(t.logged_model_params.c.model_id == gone.model_id)
            )
            assert gone.model_id not in ids and registered.model_id in ids and not params.all()
    finally:
        db.dispose()
    # Its experiment, deleted, is kept while the registered logged model is in it.
    client.delete_experiment(experiment)
    result = cli("gc", "--tracking-uri", uri)
    assert f"kept experiment {experiment}: its logged model {registered.model_id} is the source" in result.output
    assert cli("db", "check", "--tracking-uri", uri).exit_code == 0


def test_gc_rejects_a_duration_it_cannot_read(store: tuple[str, dockyard.Client]) -> None:
    result = cli("gc", "--older-than", "a while", "--tracking-uri", store[0])
    assert result.exit_code == 2
    assert "is not a duration" in result.output
