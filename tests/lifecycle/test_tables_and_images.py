"""log_table, load_table and log_image: MLflow's formats, names and tags, on a real SQLite store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import dockyard
from dockyard.core.errors import ArtifactNotFound, InvalidParameter, MissingExtra


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "tables.db"
    dockyard.set_tracking_uri(str(path))
    return path


def artifact_root(run_id: str) -> Path:
    return Path(dockyard.get_run(run_id).info.artifact_uri)


def test_a_table_is_json_in_pandas_split_layout_and_appends(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_table({"inputs": ["a", "b"], "score": [0.5, 0.25]}, "eval/results.json")
        dockyard.log_table(pd.DataFrame({"inputs": ["c"], "score": [1.0]}), "eval/results.json")
    stored = json.loads((artifact_root(run.info.run_id) / "eval" / "results.json").read_text())
    assert stored == {"columns": ["inputs", "score"], "data": [["a", 0.5], ["b", 0.25], ["c", 1.0]]}
    tags = dockyard.get_run(run.info.run_id).data.tags
    assert json.loads(tags["mlflow.loggedArtifacts"]) == [{"path": "eval/results.json", "type": "table"}]


def test_appending_keeps_stored_values_as_they_are(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_table({"zip": ["02108"], "n": [1]}, "t.json")
        dockyard.log_table({"zip": ["10001"], "n": [2]}, "t.json")
    stored = json.loads((artifact_root(run.info.run_id) / "t.json").read_text())
    assert stored["data"] == [["02108", 1], ["10001", 2]]


def test_a_dict_of_scalars_is_one_row(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_table({"question": "why", "score": 0.9}, "one.json")
    assert json.loads((artifact_root(run.info.run_id) / "one.json").read_text())["data"] == [["why", 0.9]]


def test_two_tables_are_both_listed_in_the_tag_once(store: Path) -> None:
    with dockyard.start_run() as run:
        for _ in range(2):
            dockyard.log_table({"a": [1]}, "first.json")
            dockyard.log_table({"a": [1]}, "second.json")
    listed = json.loads(dockyard.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"])
    assert listed == [{"path": "first.json", "type": "table"}, {"path": "second.json", "type": "table"}]


def test_a_parquet_table_round_trips(store: Path) -> None:
    pytest.importorskip("pyarrow")
    with dockyard.start_run() as run:
        dockyard.log_table({"a": [1, 2]}, "t.parquet")
        dockyard.log_table({"a": [3]}, "t.parquet")
    frame = dockyard.load_table("t.parquet", run_ids=[run.info.run_id])
    assert frame["a"].tolist() == [1, 2, 3]


def test_load_table_reads_every_run_of_the_experiment_with_the_run_id(store: Path) -> None:
    dockyard.set_experiment("tables")
    ids = []
    for value in (1, 2):
        with dockyard.start_run() as run:
            dockyard.log_table({"v": [value]}, "t.json")
        ids.append(run.info.run_id)
    with dockyard.start_run():
        dockyard.log_text("no table here", "other.txt")
    frame = dockyard.load_table("t.json", extra_columns=["run_id"])
    assert sorted(zip(frame["v"], frame["run_id"], strict=True)) == [(1, ids[0]), (2, ids[1])]
    only = dockyard.load_table("t.json", run_ids=[ids[1]])
    assert only["v"].tolist() == [2] and list(only.columns) == ["v"]
    client = dockyard.MlflowClient(str(store))
    assert client.load_table(only_experiment(), "t.json", run_ids=ids)["v"].tolist() == [1, 2]


def only_experiment() -> str:
    found = dockyard.get_experiment_by_name("tables")
    assert found is not None
    return found.experiment_id


def test_load_table_errors_name_the_problem(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_table({"a": [1]}, "t.json")
    with pytest.raises(ArtifactNotFound, match=r"'missing\.json'"):
        dockyard.load_table("missing.json", run_ids=[run.info.run_id])
    with pytest.raises(InvalidParameter, match="extra_columns: 'status'"):
        dockyard.load_table("t.json", extra_columns=["status"])


@pytest.mark.parametrize(
    ("artifact_file", "reason"),
    [
        ("table.csv", r"\.json or \.parquet"),
        ("a:b.json", "character ':'"),
        ("../up.json", r"'\.\.' components"),
        ("x{y}.json", r"character '\{'"),
    ],
)
def test_bad_table_names_are_refused(store: Path, artifact_file: str, reason: str) -> None:
    with dockyard.start_run(), pytest.raises(InvalidParameter, match=reason):
        dockyard.log_table({"a": [1]}, artifact_file)


def test_table_data_must_be_a_frame_or_a_dict(store: Path) -> None:
    with dockyard.start_run(), pytest.raises(InvalidParameter, match="data must be a pandas DataFrame or a dict"):
        dockyard.log_table([1, 2], "t.json")


def test_an_array_image_is_saved_in_the_format_its_name_gives(store: Path) -> None:
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    with dockyard.start_run() as run:
        dockyard.log_image(pixels, "plots/sample.png")
        dockyard.log_image(pixels, "plots/sample.jpg")
    root = artifact_root(run.info.run_id)
    with Image.open(root / "plots" / "sample.png") as png:
        assert png.mode == "RGB" and png.size == (3, 2)
        assert np.array_equal(np.asarray(png), pixels)
    with Image.open(root / "plots" / "sample.jpg") as jpg:
        assert jpg.format == "JPEG"
    loaded = dockyard.artifacts.load_image(f"runs:/{run.info.run_id}/plots/sample.png")
    assert np.array_equal(np.asarray(loaded), pixels)


@pytest.mark.parametrize(
    ("array", "mode", "first"),
    [
        (np.array([[True, False]]), "L", 255),
        (np.array([[0.0, 1.0]]), "L", 0),
        (np.array([[[10], [20]]], dtype=np.int64), "L", 10),
        (np.zeros((1, 2, 4), dtype=np.uint8), "RGBA", (0, 0, 0, 0)),
    ],
)
def test_arrays_become_images_as_mlflow_reads_them(store: Path, array: np.ndarray, mode: str, first: object) -> None:
    with dockyard.start_run() as run:
        dockyard.log_image(array, "a.png")
    with Image.open(artifact_root(run.info.run_id) / "a.png") as image:
        assert image.mode == mode and image.getpixel((0, 0)) == first


def test_floats_outside_zero_one_are_rescaled_with_a_warning(store: Path) -> None:
    with dockyard.start_run() as run, pytest.warns(UserWarning, match="rescaled"):
        dockyard.log_image(np.array([[-1.0, 3.0]]), "a.png")
    with Image.open(artifact_root(run.info.run_id) / "a.png") as image:
        assert [image.getpixel((0, 0)), image.getpixel((1, 0))] == [0, 255]


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (np.array([[300]]), r"integer pixels must be in \[0, 255\], found 300 to 300"),
        (np.zeros((2, 2, 2)), r"shape \(2, 2, 2\) is not an image"),
        (np.array([["a"]]), "are not images"),
        ("picture.png", "image must be a numpy array or a PIL image, got str"),
    ],
)
def test_what_is_not_an_image_is_refused(store: Path, image: object, reason: str) -> None:
    with dockyard.start_run(), pytest.raises(InvalidParameter, match=reason):
        dockyard.log_image(image, "a.png")


def test_an_image_series_uses_mlflows_file_names_and_tag(store: Path) -> None:
    picture = Image.new("RGB", (600, 300), color=(200, 10, 10))
    with dockyard.start_run() as run:
        dockyard.log_image(picture, key="val/predictions", step=3, timestamp=1_700_000_000_000)
        dockyard.log_image(picture, key="val/predictions")
    names = sorted(p.name for p in (artifact_root(run.info.run_id) / "images").iterdir())
    assert len(names) == 4
    stepped = [n for n in names if "+step+3+" in n]
    assert stepped[0].startswith("val~predictions+step+3+timestamp+1700000000000+")
    assert sorted(n.rsplit("+", 1)[-1] if "compressed" in n else "full.png" for n in stepped) == [
        "compressed.webp",
        "full.png",
    ]
    assert any("+step+0+" in n for n in names)
    thumb = next(n for n in stepped if n.endswith(".webp"))
    with Image.open(artifact_root(run.info.run_id) / "images" / thumb) as small:
        assert small.size == (256, 128)
    assert dockyard.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"


def test_the_client_logs_images_synchronously(store: Path) -> None:
    client = dockyard.MlflowClient(str(store))
    run = client.create_run("0")
    client.log_image(run.info.run_id, np.zeros((4, 4), dtype=np.uint8), key="mask", step=1)
    assert len(list((artifact_root(run.info.run_id) / "images").iterdir())) == 2


def test_an_image_logged_in_the_background_is_there_after_flush(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_image(np.zeros((4, 4), dtype=np.uint8), "mask.png", synchronous=False)
        dockyard.flush()
        assert (artifact_root(run.info.run_id) / "mask.png").is_file()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"artifact_file": "a.png", "key": "k"}, "artifact_file alone"),
        ({}, "give artifact_file"),
        ({"key": "bad#key"}, "key 'bad#key': use letters"),
        ({"key": "k", "step": 1.5}, "step must be an integer"),
        ({"artifact_file": "a.unknown"}, "no image format for the suffix '.unknown'"),
    ],
)
def test_log_image_arguments_are_checked(store: Path, kwargs: dict[str, object], reason: str) -> None:
    with dockyard.start_run(), pytest.raises(InvalidParameter, match=reason):
        dockyard.log_image(np.zeros((2, 2), dtype=np.uint8), **kwargs)  # type: ignore[arg-type]


def test_a_missing_library_names_what_to_install(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with dockyard.start_run():
        monkeypatch.setitem(sys.modules, "PIL", None)
        with pytest.raises(MissingExtra, match="Pillow is required"):
            dockyard.log_image(np.zeros((2, 2), dtype=np.uint8), "a.png")
        monkeypatch.setitem(sys.modules, "pandas", None)
        with pytest.raises(MissingExtra, match=r"pandas is required.*dockyard\[data\]"):
            dockyard.log_table({"a": [1]}, "t.json")
