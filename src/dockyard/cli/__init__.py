"""The ``dockyard`` command line: ``db``, ``experiments``, ``runs``, ``models``, ``server``, ``ui``, ``serve``,
``predict``, ``package``, ``demo``, and the accounts of a server run with auth: ``users``, ``tokens``, ``permissions``.

Every command takes ``--tracking-uri``; without it the store is the one ``DOCKYARD_TRACKING_URI``
names, else ``./.dockyard/dockyard.db``. A Dockyard error (an unknown run id, a bad filter, ...) or a
usage error ends the command with exit code 1 or 2 and one line, ``Error: <message>``. docs/cli.md is
the reference (tests/test_docs.py keeps it in step with the commands).
"""

from __future__ import annotations

import click

from dockyard.__about__ import __version__
from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup
from dockyard.cli.db import db
from dockyard.cli.demo import demo
from dockyard.cli.experiments import experiments
from dockyard.cli.gc import gc
from dockyard.cli.models import models
from dockyard.cli.monitor import monitor_command
from dockyard.cli.package import package
from dockyard.cli.predict import predict
from dockyard.cli.reproduce import reproduce_run
from dockyard.cli.runs import runs
from dockyard.cli.serve import serve
from dockyard.cli.server import server, ui
from dockyard.cli.users import permissions, tokens, users
from dockyard.cli.validate import validate_command

__all__ = ["DockyardGroup", "main"]


@click.group("dockyard", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="dockyard", message="%(prog)s %(version)s")
def main() -> None:
    """Dockyard: experiment tracking, a model registry, packaging and serving.

    Run `dockyard COMMAND --help` for the options of a command.
    """


main.add_command(db)
main.add_command(experiments)
runs.add_command(reproduce_run)
main.add_command(runs)
main.add_command(models)
main.add_command(server)
main.add_command(ui)
main.add_command(serve)
main.add_command(package)
main.add_command(predict)
main.add_command(demo)
main.add_command(gc)
main.add_command(users)
main.add_command(tokens)
main.add_command(permissions)
main.add_command(validate_command)
main.add_command(monitor_command)
