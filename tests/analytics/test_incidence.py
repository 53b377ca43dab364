"""Cohort tables: exact CIs against R binom.test, grade distributions, Table 1 shape."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.analytics.incidence import (
    NOT_ASSESSABLE,
    clopper_pearson,
    event_rates,
    format_table_one,
    grade_distribution,
    incidence,
    incidence_by_scale,
    median_iqr,
    onset_duration,
    quantile_type7,
    response_rates,
    table_one,
)
from cartwatch.errors import InvalidValue
from tests.analytics._fixtures import reference

CI_TOLERANCE = 1e-8


@pytest.mark.parametrize(
    "case", reference()["binom_test"], ids=lambda c: f"{c['events']}/{c['n']}@{c['confidence']}"
)
def test_clopper_pearson_equals_r_binom_test(case: dict[str, float]) -> None:
    p = clopper_pearson(events=int(case["events"]), n=int(case["n"]), confidence=case["confidence"])
    assert p.lower == pytest.approx(case["lower"], abs=CI_TOLERANCE)
    assert p.upper == pytest.approx(case["upper"], abs=CI_TOLERANCE)


def test_clopper_pearson_limits_at_zero_and_all_events_are_exact_bounds() -> None:
    assert clopper_pearson(events=0, n=12).lower == 0.0
    assert clopper_pearson(events=12, n=12).upper == 1.0


def test_clopper_pearson_with_no_patients_reports_no_estimate() -> None:
    p = clopper_pearson(events=0, n=0)
    assert (p.proportion, p.lower, p.upper) == (None, None, None)


@pytest.mark.parametrize(("events", "n"), [(-1, 5), (6, 5), (1, -1)])
def test_clopper_pearson_rejects_impossible_counts(events: int, n: int) -> None:
    with pytest.raises(InvalidValue):
        clopper_pearson(events=events, n=n)


@given(n=st.integers(1, 400), data=st.data(), confidence=st.floats(0.5, 0.999))
def test_exact_interval_contains_the_estimate(
    n: int, data: st.DataObject, confidence: float
) -> None:
    x = data.draw(st.integers(0, n))
    p = clopper_pearson(events=x, n=n, confidence=confidence)
    assert p.lower is not None and p.upper is not None and p.proportion is not None
    assert 0.0 <= p.lower <= p.proportion <= p.upper <= 1.0


@given(n=st.integers(2, 300), data=st.data())
def test_one_more_event_never_lowers_either_limit(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(0, n - 1))
    a, b = clopper_pearson(events=x, n=n), clopper_pearson(events=x + 1, n=n)
    assert a.lower is not None and b.lower is not None and a.upper is not None
    assert b.upper is not None
    assert b.lower >= a.lower and b.upper >= a.upper


@pytest.mark.parametrize("case", reference()["quantile7"])
def test_quantiles_equal_r_type_7(case: dict[str, list[float]]) -> None:
    values = case["values"] if isinstance(case["values"], list) else [case["values"]]
    got = [quantile_type7(values=values, probability=p) for p in case["probs"]]
    assert got == pytest.approx(case["quantiles"], abs=1e-12)


def test_median_iqr_of_onset_days() -> None:
    summary = median_iqr(values=[1, 2, 2, 3, 7])
    assert (summary.median, summary.q1, summary.q3) == (2.0, 2.0, 3.0)
    assert median_iqr(values=[]).median is None


def _seed_cohort() -> pl.DataFrame:
    """Seed 001 表1 row NCT01865617 (N = 30): CRS 25 (7 grade ≥3), ICANS 15 (15 grade ≥3)."""
    crs = [0] * 5 + [1] * 10 + [2] * 8 + [3] * 5 + [4] * 2
    icans = [0] * 15 + [3] * 12 + [4] * 3
    return pl.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(30)],
            "product": ["CTL019"] * 30,
            "max_grade__astct_crs": crs,
            "max_grade__astct_icans": icans,
        }
    )


def test_table_one_reproduces_the_seed_trial_row_with_r_intervals() -> None:
    table = table_one(_seed_cohort(), group_by="product")
    assert table.get_column("group").to_list() == ["All", "CTL019"]
    row = table.row(1, named=True)
    assert row["n"] == 30
    assert round(row["crs_any_pct"]) == 83
    assert round(row["crs_ge3_pct"]) == 23
    assert round(row["icans_any_pct"]) == 50
    assert round(row["icans_ge3_pct"]) == 50
    r = {(c["events"], c["n"]): c for c in reference()["seed001"]}
    for prefix, events in (("crs_any", 25), ("crs_ge3", 7), ("icans_any", 15)):
        assert row[f"{prefix}_events"] == events
        assert row[f"{prefix}_lower_pct"] == pytest.approx(100 * r[(events, 30)]["lower"], abs=1e-6)
        assert row[f"{prefix}_upper_pct"] == pytest.approx(100 * r[(events, 30)]["upper"], abs=1e-6)


def test_table_one_is_exportable_as_csv(tmp_path: Path) -> None:
    table = table_one(_seed_cohort(), group_by="product")
    path = tmp_path / "table1.csv"
    table.write_csv(path)
    back = pl.read_csv(path)
    assert back.columns == table.columns
    assert back.get_column("crs_any_events").to_list() == [25, 25]


def test_formatted_table_one_prints_counts_percent_and_interval() -> None:
    printed = format_table_one(table_one(_seed_cohort()))
    assert printed.row(0, named=True)["crs_any"].startswith("25/30 83.3 (")


def test_not_assessable_is_separate_from_grade_zero_and_leaves_the_denominator() -> None:
    cohort = pl.DataFrame({"g": [0, 0, 1, 3, None, None]}, schema={"g": pl.Int64})
    dist = grade_distribution(cohort, grade_column="g")
    counts = dict(zip(dist["grade"].to_list(), dist["n"].to_list(), strict=True))
    assert counts["0"] == 2 and counts[NOT_ASSESSABLE] == 2
    assert dist.filter(pl.col("grade") == "0")["percent_of_assessable"][0] == 50.0
    p = incidence(cohort, grade_column="g")
    assert (p.events, p.n) == (2, 4)
    severe = incidence(cohort, grade_column="g", min_grade=3)
    assert (severe.events, severe.n) == (1, 4)


def test_incidence_by_scale_counts_not_assessable_per_scale() -> None:
    cohort = pl.DataFrame({"a": [0, 1, 2, 3], "b": [None, 1, 1, 4], "arm": ["x", "x", "y", "y"]})
    table = incidence_by_scale(cohort, grade_columns=["a", "b"], group_by="arm")
    row = table.filter(
        (pl.col("group") == "x") & (pl.col("grade_column") == "b") & (pl.col("min_grade") == 1)
    ).row(0, named=True)
    assert (row["n_patients"], row["n_not_assessable"], row["events"], row["n"]) == (2, 1, 1, 1)
    assert table.height == 3 * 2 * 2


@pytest.mark.parametrize("bad", [6, -1, 1.5, "2"])
def test_a_grade_outside_0_to_5_is_refused(bad: object) -> None:
    cohort = pl.DataFrame({"g": [1, bad]}, strict=False)
    with pytest.raises(InvalidValue, match="`g` row"):
        incidence(cohort, grade_column="g")


def test_missing_grade_column_names_the_column() -> None:
    with pytest.raises(InvalidValue, match="max_grade__penn_crs"):
        incidence(pl.DataFrame({"x": [1]}), grade_column="max_grade__penn_crs")


def test_treatment_rates_leave_unknown_out_of_the_denominator() -> None:
    cohort = pl.DataFrame(
        {
            "tocilizumab_given": [True, True, False, None],
            "steroids_given": [False, False, False, False],
            "anakinra_given": [None, None, None, None],
            "icu_transfer": [True, False, False, False],
        }
    )
    rates = {r["column"]: r for r in event_rates(cohort).iter_rows(named=True)}
    assert (rates["tocilizumab_given"]["events"], rates["tocilizumab_given"]["n"]) == (2, 3)
    assert rates["tocilizumab_given"]["n_unknown"] == 1
    assert rates["steroids_given"]["proportion"] == 0.0
    assert rates["anakinra_given"]["proportion"] is None
    assert rates["icu_transfer"]["proportion"] == 0.25


def test_response_rates_count_ne_as_non_response_and_skip_unrecorded() -> None:
    cohort = pl.DataFrame({"best_response": ["CR", "sCR", "PR", "VGPR", "SD", "NE", None]})
    rates = response_rates(cohort)
    assert (rates["cr"].events, rates["cr"].n) == (2, 6)
    assert (rates["orr"].events, rates["orr"].n) == (4, 6)


def test_unknown_response_category_is_refused() -> None:
    with pytest.raises(InvalidValue, match="'CRR'"):
        response_rates(pl.DataFrame({"best_response": ["CRR"]}))


def test_onset_uses_first_episode_and_duration_skips_unresolved() -> None:
    episodes = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "c"],
            "scale_id": ["astct_crs"] * 4,
            "onset_day": [2, 9, 1, 5],
            "duration_days": [3, 1, None, 6],
        }
    )
    row = onset_duration(episodes).row(0, named=True)
    assert (row["n_patients"], row["onset_median"], row["onset_q1"], row["onset_q3"]) == (
        3,
        2.0,
        1.5,
        3.5,
    )
    assert (row["n_episodes"], row["n_unresolved"], row["duration_median"]) == (4, 1, 3.0)


def test_confidence_must_be_a_probability() -> None:
    with pytest.raises(InvalidValue, match="confidence=95"):
        clopper_pearson(events=1, n=2, confidence=95)
    assert math.isclose(clopper_pearson(events=1, n=2, confidence=0.5).proportion or 0, 0.5)
