"""docs/configuration.md and config.ENVIRONMENT_VARIABLES list the same settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockyard.core.config import ENVIRONMENT_VARIABLES

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
NAME = re.compile(r"\bDOCKYARD_[A-Z0-9_]*[A-Z0-9]\b")


def _doc_text() -> str:
    assert DOC.is_file(), f"{DOC} is missing"
    return DOC.read_text(encoding="utf-8")


def _documented_names() -> set[str]:
    return {name for name in NAME.findall(_doc_text()) if not name.startswith("DOCKYARD_TEST_")}


@pytest.mark.parametrize("name", sorted(ENVIRONMENT_VARIABLES))
def test_every_setting_is_documented(name: str) -> None:
    assert name in _documented_names(), f"{name} is read by dockyard.core.config but not in docs/configuration.md"


@pytest.mark.parametrize("name", sorted(ENVIRONMENT_VARIABLES))
def test_every_setting_has_its_own_section(name: str) -> None:
    headings = re.findall(r"^#+ +`?([A-Z0-9_]+)`?\s*$", _doc_text(), flags=re.MULTILINE)
    assert name in headings, f"docs/configuration.md has no heading for {name}"


def test_every_documented_variable_is_a_setting() -> None:
    unknown = _documented_names() - set(ENVIRONMENT_VARIABLES)
    assert not unknown, f"docs/configuration.md mentions variables config does not read: {sorted(unknown)}"


def test_documented_names_are_exactly_the_settings() -> None:
    assert _documented_names() == set(ENVIRONMENT_VARIABLES)


def test_name_pattern_ignores_test_variables_and_wildcards() -> None:
    text = "DOCKYARD_TEST_POSTGRES_URI, DOCKYARD_* and `DOCKYARD_TRACKING_URI`."
    found = {n for n in NAME.findall(text) if not n.startswith("DOCKYARD_TEST_")}
    assert found == {"DOCKYARD_TRACKING_URI"}


@pytest.mark.parametrize(
    "phrase",
    [
        "./.dockyard/dockyard.db",
        "sqlite:///",
        "postgresql://",
        "psycopg 3",
        "http://",
        "https://",
        "set_tracking_uri",
        "--tracking-uri",
        "Precedence",
    ],
)
def test_doc_covers_uri_forms_and_precedence(phrase: str) -> None:
    assert phrase in _doc_text()
