"""Kaplan–Meier and Aalen–Johansen against R survival::survfit and cmprsk::cuminc fixtures."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartwatch.analytics.survival import (
    ConfType,
    cumulative_incidence,
    cumulative_incidence_by_group,
    cumulative_incidence_table,
    kaplan_meier,
    kaplan_meier_by_group,
    median_follow_up,
    number_at_risk,
    survival_table,
)
from cartwatch.errors import InvalidValue
from tests.analytics._fixtures import as_array, assert_close, reference

CURVE_TOLERANCE = 1e-6
DATASETS = reference()["survival"]
NAMES = sorted(DATASETS)


def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = DATASETS[name]
    return data


@pytest.mark.parametrize("conf_type", [c.value for c in ConfType])
@pytest.mark.parametrize("name", NAMES)
def test_kaplan_meier_equals_survfit(name: str, conf_type: str) -> None:
    d = _data(name)
    r = d["km"][conf_type]
    km = kaplan_meier(time_days=d["time"], event=d["status"], conf_type=conf_type)
    assert_close(km.time, r["time"], tol=0, what="time")
    assert km.n_risk.tolist() == as_array(r["n_risk"]).astype(int).tolist()
    assert km.n_event.tolist() == as_array(r["n_event"]).astype(int).tolist()
    assert km.n_censor.tolist() == as_array(r["n_censor"]).astype(int).tolist()
    assert_close(km.survival, r["surv"], tol=CURVE_TOLERANCE, what="surv")
    assert_close(km.std_err, r["std_err"], tol=CURVE_TOLERANCE, what="std.err")
    assert_close(km.lower, r["lower"], tol=CURVE_TOLERANCE, what="lower")
    assert_close(km.upper, r["upper"], tol=CURVE_TOLERANCE, what="upper")


@pytest.mark.parametrize("name", NAMES)
def test_median_survival_and_its_interval_equal_print_survfit(name: str) -> None:
    d = _data(name)
    median = kaplan_meier(time_days=d["time"], event=d["status"]).median()
    for key in ("median", "lower", "upper"):
        assert_close([median[key]], d["median"][key], tol=0, what=key)


def test_a_curve_flat_at_one_half_gives_the_midpoint_median() -> None:
    d = _data("exact_half")
    assert kaplan_meier(time_days=d["time"], event=d["status"]).median()["median"] == 2.5
    assert d["median"]["median"] == 2.5


@pytest.mark.parametrize("name", NAMES)
def test_numbers_at_risk_and_survival_at_chosen_days_equal_summary_survfit(name: str) -> None:
    d = _data(name)
    r = d["at_times"]
    at = kaplan_meier(time_days=d["time"], event=d["status"]).at(r["times"])
    assert at["n_risk"] == as_array(r["n_risk"]).astype(int).tolist()
    assert_close(at["survival"], r["surv"], tol=CURVE_TOLERANCE, what="surv at times")
    assert number_at_risk(time_days=d["time"], times=r["times"]) == at["n_risk"]


@pytest.mark.parametrize("name", NAMES)
def test_median_follow_up_equals_reverse_survfit(name: str) -> None:
    d = _data(name)
    got = median_follow_up(time_days=d["time"], event=d["status"])
    for key in ("median", "lower", "upper"):
        assert_close([got[key]], d["reverse_km_median"][key], tol=0, what=key)


@pytest.mark.parametrize("name", [n for n in NAMES if "cuminc" in DATASETS[n]])
def test_cumulative_incidence_equals_cmprsk_cuminc(name: str) -> None:
    d = _data(name)
    curves = cumulative_incidence(time_days=d["time"], cause=np.array(d["cause"]))
    assert sorted(str(k) for k in curves) == sorted(d["cuminc"])
    for cause, r in d["cuminc"].items():
        curve = curves[int(cause)]
        assert_close(curve.time, r["time"], tol=0, what=f"cause {cause} time")
        assert_close(curve.estimate, r["est"], tol=CURVE_TOLERANCE, what=f"cause {cause} est")
        assert_close(curve.variance, r["var"], tol=CURVE_TOLERANCE, what=f"cause {cause} var")
    tp = d["cuminc_timepoints"]
    for i, cause in enumerate(tp["causes"]):
        at = curves[int(cause)].at(tp["times"])
        assert_close(at["estimate"], tp["est"][i], tol=CURVE_TOLERANCE, what="timepoints est")
        assert_close(at["variance"], tp["var"][i], tol=CURVE_TOLERANCE, what="timepoints var")


def test_no_events_gives_no_cumulative_incidence_curves() -> None:
    d = _data("no_events")
    assert "cuminc" not in d
    assert cumulative_incidence(time_days=d["time"], cause=np.array(d["cause"])) == {}


def test_cumulative_incidence_interval_brackets_the_estimate() -> None:
    d = _data("random80")
    curve = cumulative_incidence(time_days=d["time"], cause=np.array(d["cause"]))[1]
    at = curve.at([7, 14, 28])
    for est, lo, hi in zip(at["estimate"], at["lower"], at["upper"], strict=True):
        assert lo < est < hi


def test_beyond_last_follow_up_the_estimate_is_unknown() -> None:
    curve = cumulative_incidence(time_days=[1.0, 2.0, 5.0], cause=np.array([1, 0, 2]))[1]
    assert curve.at([5.0, 6.0])["estimate"] == [1 / 3, None]


@pytest.mark.parametrize("bad", [[-1.0, 2.0], [float("nan"), 1.0]])
def test_invalid_times_are_refused(bad: list[float]) -> None:
    with pytest.raises(InvalidValue, match="time_days"):
        kaplan_meier(time_days=bad, event=[1, 0])


def test_unknown_interval_type_is_refused() -> None:
    with pytest.raises(InvalidValue, match="conf_type"):
        kaplan_meier(time_days=[1.0], event=[1], conf_type="logit")


_follow_up = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 2)), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(rows=_follow_up)
def test_kaplan_meier_is_non_increasing_and_within_its_interval(
    rows: list[tuple[int, int]],
) -> None:
    time = [float(t) for t, _ in rows]
    event = [c > 0 for _, c in rows]
    km = kaplan_meier(time_days=time, event=event)
    assert (np.diff(km.survival) <= 1e-15).all()
    keep = ~np.isnan(km.lower)
    assert (km.lower[keep] <= km.survival[keep] + 1e-12).all()
    assert (km.survival[keep] <= km.upper[keep] + 1e-12).all()


@settings(max_examples=150, deadline=None)
@given(rows=_follow_up)
def test_competing_incidences_sum_to_one_minus_all_cause_km(rows: list[tuple[int, int]]) -> None:
    time = np.array([float(t) for t, _ in rows])
    cause = np.array([c for _, c in rows])
    curves = cumulative_incidence(time_days=time, cause=cause)
    km = kaplan_meier(time_days=time, event=cause > 0)
    grid = np.unique(time)
    total = np.zeros(grid.size)
    for curve in curves.values():
        at = curve.at(grid)
        est = np.array([np.nan if v is None else v for v in at["estimate"]])
        assert (np.diff(est) >= -1e-15).all()
        assert all(v is None or v >= -1e-15 for v in at["variance"])
        total += est
    surv = np.array(km.at(grid)["survival"])
    assert np.all(total <= 1.0 - surv + 1e-12)
    assert np.allclose(total, 1.0 - surv, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(rows=_follow_up)
def test_cumulative_incidence_interval_stays_in_0_1_and_brackets(
    rows: list[tuple[int, int]],
) -> None:
    time = np.array([float(t) for t, _ in rows])
    cause = np.array([c for _, c in rows])
    for curve in cumulative_incidence(time_days=time, cause=cause).values():
        lo, hi = curve.interval()
        keep = ~np.isnan(lo)
        assert (lo[keep] >= 0).all() and (hi[keep] <= 1).all()
        assert (lo[keep] <= curve.estimate[keep] + 1e-12).all()
        assert (curve.estimate[keep] <= hi[keep] + 1e-12).all()


def _two_arm_cohort() -> pl.DataFrame:
    a, b = _data("ties_censoring"), _data("competing_dominates")
    return pl.DataFrame(
        {
            "product": ["A"] * len(a["time"]) + ["B"] * len(b["time"]),
            "os_days": a["time"] + b["time"],
            "death": [bool(s) for s in a["status"] + b["status"]],
            "crs_time_days": a["time"] + b["time"],
            "crs_cause": a["cause"] + b["cause"],
        }
    )


def test_grouped_kaplan_meier_table_equals_r_per_group() -> None:
    curves = kaplan_meier_by_group(_two_arm_cohort(), group_by="product")
    assert list(curves) == ["A", "B"]
    table = survival_table(curves, times=_data("ties_censoring")["at_times"]["times"])
    arm_a = table.filter(pl.col("group") == "A")
    r = _data("ties_censoring")["at_times"]
    assert arm_a["n_risk"].to_list() == as_array(r["n_risk"]).astype(int).tolist()
    assert_close(arm_a["survival"].to_list(), r["surv"], tol=CURVE_TOLERANCE, what="surv")


def test_grouped_cumulative_incidence_table_equals_cmprsk_timepoints() -> None:
    curves = cumulative_incidence_by_group(_two_arm_cohort(), group_by="product")
    tp = _data("competing_dominates")["cuminc_timepoints"]
    table = cumulative_incidence_table(curves, times=tp["times"])
    for i, cause in enumerate(tp["causes"]):
        rows = table.filter((pl.col("group") == "B") & (pl.col("cause") == int(cause)))
        assert_close(rows["estimate"].to_list(), tp["est"][i], tol=CURVE_TOLERANCE, what="est")
        assert_close(rows["variance"].to_list(), tp["var"][i], tol=CURVE_TOLERANCE, what="var")


def test_a_patient_without_follow_up_time_is_refused_not_dropped() -> None:
    cohort = pl.DataFrame({"os_days": [3.0, None], "death": [True, False]})
    with pytest.raises(InvalidValue, match="os_days"):
        kaplan_meier_by_group(cohort)
