"""What every command shares: the error-handling group, ``--tracking-uri`` and building a Client.

The CLI is a composition root: a command builds :class:`~dockyard.core.config.Settings` (from the
environment, overridden by ``--tracking-uri``) and a :class:`~dockyard.lifecycle.client.Client` from
them, and nothing else. Heavy modules (SQLAlchemy, the store) are imported only when a command runs,
so ``dockyard --help`` and ``dockyard --version`` stay fast.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dockyard.core.config import Settings
from dockyard.core.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.lifecycle.client import Client

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


def one_line(message: str) -> str:
    """``message`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(message).split())


class UsageErrorLine(click.ClickException):
    """A usage error shown as one ``Error: ...`` line, with a usage error's exit code."""

    exit_code = 2


def _usage_error_line(exc: click.UsageError) -> UsageErrorLine:
    """A usage error as a one-line ``Error: ...`` pointing at the command's ``--help``."""
    message = one_line(exc.format_message())
    if exc.ctx is not None:
        message = f"{message} (see '{exc.ctx.command_path} --help')"
    return UsageErrorLine(message)


class DockyardGroup(click.Group):
    """A click group that turns Dockyard errors and usage errors into one ``Error: ...`` line.

    A :class:`~dockyard.core.errors.DockyardError` (or an ``OSError``, such as a store directory that cannot
    be created) raised by any command below becomes a :class:`click.ClickException` (exit code 1); a
    usage error keeps its exit code (2) but loses the usage block. Other exceptions are bugs and keep
    their traceback.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `dockyard runs` alone prints the group's help
        except click.UsageError as exc:
            raise _usage_error_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DockyardError as exc:
            raise click.ClickException(one_line(exc.message)) from None
        except BrokenPipeError:
            raise  # `dockyard runs list | head`: click exits quietly
        except OSError as exc:  # e.g. the store's directory cannot be created
            raise click.ClickException(one_line(str(exc))) from None
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _usage_error_line(exc) from None


def tracking_uri_option(func: F) -> F:
    """The ``--tracking-uri`` option every command takes (it has no environment variable of its own)."""
    return click.option(
        "--tracking-uri",
        "tracking_uri",
        metavar="URI",
        default=None,
        help="The store: a path, sqlite:///... or postgresql://... "
        "[default: $DOCKYARD_TRACKING_URI, else ./.dockyard/dockyard.db]",
    )(func)


def build_settings(tracking_uri: str | None) -> Settings:
    """Settings from the environment, pointed at ``tracking_uri`` when one was given."""
    settings = Settings.from_env()
    return settings if tracking_uri is None else settings.with_tracking_uri(tracking_uri)


def build_client(tracking_uri: str | None) -> Client:
    """A Client for the command being run; it is closed when the command's context closes."""
    from dockyard.lifecycle.client import Client

    client = Client(settings=build_settings(tracking_uri))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(client.close)
    return client


def run_uvicorn(
    app: Any,
    build: Callable[[], Any],
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    sock: socket.socket | None = None,
) -> None:
    """Run ``app`` with uvicorn in this process; with ``workers > 1``, each worker process calls ``build``
    for its own app instead (``build`` must pickle). ``sock``: a socket already bound to the address
    (``cli.startup.listen``), so a busy port failed before anything was printed."""
    import uvicorn

    common: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": False}
    try:
        if workers == 1:
            uvicorn.Server(uvicorn.Config(app, **common)).run(sockets=None if sock is None else [sock])
            return
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(build, factory=True, workers=workers, **common)
        Multiprocess(config, sockets=[sock or config.bind_socket()]).run()
    finally:
        if sock is not None:
            sock.close()  # the server is done with it (closing twice is harmless)


def collect(fetch: Callable[[int, str | None], Any], max_results: int, page_limit: int) -> tuple[list[Any], bool]:
    """Up to ``max_results`` items from a paged search, and whether more were left.

    ``fetch(page_size, page_token)`` returns a :class:`~dockyard.tracking.entities.Page`; pages are at
    most ``page_limit`` long (the service's cap), so any ``max_results`` can be asked for.
    """
    items: list[Any] = []
    token: str | None = None
    while len(items) < max_results:
        page = fetch(min(max_results - len(items), page_limit), token)
        items.extend(page.items)
        token = page.next_page_token or None
        if token is None:
            return items, False
    return items, True
