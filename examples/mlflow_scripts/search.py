"""Searching runs, as MLflow's search documentation writes it."""

import dockyard as mlflow
from dockyard import MlflowClient
from dockyard.entities import ViewType

experiment = mlflow.set_experiment("search-script")
for alpha in (0.1, 0.5, 1.0):
    with mlflow.start_run(run_name=f"alpha-{alpha}"):
        mlflow.log_param("alpha", alpha)
        mlflow.log_metric("rmse", 1.0 - alpha / 2)
        mlflow.set_tag("model", "ridge")

runs = mlflow.search_runs(
    experiment_names=["search-script"],
    filter_string="metrics.rmse < 0.9 and tags.model = 'ridge'",
    order_by=["metrics.rmse ASC"],
)
print(runs[["run_id", "params.alpha", "metrics.rmse"]])
assert list(runs.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
assert list(runs["params.alpha"]) == ["1.0", "0.5"]
best_run_id = runs.iloc[0]["run_id"]
assert runs.iloc[0]["tags.mlflow.runName"] == "alpha-1.0"
assert runs.iloc[0]["status"] == "FINISHED"

every = mlflow.search_runs([experiment.experiment_id])
assert len(every) == 3

as_list = mlflow.search_runs(experiment_ids=[experiment.experiment_id], output_format="list")
assert sorted(r.info.run_id for r in as_list) == sorted(every["run_id"])

client = MlflowClient()
top = client.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="",
    run_view_type=ViewType.ACTIVE_ONLY,
    max_results=1,
    order_by=["metrics.rmse ASC"],
)[0]
assert top.info.run_id == best_run_id
print(f"best run: {top.info.run_id} rmse={top.data.metrics['rmse']}")

names = [e.name for e in mlflow.search_experiments(filter_string="name LIKE 'search-%'")]
assert names == ["search-script"]
print("search: ok")
