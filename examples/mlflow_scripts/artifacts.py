"""mlflow.artifacts, tables and images, as MLflow's docstrings write them."""

import numpy as np
import pandas as pd
from PIL import Image

import dockyard as mlflow

with mlflow.start_run() as run:
    artifact_uri = run.info.artifact_uri
    mlflow.log_text("This is a sentence", "file.txt")
    mlflow.log_dict({"mlflow-version": "0.28", "n_cores": "10"}, "config.json")
    image = Image.new("RGB", (100, 100))
    mlflow.log_image(image, "image.png")
    mlflow.log_image(np.random.randint(0, 256, size=(100, 100, 3), dtype=np.uint8), key="dogs", step=3)
    table_dict = {
        "inputs": ["What is MLflow?", "What is Databricks?"],
        "outputs": ["MLflow is ...", "Databricks is ..."],
        "toxicity": [0.0, 0.0],
    }
    mlflow.log_table(data=table_dict, artifact_file="qabot_eval_results.json")
    mlflow.log_table(data=pd.DataFrame.from_dict(table_dict), artifact_file="qabot_eval_results.json")

file_content = mlflow.artifacts.load_text(artifact_uri + "/file.txt")
assert file_content == "This is a sentence"
config_json = mlflow.artifacts.load_dict(artifact_uri + "/config.json")
assert config_json == {"mlflow-version": "0.28", "n_cores": "10"}
loaded_image = mlflow.artifacts.load_image(artifact_uri + "/image.png")
assert loaded_image.size == (100, 100)

loaded_table = mlflow.load_table("qabot_eval_results.json", run_ids=[run.info.run_id], extra_columns=["run_id"])
assert len(loaded_table) == 4 and set(loaded_table["run_id"]) == {run.info.run_id}

listed = [f.path for f in mlflow.artifacts.list_artifacts(run_id=run.info.run_id, artifact_path="images")]
assert len(listed) == 2 and all(p.startswith("images/dogs+step+3+") for p in listed), listed

local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="file.txt")
with open(local) as f:
    assert f.read() == "This is a sentence"
print("artifacts: ok")
