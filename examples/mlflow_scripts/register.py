"""The model registry, as MLflow's registry documentation writes it."""

from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge

import dockyard as mlflow
from dockyard import MlflowClient
from dockyard.entities.model_registry import ModelVersion, RegisteredModel

X, y = make_regression(n_features=4, n_informative=2, random_state=0, shuffle=False)
params = {"alpha": 0.5, "random_state": 42}
model = Ridge(**params)
model.fit(X, y)

with mlflow.start_run() as run:
    mlflow.log_params(params)
    mlflow.sklearn.log_model(sk_model=model, name="sklearn-model")

model_uri = f"runs:/{run.info.run_id}/sklearn-model"
result = mlflow.register_model(model_uri, "sk-learn-ridge-reg-model")
assert isinstance(result, ModelVersion)
print(f"Name: {result.name}")
print(f"Version: {result.version}")

client = MlflowClient()
client.update_model_version(
    name="sk-learn-ridge-reg-model",
    version=result.version,
    description="This model version is a scikit-learn ridge regression",
)
client.set_model_version_tag("sk-learn-ridge-reg-model", result.version, "validation_status", "approved")
client.set_registered_model_tag("sk-learn-ridge-reg-model", "task", "regression")

second = mlflow.register_model(model_uri, "sk-learn-ridge-reg-model")
assert int(second.version) == int(result.version) + 1

registered = client.get_registered_model("sk-learn-ridge-reg-model")
assert isinstance(registered, RegisteredModel)
assert registered.tags == {"task": "regression"}

version = client.get_model_version("sk-learn-ridge-reg-model", result.version)
assert version.description.startswith("This model version")
assert version.tags["validation_status"] == "approved"
assert version.run_id == run.info.run_id

for mv in client.search_model_versions("name='sk-learn-ridge-reg-model'"):
    print(f"version {mv.version} from run {mv.run_id}")
assert len(client.search_model_versions("name='sk-learn-ridge-reg-model'")) == 2

names = [rm.name for rm in client.search_registered_models()]
assert "sk-learn-ridge-reg-model" in names

client.delete_model_version("sk-learn-ridge-reg-model", second.version)
assert len(client.search_model_versions("name='sk-learn-ridge-reg-model'")) == 1
print("register: ok")
