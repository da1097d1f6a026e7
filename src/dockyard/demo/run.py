"""The end-to-end demo (``dockyard demo``, ``make demo``): data to a model in production, tracked.

1. Loans: synthetic LendingClub-style data (``dockyard.demo.datasets.lending_club``), or a real LendingClub
   CSV export through the same cleaning code; logged as the parent run's input (with its digest).
2. A logistic-regression baseline (a nested run).
3. An Optuna search over a gradient-boosting pipeline, every trial a nested run (``dockyard.integrations.optuna``).
4. The best configuration refitted and evaluated on a held-out test split, logged as a model with its
   signature and input example, and registered as a new version of ``lending-club-default``.
5. The new version is validated against the version holding the ``champion`` alias on the same test
   split (``dockyard.validate``), through the gate the registry holds on the alias (``roc_auc >=
   baseline``); it is promoted (the alias moves, with a reason in the audit history) only when it passes,
   and the registry refuses a worse one. Then a deliberately degraded candidate (fitted on shuffled labels)
   is registered and validated, and the registry refuses to make it the champion.
6. ``dockyard serve models:/lending-club-default@champion`` is started, a few loan applications are sent
   over HTTP and their default probabilities printed; the server is stopped.

It ends by naming the web pages of what it made (:func:`page_links`): the experiment, the demo's run, the
champion version and the model, as ``dockyard ui`` serves them on the demo's store.

Running it again adds a version and shows the comparison. Needs ``pip install 'dockyard[demo]'``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import dockyard
import dockyard.demo.datasets as ds
import dockyard.integrations.optuna
import dockyard.sklearn
from dockyard.core.errors import (
    DockyardError,
    InvalidParameter,
)
from dockyard.lifecycle.fluent import current_client

MODEL_NAME = "lending-club-default"
ALIAS = "champion"
EXPERIMENT = "lending-club-demo"
UI_URL = "http://127.0.0.1:5000"  # where `dockyard ui` serves the local store by default


@dataclass(frozen=True)
class DemoConfig:
    """How big the demo is; the defaults finish in well under three minutes on two cores."""

    n_rows: int = 20_000
    n_trials: int = 25
    seed: int = 0
    max_iter: int = 200  # boosting iterations per trial
    data_path: str | None = None  # a real LendingClub CSV export instead of the synthetic loans
    serve: bool = True
    port: int | None = None  # None: a free port

    def __post_init__(self) -> None:
        if self.n_rows < 500:
            raise InvalidParameter(f"n_rows: at least 500 loans are needed, got {self.n_rows}")
        if self.n_trials < 1:
            raise InvalidParameter(f"n_trials: at least 1, got {self.n_trials}")
        if self.max_iter < 1:
            raise InvalidParameter(f"max_iter: at least 1, got {self.max_iter}")


@dataclass
class DemoResult:
    parent_run_id: str
    baseline_auc: float
    best_valid_auc: float
    test_auc: float
    version: int
    champion_before: int | None
    champion_before_auc: float | None
    promoted: bool
    champion: int
    predictions: list[dict[str, Any]] = field(default_factory=list)
    experiment_id: str = ""
    degraded_version: int | None = None  # the deliberately worse candidate the gate refused


def page_links(result: DemoResult, base_url: str = UI_URL) -> list[tuple[str, str]]:
    """The web UI's pages of what the demo made, as (what it shows, URL) pairs.

    >>> result = DemoResult("abc", 0.7, 0.8, 0.8, 2, 1, 0.81, False, 1, experiment_id="3")
    >>> for what, url in page_links(result): print(f"{url}  {what}")
    http://127.0.0.1:5000/experiments/3  the experiment's runs
    http://127.0.0.1:5000/runs/abc  this demo's run
    http://127.0.0.1:5000/models/lending-club-default/versions/1  @champion, version 1: lineage, signature
    http://127.0.0.1:5000/models/lending-club-default/versions/2?against=1  version 2 against the champion
    http://127.0.0.1:5000/models/lending-club-default  the model's versions, aliases and audit history
    """
    base = base_url.rstrip("/")
    model = f"{base}/models/{quote(MODEL_NAME, safe='')}"
    links = [
        ("the experiment's runs", f"{base}/experiments/{quote(result.experiment_id, safe='')}"),
        ("this demo's run", f"{base}/runs/{quote(result.parent_run_id, safe='')}"),
        (f"@{ALIAS}, version {result.champion}: lineage, signature", f"{model}/versions/{result.champion}"),
    ]
    if result.version != result.champion:  # not promoted: how the new version differs from the champion
        what = f"version {result.version} against the champion"
        links.append((what, f"{model}/versions/{result.version}?against={result.champion}"))
    links.append(("the model's versions, aliases and audit history", model))
    return links


def _baseline_pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return make_pipeline(
        ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(), StandardScaler()), ds.NUMERIC),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ds.CATEGORICAL),
            ]
        ),
        LogisticRegression(max_iter=2_000),
    )


def _boosting_pipeline(params: dict[str, Any], max_iter: int, seed: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
    return make_pipeline(
        ColumnTransformer([("num", "passthrough", ds.NUMERIC), ("cat", encoder, ds.CATEGORICAL)]),
        HistGradientBoostingClassifier(max_iter=max_iter, random_state=seed, **params),
    )


def _auc(model: Any, x: Any, y: Any) -> float:
    from sklearn.metrics import roc_auc_score

    scores = model.predict_proba(x)
    return float(roc_auc_score(y, scores[:, 1] if getattr(scores, "ndim", 1) == 2 else scores))


def load_loans(config: DemoConfig) -> Any:
    if config.data_path:
        return ds.load_lending_club_csv(config.data_path)
    return ds.lending_club(n_rows=config.n_rows, seed=config.seed)


@dataclass(frozen=True)
class _Splits:
    """The loans and their train, validation and held-out test splits."""

    loans: Any
    x_train: Any
    x_valid: Any
    x_test: Any
    y_train: Any
    y_valid: Any
    y_test: Any


@dataclass(frozen=True)
class _Verdict:
    """The champion before this run, its test ROC AUC, whether the new version was promoted, the champion now."""

    before: int | None
    before_auc: float | None
    promoted: bool
    champion: int


def run_demo(config: DemoConfig, say: Any = print) -> DemoResult:
    """Run every step; ``say`` prints progress (rich markup allowed)."""
    study = _new_study(config.seed)  # first: without optuna the demo fails before loading data or starting runs
    data = _load_and_split(config, say)
    experiment = dockyard.set_experiment(EXPERIMENT)
    client = _client()
    with dockyard.start_run(run_name=f"demo-{time.strftime('%Y%m%d-%H%M%S')}") as parent:
        dockyard.log_input(data.loans, context="training", name="lending-club", targets=ds.TARGET)
        dockyard.log_params({"n_rows": len(data.loans), "n_trials": config.n_trials, "seed": config.seed})
        baseline_auc = _fit_baseline(data, say)
        best_params, best_valid = _search(config, study, data, say)
        test_auc, version = _fit_best(config, best_params, data, say)
        verdict = _compare_and_promote(client, version, test_auc, data, say)
        degraded = _refused_candidate(config, best_params, client, data, say)
        dockyard.set_tags({"demo.version": str(version), "demo.promoted": str(verdict.promoted).lower()})
        dockyard.log_metrics({"baseline_valid_roc_auc": baseline_auc, "test_roc_auc": test_auc})

    result = DemoResult(
        parent.info.run_id,
        baseline_auc,
        best_valid,
        test_auc,
        version,
        verdict.before,
        verdict.before_auc,
        verdict.promoted,
        verdict.champion,
        experiment_id=experiment.experiment_id,
        degraded_version=degraded,
    )
    if config.serve:
        result.predictions = _serve_and_score(config, data.x_test, say)
    return result


def _new_study(seed: int) -> Any:
    """An Optuna study maximising the validation ROC AUC, with a seeded TPE sampler and quiet logging."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))


