"""The Dockyard serving runtime a bundle carries: the serving modules' source, copied as data.

A bundle must run where no Dockyard package is on any index, and without Dockyard's core dependencies
(SQLAlchemy, Alembic, click, rich, PyYAML, httpx2). So it carries, in ``runtime/``, the modules the
scoring server imports and nothing else: ``dockyard.serving``, ``dockyard.models`` (the model format and
its flavors), and the modules of ``dockyard.core`` and the package top they import, found by reading their
``import`` statements (those under ``if TYPE_CHECKING:`` excepted), so the set follows the code.
A module of a layer that reaches a store (``db``, ``tracking``, ``registry``, ``lifecycle``, ``server``,
``cli``...) in that set is a bug, refused here rather than shipped.

``runtime/dockyard-<version>.dist-info/`` holds the package's metadata and the ``dockyard.flavors`` entry
points, so flavors are found the way they are in a full install: the ``serve`` script puts ``runtime/``
on ``PYTHONPATH``, and nothing is installed.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import dockyard
from dockyard.__about__ import __version__
from dockyard.core.errors import InvalidParameter

ROOTS = ("dockyard.serving", "dockyard.models")  # packages carried whole
ALLOWED = ("serving", "models", "core", "__about__")  # the parts of dockyard (besides its __init__) it may carry
FLAVOR_GROUP = "dockyard.flavors"


def package_root() -> Path:
    """The installed ``dockyard`` package's folder (the source copied into bundles)."""
    return Path(dockyard.__file__).resolve().parent


def _module_path(root: Path, module: str) -> Path | None:
    parts = module.split(".")[1:]
    base = root.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    candidate = base.with_suffix(".py")
    return candidate if parts and candidate.is_file() else None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> set[str]:
    """The ``dockyard.*`` modules ``path`` imports at run time (any depth, not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "dockyard")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] == "dockyard":
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
        for inner in ast.iter_child_nodes(node):
            visit(inner)

    visit(tree)
    return found


def runtime_modules(root: Path | None = None) -> dict[str, Path]:
    """module name -> source file of every module the serving runtime carries."""
    root = root or package_root()
    todo: list[str] = ["dockyard", "dockyard.__about__"]
    for package in ROOTS:
        folder = root.joinpath(*package.split(".")[1:])
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
            todo.append(".".join(["dockyard", *parts]))
    modules: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in modules:
            continue
        found = _module_path(root, name)
        if found is None:
            continue  # `from package import name` where name is not a module
        if name != "dockyard" and name.split(".")[1] not in ALLOWED:
            raise InvalidParameter(
                f"the serving runtime would carry {name}, which belongs to a layer a bundle must not need "
                "(the tracking store, the registry, the server or the CLI); this is a Dockyard bug"
            )
        modules[name] = found
        parents = name.split(".")
        todo.extend(".".join(parents[:i]) for i in range(1, len(parents)))  # parent packages
        todo.extend(_imports(found, name))
    return modules


def _entry_points() -> list[tuple[str, str]]:
    """The installed ``dockyard.flavors`` entry points whose module the runtime carries."""
    try:
        points = metadata.distribution("dockyard").entry_points
    except metadata.PackageNotFoundError:
        return []
    return sorted((p.name, p.value) for p in points if p.group == FLAVOR_GROUP)


def write_runtime(target: Path, modules: dict[str, Path] | None = None) -> list[str]:
    """Copy the runtime into ``target`` (``target/dockyard/...`` and its dist-info); the module names."""
    root = package_root()
    modules = modules or runtime_modules(root)
    for path in modules.values():
        destination = target / "dockyard" / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    carried = set(modules)
    points = [(n, v) for n, v in _entry_points() if v.split(":", 1)[0] in carried]
    info = target / f"dockyard-{__version__}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: dockyard\nVersion: {__version__}\n"
        "Summary: The Dockyard serving runtime carried by a serving bundle (the serving modules only).\n",
        encoding="utf-8",
    )
    lines = [f"[{FLAVOR_GROUP}]", *(f"{n} = {v}" for n, v in points)]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (info / "top_level.txt").write_text("dockyard\n", encoding="utf-8")
    return sorted(carried)


def third_party_imports(modules: Iterable[Path]) -> set[str]:
    """Top-level third-party modules the runtime's source names anywhere (for the docs and tests)."""
    import sys

    names: set[str] = set()
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n != "dockyard" and n not in sys.stdlib_module_names and n != "__future__"}
