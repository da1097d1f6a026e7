"""A bundle's ``README.md``: what the model is, and how to run, test and deploy it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dockyard.models.manifest import Model


@dataclass(frozen=True)
class ReadmeFacts:
    name: str
    version: str | None
    model_uri: str
    digest: str | None
    flavor: str
    metadata: Model
    targets: tuple[str, ...]
    onnx: bool
    image: str
    pyz: str | None
    original_digest: str | None = None  # an ONNX bundle: the digest of the model it was converted from


def _schema_lines(label: str, value: str | None) -> list[str]:
    if not value:
        return [f"- {label}: not recorded"]
    try:
        specs: Any = json.loads(value)
    except ValueError:
        return [f"- {label}: `{value}`"]
    lines = [f"- {label}:"]
    for spec in specs if isinstance(specs, list) else [specs]:
        if isinstance(spec, dict):
            name = spec.get("name", "(unnamed)")
            kind = spec.get("type")
            if kind == "tensor":
                kind = f"tensor {spec.get('tensor-spec', {}).get('dtype')} {spec.get('tensor-spec', {}).get('shape')}"
            lines.append(f"  - `{name}`: {kind}{'' if spec.get('required', True) else ' (optional)'}")
    return lines


def readme(facts: ReadmeFacts) -> str:
    signature = facts.metadata.signature.to_dict() if facts.metadata.signature is not None else {}
    what = [
        f"- name: {facts.name}",
        f"- version: {facts.version or 'not registered'}",
        f"- model URI: `{facts.model_uri}`",
        f"- flavor: {facts.flavor}{' (converted to ONNX, served with onnxruntime)' if facts.onnx else ''}",
        f"- digest of `model/`: `{facts.digest}`",
    ]
    if facts.original_digest:
        what.append(f"- digest of the model it was converted from: `{facts.original_digest}`")
    what += _schema_lines("inputs", signature.get("inputs"))
    what += _schema_lines("outputs", signature.get("outputs"))
    text = f"""\
# {facts.name}: a Dockyard serving bundle

Written by `dockyard package {facts.model_uri}`. Everything the scoring server needs is in this folder:
`model/` (the model's files), `requirements.txt` (exact pins), `runtime/` (Dockyard's serving modules; no
Dockyard package is installed from an index), `serve`, `bundle.json` (what the model is, for the runtime).

## The model

{chr(10).join(what)}

## Run

```sh
sh scripts/install .venv          # a virtual environment holding exactly requirements.txt
PATH=$PWD/.venv/bin:$PATH PORT=8080 WORKERS=2 ./serve
```

`serve` runs the `python` found on `PATH` and listens on `$HOST:$PORT` (default `0.0.0.0:8080`) with
`$WORKERS` worker processes (default 1), from any current directory. It answers every route of
`dockyard serve`: `POST /invocations` (MLflow's payloads), `GET /ping`, `/health`, `/version`, `/metrics`,
`/openapi.json` and the Open Inference Protocol under `/v2/`. `./serve --help` lists its options.

## Test

```sh
scripts/healthcheck                # exit 0 once /ping answers
scripts/smoke                      # scores model/serving_input_example.json and prints the answer
curl -s localhost:8080/invocations -H 'Content-Type: application/json' -d @model/serving_input_example.json
```

## Deploy
"""
    if "docker" in facts.targets:
        text += f"""
`Dockerfile` (two stages, a slim Python base pinned to an exact tag, uid 10001, `HEALTHCHECK` on `/ping`):

```sh
docker build -t {facts.image} .
docker run --rm -p 8080:8080 {facts.image}
```

Its `RUN` step is `scripts/install` and its `HEALTHCHECK` is `scripts/healthcheck`: the same files
Dockyard's tests run in a fresh virtual environment (no container engine runs there).
"""
    if "kubernetes" in facts.targets:
        text += f"""
`k8s/` holds a Deployment (probes on `/ping`, requests and limits, non-root), a Service, a
HorizontalPodAutoscaler and a PodDisruptionBudget, with the image `{facts.image}`:

```sh
kubectl apply -k k8s/
(cd k8s && kustomize edit set image {facts.image.split("@")[0].rsplit(":", 1)[0]}=REGISTRY/IMAGE:TAG)  # another image
```
"""
    if facts.pyz:
        text += f"""
`{facts.pyz}` is the server in one file (the runtime and the model inside): `python {facts.pyz}` with the
environment of `requirements.txt` (`PORT`, `WORKERS`, `HOST` as for `serve`).
"""
    if not any(t in facts.targets for t in ("docker", "kubernetes")) and not facts.pyz:
        text += "\nCopy this folder anywhere with Python and run the two commands above, or package again with\n"
        text += "`--target docker`, `--target kubernetes` or `--target zipapp`.\n"
    return text