def _load_and_split(config: DemoConfig, say: Any) -> _Splits:
    """Step 1: load the loans and split them 60/20/20 (train / valid / held-out test), stratified by default."""
    from sklearn.model_selection import train_test_split

    loans = load_loans(config)
    x, y = loans[ds.FEATURES], loans[ds.TARGET]
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=config.seed, stratify=y)
    x_train, x_valid, y_train, y_valid = train_test_split(
        x_rest, y_rest, test_size=0.25, random_state=config.seed, stratify=y_rest
    )
    source = config.data_path or f"synthetic (seed {config.seed})"
    say(f"[bold]1. Data[/]  {len(loans):,} loans from {source}, default rate {float(y.mean()):.1%}")
    say(f"   train {len(x_train):,} / valid {len(x_valid):,} / held-out test {len(x_test):,}")
    return _Splits(loans, x_train, x_valid, x_test, y_train, y_valid, y_test)


def _fit_baseline(data: _Splits, say: Any) -> float:
    """Step 2: fit the logistic-regression baseline in a nested run; its validation ROC AUC."""
    with dockyard.start_run(run_name="logistic-baseline", nested=True):
        baseline = _baseline_pipeline().fit(data.x_train, data.y_train)
        baseline_auc = _auc(baseline, data.x_valid, data.y_valid)
        dockyard.log_params({"model": "logistic-regression"})
        dockyard.log_metric("valid_roc_auc", baseline_auc)
    say(f"[bold]2. Baseline[/]  logistic regression: valid ROC AUC {baseline_auc:.4f}")
    return baseline_auc


