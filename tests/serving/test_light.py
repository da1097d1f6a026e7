"""``dockyard serve PATH`` needs only ``dockyard[serve]``: no SQLAlchemy, database or tracking-server import
(the CLI's other commands import a few plain tracking modules, but no store, service or client)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
import uvicorn

def report(self, *args, **kwargs):
    heavy = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("sqlalchemy", "alembic", "psycopg", "mlflow")
        or name.startswith(("dockyard.db", "dockyard.server"))
        or (
            name.startswith(("dockyard.tracking.", "dockyard.registry."))
            and name.rsplit(".", 1)[1].startswith(("sql", "store", "service", "backends", "remote", "client"))
        )
    )
    print(json.dumps({"heavy": heavy, "app": type(self.config.app).__name__}))

uvicorn.Server.run = report
from dockyard.cli import main
main(["serve", sys.argv[1], "--port", "0"], standalone_mode=False)
"""


def test_serving_a_local_model_imports_no_database_code(classifier_model: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(classifier_model)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "app": "Starlette"}
