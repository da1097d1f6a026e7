"""What ``dockyard server``, ``ui`` and ``serve`` check before they print "running": each failure is one
``Error: ...`` line and an exit code of its own, so a supervisor (systemd, Kubernetes, a script) can tell
a busy port from a full disk from a database that is down without parsing text.

| Exit code | Meaning |
| --- | --- |
| 3 | the address cannot be listened on (port in use, or not allowed) |
| 4 | a data folder (the SQLite database's, the artifact destination) cannot be written |
| 5 | the database cannot be reached |

The socket is bound here, before the banner, and handed to uvicorn, so the banner names a port that is
really listening (``--port 0`` shows the one the system chose).

>>> sock = listen("127.0.0.1", 0)
>>> sock.listen()
>>> sock.getsockname()[1] > 0
True
>>> try:
...     listen("127.0.0.1", sock.getsockname()[1])
... except CannotListen as exc:
...     print(exc.exit_code, "in use" in exc.message)
3 True
>>> sock.close()
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

import click

EXIT_CANNOT_LISTEN = 3
EXIT_NOT_WRITABLE = 4
EXIT_DATABASE_UNREACHABLE = 5


class CannotListen(click.ClickException):
    exit_code = EXIT_CANNOT_LISTEN


class NotWritable(click.ClickException):
    exit_code = EXIT_NOT_WRITABLE


class DatabaseUnreachable(click.ClickException):
    exit_code = EXIT_DATABASE_UNREACHABLE


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (inheritable, so worker processes can share it), or
    :class:`CannotListen` naming the address and the reason."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # As uvicorn does: a port whose previous server just exited (TIME_WAIT) can be bound again at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bare, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use (another process listens there; choose another --port)"
        elif exc.errno == errno.EACCES:
            reason = "permission denied (ports below 1024 need privileges; choose another --port)"
        else:
            reason = (exc.strerror or str(exc)).lower()
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def require_writable(folder: str | Path, what: str) -> None:
    """Create ``folder`` if needed and prove a file can be written in it, else :class:`NotWritable`
    naming ``what`` it is for (checked by writing, not by permission bits, which root ignores and a
    read-only mount overrides)."""
    path = Path(folder)
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise NotWritable(f"{what} {str(path)!r} cannot be created: {str(blocker)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".dockyard-write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise NotWritable(f"{what} {str(path)!r} is not writable: {reason}") from None


def require_writable_file(file: str | Path, what: str) -> None:
    """The folder of ``file`` is writable and so is ``file`` itself when it exists."""
    path = Path(file)
    require_writable(path.parent, f"the folder of {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise NotWritable(f"{what} {str(path)!r} is not writable: permission denied")
