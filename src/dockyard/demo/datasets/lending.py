"""A synthetic LendingClub-style loan book: borrowers, their credit file, the loan, and whether it defaulted.

The data is **synthetic**: it is drawn from a seeded generative model written for Dockyard, with
marginals shaped like LendingClub's public 2007-2018 loan data (amounts, incomes, grades, rates) but
no real borrower in it, and nothing is downloaded. The same ``(n_rows, seed)`` gives the same frame on
any machine.

How a row is made:

1. The borrower: a log-normal income, employment length, home ownership (richer borrowers own or
   have a mortgage more often), a credit file (open and total accounts, delinquencies, public records,
   recent inquiries, revolving balance and utilisation) and a debt-to-income ratio.
2. A latent credit score from the file plus noise; its quantiles give the grade (A..G, in
   LendingClub's proportions) and sub-grade (1..5 within a grade).
3. The loan: an amount that scales with income, a term (60 months is more likely for big loans and
   worse grades), an interest rate set by the sub-grade, and the installment from the annuity formula
   ``P * r / (1 - (1 + r) ** -n)`` with the monthly rate ``r`` and ``n`` months.
4. Default: a logistic model of the features with non-linear parts a linear model cannot fit well:
   a U-shaped effect of revolving utilisation (thin files and maxed-out cards are both risky), a
   payment-to-income threshold that matters mostly for renters, an interaction of the 60-month term
   with low grades, and purpose effects. The intercept is solved so that about 18 % of loans default.

>>> df = lending_club(n_rows=200, seed=1)
>>> df.shape
(200, 20)
>>> bool(df.equals(lending_club(n_rows=200, seed=1)))
True
"""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import InvalidParameter, MissingExtra
from dockyard.demo.datasets.schema import COLUMNS, GRADES, HOME_OWNERSHIP, PURPOSES, VERIFICATION_STATUS, conform

DEFAULT_RATE = 0.18
# LendingClub's grade mix (share of loans in A..G).
GRADE_SHARES = (0.19, 0.29, 0.28, 0.14, 0.06, 0.03, 0.01)
PURPOSE_SHARES = (0.56, 0.22, 0.065, 0.055, 0.022, 0.012, 0.011, 0.011, 0.007, 0.006, 0.005, 0.003, 0.001, 0.001)
EMP_YEARS_SHARES = (0.08, 0.065, 0.09, 0.08, 0.06, 0.065, 0.05, 0.05, 0.05, 0.04, 0.35)  # 0..10 (10 = 10+)


