"""Datasets for examples, tests and the demo: ``dockyard.demo.datasets.lending_club`` and its CSV cleaner.

``dockyard.demo.datasets`` (loan data to train on) is not ``dockyard.data`` (describing a dataset for
``log_input``: digest, schema, profile); both exist, as in MLflow's ``mlflow.data``.

    import dockyard.demo.datasets

    loans = dockyard.demo.datasets.lending_club(n_rows=5_000, seed=0)       # synthetic, no download
    real = dockyard.demo.datasets.load_lending_club_csv("LoanStats3a.csv")   # a real export, same schema

Importing this package imports neither numpy nor pandas; the functions do. See ``docs/datasets.md``.
"""

from __future__ import annotations

from dockyard.demo.datasets.lending import lending_club
from dockyard.demo.datasets.lending_csv import load_lending_club_csv
from dockyard.demo.datasets.schema import CATEGORICAL, COLUMNS, DTYPES, FEATURES, NUMERIC, TARGET

__all__ = ["CATEGORICAL", "COLUMNS", "DTYPES", "FEATURES", "NUMERIC", "TARGET", "lending_club", "load_lending_club_csv"]
