"""Models: log a scikit-learn model, register it, load it back by every kind of URI, and see the
signature refuse bad input.

Needs the scikit-learn extra: ``pip install 'dockyard[sklearn]'``. Runs on the embedded default store
(./.dockyard/).

    python examples/models.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

import dockyard
import dockyard.models
import dockyard.sklearn
from dockyard.errors import ModelInputError


def main() -> None:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(2_000, 4)), columns=["income", "debt", "age", "tenure"])
    y = ((X.debt - X.income + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=50).fit(X, y)

    dockyard.set_experiment("models-example")
    with dockyard.start_run() as run:
        dockyard.log_metric("train_accuracy", float((model.predict(X) == y).mean()))
        info = dockyard.sklearn.log_model(
            model, name="model", input_example=X[:5], params={"max_iter": 50}, registered_model_name="credit-risk"
        )
    print(f"logged model   {info.model_id} (version {info.registered_model_version} of 'credit-risk')")
    print(f"signature      {[s.name for s in info.signature.inputs]} -> {info.signature.outputs.to_json()}")

    for uri in (
        info.model_uri,
        f"runs:/{run.info.run_id}/model",
        f"models:/credit-risk/{info.registered_model_version}",
    ):
        predictor = dockyard.models.load_model(uri)
        print(f"{uri:<45} -> predictions {predictor.predict(X[:3]).tolist()}")

    # Columns in another order and integers for floats are fine; a missing column is not.
    print(
        "reordered      ->",
        dockyard.models.load_model(info.model_uri).predict(X[:2][["tenure", "age", "debt", "income"]]),
    )
    try:
        dockyard.models.load_model(info.model_uri).predict(X[["income", "debt"]][:2])
    except ModelInputError as exc:
        print(f"bad input      -> {exc}")

    requirements = (dockyard.models.load_model(info.model_uri).path / "requirements.txt").read_text().split()
    print(f"requirements   {requirements}")


if __name__ == "__main__":
    main()