def _sigmoid(np: Any, x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def _intercept_for_rate(np: Any, logit: Any, rate: float) -> float:
    """The constant that makes the mean default probability ``rate`` (bisection; the mean is monotone)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(_sigmoid(np, logit + mid).mean()) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _check_arguments(n_rows: int, seed: int) -> None:
    """Raise :class:`InvalidParameter` unless ``n_rows`` is a positive integer and ``seed`` an integer."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 1:
        raise InvalidParameter(f"n_rows must be a positive integer, got {n_rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidParameter(f"seed must be an integer, got {seed!r}")


def _borrower(np: Any, rng: Any, n: int) -> dict[str, Any]:
    """Income (and its z-score ``inc_z``), employment length and home ownership of ``n`` borrowers."""
    log_inc = rng.normal(np.log(66_000), 0.55, n)
    annual_inc = np.round(np.clip(np.exp(log_inc), 6_000, 2_500_000), -2)
    inc_z = (np.log(annual_inc) - np.log(66_000)) / 0.55
    emp_years = rng.choice(11, size=n, p=np.asarray(EMP_YEARS_SHARES) / sum(EMP_YEARS_SHARES)).astype(float)
    emp_years[rng.random(n) < 0.06] = np.nan
    # Mortgage and ownership grow more likely with income and with years in a job.
    tenure = np.nan_to_num(emp_years, nan=0.0) / 10
    home_scores = np.column_stack(
        [0.2 + 0.8 * inc_z + 0.8 * tenure, 0.4 - 0.5 * inc_z, -1.2 + 0.2 * inc_z + 0.6 * tenure, np.full(n, -7.0)]
    )
    home_p = np.exp(home_scores) / np.exp(home_scores).sum(axis=1, keepdims=True)
    home_idx = (home_p.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    home_ownership = np.asarray(HOME_OWNERSHIP)[np.minimum(home_idx, len(HOME_OWNERSHIP) - 1)]
    return {"annual_inc": annual_inc, "inc_z": inc_z, "emp_length": emp_years, "home_ownership": home_ownership}


def _credit_file(np: Any, rng: Any, n: int, annual_inc: Any, inc_z: Any) -> dict[str, Any]:
    """The credit file and DTI; ``revol_util_true`` is the utilisation, ``revol_util`` it as reported (some missing)."""
    open_acc = 1 + rng.poisson(np.clip(10.5 + 1.5 * inc_z, 2, None))
    total_acc = open_acc + rng.poisson(13, n)
    delinq_2yrs = np.minimum(rng.negative_binomial(1, 0.78, n), 15)
    pub_rec = np.minimum(rng.negative_binomial(1, 0.86, n), 10)
    inq_last_6mths = np.minimum(rng.poisson(0.7, n), 8)
    revol_util = np.round(100 * rng.beta(2.0, 2.3, n), 1)
    revol_util[rng.random(n) < 0.01] = 0.0
    revol_bal = np.round(annual_inc * rng.lognormal(np.log(0.23), 0.7, n) * (0.3 + revol_util / 100), 0)
    revol_util_obs = revol_util.copy()
    revol_util_obs[rng.random(n) < 0.002] = np.nan
    dti = np.round(np.clip(rng.gamma(4.2, 4.3, n) - 1.5 * inc_z, 0, 45), 2)
    return {
        "open_acc": open_acc,
        "total_acc": total_acc,
        "delinq_2yrs": delinq_2yrs,
        "pub_rec": pub_rec,
        "inq_last_6mths": inq_last_6mths,
        "revol_util_true": revol_util,
        "revol_bal": revol_bal,
        "revol_util": revol_util_obs,
        "dti": dti,
    }


def _grades(np: Any, rng: Any, n: int, b: dict[str, Any]) -> dict[str, Any]:
    """Grade and sub-grade (with their indices) from the quantiles of a latent credit score."""
    credit = (
        -0.55 * b["delinq_2yrs"]
        - 0.7 * b["pub_rec"]
        - 0.3 * b["inq_last_6mths"]
        - 0.03 * (b["dti"] - 18)
        - 0.015 * (b["revol_util_true"] - 50)
        + 0.35 * b["inc_z"]
        + 0.02 * (b["total_acc"] - 24)
        + rng.normal(0, 0.9, n)
    )
    risk_rank = (-credit).argsort().argsort() / n  # 0 = best
    grade_idx = np.searchsorted(np.cumsum(GRADE_SHARES), risk_rank, side="right")
    grade_idx = np.minimum(grade_idx, len(GRADES) - 1)
    edges = np.concatenate([[0.0], np.cumsum(GRADE_SHARES)])
    within = (risk_rank - edges[grade_idx]) / np.asarray(GRADE_SHARES)[grade_idx]
    sub = np.minimum((within * 5).astype(int), 4)
    sub_idx = grade_idx * 5 + sub  # 0 (A1) .. 34 (G5)
    grade = np.asarray(GRADES)[grade_idx]
    sub_grade = np.char.add(grade.astype(str), (sub + 1).astype(str))
    return {"grade_idx": grade_idx, "sub_idx": sub_idx, "grade": grade, "sub_grade": sub_grade}


def _loan_terms(np: Any, rng: Any, n: int, b: dict[str, Any]) -> dict[str, Any]:
    """Amount, term, interest rate, installment, purpose and income verification of each loan."""
    amount = np.exp(np.log(12_000) + 0.45 * b["inc_z"] + rng.normal(0, 0.55, n))
    loan_amnt = np.round(np.clip(amount, 1_000, 40_000) / 25) * 25
    p_long = _sigmoid(np, -1.6 + 1.6 * (loan_amnt - 12_000) / 10_000 + 0.35 * b["grade_idx"])
    term = np.where(rng.random(n) < p_long, 60, 36)
    int_rate = np.round(np.clip(5.3 + 0.72 * b["sub_idx"] + 0.9 * (term == 60) + rng.normal(0, 0.35, n), 5.3, 30.99), 2)
    r = int_rate / 1200
    installment = np.round(loan_amnt * r / (1 - (1 + r) ** (-term)), 2)
    purpose = np.asarray(PURPOSES)[
        rng.choice(len(PURPOSES), size=n, p=np.asarray(PURPOSE_SHARES) / sum(PURPOSE_SHARES))
    ]
    verified_p = _sigmoid(np, -0.8 + 0.9 * (loan_amnt - 12_000) / 10_000 + 0.2 * b["grade_idx"])
    verification = np.where(
        rng.random(n) < verified_p,
        np.where(rng.random(n) < 0.55, VERIFICATION_STATUS[2], VERIFICATION_STATUS[1]),
        VERIFICATION_STATUS[0],
    )
    return {
        "loan_amnt": loan_amnt,
        "term": term,
        "int_rate": int_rate,
        "installment": installment,
        "purpose": purpose,
        "verification_status": verification,
    }


def _default_logit(np: Any, b: dict[str, Any]) -> Any:
    """The log-odds of default before the intercept: non-linear effects a linear model cannot fit well."""
    pti = b["installment"] / (b["annual_inc"] / 12)  # payment-to-income
    renter = b["home_ownership"] == "RENT"
    term, grade_idx, purpose = b["term"], b["grade_idx"], b["purpose"]
    return (
        0.07 * (b["int_rate"] - 13)
        + 1.2 * (term == 60) * (grade_idx >= 3)  # long loans at low grades
        + 0.25 * (term == 60)
        + 4.0 * ((b["revol_util_true"] - 45) / 45) ** 2  # U-shape: thin files and maxed-out cards
        + 25.0 * np.maximum(pti - 0.08, 0) * np.where(renter, 1.0, 0.2)  # hinge, mostly for renters
        + 0.9 * (b["dti"] > 30)
        + 0.5 * np.isnan(b["emp_length"])
        + 0.15 * b["inq_last_6mths"]
        + 0.25 * b["delinq_2yrs"] * (grade_idx <= 2)  # delinquencies the grade did not price in
        + np.select(
            [purpose == "small_business", purpose == "credit_card", purpose == "wedding", purpose == "car"],
            [0.8, -0.25, -0.3, -0.2],
            0.0,
        )
        - 0.25 * (b["verification_status"] == VERIFICATION_STATUS[0]) * (b["loan_amnt"] < 8_000)
    )


def _loan_status(np: Any, rng: Any, n: int, b: dict[str, Any]) -> Any:
    """1 for a default, drawn from the logistic model with the intercept set for :data:`DEFAULT_RATE`."""
    logit = _default_logit(np, b)
    logit = logit + _intercept_for_rate(np, logit, DEFAULT_RATE)
    return (rng.random(n) < _sigmoid(np, logit)).astype(np.int64)


def lending_club(n_rows: int = 10_000, seed: int = 0) -> Any:
    """A synthetic LendingClub-style loan DataFrame (see the module docstring and ``docs/datasets.md``).

    Columns and dtypes are :data:`dockyard.demo.datasets.schema.DTYPES`; ``loan_status`` is 1 for a default.
    """
    _check_arguments(n_rows, seed)
    try:
        import numpy as np
        import pandas as pd
    except ImportError:
        raise MissingExtra("pandas", "data") from None

    rng = np.random.default_rng(seed)
    n = n_rows
    # The steps draw from ``rng`` in this order; changing it changes every frame for a given seed.
    book = _borrower(np, rng, n)
    book.update(_credit_file(np, rng, n, book["annual_inc"], book["inc_z"]))
    book.update(_grades(np, rng, n, book))
    book.update(_loan_terms(np, rng, n, book))
    book["loan_status"] = _loan_status(np, rng, n, book)
    return conform(pd.DataFrame({name: book[name] for name in COLUMNS}))
