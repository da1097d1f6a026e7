"""Backup, restore and integrity checks of a store's database (``dockyard db backup|restore|check``).

* SQLite: SQLite's online backup API copies the database in one step, a consistent snapshot taken while
  writers carry on (WAL mode: readers never block the writer). The copy is a single file (its journal
  mode is set back to DELETE), checked with ``PRAGMA integrity_check`` before it is renamed into place.
* PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot as well) and ``pg_restore`` in one
  transaction. The connection's password travels in ``PGPASSWORD``, never on a command line.

A backup is written to ``PATH.partial`` and renamed to ``PATH`` when complete, so ``PATH`` never holds a
half-written backup. A restore goes only into an empty store (no runs, no experiments but an empty
Default one, no registered models) unless forced, and upgrades the restored schema to this release's.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError, InvalidParameter, StoreUnavailable
from dockyard.db.engine import BUSY_TIMEOUT_MS, Database, sqlite_path

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupFailed(DockyardError):
    """A backup or restore could not be completed (the tool's message says why)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    kind: str  # "sqlite" or "pg_dump"


def _sqlite_file(db: Database) -> Path:
    path = sqlite_path(db.uri)
    if path is None:
        raise InvalidParameter("an in-memory database cannot be backed up or restored")
    return path


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(db: Database, path: Path) -> Backup:
    """Copy the database behind ``db`` to ``path`` (replaced if it exists) and return what was written."""
    path = Path(path)
    if path.is_dir():
        raise InvalidParameter(f"backup path {str(path)!r} is a folder: name the file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(path)
    partial.unlink(missing_ok=True)
    try:
        if db.is_sqlite:
            _backup_sqlite(_sqlite_file(db), partial)
            kind = "sqlite"
        else:
            _run_pg("pg_dump", db, ["--format=custom", "--no-owner", "--no-privileges", "--file", str(partial)])
            kind = "pg_dump"
        _fsync(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Backup(path, path.stat().st_size, kind)


def _backup_sqlite(source: Path, target: Path) -> None:
    if not source.exists():
        raise InvalidParameter(f"database {str(source)!r} does not exist")
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one read transaction, one consistent snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        problems = _sqlite_problems(dst)
    except sqlite3.Error as exc:
        raise BackupFailed(f"backup of {str(source)!r} failed: {exc}") from None
    finally:
        dst.close()
        src.close()
    if problems:
        raise BackupFailed(f"the copy of {str(source)!r} fails its integrity check: {problems[0]}")


def _sqlite_problems(conn: sqlite3.Connection) -> list[str]:
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    problems += [
        f"row {rowid} of {table} refers to a missing {parent}"
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
    ]
    return problems


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``pg_dump``, by the file's first bytes (InvalidParameter for anything else)."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise InvalidParameter(f"backup {str(path)!r} cannot be read: {exc.strerror}") from None
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "pg_dump"
    raise InvalidParameter(f"{str(path)!r} is not a Dockyard backup (neither a SQLite file nor a pg_dump archive)")


def restore(db: Database, path: Path, *, force: bool = False) -> None:
    """Put the backup at ``path`` into the database behind ``db`` (it must be empty unless ``force``)."""
    kind = backup_kind(path)
    if kind != ("sqlite" if db.is_sqlite else "pg_dump"):
        target = "a SQLite" if db.is_sqlite else "a PostgreSQL"
        raise InvalidParameter(f"backup {str(path)!r} is a {kind} backup and cannot be restored into {target} database")
    if not force and not is_empty(db):
        raise InvalidParameter(
            "the store is not empty (it has runs, experiments or registered models): restore into an empty one, "
            "or pass --force to replace its contents"
        )
    if db.is_sqlite:
        _restore_sqlite(Path(path), db)
    else:
        args = ["--no-owner", "--no-privileges", "--single-transaction", "--clean", "--if-exists", str(path)]
        _run_pg("pg_restore", db, args, database_flag=True)


def _restore_sqlite(source: Path, db: Database) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        problems = _sqlite_problems(src)
        if problems:
            raise BackupFailed(f"backup {str(source)!r} fails its integrity check: {problems[0]}")
        db.dispose()  # no pooled connection of ours holds the file while it is replaced
        target = _sqlite_file(db)
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            src.backup(dst)  # page by page under SQLite's own locks: readers see the old or the new
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"restore of {str(source)!r} failed: {exc}") from None
    finally:
        src.close()


def is_empty(db: Database) -> bool:
    """No runs, no registered models, no experiment but the Default one (a fresh store has it)."""
    import sqlalchemy as sa

    with db.read() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        for table, where in (("runs", ""), ("registered_models", ""), ("experiments", " WHERE experiment_id <> 0")):
            if table in tables and conn.exec_driver_sql(f"SELECT 1 FROM {table}{where} LIMIT 1").first():  # noqa: S608
                return False
    return True


def integrity_problems(db: Database) -> list[str]:
    """What is wrong with the database's storage: SQLite's ``integrity_check`` and ``foreign_key_check``;
    on PostgreSQL (which checks its pages itself), every table is read."""
    import sqlalchemy as sa

    if db.is_sqlite:
        with db.read() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None  # noqa: S101  # an open connection has its DBAPI connection
            return _sqlite_problems(raw)  # type: ignore[arg-type]
    problems = []
    with db.read() as conn:
        for table in sa.inspect(conn).get_table_names():
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()  # noqa: S608
            except sa.exc.DBAPIError as exc:
                problems.append(f"table {table} cannot be read: {str(exc.orig).strip()}")
    return problems


def _run_pg(tool: str, db: Database, args: list[str], *, database_flag: bool = False) -> None:
    """Run ``pg_dump``/``pg_restore`` against ``db``'s database, the connection in PG* variables."""
    from sqlalchemy.engine import make_url

    executable = shutil.which(tool)
    if executable is None:
        raise BackupFailed(f"{tool} is not installed (it comes with PostgreSQL's client programs)")
    url = make_url(db.uri)
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", url.host or url.query.get("host")),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[variable] = str(value)
    command = [executable, *(["--dbname", url.database or ""] if database_flag else []), *args]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise BackupFailed(f"{tool} could not be run: {exc.strerror}") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        if "could not connect" in message or "Connection refused" in message:
            raise StoreUnavailable(f"database unavailable: {tool}: {message}")
        raise BackupFailed(f"{tool} failed: {message}")
