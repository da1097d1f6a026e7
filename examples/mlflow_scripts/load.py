"""Loading models back, as MLflow's model documentation writes it."""

import os

import pandas as pd
from sklearn.linear_model import LogisticRegression

import dockyard as mlflow

X = pd.DataFrame({"a": [0.0, 1.0, 0.0, 1.0], "b": [1.0, 1.0, 0.0, 0.0]})
y = [0, 1, 0, 1]

with mlflow.start_run() as run:
    model_info = mlflow.sklearn.log_model(
        sk_model=LogisticRegression().fit(X, y),
        name="classifier",
        input_example=X[:2],
        registered_model_name="load-demo",
    )

expected = [0, 1, 0, 1]
uris = [model_info.model_uri, f"runs:/{run.info.run_id}/classifier", "models:/load-demo/1", "models:/load-demo/latest"]
for uri in uris:
    pyfunc_model = mlflow.pyfunc.load_model(uri)
    assert list(pyfunc_model.predict(X)) == expected, uri

sk_model = mlflow.sklearn.load_model("models:/load-demo/1")
assert list(sk_model.predict(X)) == expected

local_path = mlflow.artifacts.download_artifacts(artifact_uri="models:/load-demo/1")
assert os.path.isfile(os.path.join(local_path, "MLmodel"))
print(f"Downloaded to {local_path}")
print("load: ok")
