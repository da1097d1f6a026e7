"""The model workload of ``model_bench.py``, run against MLflow or Dockyard.

    python benchmarks/model_workloads.py MODULE log
    python benchmarks/model_workloads.py MODULE load MODEL_URI TRACKING_URI

``log``: train a HistGradientBoostingClassifier on 10,000 rows x 20 numeric features (not timed), then
time ``<module>.sklearn.log_model(model, name="model", input_example=X[:5])`` inside a run: the first
call of the process (what a training script pays) and a second, warm one. Prints the model's URI, the
size of its directory and its ``requirements.txt``.

``load``: in a fresh process, time ``<module>.pyfunc.load_model(uri)`` (Dockyard:
``dockyard.models.load_model``) plus one ``predict`` on 5 rows.

With ``--no-torch`` the process runs as one without PyTorch would: scikit-learn's array-API shim (which
skops' import reaches) otherwise imports torch when it is installed, which the project's test
environment is (for the PyTorch flavor) but a scikit-learn service is not. Both libraries get the same.
"""

from __future__ import annotations

import json
import os
import sys
import time

TRUSTED = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def _data():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(10_000, 20)), columns=[f"f{i}" for i in range(20)])
    y = ((X.f0 + X.f1 * X.f2 + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
    return X, y


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def log(module: str) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _data()
    model = HistGradientBoostingClassifier(random_state=0).fit(X, y)
    if module == "mlflow":
        import mlflow
        import mlflow.sklearn

        lib, flavor = mlflow, mlflow.sklearn
        mlflow.set_tracking_uri(f"sqlite:///{os.path.join(os.getcwd(), 'mlflow.db')}")
        extra = {"skops_trusted_types": TRUSTED}  # MLflow makes the caller list them for this model
    else:
        import dockyard
        import dockyard.sklearn

        lib, flavor, extra = dockyard, dockyard.sklearn, {}
    lib.set_experiment("bench-models")
    with lib.start_run():
        t0 = time.perf_counter()
        info = flavor.log_model(model, name="model", input_example=X[:5], **extra)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        flavor.log_model(model, name="model-2", input_example=X[:5], **extra)
        second = time.perf_counter() - t0
    if module == "mlflow":
        location = mlflow.MlflowClient().get_logged_model(info.model_id).artifact_location
        tracking = mlflow.get_tracking_uri()
    else:
        location = dockyard.Client().get_logged_model(info.model_id).artifact_location
        tracking = dockyard.get_tracking_uri()
    location = location[7:] if location.startswith("file://") else location
    with open(os.path.join(location, "requirements.txt")) as fh:
        requirements = [line.strip() for line in fh if line.strip()]
    return {
        "first": first,
        "second": second,
        "uri": info.model_uri,
        "tracking_uri": tracking,
        "size": _size(location),
        "files": sorted(os.listdir(location)),
        "requirements": requirements,
    }


def load(module: str, uri: str, tracking_uri: str) -> dict:
    X, _ = _data()
    rows = X[:5]
    if module == "mlflow":
        import mlflow
        import mlflow.pyfunc

        mlflow.set_tracking_uri(tracking_uri)
        t0 = time.perf_counter()
        model = mlflow.pyfunc.load_model(uri)
        model.predict(rows)
    else:
        import dockyard
        import dockyard.models

        dockyard.set_tracking_uri(tracking_uri)
        t0 = time.perf_counter()
        model = dockyard.models.load_model(uri)
        model.predict(rows)
    return {"load": time.perf_counter() - t0}


class _NoTorch:
    """An import finder that answers "not installed" for torch, as a scikit-learn-only service would."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def main(argv: list[str]) -> None:
    if "--no-torch" in argv:
        argv.remove("--no-torch")
        sys.meta_path.insert(0, _NoTorch())
    module, phase = argv[1], argv[2]
    result = log(module) if phase == "log" else load(module, argv[3], argv[4])
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