def _search(config: DemoConfig, study: Any, data: _Splits, say: Any) -> tuple[dict[str, Any], float]:
    """Step 3: the Optuna search over the boosting pipeline (trials as nested runs); best params and valid AUC."""

    def objective(trial: Any) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 63),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 10, 200, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-4, 10.0, log=True),
        }
        model = _boosting_pipeline(params, config.max_iter, config.seed).fit(data.x_train, data.y_train)
        return _auc(model, data.x_valid, data.y_valid)

    with dockyard.start_run(run_name="gbm-search", nested=True):
        dockyard.integrations.optuna.optimize(study, objective, n_trials=config.n_trials, metric_name="valid_roc_auc")
    best_valid = float(study.best_value)
    best_params: dict[str, Any] = study.best_params
    shown = ", ".join(f"{k}={v:.3g}" for k, v in best_params.items())
    say(f"[bold]3. Search[/]  {config.n_trials} trials, best valid ROC AUC {best_valid:.4f} ({shown})")
    return best_params, best_valid


def _fit_best(config: DemoConfig, best_params: dict[str, Any], data: _Splits, say: Any) -> tuple[float, int]:
    """Step 4: refit the best configuration, score it on the test split, log and register it; (AUC, version)."""
    with dockyard.start_run(run_name="best-model", nested=True):
        best = _boosting_pipeline(best_params, config.max_iter, config.seed).fit(data.x_train, data.y_train)
        test_auc = _auc(best, data.x_test, data.y_test)
        dockyard.log_params({**best_params, "max_iter": config.max_iter})
        info = dockyard.sklearn.log_model(
            best,
            name="model",
            input_example=data.x_test[:5],
            predict_fn="predict_proba",
            registered_model_name=MODEL_NAME,
        )
        dockyard.log_metric("test_roc_auc", test_auc, model_id=info.model_id)
    version = int(info.registered_model_version or 0)
    say(f"[bold]4. Model[/]  held-out test ROC AUC {test_auc:.4f}; registered {MODEL_NAME} version {version}")
    return test_auc, version


GATE_RULES = ["roc_auc >= baseline"]  # the champion's gate: at least as good on the held-out test split


def _compare_and_promote(client: Any, version: int, test_auc: float, data: _Splits, say: Any) -> _Verdict:
    """Step 5: validate ``version`` against the champion through the registry's gate on the alias (set on
    the first run) and promote it when it passes; a worse version is refused by the registry itself."""
    from dockyard.core.errors import GateRefused

    if not any(g.target == ALIAS for g in client.registry.get_gates(MODEL_NAME)):
        client.registry.set_gate(MODEL_NAME, GATE_RULES, alias=ALIAS)
    test = data.x_test.assign(**{ds.TARGET: data.y_test})
    checked = dockyard.validate(
        f"models:/{MODEL_NAME}/{version}",
        test,
        ds.TARGET,
        ["roc_auc >= 0.5"],
        gate=ALIAS,
        latency_rows=10,
        client=client,
    )
    before, before_auc = checked.baseline_version, checked.baseline_metrics.get("roc_auc")
    promoted = checked.passed
    if before is None:
        reason = f"first version (test ROC AUC {test_auc:.4f})"
        say(f"[bold]5. Compare[/]  no {ALIAS} yet; gate on @{ALIAS}: {'; '.join(GATE_RULES)}")
    else:
        verdict = "at least as good" if promoted else "worse"
        reason = f"test ROC AUC {test_auc:.4f} vs {before_auc or 0.0:.4f} of version {before}"
        scores = f"version {before}: {before_auc or 0.0:.4f}; version {version}: {test_auc:.4f}"
        say(f"[bold]5. Compare[/]  {ALIAS} is version {before}. Test ROC AUC {scores} ({verdict})")
    say(
        f"   validation {checked.record.validation_id if checked.record else '-'}: {'passed' if promoted else 'failed'}"
    )
    try:
        client.promote(MODEL_NAME, version, alias=ALIAS, reason=reason)
        say(f"   promoted version {version} to @{ALIAS}")
    except GateRefused as refused:
        say(f"   the registry refused version {version}: {refused.message.split(': ', 1)[-1]}")
        say(f"   kept version {before} as @{ALIAS}")
    return _Verdict(before, before_auc, promoted, version if promoted else int(before or version))


