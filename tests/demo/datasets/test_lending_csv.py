"""Cleaning a real LendingClub CSV export into the generator's schema."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dockyard.core.errors import InvalidParameter
from dockyard.demo.datasets import COLUMNS, lending_club, load_lending_club_csv

# The shape of LendingClub's own downloads: a prospectus line, quoted text with "%" and "months",
# extra columns, loans still running, and the "Total amount funded" footer.
EXPORT = (Path(__file__).parent / "loanstats_sample.csv").read_text()


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "LoanStats3a.csv"
    path.write_text(EXPORT)
    return path


def test_cleaned_export_has_the_generators_columns_and_dtypes(export: Path) -> None:
    cleaned = load_lending_club_csv(export)
    synthetic = lending_club(n_rows=50, seed=0)
    assert list(cleaned.columns) == COLUMNS
    pd.testing.assert_series_equal(cleaned.dtypes, synthetic.dtypes)


def test_values_are_cleaned(export: Path) -> None:
    df = load_lending_club_csv(export)
    # Current and Late loans are dropped (outcome unknown), and so is the row missing delinq_2yrs.
    assert len(df) == 5
    first = df.iloc[0]
    assert (first["loan_amnt"], first["term"], first["int_rate"], first["revol_util"]) == (5000.0, 36, 10.65, 83.7)
    assert first["emp_length"] == 10.0 and first["loan_status"] == 0 and first["verification_status"] == "Verified"
    assert list(df["loan_status"]) == [0, 1, 1, 1, 0]
    assert df["emp_length"].iloc[1] == 0.0
    assert list(df["term"]) == [36, 60, 36, 60, 36]
    assert list(df["home_ownership"]) == ["RENT", "RENT", "OTHER", "MORTGAGE", "OTHER"]
    assert list(df["verification_status"]) == [
        "Verified",
        "Source Verified",
        "Source Verified",
        "Source Verified",
        "Not Verified",
    ]
    assert np.isnan(df["revol_util"].iloc[2])  # missing in the export, kept as NaN


def test_gzipped_export_without_the_prospectus_line(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(EXPORT.split("\n", 1)[1])
    assert len(load_lending_club_csv(path)) == 5


def test_plain_numbers_are_accepted(tmp_path: Path) -> None:
    """The 2007-2018 file has numeric int_rate and revol_util without '%'."""
    path = tmp_path / "accepted.csv"
    lending_club(n_rows=30, seed=3).assign(
        term=lambda d: d["term"].map(lambda m: f" {m} months"),
        loan_status=lambda d: d["loan_status"].map({0: "Fully Paid", 1: "Charged Off"}),
        emp_length=lambda d: d["emp_length"].map(lambda y: "n/a" if np.isnan(y) else f"{int(y)} years"),
    ).to_csv(path, index=False)
    again = load_lending_club_csv(path)
    original = lending_club(n_rows=30, seed=3)
    pd.testing.assert_frame_equal(again, original, check_exact=False)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    path.write_text("loan_amnt,term\n1000,36 months\n")
    with pytest.raises(InvalidParameter, match="'int_rate'"):
        load_lending_club_csv(path)


def test_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidParameter, match="loan_amnt"):
        load_lending_club_csv(path)
    with pytest.raises(InvalidParameter, match="not a file"):
        load_lending_club_csv(tmp_path / "nope.csv")


def test_no_finished_loan(tmp_path: Path) -> None:
    path = tmp_path / "current.csv"
    lines = EXPORT.splitlines()
    path.write_text("\n".join([lines[1], lines[4]]) + "\n")  # the header and the Current loan
    with pytest.raises(InvalidParameter, match="known outcome"):
        load_lending_club_csv(path)
