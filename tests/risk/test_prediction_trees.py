"""The 36-hour trees of Hay 2017 (CRS) and Gust 2017 (neurotoxicity)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch.grading.result import Status
from cartwatch.risk.result import ScoreResult
from tests.conftest import load_examples

ALL_MET = {
    "hours_post_infusion_of_measurements": 24,
    "tmax_c_0_36h": 39.0,
    "il6_pg_ml_0_36h": 20,
    "mcp1_pg_ml_0_36h": 1500,
}


def score(scale: str, data: dict[str, Any]) -> ScoreResult:
    result = cartwatch.grade(scale, data)
    assert isinstance(result, ScoreResult)
    return result


@pytest.mark.parametrize("scale", ["gust2017_tree", "hay2017_tree"])
def test_V120_all_criteria_met_is_high_risk(scale: str) -> None:
    ex = next(e for e in load_examples() if e["id"] == "V120")
    expected = ex["expected"][scale.upper()]
    result = score(scale, ex["input"])
    assert result.status is Status.COMPUTED
    assert result.value is expected["value"] is None
    assert result.unit == expected["unit"] == "class"
    assert result.risk == expected["risk"] == "high"


@pytest.mark.parametrize(
    ("field", "value", "gust", "hay"),
    [
        ("tmax_c_0_36h", 38.9, "high", "high"),
        ("tmax_c_0_36h", 38.89, "low", "low"),
        ("mcp1_pg_ml_0_36h", 1343.5, "high", "high"),
        ("mcp1_pg_ml_0_36h", 1343.4, "low", "low"),
        ("il6_pg_ml_0_36h", 16, "high", "high"),
        ("il6_pg_ml_0_36h", 15.9, "low", "high"),
    ],
)
def test_each_threshold_is_inclusive(field: str, value: float, gust: str, hay: str) -> None:
    data = {**ALL_MET, field: value}
    assert score("gust2017_tree", data).risk == gust
    assert score("hay2017_tree", data).risk == hay


@pytest.mark.parametrize(
    ("hours", "status"),
    [
        (0, Status.COMPUTED),
        (36, Status.COMPUTED),
        (36.01, Status.NOT_APPLICABLE),
        (-1, Status.NOT_APPLICABLE),
    ],
)
def test_window_is_0_to_36_hours(hours: float, status: Status) -> None:
    for scale in ("gust2017_tree", "hay2017_tree"):
        result = score(scale, {**ALL_MET, "hours_post_infusion_of_measurements": hours})
        assert result.status is status


def test_a_failed_condition_decides_low_despite_missing_cytokines() -> None:
    result = score("gust2017_tree", {"tmax_c_0_36h": 37.5})
    assert result.risk == "low" and result.risk_determined
    assert result.missing == ()


def test_a_missing_cytokine_leaves_the_class_open_when_the_others_are_met() -> None:
    result = score("hay2017_tree", {"tmax_c_0_36h": 39.5})
    assert result.risk is None and not result.risk_determined
    assert result.missing == ("mcp1_pg_ml_0_36h",)


def test_fahrenheit_temperature_is_converted() -> None:
    data = {"tmax_f_0_36h": 102.02, "mcp1_pg_ml_0_36h": 2000}  # 38.9 °C
    assert score("hay2017_tree", data).risk == "high"


def test_gust_outcome_is_not_an_astct_grade() -> None:
    assert "D18" in str(score("gust2017_tree", ALL_MET).to_dict()["outcome"])


values = st.fixed_dictionaries(
    {
        "tmax_c_0_36h": st.floats(35, 42, allow_nan=False),
        "il6_pg_ml_0_36h": st.floats(0, 100, allow_nan=False),
        "mcp1_pg_ml_0_36h": st.floats(0, 5000, allow_nan=False),
    }
)


@given(
    values,
    st.sampled_from(["tmax_c_0_36h", "il6_pg_ml_0_36h", "mcp1_pg_ml_0_36h"]),
    st.floats(0, 3, allow_nan=False),
)
def test_higher_values_never_lower_the_class_and_missing_is_consistent(
    v: dict[str, float], field: str, rise: float
) -> None:
    order = {"low": 0, "high": 1}
    for scale in ("gust2017_tree", "hay2017_tree"):
        base = score(scale, v)
        worse = score(scale, {**v, field: v[field] + rise})
        assert order[worse.risk or ""] >= order[base.risk or ""]
        partial = score(scale, {k: x for k, x in v.items() if k != field})
        if partial.risk_determined:
            assert partial.risk == base.risk


def test_a_36_hour_model_on_day_5_is_not_applicable() -> None:
    data = {k: v for k, v in ALL_MET.items() if k != "hours_post_infusion_of_measurements"}
    for scale in ("gust2017_tree", "hay2017_tree"):
        assert score(scale, {**data, "day_post_infusion": 5}).status is Status.NOT_APPLICABLE
        assert score(scale, {**data, "day_post_infusion": 1.5}).status is Status.COMPUTED
        measured_early = {**data, "day_post_infusion": 5, "hours_post_infusion_of_measurements": 30}
        assert score(scale, measured_early).risk == "high"
