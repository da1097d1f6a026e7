"""Content digests of model files: what registration records, and the check a load makes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dockyard.core.errors import ModelIntegrityError
from dockyard.models.digest import (
    DIGEST_TAG,
    FILES_TAG,
    digest_tags,
    directory_files,
    first_difference,
    manifest_digest,
    verify,
)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "data").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "model.pkl").write_bytes(b"weights")
    (root / "data" / "extra.bin").write_bytes(b"\x00" * 10)
    return root


def test_files_are_hashed_by_relative_posix_path(model: Path) -> None:
    files = directory_files(model)
    assert files == {
        "MLmodel": hashlib.sha256(b"flavors: {}\n").hexdigest(),
        "data/extra.bin": hashlib.sha256(b"\x00" * 10).hexdigest(),
        "model.pkl": hashlib.sha256(b"weights").hexdigest(),
    }
    assert directory_files(model, ignore=("model.pkl",)).keys() == {"MLmodel", "data/extra.bin"}


def test_the_digest_covers_names_and_contents() -> None:
    base = manifest_digest({"a": "1" * 64, "b": "2" * 64})
    assert base.startswith("sha256:") and len(base) == len("sha256:") + 64
    assert manifest_digest({"b": "2" * 64, "a": "1" * 64}) == base  # order-free
    assert manifest_digest({"a": "1" * 64, "c": "2" * 64}) != base  # a renamed file
    assert manifest_digest({"a": "1" * 64, "b": "3" * 64}) != base  # a changed file


def test_tags_hold_the_file_list_only_when_it_fits(model: Path) -> None:
    files = directory_files(model)
    tags = digest_tags(files)
    assert tags[DIGEST_TAG] == manifest_digest(files)
    assert json.loads(tags[FILES_TAG]) == files
    assert digest_tags(files, max_value_length=10) == {DIGEST_TAG: manifest_digest(files)}


def test_unchanged_files_verify(model: Path) -> None:
    tags = digest_tags(directory_files(model))
    verify(model, tags, "models:/churn/1")
    (model / ".dockyard-complete").write_text("the cache's marker")
    verify(model, tags, "models:/churn/1", ignore=(".dockyard-complete",))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: (m / "model.pkl").write_bytes(b"evil!!!"), "model.pkl changed"),  # same size, other bytes
        (lambda m: (m / "data" / "extra.bin").unlink(), "data/extra.bin was removed"),
        (lambda m: (m / "code").mkdir() or (m / "code" / "x.py").write_text("import os"), "code/x.py was added"),
    ],
)
def test_a_change_is_refused_naming_the_first_file(model: Path, change: object, expected: str) -> None:
    tags = digest_tags(directory_files(model))
    change(model)  # type: ignore[operator]
    with pytest.raises(ModelIntegrityError, match=rf"models:/churn/1: {expected} since it was registered"):
        verify(model, tags, "models:/churn/1")


def test_without_the_file_list_the_refusal_still_happens(model: Path) -> None:
    tags = {DIGEST_TAG: manifest_digest(directory_files(model))}
    (model / "MLmodel").write_text("flavors: {evil: 1}\n")
    with pytest.raises(ModelIntegrityError, match="its files changed since it was registered"):
        verify(model, tags, "models:/churn/1")


def test_no_recorded_digest_means_no_check(model: Path) -> None:
    verify(model, {}, "models:/churn/1")
    verify(model, {"owner": "ana"}, "models:/churn/1")


def test_an_unknown_algorithm_is_refused(model: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="not a sha256 digest"):
        verify(model, {DIGEST_TAG: "md5:abc"}, "models:/churn/1")


def test_first_difference_is_in_path_order() -> None:
    registered = {"a": "1", "b": "2", "c": "3"}
    assert first_difference(registered, {"a": "1", "b": "9", "c": "9"}) == "b changed"
    assert first_difference(registered, registered) is None
