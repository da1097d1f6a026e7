"""Model aliases, as MLflow's registry documentation writes them."""

import pandas as pd
from sklearn.linear_model import LinearRegression

import dockyard as mlflow
from dockyard import MlflowClient

X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
y = [1.0, 3.0, 5.0, 7.0]

for fit_intercept in (True, False):
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            sk_model=LinearRegression(fit_intercept=fit_intercept).fit(X, y),
            name="model",
            input_example=X[:2],
            registered_model_name="alias-demo",
        )

client = MlflowClient()
client.set_registered_model_alias("alias-demo", "champion", 1)
client.set_registered_model_alias("alias-demo", "challenger", 2)

champion = client.get_model_version_by_alias("alias-demo", "champion")
assert int(champion.version) == 1
assert "champion" in champion.aliases

model = mlflow.pyfunc.load_model("models:/alias-demo@champion")
prediction = model.predict(pd.DataFrame({"x": [10.0]}))
assert abs(float(prediction[0]) - 21.0) < 1e-6, prediction

# Promote the challenger: move the alias.
client.set_registered_model_alias("alias-demo", "champion", 2)
assert int(client.get_model_version_by_alias("alias-demo", "champion").version) == 2
assert client.get_registered_model("alias-demo").aliases["champion"] in (2, "2")

client.delete_registered_model_alias("alias-demo", "challenger")
assert "challenger" not in client.get_registered_model("alias-demo").aliases
print("alias: ok")
