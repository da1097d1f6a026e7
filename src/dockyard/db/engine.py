"""Database engines: SQLite tuned for one writer and many readers, or PostgreSQL.

SQLite allows one writer at a time. Dockyard respects that instead of fighting it:

* WAL mode, so readers never block the writer and the writer never blocks readers;
* ``busy_timeout`` of 60 s, so a process waiting for the write lock waits instead of failing with
  "database is locked";
* every write transaction starts with ``BEGIN IMMEDIATE``, taking the write lock up front, so two
  writers can never deadlock by both upgrading a read lock (the case ``busy_timeout`` cannot resolve);
* writes from threads of one process are serialized by a lock before they reach SQLite, so they queue
  in order instead of polling the file lock;
* ``synchronous=NORMAL``: a commit survives the process being killed; only a power loss can drop the
  last commits;
* ``wal_autocheckpoint=10000``: the log is checkpointed every ~40 MB rather than ~4 MB, so the syncs a
  checkpoint does interrupt bursts of small writes less often.

>>> db = Database("sqlite://")          # in memory
>>> with db.write() as conn:
...     _ = conn.exec_driver_sql("create table t (x int)")
>>> with db.read() as conn:
...     conn.exec_driver_sql("select count(*) from t").scalar()
0
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidParameter, StoreUnavailable

if TYPE_CHECKING:
    import sqlalchemy as sa

_log = logging.getLogger("dockyard.db")

BUSY_TIMEOUT_MS = 60_000


def normalize_db_uri(uri: str) -> str:
    """Pick Dockyard's driver where the URI names none: ``postgresql://`` means psycopg 3."""
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://") :]
    if uri.startswith("postgresql://"):
        return "postgresql+psycopg://" + uri[len("postgresql://") :]
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The file behind a ``sqlite:///`` URI (None for in-memory databases)."""
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    if not rest or rest in ("/", "/:memory:") or ":memory:" in rest:
        return None
    return Path(rest[1:] if rest.startswith("/") else rest)


class Database:
    """An engine plus the two ways to use it: ``read()`` and ``write()`` transactions."""

    def __init__(self, uri: str, *, echo: bool = False) -> None:
        import sqlalchemy as sa

        self.uri = normalize_db_uri(uri)
        self.dialect = self.uri.split(":", 1)[0].split("+", 1)[0]
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidParameter(
                f"tracking_uri {uri!r}: unsupported database (use a path, sqlite:///... or postgresql://...)"
            )
        self.is_sqlite = self.dialect == "sqlite"
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            path = sqlite_path(self.uri)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise InvalidParameter(
                        f"tracking_uri {uri!r}: cannot create the folder {str(path.parent)!r}: {exc.strerror}"
                    ) from None
            else:
                # One shared connection, or every connection would see its own empty database.
                kwargs["poolclass"] = sa.pool.StaticPool
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: sa.Engine = sa.create_engine(self.uri, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction (a consistent snapshot in WAL mode)."""
        with _translate_errors(), self.engine.connect() as conn:
            yield conn
            conn.rollback()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._write_lock or nullcontext(), _translate_errors(), self.engine.connect() as conn:
            conn.execution_options(dockyard_write=True)
            with conn.begin():
                yield conn

    def upsert(self, table: sa.Table) -> Any:
        """``INSERT`` of this database's dialect, which has ``on_conflict_do_nothing/update`` (SQLite and
        PostgreSQL spell them the same way)."""
        if self.is_sqlite:
            from sqlalchemy.dialects import sqlite

            return sqlite.insert(table)
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)

    def pool_status(self) -> dict[str, int]:
        """The connection pool's figures (``size``, ``checked_out``, ``overflow``, ``idle``) for monitoring;
        empty for a pool without them (an in-memory database's single connection)."""
        pool = self.engine.pool
        if not all(hasattr(pool, name) for name in ("size", "checkedout", "overflow", "checkedin")):
            return {}
        return {
            "size": pool.size(),  # type: ignore[attr-defined]
            "checked_out": pool.checkedout(),  # type: ignore[attr-defined]
            "overflow": max(0, pool.overflow()),  # type: ignore[attr-defined]
            "idle": pool.checkedin(),  # type: ignore[attr-defined]
        }

    def dispose(self) -> None:
        self.engine.dispose()


def _install_sqlite_hooks(engine: sa.Engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours to send.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA wal_autocheckpoint = 10000")
        cur.execute("PRAGMA foreign_keys = ON")
        # MLflow's LIKE is case-sensitive (ILIKE is the insensitive one); SQLite's default is not.
        cur.execute("PRAGMA case_sensitive_like = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("dockyard_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


# What a driver says when the database cannot serve right now but will again (a restart, a lock, a full
# disk): answered 503, which clients retry, instead of a 500.
_UNAVAILABLE = (
    "locked",
    "could not connect",
    "connection",
    "shutting down",
    "starting up",
    "in recovery",
    "terminating",
    "server closed",
    "disk is full",
    "no space left",
    "disk i/o error",
)


@contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn "can't reach the database" into StoreUnavailable (503, retried by clients), and a value the
    database cannot hold (a number past 64 bits) into InvalidParameter (400): the request's fault."""
    import sqlalchemy.exc

    try:
        yield
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        lowered = text.lower()
        if exc.connection_invalidated or any(marker in lowered for marker in _UNAVAILABLE):
            # The driver's words name hosts, ports and paths: they go to the log, never to the caller.
            _log.warning("database unavailable: %s", first)
            if "full" in lowered or "no space" in lowered:
                raise StoreUnavailable("database unavailable: its disk is full") from exc
            if "locked" in lowered:
                raise StoreUnavailable("database unavailable: it is locked by another writer; retry") from exc
            raise StoreUnavailable("database unavailable: it cannot be reached or is restarting; retry") from exc
        raise
    except sqlalchemy.exc.PendingRollbackError as exc:  # a connection lost mid-transaction
        raise StoreUnavailable("database unavailable: the connection was lost; retry") from exc
    except (sqlalchemy.exc.DataError, OverflowError) as exc:
        raise InvalidParameter(
            "a value in the request is out of the range the database stores (a number past 64 bits?)"
        ) from exc
