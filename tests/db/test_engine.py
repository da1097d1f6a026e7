from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dockyard.db.engine import Database, normalize_db_uri, sqlite_path


def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    db.dispose()


def test_sqlite_like_is_case_sensitive(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'l.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT 'Abc' LIKE 'abc'").scalar() == 0
    db.dispose()


def test_write_takes_the_lock_up_front(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second connection cannot start a write while one is open."""
    import sqlite3

    path = tmp_path / "w.db"
    db = Database(f"sqlite:///{path}")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INT)")
    with db.write() as conn:
        conn.exec_driver_sql("SELECT 1")  # no write yet, but the lock is already held
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    db.dispose()


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INT)")

    def insert_then_fail(conn: Any) -> None:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError), db.write() as conn:
        insert_then_fail(conn)
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    db.dispose()


def test_threads_write_without_errors(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 't.db'}")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INT)")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                with db.write() as conn:
                    conn.exec_driver_sql("INSERT INTO t VALUES (?)", (n * 100 + i,))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 300
    db.dispose()


def test_in_memory_database_is_shared_across_uses() -> None:
    db = Database("sqlite://")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INT)")
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg:///db", "postgresql+psycopg:///db"),
        ("sqlite:////a/b.db", "sqlite:////a/b.db"),
    ],
)
def test_normalize_db_uri(uri: str, expected: str) -> None:
    assert normalize_db_uri(uri) == expected


def test_sqlite_path() -> None:
    assert sqlite_path("sqlite:////a/b.db") == Path("/a/b.db")
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None


def test_uncreatable_folder_is_a_clear_error(tmp_path: Path) -> None:
    from dockyard.core.errors import InvalidParameter

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidParameter, match="cannot create the folder"):
        Database(f"sqlite:///{blocker / 'sub' / 'x.db'}")
