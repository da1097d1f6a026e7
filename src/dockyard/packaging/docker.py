"""``--target docker``: a ``Dockerfile`` and ``.dockerignore`` for the bundle.

The image is built in two stages from a slim Python base pinned to an exact tag (the Python version that
packaged the model, on Debian bookworm): the first makes the environment with the bundle's own
``scripts/install`` (so no compiler, pip cache or build file reaches the second), the second copies that
environment and the bundle, runs as an unprivileged user (uid 10001), checks ``/ping`` with
``scripts/healthcheck`` and carries the model's name, version and digest as labels.

No container engine runs where Dockyard's tests run: they run the same ``scripts/install``,
``serve`` and ``scripts/healthcheck`` in a fresh virtual environment instead.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

UID = 10001  # an unprivileged user id no base image uses
VENV = "/opt/venv"
APP = "/bundle"


@dataclass(frozen=True)
class ImageLabels:
    name: str
    version: str | None
    digest: str | None
    model_uri: str
    dockyard_version: str

    def items(self) -> list[tuple[str, str]]:
        return [
            ("org.opencontainers.image.title", self.name),
            ("org.opencontainers.image.description", f"Dockyard scoring server for {self.model_uri}"),
            ("io.dockyard.model.name", self.name),
            ("io.dockyard.model.version", self.version or ""),
            ("io.dockyard.model.digest", self.digest or ""),
            ("io.dockyard.model.uri", self.model_uri),
            ("io.dockyard.version", self.dockyard_version),
        ]


def base_image(python_version: str | None = None) -> str:
    """The base image: the exact Python release that packaged the model, slim, Debian bookworm."""
    return f"python:{python_version or platform.python_version()}-slim-bookworm"


def dockerfile(labels: ImageLabels, *, base: str | None = None) -> str:
    image = base or base_image()
    label_lines = " \\\n      ".join(f"{key}={json.dumps(value)}" for key, value in labels.items())
    return f"""\
# syntax=docker/dockerfile:1
# The scoring server for {labels.model_uri}, written by `dockyard package`.
# Build: docker build -t {labels.name.lower()}:{labels.version or "latest"} .
# Run:   docker run -p 8080:8080 -e WORKERS=2 {labels.name.lower()}:{labels.version or "latest"}
ARG BASE_IMAGE={image}

# Stage 1: the environment, made by the bundle's own install script (the tests run the same script).
FROM ${{BASE_IMAGE}} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR {APP}
COPY requirements.txt ./
COPY scripts/ scripts/
RUN sh scripts/install {VENV}

# Stage 2: the environment and the bundle, nothing else; an unprivileged user.
FROM ${{BASE_IMAGE}}
RUN groupadd --system --gid {UID} dockyard \\
 && useradd --system --uid {UID} --gid dockyard --no-create-home --shell /usr/sbin/nologin dockyard
COPY --from=build {VENV} {VENV}
COPY . {APP}
ENV PATH={VENV}/bin:$PATH \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PORT=8080 \\
    WORKERS=1
LABEL {label_lines}
USER {UID}:{UID}
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \\
    CMD ["python", "{APP}/scripts/healthcheck"]
ENTRYPOINT ["{APP}/serve"]
"""


DOCKERIGNORE = """\
# Not part of the image: container and cluster files, local environments, the zipapp.
Dockerfile
.dockerignore
k8s/
.venv/
*.pyz
**/__pycache__/
"""


def write_docker(directory: Path, labels: ImageLabels, *, base: str | None = None) -> None:
    (directory / "Dockerfile").write_text(dockerfile(labels, base=base), encoding="utf-8")
    (directory / ".dockerignore").write_text(DOCKERIGNORE, encoding="utf-8")
