"""``dockyard package``: what a bundle holds, what is refused, and the bundle's app scoring in process.

The bundle run in a fresh virtual environment (its own requirements, its ``serve`` script) is
``test_fresh_venv.py``'s; here the bundle's runtime entry is driven in this process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import Result

import dockyard
from dockyard.core.errors import InvalidModel, InvalidParameter, ModelIntegrityError, ResourceNotFound
from dockyard.packaging import PackageOptions, package_model


def _package(store: Path, uri: str, output: Path, **options: object) -> object:
    client = dockyard.Client(str(store))
    try:
        return package_model(uri, PackageOptions(output, **options), client=client)  # type: ignore[arg-type]
    finally:
        client.close()


def _siblings(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir())


def test_a_registered_model_is_packaged_with_its_digest_and_exact_pins(
    registered: Path, store: Path, tmp_path: Path
) -> None:
    output = tmp_path / "bundle"
    bundle = _package(store, "models:/churn@champion", output)
    names = sorted(p.name for p in output.iterdir())
    assert names == ["README.md", "bundle.json", "model", "requirements.txt", "runtime", "scripts", "serve"]
    info = json.loads((output / "bundle.json").read_text())
    client = dockyard.Client(str(store))
    registered_digest = client.get_model_version("churn", 1).tags["dockyard.model_digest"]
    client.close()
    assert info["model"]["name"] == "churn" and info["model"]["version"] == "1"
    assert info["model"]["uri"] == "models:/churn/1"  # the alias, resolved to the version it named
    assert info["model"]["digest"] == registered_digest == info["model"]["registered_digest"]
    assert bundle.digest == registered_digest  # type: ignore[attr-defined]
    lines = [ln for ln in (output / "requirements.txt").read_text().splitlines() if not ln.startswith("#")]
    assert all("==" in ln for ln in lines), lines
    names_pinned = {ln.split("==")[0] for ln in lines}
    assert {"scikit-learn", "numpy", "scipy", "skops", "starlette", "uvicorn"} <= names_pinned
    assert not names_pinned & {"dockyard", "mlflow", "sqlalchemy", "alembic", "rich", "click", "boto3", "pyyaml"}
    assert "pandas" not in names_pinned  # numeric columns reach a scikit-learn model as one array
    readme = (output / "README.md").read_text()
    assert "churn" in readme and registered_digest in readme and "`f0`: double" in readme
    assert (output / "serve").stat().st_mode & 0o111 and (output / "scripts" / "install").stat().st_mode & 0o111
    assert (output / "runtime" / "dockyard" / "serving" / "bundle.py").is_file()
    assert not (output / "runtime" / "dockyard" / "tracking").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]  # no staging folder left


def test_the_bundles_app_answers_as_the_model_does_in_process(
    registered: Path, store: Path, tmp_path: Path, kit: Any
) -> None:
    from starlette.testclient import TestClient

    from dockyard.serving.bundle import build_app

    output = tmp_path / "bundle"
    _package(store, "models:/churn/1", output)
    frame, _ = kit.training_data(50, seed=3)
    expected = dockyard.models.load_model("models:/churn/1").predict(frame)
    with TestClient(build_app(str(output))) as http:
        body = {"dataframe_split": {"columns": kit.columns, "data": frame.to_numpy().tolist()}}
        answer = http.post("/invocations", json=body)
        assert answer.status_code == 200, answer.text
        np.testing.assert_array_equal(answer.json()["predictions"], expected)
        version = http.get("/version").json()
        assert version["model_name"] == "churn" and version["model_version"] == "1"
        assert http.get("/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
        assert http.get("/ping").status_code == 200


def test_a_version_tampered_with_after_registration_is_refused_and_nothing_is_written(
    registered: Path, store: Path, tmp_path: Path
) -> None:
    with (registered / "requirements.txt").open("a") as fh:
        fh.write("evil-package==6.6.6\n")
    output = tmp_path / "bundle"
    before = _siblings(output)
    with pytest.raises(
        ModelIntegrityError, match=r"models:/churn/1: requirements\.txt changed since it was registered"
    ):
        _package(store, "models:/churn/1", output)
    assert _siblings(output) == before  # no bundle, no staging folder


def test_an_unknown_uri_is_refused(store: Path, tmp_path: Path, kit: Any) -> None:
    kit.register(store)
    with pytest.raises(ResourceNotFound):
        _package(store, "models:/nope/1", tmp_path / "bundle")
    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        _package(store, str(tmp_path / "no-such-model"), tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]


def test_an_existing_output_is_refused_unless_forced(registered: Path, store: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    with pytest.raises(InvalidParameter, match=r"output: .*bundle already exists; .*--force"):
        _package(store, "models:/churn/1", output)
    assert (output / "keep.txt").read_text() == "mine"
    _package(store, "models:/churn/1", output, force=True)
    assert not (output / "keep.txt").exists() and (output / "bundle.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]


def test_a_model_folder_and_a_runs_uri_are_packaged_without_a_registry(
    registered: Path, store: Path, tmp_path: Path
) -> None:
    bundle = _package(store, str(registered), tmp_path / "from-folder")
    info = json.loads((tmp_path / "from-folder" / "bundle.json").read_text())
    assert info["model"]["name"] is None and info["model"]["registered_digest"] is None
    assert info["model"]["digest"] == bundle.digest  # type: ignore[attr-defined]  # computed from the files
    client = dockyard.Client(str(store))
    run_id = client.get_model_version("churn", 1).run_id
    client.close()
    _package(store, f"runs:/{run_id}/model", tmp_path / "from-run")
    assert (tmp_path / "from-run" / "model" / "MLmodel").is_file()


def test_an_unknown_target_is_refused(registered: Path, store: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="target: unknown helm"):
        _package(store, "models:/churn/1", tmp_path / "b", targets=("helm",))


def test_docker_target_writes_a_multi_stage_non_root_dockerfile(registered: Path, store: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle"
    bundle = _package(store, "models:/churn/1", output, targets=("docker",))
    dockerfile = (output / "Dockerfile").read_text()
    froms = [ln for ln in dockerfile.splitlines() if ln.startswith("FROM ")]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    base = next(ln for ln in dockerfile.splitlines() if ln.startswith("ARG BASE_IMAGE="))
    assert base.split("=", 1)[1].count(".") == 2 and base.endswith("-slim-bookworm")  # an exact release
    assert "RUN sh scripts/install /opt/venv" in dockerfile and "COPY --from=build /opt/venv /opt/venv" in dockerfile
    assert "USER 10001:10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/bundle/scripts/healthcheck" in dockerfile
    assert 'io.dockyard.model.name="churn"' in dockerfile and 'io.dockyard.model.version="1"' in dockerfile
    assert f'io.dockyard.model.digest="{bundle.digest}"' in dockerfile  # type: ignore[attr-defined]
    assert 'ENTRYPOINT ["/bundle/serve"]' in dockerfile
    ignored = (output / ".dockerignore").read_text().splitlines()
    assert "k8s/" in ignored and ".venv/" in ignored


def test_kubernetes_target_writes_manifests_with_probes_resources_and_a_non_root_context(
    registered: Path, store: Path, tmp_path: Path
) -> None:
    import yaml

    output = tmp_path / "bundle"
    _package(store, "models:/churn/1", output, targets=("kubernetes",), image="registry.example.com/churn:1")
    folder = output / "k8s"
    docs = {p.name: yaml.safe_load(p.read_text()) for p in folder.iterdir()}
    assert sorted(docs) == ["deployment.yaml", "hpa.yaml", "kustomization.yaml", "pdb.yaml", "service.yaml"]
    deployment = docs["deployment.yaml"]
    assert deployment["kind"] == "Deployment" and deployment["apiVersion"] == "apps/v1"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example.com/churn:1"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/ping", "port": "http"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert docs["service.yaml"]["kind"] == "Service" and docs["service.yaml"]["spec"]["selector"] == selector
    hpa = docs["hpa.yaml"]
    assert hpa["kind"] == "HorizontalPodAutoscaler" and hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"] == "churn"
    assert hpa["spec"]["minReplicas"] == 2 <= hpa["spec"]["maxReplicas"]
    pdb = docs["pdb.yaml"]
    assert pdb["kind"] == "PodDisruptionBudget" and pdb["spec"]["selector"]["matchLabels"] == selector
    assert docs["kustomization.yaml"]["images"] == [{"name": "registry.example.com/churn", "newTag": "1"}]


def test_the_cli_prints_the_sizes_and_refuses_in_one_line(
    registered: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    output = tmp_path / "bundle"
    result = cli("package", "models:/churn/1", "--output", str(output), "--target", "docker")
    assert result.exit_code == 0, result.output
    assert "Packaged churn version 1" in result.output
    assert "bundle: " in result.output and "environment (pip install -r requirements.txt): " in result.output
    assert "biggest packages: " in result.output and "scipy" in result.output
    again = cli("package", "models:/churn/1", "--output", str(output))
    assert again.exit_code == 1 and again.output.startswith("Error: output: ") and "--force" in again.output
    assert len(again.output.strip().splitlines()) == 1
    missing = cli("package", "models:/nope/1", "--output", str(tmp_path / "other"))
    assert missing.exit_code == 1 and missing.output.startswith("Error: ") and not (tmp_path / "other").exists()
