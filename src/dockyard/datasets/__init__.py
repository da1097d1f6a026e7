"""Datasets for examples, tests and the demo: ``dockyard.datasets.lending_club`` and its CSV cleaner.

``dockyard.datasets`` (loan data to train on) is not ``dockyard.data`` (describing a dataset for
``log_input``: digest, schema, profile); both exist, as in MLflow's ``mlflow.data``.

    import dockyard.datasets

    loans = dockyard.datasets.lending_club(n_rows=5_000, seed=0)       # synthetic, no download
    real = dockyard.datasets.load_lending_club_csv("LoanStats3a.csv")   # a real export, same schema

Importing this package imports neither numpy nor pandas; the functions do. See ``docs/datasets.md``.
"""

from __future__ import annotations

from dockyard.datasets.lending import lending_club
from dockyard.datasets.lending_csv import load_lending_club_csv
from dockyard.datasets.schema import CATEGORICAL, COLUMNS, DTYPES, FEATURES, NUMERIC, TARGET

__all__ = ["CATEGORICAL", "COLUMNS", "DTYPES", "FEATURES", "NUMERIC", "TARGET", "lending_club", "load_lending_club_csv"]
