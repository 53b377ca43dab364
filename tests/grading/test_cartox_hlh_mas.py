"""CARTOX HLH/MAS: ferritin >10,000 ng/mL plus two organ criteria, within the CRS phase only."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch.grading.result import GradeResult, Status
from tests.conftest import load_examples

TWO_ORGANS = {"organ_toxicity_ctcae": {"alt_increased": 3, "creatinine_increased": 3}}


def grade(data: dict[str, Any]) -> GradeResult:
    result = cartwatch.grade("cartox_hlh_mas", data)
    assert isinstance(result, GradeResult)
    return result


def test_V085_after_crs_resolution_is_not_applicable() -> None:
    ex = next(e for e in load_examples() if e["id"] == "V085")
    result = grade(ex["input"])
    assert result.status is Status.NOT_APPLICABLE
    assert result.grade is ex["expected"]["CARTOX_HLH_MAS"]["grade"] is None
    assert "CRS" in result.drivers[0]


@pytest.mark.parametrize(
    ("ferritin", "status"),
    [
        (10_000, Status.CRITERIA_NOT_MET),
        (10_000.01, Status.CRITERIA_MET),
        (10_001, Status.CRITERIA_MET),
    ],
)
def test_ferritin_must_exceed_10000_strictly(ferritin: float, status: Status) -> None:
    result = grade({"day_post_infusion": 3, "ferritin_ng_ml": ferritin, **TWO_ORGANS})
    assert result.status is status
    assert result.grade == (1 if status is Status.CRITERIA_MET else 0)


def test_one_organ_criterion_is_not_enough() -> None:
    result = grade(
        {
            "day_post_infusion": 3,
            "ferritin_ng_ml": 30_000,
            "organ_toxicity_ctcae": {"pulmonary_edema": 3},
            "hemophagocytosis": False,
        }
    )
    assert result.status is Status.CRITERIA_NOT_MET


def test_grade_2_organ_toxicity_does_not_count() -> None:
    result = grade(
        {
            "day_post_infusion": 3,
            "ferritin_ng_ml": 30_000,
            "organ_toxicity_ctcae": {"alt_increased": 2, "creatinine_increased": 3},
            "hemophagocytosis": False,
        }
    )
    assert result.status is Status.CRITERIA_NOT_MET


def test_hemophagocytosis_and_transaminases_above_5_uln_meet_the_criteria() -> None:
    result = grade(
        {
            "day_post_infusion": 4,
            "ferritin_ng_ml": 30_000,
            "alt_x_uln": 6,
            "hemophagocytosis": True,
            "organ_toxicity_ctcae": {},
        }
    )
    assert result.status is Status.CRITERIA_MET
    assert any("hemophagocytosis" in d for d in result.drivers)


def test_unrecorded_organs_leave_the_criteria_open() -> None:
    result = grade({"day_post_infusion": 3, "ferritin_ng_ml": 30_000, "alt_x_uln": 6})
    assert result.status is Status.NOT_GRADEABLE
    assert (result.floor, result.ceiling) == (0, 1)
    assert "organ_toxicity_ctcae" in result.missing


def test_ferritin_at_or_below_10000_decides_whatever_the_organs() -> None:
    result = grade({"day_post_infusion": 3, "ferritin_ng_ml": 8000})
    assert result.status is Status.CRITERIA_NOT_MET
    assert result.missing == ()


def test_missing_ferritin_with_two_organs_is_open() -> None:
    result = grade({"day_post_infusion": 3, **TWO_ORGANS})
    assert result.status is Status.NOT_GRADEABLE
    assert result.missing == ("ferritin_ng_ml",)


def test_the_day_crs_resolved_is_still_inside_the_crs_phase() -> None:
    data = {"day_post_infusion": 8, "crs_resolved_day": 8, "ferritin_ng_ml": 30_000}
    assert grade({**data, **TWO_ORGANS}).status is Status.CRITERIA_MET
    assert grade({**data, "day_post_infusion": 9, **TWO_ORGANS}).status is Status.NOT_APPLICABLE


def test_before_infusion_is_not_applicable() -> None:
    assert grade({"day_post_infusion": -2, "ferritin_ng_ml": 30_000}).status is (
        Status.NOT_APPLICABLE
    )


def test_without_the_day_the_window_is_reported_as_unchecked() -> None:
    result = grade({"ferritin_ng_ml": 30_000, **TWO_ORGANS})
    assert result.status is Status.CRITERIA_MET
    assert "window_not_checked" in result.reasons


@given(st.floats(min_value=0, max_value=1_000_000, allow_nan=False), st.booleans())
def test_recording_ferritin_keeps_the_result_within_floor_and_ceiling(
    ferritin: float, hemophagocytosis: bool
) -> None:
    base = {
        "day_post_infusion": 3,
        "alt_x_uln": 6,
        "organ_toxicity_ctcae": {},
        "hemophagocytosis": hemophagocytosis,
    }
    open_result = grade(base)
    full = grade({**base, "ferritin_ng_ml": ferritin})
    assert full.grade is not None and open_result.floor is not None
    assert open_result.floor <= full.grade <= (open_result.ceiling or 0)


@given(
    st.floats(min_value=0, max_value=1_000_000, allow_nan=False),
    st.floats(min_value=0, max_value=1_000_000, allow_nan=False),
)
def test_a_higher_ferritin_never_turns_met_into_not_met(a: float, b: float) -> None:
    low, high = sorted((a, b))
    g_low = grade({"day_post_infusion": 3, "ferritin_ng_ml": low, **TWO_ORGANS}).grade
    g_high = grade({"day_post_infusion": 3, "ferritin_ng_ml": high, **TWO_ORGANS}).grade
    assert g_low is not None and g_high is not None and g_high >= g_low
