"""CI for a model: train, log, register, validate against the champion, promote on pass.

    python examples/ci/pipeline.py --tracking-uri ./ci-store --summary summary.md
    python examples/ci/pipeline.py --tracking-uri ./ci-store --summary summary.md --degrade   # stopped: exit 1

The model registry holds a gate on the ``champion`` alias (set here on the first run): a candidate must
reach an ROC AUC of 0.75 and lose at most 0.01 against the current champion. The registry enforces it
on every alias move, so this script cannot promote a candidate that did not pass, and neither can anyone
else. The comparison is written as Markdown to ``--summary`` (post it as a pull-request comment). Exit
codes: 0 promoted, 1 a rule failed (nothing promoted), 2 bad input.

The same steps run in GitHub Actions with ``github-actions.yml`` (see README.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import dockyard
import dockyard.sklearn
from dockyard.delivery.report import render_markdown

GATE = ["roc_auc >= 0.75", "roc_auc >= baseline - 0.01", "p95_latency_ms <= 250"]


def data(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and held-out frames (features f0..f7 and the label ``target``), the same on every run."""
    x, y = make_classification(n_samples=3000, n_features=8, n_informative=5, class_sep=0.8, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])]).assign(target=y)
    return frame.iloc[:2200].reset_index(drop=True), frame.iloc[2200:].reset_index(drop=True)


def train(frame: pd.DataFrame, *, degrade: bool) -> LogisticRegression:
    features, labels = frame.drop(columns="target"), frame["target"].to_numpy()
    if degrade:  # a deliberately broken candidate: trained on shuffled labels
        labels = np.random.default_rng(0).permutation(labels)
    return LogisticRegression(max_iter=1000).fit(features, labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracking-uri", default=None, help="the store (default: DOCKYARD_TRACKING_URI)")
    parser.add_argument("--model", default="ci-churn", help="the registered model's name")
    parser.add_argument("--summary", type=Path, default=Path("validation-summary.md"))
    parser.add_argument("--degrade", action="store_true", help="train a deliberately worse candidate")
    args = parser.parse_args(argv)
    if args.tracking_uri:
        dockyard.set_tracking_uri(args.tracking_uri)
    client = dockyard.Client(args.tracking_uri) if args.tracking_uri else dockyard.Client()

    train_frame, holdout = data()
    model = train(train_frame, degrade=args.degrade)
    features = train_frame.drop(columns="target")
    dockyard.set_experiment("ci")
    with dockyard.start_run(run_name="candidate-degraded" if args.degrade else "candidate"):
        info = dockyard.sklearn.log_model(
            model,
            name="model",
            input_example=features.head(3),
            training_data=features,
            registered_model_name=args.model,
        )
    version = info.registered_model_version
    print(f"registered {args.model} version {version}")

    registry = client.registry
    if not any(g.target == "champion" for g in registry.get_gates(args.model)):
        registry.set_gate(args.model, GATE, alias="champion")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holdout.parquet"
        holdout.to_parquet(path)
        result = dockyard.validate(
            f"models:/{args.model}/{version}", str(path), "target", gate="champion", client=client
        )
    args.summary.write_text(render_markdown(result), encoding="utf-8")
    for r in result.results:
        print(f"{'PASS' if r.passed else 'FAIL'}  {r.rule}  value={r.value}  baseline={r.baseline_value}")
    if not result.passed:
        print(f"not promoted: failed {'; '.join(r.rule for r in result.failed)}", file=sys.stderr)
        return 1
    registry.promote(
        args.model, version, alias="champion", reason=f"CI: validation {result.record.validation_id} passed"
    )
    print(f"promoted {args.model} version {version} to champion")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except dockyard.errors.DockyardError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        sys.exit(2)
