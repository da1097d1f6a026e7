"""The LendingClub loan schema shared by the synthetic generator and the CSV cleaner.

Both :func:`dockyard.demo.datasets.lending_club` and :func:`dockyard.demo.datasets.load_lending_club_csv` return
a DataFrame with exactly these columns, in this order, with these dtypes, so a model trained on one
scores the other.

>>> COLUMNS[-1], TARGET
('loan_status', 'loan_status')
>>> DTYPES["term"], DTYPES["int_rate"], DTYPES["grade"]
('int64', 'float64', 'str')
"""

from __future__ import annotations

from typing import Any

TARGET = "loan_status"

# Column -> dtype. Text columns use pandas' string type ("str"); counts are int64; money, rates and
# percentages float64. emp_length (years, 10 meaning "10+") and revol_util may be missing (NaN), as in
# the real exports. loan_status is 1 for a loan that defaulted (charged off), 0 for one paid in full.
DTYPES: dict[str, str] = {
    "loan_amnt": "float64",
    "term": "int64",  # months: 36 or 60
    "int_rate": "float64",  # percent, 13.56 means 13.56 %
    "installment": "float64",
    "grade": "str",  # A..G
    "sub_grade": "str",  # A1..G5
    "emp_length": "float64",  # years, 0 ("< 1 year") .. 10 ("10+ years"), NaN when unknown
    "home_ownership": "str",
    "annual_inc": "float64",
    "verification_status": "str",
    "purpose": "str",
    "dti": "float64",  # debt-to-income, percent
    "delinq_2yrs": "int64",
    "inq_last_6mths": "int64",
    "open_acc": "int64",
    "pub_rec": "int64",
    "revol_bal": "float64",
    "revol_util": "float64",  # percent, NaN when unknown
    "total_acc": "int64",
    TARGET: "int64",
}

COLUMNS: list[str] = list(DTYPES)
FEATURES: list[str] = [c for c in COLUMNS if c != TARGET]
CATEGORICAL: list[str] = [c for c, t in DTYPES.items() if t == "str"]
NUMERIC: list[str] = [c for c in FEATURES if c not in CATEGORICAL]

GRADES = ("A", "B", "C", "D", "E", "F", "G")
HOME_OWNERSHIP = ("MORTGAGE", "RENT", "OWN", "OTHER")
VERIFICATION_STATUS = ("Not Verified", "Source Verified", "Verified")
PURPOSES = (
    "debt_consolidation",
    "credit_card",
    "home_improvement",
    "other",
    "major_purchase",
    "small_business",
    "car",
    "medical",
    "moving",
    "vacation",
    "house",
    "wedding",
    "renewable_energy",
    "educational",
)


def conform(df: Any) -> Any:
    """``df`` with exactly :data:`COLUMNS`, in order, cast to :data:`DTYPES`, with a fresh 0..n-1 index."""
    out = df.loc[:, COLUMNS].astype(DTYPES)
    return out.reset_index(drop=True)
