"""Autologging, as MLflow's autolog documentation writes it."""

from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import train_test_split

import dockyard as mlflow

mlflow.set_experiment("autolog-script")
mlflow.autolog()

db = load_diabetes()
X_train, X_test, y_train, y_test = train_test_split(db.data, db.target, random_state=0)

rf = RandomForestRegressor(n_estimators=10, max_depth=6, max_features=3)
rf.fit(X_train, y_train)
predictions = rf.predict(X_test)

autolog_run = mlflow.last_active_run()
print(f"Run ID: {autolog_run.info.run_id}")

run = mlflow.get_run(autolog_run.info.run_id)
assert run.data.params["n_estimators"] == "10", run.data.params
assert run.data.params["max_depth"] == "6"
assert any(key.startswith("training_") for key in run.data.metrics), run.data.metrics
model = mlflow.pyfunc.load_model(f"runs:/{autolog_run.info.run_id}/model")
assert len(model.predict(X_test[:5])) == 5
print("autolog: ok")
