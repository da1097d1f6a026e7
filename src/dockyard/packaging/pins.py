"""A bundle's ``requirements.txt``: exact pins of what loading the model needs, plus the serving runtime.

The model's own ``requirements.txt`` (what its flavor recorded at logging time) is the start:

- lines naming ``mlflow``, ``mlflow-skinny`` or ``dockyard`` are left out: the bundle carries its own
  serving runtime, so neither MLflow's server stack nor a Dockyard package from an index is needed;
- a line pinned with ``==`` is kept as it is;
- any other line (``numpy>=1.26``, a bare ``pandas``) is pinned to the version installed here when that
  version satisfies it, else refused: a bundle installs the same versions everywhere or not at all;
- a line that cannot be pinned (a URL, a path, an editable install, ``-r`` and other pip options) is
  refused, naming the line.

Then the serving runtime's own libraries, each pinned to the version installed here: the HTTP server stack
(Starlette, uvicorn and its fast event loop and parser), numpy, prometheus-client and orjson, and pandas
when the model needs its table input as a DataFrame (``table_input``; see
:func:`dockyard.packaging.bundle.needs_pandas`). A pin of the model's wins over the runtime's for the same
package.

    >>> pin_line("scikit-learn==1.5.1")
    'scikit-learn==1.5.1'
    >>> pin_line("mlflow==3.6.0") is None
    True
    >>> try:
    ...     pin_line("git+https://h/x.git")
    ... except InvalidModel as exc:
    ...     print(exc.message.split(";")[0])
    the model's requirement 'git+https://h/x.git' cannot be pinned to an exact version (a URL, a path or a pip option)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockyard.core.errors import InvalidModel, InvalidParameter
from dockyard.models.requirements import installed_version, requirement_name

# Distributions the bundle's runtime replaces: a model's pin of them is dropped.
REPLACED = frozenset({"mlflow", "mlflow-skinny", "mlflow-tracing", "dockyard"})
# The serving runtime: (distribution, environment marker or "", required). Optional ones are pinned
# when installed here (they speed the server up; it runs without them).
RUNTIME: tuple[tuple[str, str, bool], ...] = (
    ("starlette", "", True),
    ("uvicorn", "", True),
    ("numpy", "", True),
    ("prometheus-client", "", True),
    ("orjson", "", False),
    ("httptools", "", False),
    ("uvloop", "sys_platform != 'win32'", False),
)
TABLE_RUNTIME = ("pandas",)  # a model fed tables: serving builds DataFrames for it

_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*(?P<spec>[^;]*?)\s*(?:;\s*(?P<marker>.+))?$"
)
_EXACT = re.compile(r"^==\s*(?P<version>[A-Za-z0-9.+!_-]+)$")


@dataclass(frozen=True)
class Pins:
    """The lines of the bundle's ``requirements.txt``, and what was left out of the model's."""

    lines: tuple[str, ...]
    dropped: tuple[str, ...] = ()  # the model's lines the runtime replaces (mlflow, dockyard)

    @property
    def names(self) -> list[str]:
        return [requirement_name(line) for line in self.lines]

    def text(self, header: str) -> str:
        comments = "".join(f"# {line}\n" for line in header.splitlines())
        return comments + "".join(f"{line}\n" for line in self.lines)


def _unpinnable(line: str, why: str) -> InvalidModel:
    return InvalidModel(
        f"the model's requirement {line!r} cannot be pinned to an exact version ({why}); "
        "list it as NAME==VERSION in the model's requirements.txt"
    )


def pin_line(line: str) -> str | None:
    """``line`` as an exact pin; None for a package the runtime replaces; InvalidModel when it cannot be."""
    text = line.split(" #", 1)[0].strip()
    if text.startswith("-") or "://" in text or text.startswith((".", "/", "~")) or " @ " in text or "@" in text:
        raise _unpinnable(line, "a URL, a path or a pip option")
    match = _LINE.match(text)
    if match is None:
        raise _unpinnable(line, "not a requirement")
    name = requirement_name(match.group("name"))
    if name in REPLACED:
        return None
    extras, spec, marker = match.group("extras") or "", match.group("spec").strip(), match.group("marker")
    exact = _EXACT.match(spec.replace(" ", ""))
    if exact is not None and "*" not in exact.group("version"):
        version = exact.group("version")
    else:
        version = _installed_satisfying(name, spec, line)
    pinned = f"{match.group('name')}{extras}=={version}"
    return f"{pinned}; {marker.strip()}" if marker else pinned


def _installed_satisfying(name: str, spec: str, line: str) -> str:
    installed = installed_version(name)
    if installed is None:
        raise _unpinnable(line, f"it names no exact version and {name} is not installed here to pin it to")
    if spec:
        try:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet
        except ImportError:
            raise _unpinnable(line, f"checking {spec!r} needs the 'packaging' library, not installed here") from None

        try:
            allowed = SpecifierSet(spec)
        except InvalidSpecifier:
            raise _unpinnable(line, f"{spec!r} is not a version specifier") from None
        if not allowed.contains(installed, prereleases=True):
            raise _unpinnable(line, f"the installed {name} {installed} does not satisfy {spec}")
    return installed


def runtime_pins(*, table_input: bool) -> list[str]:
    """The serving runtime's libraries pinned to the versions installed here."""
    out = []
    wanted = [*RUNTIME, *((name, "", True) for name in TABLE_RUNTIME if table_input)]
    for name, marker, required in wanted:
        version = installed_version(name)
        if version is None:
            if required:
                raise InvalidParameter(
                    f"{name} is not installed here, so the bundle cannot pin it: "
                    "install the serving runtime with pip install 'dockyard[serve]' and package again"
                )
            continue
        out.append(f"{name}=={version}; {marker}" if marker else f"{name}=={version}")
    return out


def bundle_pins(
    model_lines: Sequence[str], *, table_input: bool, exclude: Iterable[str] = (), extra: Iterable[str] = ()
) -> Pins:
    """The bundle's requirements: the model's lines pinned, then the runtime's (``exclude``: names of the
    model's requirements to leave out; ``extra``: lines to add, pinned the same way)."""
    excluded = {requirement_name(n) for n in exclude}
    pinned: dict[str, str] = {}
    dropped: list[str] = []
    for line in [*model_lines, *extra]:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        result = pin_line(text)
        if result is None or requirement_name(text) in excluded:
            dropped.append(text)
            continue
        pinned[requirement_name(result)] = result
    for line in runtime_pins(table_input=table_input):
        pinned.setdefault(requirement_name(line), line)
    return Pins(tuple(pinned.values()), tuple(dropped))
