"""Clean a real LendingClub CSV export into the schema of :func:`dockyard.demo.datasets.lending_club`.

LendingClub published its loan book as CSV files (``LoanStats3a.csv`` ..., and the 2007-2018
``accepted_2007_to_2018Q4.csv`` that circulates on data-science sites). Their text needs cleaning:

============================  =======================================  ==========================
column                        in the export                            after cleaning
============================  =======================================  ==========================
``term``                      ``" 36 months"``                         ``36`` (int64)
``int_rate``, ``revol_util``  ``"13.56%"`` (or ``13.56``)              ``13.56`` (float64)
``emp_length``                ``"< 1 year"``, ``"3 years"``,            ``0.0``, ``3.0``, ``10.0``,
                              ``"10+ years"``, ``"n/a"``               ``NaN``
``home_ownership``            ``NONE``, ``ANY``                        ``OTHER``
``verification_status``       ``"VERIFIED - income source"`` (2007-9)  ``"Source Verified"``
``loan_status``               ``"Fully Paid"``, ``"Charged Off"``,      ``0``, ``1``, ``1``
                              ``"Default"``
============================  =======================================  ==========================

Loans whose outcome is not known yet (``Current``, ``In Grace Period``, ``Late (...)``) are dropped,
and so are rows missing a required value; the ``Does not meet the credit policy. Status:...`` loans
keep their status. The prospectus line some exports start with and the ``Total amount funded ...``
footer lines are skipped. Extra columns are ignored.
"""

from __future__ import annotations

import os
import re
from typing import Any

from dockyard.core.errors import InvalidParameter, MissingExtra
from dockyard.demo.datasets.schema import COLUMNS, NUMERIC, TARGET, conform

DEFAULTED = {"charged off": 1, "default": 1, "fully paid": 0}
_CREDIT_POLICY = re.compile(r"^does not meet the credit policy\.\s*status:\s*", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
# Columns that may stay missing after cleaning (the real exports have gaps there too).
OPTIONAL = ("emp_length", "revol_util")


def _status(value: Any) -> float:
    """1 for a default, 0 for a loan paid in full, NaN for an outcome not known yet."""
    if not isinstance(value, str):
        return float("nan")
    text = _CREDIT_POLICY.sub("", value.strip()).lower()
    return float(DEFAULTED[text]) if text in DEFAULTED else float("nan")


def _emp_length(value: Any) -> float:
    if not isinstance(value, str):
        return float("nan")
    text = value.strip().lower()
    if text.startswith("<"):
        return 0.0
    match = _NUMBER.search(text)
    return min(float(match.group()), 10.0) if match else float("nan")


def _verification(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if "not" in text:
        return "Not Verified"
    if "source" in text:
        return "Source Verified"
    return "Verified" if "verified" in text else value.strip()


def _home(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().upper()
    return "OTHER" if text in ("NONE", "ANY", "") else text


def _number(pd: Any, series: Any) -> Any:
    """Numbers from text such as ``" 36 months"``, ``"13.56%"``, ``"1,250.00"``; NaN where there is none."""
    text = series.astype("string").str.replace(",", "", regex=False).str.extract(f"({_NUMBER.pattern})")[0]
    return pd.to_numeric(text, errors="coerce")


def _header_rows_to_skip(pd: Any, path: str) -> int:
    """1 when the file starts with LendingClub's "Notes offered by Prospectus" line, else 0."""
    for skip in (0, 1):
        header = pd.read_csv(path, nrows=0, skiprows=skip)
        if "loan_amnt" in {str(c).strip() for c in header.columns}:
            return skip
    raise InvalidParameter(f"{path}: no 'loan_amnt' column in the first two lines; is this a LendingClub export?")


def load_lending_club_csv(path: str | os.PathLike[str]) -> Any:
    """Read and clean a LendingClub CSV export (``.csv`` or ``.csv.gz``) into :data:`~dockyard.demo.datasets.COLUMNS`.

    Raises :class:`~dockyard.core.errors.InvalidParameter` when the file lacks a column the schema needs
    (the message names them) or keeps no loan with a known outcome.
    """
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise InvalidParameter(f"LendingClub CSV {text!r} is not a file")
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtra("pandas", "data") from None

    skip = _header_rows_to_skip(pd, text)
    raw = pd.read_csv(text, skiprows=skip, dtype=str, keep_default_na=False, na_values=[""], low_memory=False)
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InvalidParameter(f"{text}: the export has no column {', '.join(repr(c) for c in missing)}")

    df = pd.DataFrame(index=raw.index)
    for column in NUMERIC:
        if column != "emp_length":  # text such as "10+ years", below
            df[column] = _number(pd, raw[column])
    df["emp_length"] = raw["emp_length"].map(_emp_length).astype("float64")
    df["grade"] = raw["grade"].str.strip().str.upper()
    df["sub_grade"] = raw["sub_grade"].str.strip().str.upper()
    df["home_ownership"] = raw["home_ownership"].map(_home)
    df["verification_status"] = raw["verification_status"].map(_verification)
    df["purpose"] = raw["purpose"].str.strip().str.lower()
    df[TARGET] = raw[TARGET].map(_status).astype("float64")

    required = [c for c in COLUMNS if c not in OPTIONAL]
    df = df[df[required].notna().all(axis=1)]
    if df.empty:
        raise InvalidParameter(
            f"{text}: no loan with a known outcome (Fully Paid, Charged Off, Default) and every value"
        )
    # Rates are percentages in every LendingClub export ("13.56%" or 13.56), so they are kept as they are.
    return conform(df)
