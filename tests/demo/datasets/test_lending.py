"""The synthetic LendingClub generator: schema, determinism, marginals and a learnable default signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dockyard
import dockyard.demo.datasets as datasets
from dockyard.core.errors import InvalidParameter
from dockyard.demo.datasets import COLUMNS, DTYPES, lending_club


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return lending_club(n_rows=6_000, seed=0)


def test_schema(loans: pd.DataFrame) -> None:
    assert list(loans.columns) == COLUMNS
    assert {c: str(t) for c, t in loans.dtypes.items()} == {
        c: str(pd.Series([], dtype=t).dtype) for c, t in DTYPES.items()
    }
    assert len(loans) == 6_000
    assert list(loans.index) == list(range(6_000))


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    a = lending_club(n_rows=500, seed=7)
    pd.testing.assert_frame_equal(a, lending_club(n_rows=500, seed=7))
    assert not a.equals(lending_club(n_rows=500, seed=8))


def test_default_rate_is_about_18_percent(loans: pd.DataFrame) -> None:
    assert set(loans["loan_status"].unique()) == {0, 1}
    assert 0.15 <= loans["loan_status"].mean() <= 0.20


def test_marginals_are_lending_club_like(loans: pd.DataFrame) -> None:
    assert set(loans["grade"]) == set("ABCDEFG")
    assert loans["sub_grade"].str.fullmatch(r"[A-G][1-5]").all()
    assert (loans["sub_grade"].str[0] == loans["grade"]).all()
    assert set(loans["term"]) == {36, 60}
    assert loans["loan_amnt"].between(1_000, 40_000).all() and (loans["loan_amnt"] % 25 == 0).all()
    assert 50_000 < loans["annual_inc"].median() < 85_000
    assert loans["annual_inc"].skew() > 1  # log-normal: a long right tail
    assert loans["emp_length"].isna().any() and loans["emp_length"].dropna().between(0, 10).all()
    assert set(loans["home_ownership"]) <= {"MORTGAGE", "RENT", "OWN", "OTHER"}
    assert set(loans["verification_status"]) == {"Not Verified", "Source Verified", "Verified"}
    assert loans["purpose"].value_counts().index[0] == "debt_consolidation"
    assert loans["dti"].between(0, 45).all()
    assert (loans["total_acc"] >= loans["open_acc"]).all()


def test_grade_drives_the_interest_rate_and_the_default_rate(loans: pd.DataFrame) -> None:
    by_grade = loans.groupby("grade")[["int_rate", "loan_status"]].mean()
    assert by_grade["int_rate"].is_monotonic_increasing
    assert by_grade.loc["A", "loan_status"] < by_grade.loc["C", "loan_status"] < by_grade.loc["E", "loan_status"]


def test_installment_is_the_annuity_of_amount_rate_and_term(loans: pd.DataFrame) -> None:
    r = loans["int_rate"] / 1200
    expected = loans["loan_amnt"] * r / (1 - (1 + r) ** (-loans["term"]))
    np.testing.assert_allclose(loans["installment"], expected, atol=0.006)


def test_bad_arguments() -> None:
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidParameter, match="n_rows"):
            lending_club(n_rows=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="seed"):
        lending_club(n_rows=10, seed="x")  # type: ignore[arg-type]


def test_datasets_and_data_are_both_reachable_from_dockyard() -> None:
    assert dockyard.demo.datasets is datasets
    assert dockyard.data.from_pandas is not None  # the log_input helpers, a different module


def test_default_signal_is_learnable_and_partly_non_linear() -> None:
    """A gradient-boosting model beats a logistic baseline by a wide margin, and neither is perfect."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    df = lending_club(n_rows=4_000, seed=0)
    x_train, x_test, y_train, y_test = train_test_split(
        df[datasets.FEATURES], df[datasets.TARGET], test_size=0.3, random_state=0, stratify=df[datasets.TARGET]
    )
    linear = make_pipeline(
        ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(), StandardScaler()), datasets.NUMERIC),
                ("cat", OneHotEncoder(handle_unknown="ignore"), datasets.CATEGORICAL),
            ]
        ),
        LogisticRegression(max_iter=2_000),
    ).fit(x_train, y_train)
    boosted = make_pipeline(
        ColumnTransformer(
            [
                ("num", "passthrough", datasets.NUMERIC),
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), datasets.CATEGORICAL),
            ]
        ),
        HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            random_state=0,
        ),
    ).fit(x_train, y_train)
    auc_linear = roc_auc_score(y_test, linear.predict_proba(x_test)[:, 1])
    auc_boosted = roc_auc_score(y_test, boosted.predict_proba(x_test)[:, 1])
    assert 0.62 < auc_linear < 0.80
    assert auc_boosted > auc_linear + 0.05
    assert auc_boosted < 0.95
