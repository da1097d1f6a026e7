"""Credit default on synthetic LendingClub-style loans: autologged baseline, tracked Optuna search.

Needs scikit-learn, pandas and optuna (pip install 'dockyard[sklearn,optuna,system-metrics]'). Runs on the
embedded default store (./.dockyard/) in well under a minute on two cores:

    python examples/lending_club.py

Then: dockyard runs list --experiment-name lending-club
"""

from __future__ import annotations

import optuna
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

import dockyard
import dockyard.datasets as datasets
import dockyard.optuna


def main() -> None:
    loans = datasets.lending_club(n_rows=3_000, seed=0)  # synthetic: no download
    x_train, x_valid, y_train, y_valid = train_test_split(
        loans[datasets.FEATURES], loans[datasets.TARGET], test_size=0.3, random_state=0, stratify=loans[datasets.TARGET]
    )
    dockyard.set_experiment("lending-club")

    # 1. A baseline, logged by autolog: params, training metrics, the model and the training data.
    dockyard.autolog(log_input_examples=True, silent=True)
    with dockyard.start_run(run_name="logistic-baseline") as baseline:
        linear = make_pipeline(
            ColumnTransformer(
                [
                    ("num", make_pipeline(SimpleImputer(), StandardScaler()), datasets.NUMERIC),
                    ("cat", OneHotEncoder(handle_unknown="ignore"), datasets.CATEGORICAL),
                ]
            ),
            LogisticRegression(max_iter=2_000),
        ).fit(x_train, y_train)
        baseline_auc = roc_auc_score(y_valid, linear.predict_proba(x_valid)[:, 1])
        dockyard.log_metric("valid_roc_auc", baseline_auc)
    dockyard.autolog(disable=True)

    # 2. A tracked search: every trial a nested run, the best recorded on the parent.
    def objective(trial: optuna.Trial) -> float:
        model = make_pipeline(
            ColumnTransformer(
                [
                    ("num", "passthrough", datasets.NUMERIC),
                    ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), datasets.CATEGORICAL),
                ]
            ),
            HistGradientBoostingClassifier(
                learning_rate=trial.suggest_float("learning_rate", 0.03, 0.2, log=True),
                max_leaf_nodes=trial.suggest_int("max_leaf_nodes", 7, 31),
                min_samples_leaf=trial.suggest_int("min_samples_leaf", 20, 80),
                max_iter=150,
                random_state=0,
            ),
        ).fit(x_train, y_train)
        return float(roc_auc_score(y_valid, model.predict_proba(x_valid)[:, 1]))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    with dockyard.start_run(run_name="gbm-search", log_system_metrics=True) as search:
        dockyard.log_input(loans, context="training", name="lending-club-synthetic", targets=datasets.TARGET)
        dockyard.optuna.optimize(study, objective, n_trials=6, metric_name="valid_roc_auc")

    parent = dockyard.get_run(search.info.run_id)
    print(f"Tracking store: {dockyard.get_tracking_uri()}")
    print(f"baseline run {baseline.info.run_id}: valid ROC AUC {baseline_auc:.4f}")
    print(f"search run   {search.info.run_id}: best valid ROC AUC {parent.data.metrics['best_valid_roc_auc']:.4f}")
    print(f"  best params {dict(sorted((k, v) for k, v in parent.data.params.items()))}")
    print(f"  best trial run {parent.data.tags['optuna.best_trial_run_id']}")
    print("Browse it:  dockyard runs list --experiment-name lending-club")


if __name__ == "__main__":
    main()
