"""``dockyard serve models:/NAME@ALIAS`` follows the alias: a promotion and a rollback while a client keeps
sending requests, with zero failed requests, every answer from the version its header names."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner

import dockyard
import dockyard.pyfunc
from dockyard.cli import main
from serving.conftest import scaler_class, scaler_signature
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
    extra = ("--tracking-uri", store, "--follow-interval", "0.2")
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
