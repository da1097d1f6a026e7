"""The executable files of a bundle: ``serve``, ``scripts/install``, ``scripts/healthcheck``, ``scripts/smoke``.

They use only ``sh`` and the Python standard library, so they run in a slim container, on a laptop and in
the tests alike; the Dockerfile's ``RUN`` and ``HEALTHCHECK`` steps call the same files.
"""

from __future__ import annotations

import stat
from pathlib import Path

SERVE = """\
#!/bin/sh
# Start the model's scoring server (all of `dockyard serve`'s routes) with the `python` found on PATH:
# the environment made from this folder's requirements.txt. PORT (default 8080), WORKERS (default 1)
# and HOST (default 0.0.0.0) choose where and how; extra arguments go to the server (--help lists them).
set -eu
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
PYTHONPATH="$HERE/runtime${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
exec python -m dockyard.serving.bundle "$HERE" \\
    --host "${HOST:-0.0.0.0}" --port "${PORT:-8080}" --workers "${WORKERS:-1}" "$@"
"""

INSTALL = """\
#!/bin/sh
# Make the bundle's environment: a virtual environment at $1 (default: .venv beside this folder's
# parent) holding exactly requirements.txt. The Dockerfile runs this; so do the tests, in a fresh venv.
# PYTHON chooses the interpreter (default: python3).
set -eu
HERE=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
VENV=${1:-"$HERE/.venv"}
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --quiet -r "$HERE/requirements.txt"
echo "installed $HERE/requirements.txt into $VENV; start the server with: PATH=$VENV/bin:\\$PATH $HERE/serve" >&2
"""

HEALTHCHECK = """\
#!/usr/bin/env python3
\"\"\"Exit 0 when the scoring server on 127.0.0.1:$PORT (default 8080) answers /ping, else 1.\"\"\"

import os
import sys
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/ping"
try:
    with urllib.request.urlopen(url, timeout=float(os.environ.get('HEALTHCHECK_TIMEOUT', '3'))) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError as exc:
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
"""

SMOKE = """\
#!/usr/bin/env python3
\"\"\"Score the model's input example on the server at $URL (default http://127.0.0.1:$PORT, PORT 8080)
and print the answer: the test to run after deploying.\"\"\"

import json
import os
import sys
import urllib.request
from pathlib import Path

here = Path(__file__).resolve().parent.parent
example = here / "model" / "serving_input_example.json"
if not example.is_file():
    sys.exit(f"{example} does not exist: the model was logged without an input example")
base = os.environ.get("URL") or f"http://127.0.0.1:{os.environ.get('PORT', '8080')}"
request = urllib.request.Request(
    base.rstrip("/") + "/invocations", data=example.read_bytes(), headers={"Content-Type": "application/json"}
)
with urllib.request.urlopen(request, timeout=30) as answer:
    print(json.dumps(json.loads(answer.read()), indent=2))
"""


def write_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def write_scripts(directory: Path) -> None:
    """``serve`` at the top, the helpers under ``scripts/``."""
    write_executable(directory / "serve", SERVE)
    write_executable(directory / "scripts" / "install", INSTALL)
    write_executable(directory / "scripts" / "healthcheck", HEALTHCHECK)
    write_executable(directory / "scripts" / "smoke", SMOKE)
