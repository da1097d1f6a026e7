from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.errors import InvalidModel, InvalidParameter
from dockyard.models import uris
from dockyard.models.uris import ModelUri, parse_model_uri, resolve_model_uri

MODEL_ID = "m-" + "a" * 32


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("runs:/abc/model", ModelUri("run", "runs:/abc/model", run_id="abc", path="model")),
        ("runs:/abc/sub/model/", ModelUri("run", "runs:/abc/sub/model/", run_id="abc", path="sub/model")),
        (f"models:/{MODEL_ID}", ModelUri("logged_model", f"models:/{MODEL_ID}", model_id=MODEL_ID)),
        ("models:/churn/3", ModelUri("registered", "models:/churn/3", name="churn", version=3)),
        ("models:/churn@champion", ModelUri("registered", "models:/churn@champion", name="churn", alias="champion")),
        (
            "models:/churn/production",
            ModelUri("registered", "models:/churn/production", name="churn", stage="Production"),
        ),
        ("models:/churn/Latest", ModelUri("registered", "models:/churn/Latest", name="churn", latest=True)),
        ("models:/team/churn/2", ModelUri("registered", "models:/team/churn/2", name="team/churn", version=2)),
        ("s3://bucket/key", ModelUri("artifact", "s3://bucket/key")),
        ("mlflow-artifacts:/0/x", ModelUri("artifact", "mlflow-artifacts:/0/x")),
    ],
)
def test_parse(uri: str, expected: ModelUri) -> None:
    assert parse_model_uri(uri) == expected


def test_local_paths(tmp_path: Path) -> None:
    assert parse_model_uri("relative/dir").kind == "path"
    assert parse_model_uri("C:\\models\\m").kind == "path"
    assert parse_model_uri(f"file://{tmp_path}").path == str(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    assert resolve_model_uri(tmp_path) == tmp_path.resolve()
    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        resolve_model_uri(tmp_path / "nope")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "non-empty"),
        ("runs:/abc", "runs:/<run_id>/<path>"),
        ("runs:/", "runs:/<run_id>/<path>"),
        ("models:/churn", "after the name"),
        ("models:/churn/v2", "not a version number"),
        ("models:/@alias", "models:/<name>@<alias>"),
        ("models://host/x", "expected models:/"),
        ("models:/churn@", "models:/<name>@<alias>"),
    ],
)
def test_bad_uris(uri: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_model_uri(uri)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(InvalidParameter, match=r"no handler for model URIs of scheme 'gs'.*runs"):
        resolve_model_uri("gs://bucket/model")


def test_registered_scheme_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def fetch(uri: str, dst: Path | None) -> Path:
        seen.append((uri, dst))
        return tmp_path

    monkeypatch.setattr(uris, "_fetchers", {})
    uris.register_scheme("demo", fetch)
    assert resolve_model_uri("demo://x", dst_path=tmp_path) == tmp_path
    assert seen == [("demo://x", tmp_path)]
