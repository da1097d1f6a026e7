"""Tracking, as MLflow's tracking quickstart writes it."""

import os
import tempfile

import numpy as np
import pandas as pd

import dockyard as mlflow

mlflow.set_experiment("tracking-script")

with mlflow.start_run(run_name="baseline") as run:
    mlflow.log_param("learning_rate", 0.01)
    mlflow.log_params({"epochs": 5, "optimizer": "adam"})
    for epoch in range(5):
        mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    mlflow.log_metrics({"accuracy": 0.91, "f1": 0.88})
    mlflow.set_tag("team", "risk")
    mlflow.set_tags({"stage": "dev", "owner": "me"})
    mlflow.log_text("some notes", "notes.txt")
    mlflow.log_dict({"features": ["income", "dti"]}, "config.json")
    mlflow.log_table(pd.DataFrame({"input": ["a", "b"], "score": [0.1, 0.9]}), "eval_results.json")
    mlflow.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "sample.png")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "features.txt")
        with open(path, "w") as f:
            f.write("income\ndti\n")
        mlflow.log_artifact(path, artifact_path="data")
    print(f"Run ID: {run.info.run_id}")
    print(f"Artifact URI: {mlflow.get_artifact_uri()}")

finished = mlflow.get_run(run.info.run_id)
assert finished.info.status == "FINISHED"
assert finished.info.run_name == "baseline"
assert finished.data.params == {"learning_rate": "0.01", "epochs": "5", "optimizer": "adam"}
assert finished.data.metrics["loss"] == 0.2 and finished.data.metrics["accuracy"] == 0.91
assert finished.data.tags["team"] == "risk"

client = mlflow.MlflowClient()
history = client.get_metric_history(run.info.run_id, "loss")
assert [m.step for m in history] == [0, 1, 2, 3, 4]
names = sorted(f.path for f in client.list_artifacts(run.info.run_id))
assert {"config.json", "data", "eval_results.json", "notes.txt", "sample.png"} <= set(names), names
assert [f.path for f in client.list_artifacts(run.info.run_id, "data")] == ["data/features.txt"]
print("tracking: ok")
