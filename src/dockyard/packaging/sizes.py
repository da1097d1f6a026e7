"""The size report every ``dockyard package`` prints: the bundle, its environment, the biggest packages.

The environment's installed size is computed from the distributions installed here, the versions the
bundle pins: each requirement and, through its declared dependencies, everything ``pip install -r
requirements.txt`` would bring, each counted once from the files its ``RECORD`` lists. It is the size of
``site-packages`` in the bundle's environment (the interpreter itself not counted), within what one
platform's wheels differ from another's.

    >>> human(1536), human(3 * 1024 * 1024)
    ('1.5 KiB', '3.0 MiB')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from dockyard.models.requirements import requirement_name


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop returns


def folder_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(_normal(name), dist)
    return found


def _dependencies(dist: metadata.Distribution, extras: set[str]) -> list[str]:
    """The distributions ``dist`` requires (with ``extras``) on this platform."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # no marker evaluation: the unconditional requirements only
        return [requirement_name(r) for r in dist.requires or () if ";" not in r]
    out = []
    for line in dist.requires or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if not any(req.marker.evaluate(env) for env in environments):
                continue
        out.append(_normal(req.name) + "".join(f"[{e}]" for e in sorted(req.extras)))
    return out


def _dist_size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or ():
        try:
            total += Path(str(dist.locate_file(file))).stat().st_size
        except OSError:
            continue
    return total


@dataclass(frozen=True)
class EnvironmentSize:
    """The installed size of an environment, by distribution."""

    packages: dict[str, int] = field(default_factory=dict)  # distribution name -> bytes
    missing: tuple[str, ...] = ()  # required, not installed here: not counted

    @property
    def total(self) -> int:
        return sum(self.packages.values())

    def biggest(self, count: int = 5) -> list[tuple[str, int]]:
        return sorted(self.packages.items(), key=lambda item: -item[1])[:count]


def environment_size(requirements: Iterable[str]) -> EnvironmentSize:
    """What installing ``requirements`` (and their dependencies) takes, from the distributions here."""
    installed = _distributions()
    sizes: dict[str, int] = {}
    missing: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [line.split(";", 1)[0].strip() for line in requirements if line.strip() and not line.startswith("#")]
    while todo:
        line = todo.pop()
        name = requirement_name(line)
        extras = set(re.findall(r"\[([^\]]*)\]", line)[0].split(",")) if "[" in line else set()
        extras = {e.strip() for e in extras if e.strip()}
        key = (name, frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        dist = installed.get(name)
        if dist is None:
            missing.append(name)
            continue
        if name not in sizes:
            sizes[name] = _dist_size(dist)
        todo.extend(_dependencies(dist, extras))
    return EnvironmentSize(sizes, tuple(sorted(set(missing))))


def size_report(bundle: Path, environment: EnvironmentSize, *, count: int = 5) -> str:
    """The lines ``dockyard package`` prints."""
    lines = [
        f"bundle: {human(folder_size(bundle))} in {bundle}",
        f"environment (pip install -r requirements.txt): {human(environment.total)} installed, "
        f"{len(environment.packages)} packages",
    ]
    biggest = ", ".join(f"{name} {human(size)}" for name, size in environment.biggest(count))
    if biggest:
        lines.append(f"biggest packages: {biggest}")
    if environment.missing:
        lines.append(f"not installed here, not counted: {', '.join(environment.missing)}")
    return "\n".join(lines)
