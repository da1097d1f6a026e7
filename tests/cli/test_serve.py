"""``dockyard serve`` (options, start-up errors, several workers) and ``dockyard predict`` (chunked files)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pandas as pd
import pytest
from click.testing import Result

import dockyard.models
from cli.conftest import error_line
from serving.conftest import COLUMNS, save_classifier, save_pickle_payload, save_scaler
from serving.scoring_process import scoring_server


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_classifier(tmp_path_factory.mktemp("cli-models") / "classifier")


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.normal(size=(rows, 3)), columns=COLUMNS)


def test_serve_help_lists_the_options(cli: Callable[..., Result]) -> None:
    result = cli("serve", "--help", store=False)
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--max-batch-size", "--max-batch-delay-ms", "--timeout"):
        assert option in result.output


def test_serve_an_unknown_model_fails_before_listening(cli: Callable[..., Result], tmp_path: Path) -> None:
    line = error_line(cli("serve", str(tmp_path / "nothing")))
    assert "MLmodel" in line
    line = error_line(cli("serve", "models:/churn@champion"))
    assert "churn" in line


def test_serve_with_two_workers(classifier: Path, tmp_path: Path) -> None:
    with scoring_server(str(classifier), tmp_path / "serve", extra=("--workers", "2", "--max-batch-size", "1")) as url:
        body = {"dataframe_split": {"columns": COLUMNS, "data": [[3.0, 3.0, 0.0]]}}
        with httpx2.Client(base_url=url, timeout=30) as client:
            for _ in range(6):
                assert client.post("/invocations", json=body).json() == {"predictions": [1]}


@pytest.fixture
def chunk_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of every predict call the command makes."""
    from dockyard.models.loading import Predictor

    sizes: list[int] = []
    original = Predictor.predict

    def recording(self: Predictor, data: Any, params: Any = None) -> Any:
        sizes.append(len(data))
        return original(self, data, params)

    monkeypatch.setattr(Predictor, "predict", recording)
    return sizes


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_predict_streams_a_file_larger_than_its_chunk(
    cli: Callable[..., Result], classifier: Path, tmp_path: Path, suffix: str, chunk_sizes: list[int]
) -> None:
    data = frame(250)
    source = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        data.to_csv(source, index=False)
    elif suffix == ".parquet":
        data.to_parquet(source, index=False)
    else:
        data.to_json(source, orient="records", lines=True)
    target = tmp_path / f"out{suffix}"
    result = cli(
        "predict", str(classifier), "-i", str(source), "-o", str(target), "--chunk-size", "64", "--no-progress"
    )
    assert result.exit_code == 0, result.output
    assert "250 rows scored" in result.output
    assert chunk_sizes == [64, 64, 64, 58]
    if suffix == ".csv":
        written = pd.read_csv(target)
    elif suffix == ".parquet":
        written = pd.read_parquet(target)
    else:
        written = pd.read_json(target, lines=True)
    expected = dockyard.models.load_model(classifier).predict(data)
    assert list(written.columns) == ["prediction"]
    assert written["prediction"].tolist() == expected.tolist()


def test_predict_keeps_the_input_columns_and_shows_progress(
    cli: Callable[..., Result], tmp_path: Path, chunk_sizes: list[int]
) -> None:
    model = save_scaler(tmp_path / "scaler")
    source = tmp_path / "in.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": [0, 1, 2]}).to_csv(source, index=False)
    target = tmp_path / "out.jsonl"
    files = ("--input", str(source), "--output", str(target))
    # The scaler is a custom Python model, a pickle: scored with the opt-in.
    result = cli("predict", str(model), *files, "--keep-input", "--chunk-size", "2", "--allow-pickle")
    assert result.exit_code == 0, result.output
    assert "3/3" in result.output  # the progress bar's last state
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [
        {"x": 1.0, "k": 0, "prediction": 2.0},
        {"x": 2.0, "k": 1, "prediction": 5.0},
        {"x": 3.0, "k": 2, "prediction": 8.0},
    ]


def test_predict_errors(cli: Callable[..., Result], classifier: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(source, index=False)
    line = error_line(
        cli("predict", str(classifier), "-i", str(source), "-o", str(tmp_path / "out.csv"), "--no-progress")
    )
    assert "'c'" in line
    line = error_line(cli("predict", str(classifier), "-i", str(source), "-o", str(tmp_path / "out.xlsx")))
    assert ".xlsx" in line
    line = error_line(cli("predict", str(classifier), "-i", str(source), "-o", str(source)))
    assert "another file" in line


def test_serve_and_predict_refuse_a_pickle_without_the_opt_in(cli: Callable[..., Result], tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    model = save_pickle_payload(tmp_path / "evil", marker)
    source = tmp_path / "in.csv"
    frame(2).to_csv(source, index=False)
    for line in (
        error_line(cli("serve", str(model))),
        error_line(cli("predict", str(model), "-i", str(source), "-o", str(tmp_path / "out.csv"))),
    ):
        assert "model.pkl is a pickle (serialization_format: pickle), which runs code when loaded" in line
        assert "--allow-pickle" in line and "DOCKYARD_ALLOW_PICKLE=true" in line
    assert not marker.exists()


def test_predict_opts_in_with_the_setting(cli: Callable[..., Result], tmp_path: Path) -> None:
    model = save_scaler(tmp_path / "scaler")
    source = tmp_path / "in.csv"
    pd.DataFrame({"x": [1.0], "k": [0]}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    assert "--allow-pickle" in error_line(cli("predict", str(model), "-i", str(source), "-o", str(target)))
    result = cli("predict", str(model), "-i", str(source), "-o", str(target), env={"DOCKYARD_ALLOW_PICKLE": "true"})
    assert result.exit_code == 0, result.output
    assert pd.read_csv(target)["prediction"].tolist() == [2.0]


def test_predict_trusts_the_skops_types_it_is_given(cli: Callable[..., Result], tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    import dockyard.sklearn

    transformer = FunctionTransformer(func=np.sqrt, inverse_func=pd.isna, check_inverse=False).fit(frame(3))
    dockyard.sklearn.save_model(transformer, tmp_path / "m", predict_fn="transform")
    source = tmp_path / "in.csv"
    pd.DataFrame({c: [4.0] for c in COLUMNS}).to_csv(source, index=False)
    files = ("-i", str(source), "-o", str(tmp_path / "out.csv"), "--no-progress")
    line = error_line(cli("predict", str(tmp_path / "m"), *files))
    assert "types Dockyard does not trust: pandas.isna" in line and "--trusted-type" in line
    result = cli("predict", str(tmp_path / "m"), *files, "--trusted-type", "pandas.isna")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "out.csv").to_numpy().tolist() == [[2.0, 2.0, 2.0]]
