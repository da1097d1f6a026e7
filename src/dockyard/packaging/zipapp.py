"""``--target zipapp``: ``DIR/<name>.pyz``, one file that ``python <name>.pyz`` runs as the scoring server.

The archive (the standard library's zipapp format) holds the serving runtime at its top, so Python
imports it from the archive, and the bundle (``bundle.json`` and ``model/``) under ``bundle/``. On start
``__main__.py`` unpacks ``bundle/`` into a temporary folder (a model library reads files, not zip
members), serves it exactly as ``DIR/serve`` does, and removes the folder when the server stops. The
Python that runs it needs the bundle's ``requirements.txt`` installed: the archive carries Dockyard and
the model, not compiled libraries such as numpy, which cannot be imported from a zip file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

MAIN = """\
# The scoring server of a Dockyard serving bundle, packed by `dockyard package --target zipapp`.
# PORT (default 8080), WORKERS (default 1) and HOST (default 0.0.0.0) choose where and how.
import os
import shutil
import sys
import tempfile
import zipfile


def main() -> int:
    archive = os.path.abspath(sys.argv[0])
    work = tempfile.mkdtemp(prefix="dockyard-pyz-")
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.namelist() if m.startswith("bundle/")]
            zf.extractall(work, members)
        from dockyard.serving.bundle import main as serve

        return serve([
            os.path.join(work, "bundle"),
            "--host", os.environ.get("HOST", "0.0.0.0"),
            "--port", os.environ.get("PORT", "8080"),
            "--workers", os.environ.get("WORKERS", "1"),
            *sys.argv[1:],
        ])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
"""


def write_zipapp(bundle: Path, target: Path) -> Path:
    """Pack ``bundle`` (a folder ``dockyard package`` wrote) into ``target``, a ``.pyz``."""
    runtime = bundle / "runtime"
    with target.open("wb") as fh:
        fh.write(b"#!/usr/bin/env python3\n")  # a shebang line, so `./name.pyz` runs it too
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("__main__.py", MAIN)
            for path in sorted(runtime.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, path.relative_to(runtime).as_posix())
            zf.write(bundle / "bundle.json", "bundle/bundle.json")
            for path in sorted((bundle / "model").rglob("*")):
                if path.is_file():
                    zf.write(path, f"bundle/{path.relative_to(bundle).as_posix()}")
    target.chmod(0o755)
    return target
