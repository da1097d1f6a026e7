"""Two versions of a registered model side by side: params, metrics, signature, requirements, datasets,
git commit and where each came from, one row per item with a flag when the two differ.

Params and metrics are the run's, overlaid by the logged model's (MLflow 3 logs them on both). The
signature and ``requirements.txt`` come from each version's model files, fetched through ``fetch``
(a model URI -> a local model directory, e.g. :meth:`dockyard.lifecycle.resolution.ModelResolver.fetch`); a
version whose files cannot be read gets a note saying why, and empty cells for those rows.

>>> rows = compare("param", {"lr": "0.1", "depth": "6"}, {"lr": "0.2", "depth": "6"})
>>> [(r.key, r.left, r.right, r.differs) for r in rows]
[('depth', '6', '6', False), ('lr', '0.1', '0.2', True)]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.core.errors import DockyardError
from dockyard.registry.lineage import Lineage, Registry, Tracking, build_lineage

SECTIONS = ("version", "param", "metric", "signature", "requirement", "dataset", "git")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class DiffRow:
    section: str  # one of SECTIONS
    key: str
    left: str | None  # None: absent in that version
    right: str | None

    @property
    def differs(self) -> bool:
        return self.left != self.right


@dataclass(frozen=True)
class VersionDiff:
    name: str
    left: int
    right: int
    rows: tuple[DiffRow, ...]
    notes: tuple[str, ...] = ()

    @property
    def differences(self) -> tuple[DiffRow, ...]:
        return tuple(r for r in self.rows if r.differs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": [str(self.left), str(self.right)],
            "rows": [
                {"section": r.section, "key": r.key, "left": r.left, "right": r.right, "differs": r.differs}
                for r in self.rows
            ],
            "notes": list(self.notes),
        }


def compare(section: str, left: Mapping[str, str], right: Mapping[str, str]) -> list[DiffRow]:
    """One row per key of either side, sorted by key."""
    return [DiffRow(section, k, left.get(k), right.get(k)) for k in sorted(set(left) | set(right))]


def _signature(model_dir: Path) -> dict[str, str]:
    from dockyard.models.manifest import Model

    signature = Model.load(model_dir).signature
    if signature is None:
        return {}
    out: dict[str, str] = {}
    for part, text in signature.to_dict().items():
        for i, spec in enumerate(json.loads(text) if text else []):
            name = spec.pop("name", None) if isinstance(spec, dict) else None
            out[f"{part}.{name if name is not None else i}"] = json.dumps(spec, sort_keys=True)
    return out


def _requirements(model_dir: Path) -> dict[str, str]:
    path = model_dir / "requirements.txt"
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _REQUIREMENT_NAME.match(line)
        out[match.group(1).lower() if match else line] = line
    return out


def _from_files(
    name: str, version: int, fetch: Callable[[str], Path] | None, notes: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    if fetch is None:
        return {}, {}
    uri = f"models:/{name}/{version}"
    try:
        model_dir = Path(fetch(uri))
        return _signature(model_dir), _requirements(model_dir)
    except (DockyardError, OSError) as exc:
        notes.append(f"version {version}: cannot read the model files at {uri}: {getattr(exc, 'message', exc)}")
        return {}, {}


def _facts(lineage: Lineage) -> dict[str, dict[str, str]]:
    run, logged = lineage.run, lineage.logged_model
    params = {**(run.params if run else {}), **(logged.params if logged else {})}
    metrics = {**(run.metrics if run else {}), **(logged.metrics if logged else {})}
    version = {
        "source": lineage.source,
        "stage": lineage.stage,
        "status": lineage.status,
        **({"run_id": run.run_id} if run else {}),
        **({"model_id": logged.model_id} if logged else {}),
    }
    datasets = {}
    for d in run.datasets if run else ():
        datasets[f"{d.name} ({d.context})" if d.context else d.name] = d.digest
    return {
        "version": version,
        "param": params,
        "metric": {k: repr(x) for k, x in metrics.items()},
        "dataset": datasets,
        "git": dict(run.git) if run else {},
    }


def diff_versions(
    registry: Registry,
    tracking: Tracking,
    name: str,
    left: int | str,
    right: int | str,
    fetch: Callable[[str], Path] | None = None,
) -> VersionDiff:
    """Compare versions ``left`` and ``right`` of ``name`` (``fetch`` None: no signature/requirements)."""
    sides = [build_lineage(registry, tracking, name, v) for v in (left, right)]
    notes: list[str] = []
    files = [_from_files(sides[0].name, s.version, fetch, notes) for s in sides]
    facts = [_facts(s) for s in sides]
    rows: list[DiffRow] = []
    for section in SECTIONS:
        if section == "signature":
            rows += compare(section, files[0][0], files[1][0])
        elif section == "requirement":
            rows += compare(section, files[0][1], files[1][1])
        else:
            rows += compare(section, facts[0][section], facts[1][section])
    return VersionDiff(sides[0].name, sides[0].version, sides[1].version, tuple(rows), tuple(notes))
