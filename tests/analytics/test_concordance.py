"""Scale concordance: kappa against R (psych, vcd) and a synthetic cohort with known cross-tabs."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.analytics.concordance import (
    Weighting,
    agreement_weights,
    cross_tab,
    kappa_from_table,
    overall_agreement,
    pairwise_kappa,
)
from cartwatch.errors import InvalidValue
from tests.analytics._fixtures import reference

TOLERANCE = 1e-10
KAPPA = reference()["kappa"]


def _table(case: dict[str, Any]) -> np.ndarray[Any, Any]:
    levels = case["levels"]
    table = np.zeros((len(levels), len(levels)), dtype=int)
    for a, b in zip(case["a"], case["b"], strict=True):
        table[levels.index(a), levels.index(b)] += 1
    return table


@pytest.mark.parametrize("name", sorted(KAPPA))
def test_unweighted_kappa_and_interval_equal_psych_and_vcd(name: str) -> None:
    case = KAPPA[name]
    k = kappa_from_table(table=_table(case))
    assert k.kappa == pytest.approx(case["psych"]["kappa"], abs=TOLERANCE)
    assert k.std_err is not None
    assert k.std_err == pytest.approx(case["vcd"]["ase"], abs=TOLERANCE)
    assert k.std_err**2 == pytest.approx(case["psych"]["var_kappa"], abs=TOLERANCE)
    assert k.lower == pytest.approx(case["psych"]["kappa_lower"], abs=TOLERANCE)
    assert k.upper == pytest.approx(case["psych"]["kappa_upper"], abs=TOLERANCE)


@pytest.mark.parametrize("name", sorted(KAPPA))
@pytest.mark.parametrize("weighting", ["linear", "quadratic"])
def test_weighted_kappa_equals_vcd_and_psych_estimate(name: str, weighting: str) -> None:
    case = KAPPA[name]
    k = kappa_from_table(table=_table(case), weighting=weighting)
    assert k.kappa == pytest.approx(case["vcd"][weighting], abs=TOLERANCE)
    assert k.kappa == pytest.approx(case["psych"][weighting], abs=TOLERANCE)
    assert k.std_err == pytest.approx(case["vcd"][f"{weighting}_ase"], abs=TOLERANCE)


def test_psych_weighted_variance_differs_from_the_published_formula() -> None:
    """psych 2.2.9 uses rowSums(w * rs) for the weighted row mean; we follow Fleiss 1969 (= vcd)."""
    case = KAPPA["random40"]
    k = kappa_from_table(table=_table(case), weighting="quadratic")
    assert k.std_err is not None
    assert abs(k.std_err**2 - case["psych"]["var_quadratic"]) > 1e-3


def test_textbook_two_by_two_kappa() -> None:
    # Cohen 1960 style worked example: po = 0.70, pe = 0.50 → kappa 0.40.
    k = kappa_from_table(table=[[20, 5], [10, 15]])
    assert k.observed_agreement == pytest.approx(0.70)
    assert k.expected_agreement == pytest.approx(0.50)
    assert k.kappa == pytest.approx(0.40)


def test_weights_are_linear_and_quadratic_in_the_grade_distance() -> None:
    lin = agreement_weights(n_categories=5, weighting="linear")
    quad = agreement_weights(n_categories=5, weighting="quadratic")
    assert lin[0].tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert quad[0].tolist() == [1.0, 0.9375, 0.75, 0.4375, 0.0]


def test_a_single_shared_category_has_no_kappa() -> None:
    assert kappa_from_table(table=[[7]]).kappa is None


def _pennisi_like_cohort() -> pl.DataFrame:
    """100 patients built so that 25 share one grade under all scales and 99 agree on presence."""
    astct = [0] * 1 + [1] * 24 + [1] * 40 + [2] * 20 + [3] * 15
    lee = [0] * 1 + [1] * 24 + [2] * 40 + [2] * 20 + [3] * 15
    penn = [0] * 1 + [1] * 24 + [2] * 40 + [3] * 20 + [4] * 14 + [0]
    return pl.DataFrame({"astct": astct, "lee": lee, "penn": penn})


def test_overall_agreement_reproduces_designed_percentages() -> None:
    result = overall_agreement(_pennisi_like_cohort(), scale_columns=["astct", "lee", "penn"])
    assert result.n == 100
    assert result.percent_same_grade == 25.0
    assert result.percent_same_presence == 99.0


def test_cross_tab_has_the_designed_cells() -> None:
    table = cross_tab(
        _pennisi_like_cohort(), row_column="astct", column_column="lee", categories=range(5)
    )
    assert table.columns[0] == "astct"
    matrix = table.drop("astct").to_numpy()
    assert matrix.sum() == 100
    assert matrix[1, 1] == 24 and matrix[1, 2] == 40 and matrix[2, 2] == 20
    assert matrix[3, 3] == 15 and np.trace(matrix) == 60


def test_pairwise_kappa_lists_every_pair_with_agreement() -> None:
    cohort = _pennisi_like_cohort()
    table = pairwise_kappa(cohort, scale_columns=["astct", "lee", "penn"], categories=range(5))
    assert table.height == 3
    row = table.filter((pl.col("scale_a") == "astct") & (pl.col("scale_b") == "lee")).row(
        0, named=True
    )
    assert row["percent_agreement"] == 60.0
    expected = kappa_from_table(
        table=cross_tab(cohort, row_column="astct", column_column="lee", categories=range(5))
        .drop("astct")
        .to_numpy(),
        weighting=Weighting.QUADRATIC,
    )
    assert row["kappa_quadratic"] == pytest.approx(expected.kappa)
    assert row["kappa_quadratic_lower"] <= row["kappa_quadratic"] <= row["kappa_quadratic_upper"]


def test_not_assessable_patients_leave_the_comparison() -> None:
    cohort = pl.DataFrame({"a": [1, 2, None, 0], "b": [1, 2, 3, None]})
    assert overall_agreement(cohort, scale_columns=["a", "b"]).n_excluded == 2
    assert pairwise_kappa(cohort, scale_columns=["a", "b"])["n"][0] == 2


def test_grade_outside_the_given_categories_is_refused() -> None:
    cohort = pl.DataFrame({"a": [1, 5], "b": [1, 2]})
    with pytest.raises(InvalidValue, match="categories"):
        pairwise_kappa(cohort, scale_columns=["a", "b"], categories=range(5))


@given(
    pairs=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=80),
    weighting=st.sampled_from(list(Weighting)),
)
def test_kappa_interval_contains_kappa_and_perfect_agreement_is_one(
    pairs: list[tuple[int, int]], weighting: Weighting
) -> None:
    table = np.zeros((5, 5))
    for a, b in pairs:
        table[a, b] += 1
    k = kappa_from_table(table=table, weighting=weighting)
    if k.kappa is not None:
        assert k.lower is not None and k.upper is not None
        assert k.lower <= k.kappa + 1e-12 and k.kappa <= k.upper + 1e-12
        assert k.kappa <= 1.0 + 1e-12
    diagonal = np.diag(table.sum(axis=1))
    perfect = kappa_from_table(table=diagonal, weighting=weighting)
    assert perfect.kappa is None or perfect.kappa == pytest.approx(1.0)
