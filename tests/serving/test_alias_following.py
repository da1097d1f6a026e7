"""``dockyard serve models:/NAME@ALIAS`` follows the alias: a promotion and a rollback while a client keeps
sending requests, with zero failed requests, every answer from the version its header names; and a
version it must not load (a pickle without the opt-in, files changed since registration) is refused,
never run, while the current version keeps serving."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression
from starlette.testclient import TestClient

import dockyard
import dockyard.pyfunc
import dockyard.sklearn
from dockyard.cli import main
from dockyard.cli.serve import ServeOptions, build_app
from dockyard.core.config import Settings
from dockyard.core.errors import ModelIntegrityError, UnsafeModel
from dockyard.serving.app import ServingOptions
from serving.conftest import COLUMNS, save_pickle_payload, scaler_class, scaler_signature
from serving.scoring_process import scoring_server

FACTORS = {"1": 2.0, "2": 3.0}  # version -> the factor its model multiplies x by
SWAP_TIMEOUT = 60.0


def _log_versions(store: str, code: Path) -> None:
    dockyard.set_tracking_uri(store)
    dockyard.set_experiment("serving")
    for factor in FACTORS.values():
        with dockyard.start_run():
            dockyard.pyfunc.log_model(
                "model",
                python_model=scaler_class()(factor),
                signature=scaler_signature(),
                code_paths=[code],
                registered_model_name="scaler",
            )


def _cli(*args: str) -> None:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output


def _wait_for_version(url: str, version: str) -> None:
    deadline = time.monotonic() + SWAP_TIMEOUT
    while httpx2.get(f"{url}/version", timeout=10).json()["model_version"] != version:
        assert time.monotonic() < deadline, f"the server did not switch to version {version}"
        time.sleep(0.1)


@pytest.mark.slow
def test_promotion_and_rollback_under_load(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    _log_versions(store, Path(__file__).resolve().parent / "scoring_models.py")
    _cli("models", "alias", "scaler", "champion", "1", "--tracking-uri", store)

    answers: list[tuple[int, str, Any]] = []
    stop = threading.Event()
    # The scaler is a custom Python model (a pickle and its code/): served with the opt-in.
    extra = ("--tracking-uri", store, "--follow-interval", "0.2", "--allow-pickle")
    with scoring_server("models:/scaler@champion", tmp_path / "serve", extra=extra) as url:

        def client() -> None:
            with httpx2.Client(base_url=url, timeout=30) as http:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        r = http.post("/invocations", json={"inputs": {"x": [float(i)], "k": [0]}})
                        answers.append((r.status_code, r.headers.get("x-dockyard-model-version", ""), (i, r.json())))
                    except httpx2.HTTPError as exc:
                        answers.append((0, "", (i, repr(exc))))

        threads = [threading.Thread(target=client) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            assert httpx2.get(f"{url}/version").json()["model_version"] == "1"
            _cli("models", "promote", "scaler", "2", "--alias", "champion", "--tracking-uri", store)
            _wait_for_version(url, "2")
            time.sleep(0.5)
            _cli("models", "rollback", "scaler", "--alias", "champion", "--tracking-uri", store)
            _wait_for_version(url, "1")
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join()
        metrics = httpx2.get(f"{url}/metrics").text

    failed = [a for a in answers if a[0] != 200]
    assert failed == []
    seen = [version for _, version, _ in answers]
    assert {"1", "2"} <= set(seen)
    assert seen[-1] == "1"
    for _, version, (i, body) in answers:
        assert body == {"predictions": [i * FACTORS[version]]}, (version, i, body)
    assert 'dockyard_serving_model_info{model_id="' in metrics
    assert "dockyard_serving_model_swaps_total 2.0" in metrics
    for version in ("1", "2"):
        assert f'model_version="{version}",status="200"' in metrics


X = pd.DataFrame(np.eye(3), columns=COLUMNS)


def _log_classifier(y: list[int]) -> str:
    """A LogisticRegression (skops: safe to load) logged and registered as a new version of churn."""
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(LogisticRegression().fit(X, y), name="model", registered_model_name="churn")
    return info.model_id or ""


def _versions_to_refuse(store: str, tmp_path: Path, marker: Path) -> dockyard.Client:
    """churn 1: a classifier (@champion); 2: a pickle whose loading creates ``marker``; 3: a classifier
    whose files changed after registration; 4: a classifier."""
    dockyard.set_tracking_uri(store)
    dockyard.set_experiment("serving")
    client = dockyard.Client(store)
    _log_classifier([0, 1, 1])
    client.set_registered_model_alias("churn", "champion", 1)
    assert dockyard.register_model(str(save_pickle_payload(tmp_path / "evil", marker)), "churn").version == 2
    tampered = Path(client.get_logged_model(_log_classifier([1, 0, 0])).artifact_location)
    with (tampered / "requirements.txt").open("a") as fh:
        fh.write("evil-package==6.6.6\n")
    _log_classifier([1, 1, 0])
    return client


def test_the_follower_refuses_a_pickle_or_a_changed_version_and_keeps_serving(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    marker = tmp_path / "payload-ran"
    client = _versions_to_refuse(store, tmp_path, marker)
    settings = Settings.from_env().with_tracking_uri(store)
    app = build_app(ServeOptions("models:/churn@champion", settings, ServingOptions(follow_interval=3600)))
    follower = app.state.follower
    try:
        with TestClient(app) as http:
            body = {"dataframe_records": X.to_dict("records")}
            first = http.post("/invocations", json=body).json()

            client.set_registered_model_alias("churn", "champion", 2)
            with pytest.raises(UnsafeModel, match=r"model\.pkl is a pickle .*--allow-pickle"):
                follower.check()
            assert not marker.exists()
            assert http.get("/version").json()["model_version"] == "1"
            assert http.post("/invocations", json=body).json() == first

            client.set_registered_model_alias("churn", "champion", 3)
            with pytest.raises(ModelIntegrityError, match=r"models:/churn/3: requirements\.txt changed"):
                follower.check()
            assert http.get("/version").json()["model_version"] == "1"

            client.set_registered_model_alias("churn", "champion", 4)
            assert follower.check() is True
            assert http.get("/version").json()["model_version"] == "4"
    finally:
        gc.unfreeze()  # build_app froze everything alive for the server's sake; not for the test process


def test_serving_a_changed_version_fails_before_listening(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    _versions_to_refuse(store, tmp_path, tmp_path / "payload-ran")
    result = CliRunner().invoke(main, ["serve", "models:/churn/3", "--tracking-uri", store])
    assert result.exit_code == 1
    assert "models:/churn/3: requirements.txt changed since it was registered" in result.output


def _wait_for_log(log: Path, text: str) -> None:
    deadline = time.monotonic() + SWAP_TIMEOUT
    while text not in (log.read_text() if log.is_file() else ""):
        assert time.monotonic() < deadline, f"the server never logged {text!r}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_pickle_the_alias_moves_to_is_never_run_by_the_server(tmp_path: Path) -> None:
    """The attack of issue 13: a pickle registered and given @champion is not loaded by the server that
    follows the alias (no --allow-pickle), at any poll; the server keeps answering with version 1."""
    store = f"sqlite:///{tmp_path / 'store.db'}"
    marker = tmp_path / "payload-ran"
    _versions_to_refuse(store, tmp_path, marker)
    extra = ("--tracking-uri", store, "--follow-interval", "0.2")
    with scoring_server("models:/churn@champion", tmp_path / "serve", extra=extra) as url:
        _cli("models", "alias", "churn", "champion", "2", "--tracking-uri", store)
        _wait_for_log(tmp_path / "serve" / "serve.log", "model.pkl is a pickle")
        _cli("models", "alias", "churn", "champion", "3", "--tracking-uri", store)
        _wait_for_log(tmp_path / "serve" / "serve.log", "requirements.txt changed since it was registered")
        answer = httpx2.post(f"{url}/invocations", json={"dataframe_records": X.to_dict("records")}, timeout=30)
        assert answer.status_code == 200 and answer.headers["x-dockyard-model-version"] == "1"
    assert not marker.exists()
