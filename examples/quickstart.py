"""Quickstart: train a tiny logistic-regression model and track it with Dockyard.

Runs on the embedded default store (./.dockyard/: a SQLite file and an artifacts folder) with nothing
but the core package installed: the model is plain Python, so no ML library is needed.

    python examples/quickstart.py
"""

from __future__ import annotations

import math
import random

import dockyard


def make_data(n: int, seed: int) -> list[tuple[list[float], int]]:
    """Two features; the label depends on them through a logistic curve, plus noise."""
    rng = random.Random(seed)  # noqa: S311  seeded synthetic training data, nothing secret
    rows = []
    for _ in range(n):
        x = [rng.gauss(0, 1), rng.gauss(0, 1)]
        p = 1 / (1 + math.exp(-(1.5 * x[0] - 2.0 * x[1] + 0.3)))
        rows.append((x, 1 if rng.random() < p else 0))
    return rows


def log_loss_and_accuracy(w: list[float], b: float, rows: list[tuple[list[float], int]]) -> tuple[float, float]:
    loss, correct = 0.0, 0
    for x, y in rows:
        p = 1 / (1 + math.exp(-(w[0] * x[0] + w[1] * x[1] + b)))
        p = min(max(p, 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += int((p >= 0.5) == bool(y))
    return loss / len(rows), correct / len(rows)


def train(lr: float, epochs: int, seed: int) -> dict[str, float]:
    data = make_data(2000, seed)
    train_rows, valid_rows = data[:1600], data[1600:]
    w, b = [0.0, 0.0], 0.0
    dockyard.log_params({"lr": lr, "epochs": epochs, "seed": seed, "model": "logistic-regression"})
    for epoch in range(epochs):
        gw, gb = [0.0, 0.0], 0.0
        for x, y in train_rows:
            p = 1 / (1 + math.exp(-(w[0] * x[0] + w[1] * x[1] + b)))
            gw[0] += (p - y) * x[0]
            gw[1] += (p - y) * x[1]
            gb += p - y
        n = len(train_rows)
        w = [w[0] - lr * gw[0] / n, w[1] - lr * gw[1] / n]
        b -= lr * gb / n
        train_loss, train_acc = log_loss_and_accuracy(w, b, train_rows)
        valid_loss, valid_acc = log_loss_and_accuracy(w, b, valid_rows)
        dockyard.log_metrics(
            {"train_loss": train_loss, "train_acc": train_acc, "valid_loss": valid_loss, "valid_acc": valid_acc},
            step=epoch,
        )
    dockyard.log_dict({"weights": w, "bias": b}, "model/weights.json")
    return {"valid_loss": valid_loss, "valid_acc": valid_acc}


def main() -> None:
    dockyard.set_experiment("quickstart")
    for lr in (0.1, 0.5, 2.0):
        with dockyard.start_run(run_name=f"logreg-lr{lr}") as run:
            result = train(lr=lr, epochs=30, seed=7)
            print(f"run {run.info.run_id} lr={lr}: valid_acc={result['valid_acc']:.3f}")

    runs = dockyard.search_runs(order_by=["metrics.valid_acc DESC"], output_format="list")
    best = runs[0]
    client = dockyard.Client()
    history = client.get_metric_history(best.info.run_id, "valid_loss")
    print()
    print(f"Tracking store: {dockyard.get_tracking_uri()}")
    print(f"Experiment 'quickstart' holds {len(runs)} runs; the best by valid_acc:")
    print(f"  run id    {best.info.run_id}  ({best.info.run_name}, {best.info.status.value})")
    print(f"  params    {dict(sorted(best.data.params.items()))}")
    print("  metrics   " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(best.data.metrics.items())))
    print(f"  history   valid_loss over {len(history)} steps: {history[0].value:.4f} -> {history[-1].value:.4f}")
    print(f"  git       {best.data.tags.get('mlflow.source.git.commit', '(not in a git repository)')}")
    artifacts = [f.path for f in client.list_artifacts(best.info.run_id)]
    print(f"  artifacts {artifacts} under {best.info.artifact_uri}")
    print()
    print("Browse it:  dockyard runs list --experiment-name quickstart")
    print(f"            dockyard runs show {best.info.run_id}")


if __name__ == "__main__":
    main()