def _refused_candidate(config: DemoConfig, best_params: dict[str, Any], client: Any, data: _Splits, say: Any) -> int:
    """Step 5, continued: a deliberately degraded candidate (the same pipeline fitted on shuffled labels, so
    it learned nothing) is registered and validated through the gate, and the registry refuses to make it
    the champion; its version number."""
    from dockyard.core.errors import GateRefused

    with dockyard.start_run(run_name="degraded-candidate", nested=True):
        shuffled = data.y_train.sample(frac=1.0, random_state=config.seed).to_numpy()
        worse = _boosting_pipeline(best_params, config.max_iter, config.seed).fit(data.x_train, shuffled)
        info = dockyard.sklearn.log_model(
            worse,
            name="model",
            input_example=data.x_test[:5],
            predict_fn="predict_proba",
            registered_model_name=MODEL_NAME,
        )
    version = int(info.registered_model_version or 0)
    test = data.x_test.assign(**{ds.TARGET: data.y_test})
    checked = dockyard.validate(
        f"models:/{MODEL_NAME}/{version}", test, ds.TARGET, [], gate=ALIAS, latency_rows=10, client=client
    )
    auc = checked.metrics.get("roc_auc", 0.0)
    say(f"   degraded candidate: version {version} (fitted on shuffled labels), test ROC AUC {auc:.4f}")
    try:
        client.promote(MODEL_NAME, version, alias=ALIAS, reason="the demo's degraded candidate")
    except GateRefused as refused:
        say(f"   the registry refused version {version}: {refused.message.split(': ', 1)[-1]}")
    else:  # only if the champion itself were no better than chance
        say(f"   version {version} passed the gate and is now @{ALIAS}")
    return version


def _client() -> Any:
    return current_client()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_and_score(config: DemoConfig, x_test: Any, say: Any) -> list[dict[str, Any]]:
    """Start ``dockyard serve`` on the champion alias, send loan applications, stop it."""
    import httpx2

    port = config.port or _free_port()
    uri = f"models:/{MODEL_NAME}@{ALIAS}"
    env = {**os.environ, "DOCKYARD_TRACKING_URI": dockyard.get_tracking_uri()}
    command = [sys.executable, "-m", "dockyard", "serve", uri, "--host", "127.0.0.1", "--port", str(port)]
    say(f"[bold]6. Serve[/]  dockyard serve {uri} --port {port}")
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603  argv built here (this python, the URI and port), no shell
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, base)
        applications = json.loads(x_test[:4].to_json(orient="records"))
        answer = httpx2.post(f"{base}/invocations", json={"dataframe_records": applications}, timeout=60)
        if answer.status_code != 200:
            raise DockyardError(f"the scoring server answered {answer.status_code}: {answer.text}")
        served = answer.headers.get("X-Dockyard-Model-Version", "?")
        out = []
        for loan, row in zip(applications, answer.json()["predictions"], strict=True):
            probability = float(row[1] if isinstance(row, list) else row)
            out.append({**loan, "p_default": probability})
            say(
                f"   {loan['loan_amnt']:>8,.0f} {loan['term']:>2} months grade {loan['sub_grade']}"
                f" {loan['purpose']:<20} -> P(default) = {probability:.1%}"
            )
        say(f"   answered by version {served}; server stopped")
        return out
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def _wait_until_up(server: subprocess.Popen[bytes], base: str, timeout: float = 120.0) -> None:
    import httpx2

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().decode(errors="replace") if server.stdout else ""
            raise DockyardError(f"dockyard serve exited with {server.returncode}:\n{output[-2000:]}")
        try:
            if httpx2.get(f"{base}/ping", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.25)
    raise DockyardError(f"dockyard serve did not answer /ping within {timeout:.0f} s")
