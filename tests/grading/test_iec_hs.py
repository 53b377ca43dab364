"""IEC-HS (ASTCT 2023): grade by the intervention required, manifestations shown beside it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch.assessment import IechsIntervention
from cartwatch.grading.result import GradeResult, Status
from tests.conftest import load_examples


def grade(data: dict[str, Any]) -> GradeResult:
    result = cartwatch.grade("iec_hs", data)
    assert isinstance(result, GradeResult)
    return result


def test_V085_iec_hs_after_crs_needing_cryoprecipitate_is_grade_3() -> None:
    ex = next(e for e in load_examples() if e["id"] == "V085")
    result = grade(ex["input"])
    assert result.status is Status.GRADED
    assert result.grade == ex["expected"]["IEC_HS"]["grade"] == 3
    text = " | ".join(result.drivers)
    for feature in ("hyperferritinaemia", "hypofibrinogenaemia", "cytopenia", "transaminitis"):
        assert feature in text
    assert "cryoprecipitate" in result.drivers[-1]


@pytest.mark.parametrize(
    ("intervention", "expected"),
    [
        ("none", 0),
        ("observation_or_evaluation_only", 1),
        ("directed_therapy", 2),
        ("transfusion_for_hypofibrinogenemia", 2),
        ("cryoprecipitate_or_fibrinogen_concentrate", 3),
        ("hospitalization_or_icu_for_organ_toxicity", 3),
        ("life_threatening_urgent_intervention", 4),
    ],
)
def test_grade_follows_the_intervention(intervention: str, expected: int) -> None:
    result = grade(
        {
            "iechs_intervention": intervention,
            "ferritin_ng_ml": 5000,
            "ferritin_at_infusion_ng_ml": 500,
        }
    )
    assert result.grade == expected
    assert result.status is (Status.GRADED if expected else Status.CRITERIA_NOT_MET)


def test_death_due_to_iec_hs_is_grade_5_whatever_else() -> None:
    assert grade({"death_due_to": "IEC-HS"}).grade == 5
    assert grade({"death_due_to": "other", "iechs_intervention": "directed_therapy"}).grade == 2


def test_missing_intervention_leaves_the_grade_open() -> None:
    result = grade({"ferritin_ng_ml": 20_000, "ferritin_uln_ng_ml": 400})
    assert result.status is Status.NOT_GRADEABLE
    assert (result.floor, result.ceiling) == (0, 4)
    assert result.missing == ("iechs_intervention",)
    assert any("hyperferritinaemia" in d for d in result.drivers)


def test_grade_without_any_recorded_feature_is_flagged() -> None:
    result = grade({"iechs_intervention": "directed_therapy"})
    assert result.grade == 2
    assert "no_hlh_feature_recorded" in result.reasons


@pytest.mark.parametrize(
    ("data", "feature", "present"),
    [
        ({"ferritin_ng_ml": 2401, "ferritin_at_infusion_ng_ml": 1200}, "hyperferritinaemia", True),
        ({"ferritin_ng_ml": 2400, "ferritin_at_infusion_ng_ml": 1200}, "hyperferritinaemia", False),
        ({"ferritin_ng_ml": 801, "ferritin_uln_ng_ml": 400}, "hyperferritinaemia", True),
        ({"ferritin_ng_ml": 800, "ferritin_uln_ng_ml": 400}, "hyperferritinaemia", False),
        ({"fibrinogen_mg_dl": 149.9}, "hypofibrinogenaemia", True),
        ({"fibrinogen_mg_dl": 150}, "hypofibrinogenaemia", False),
        ({"fibrinogen_g_l": 1.4}, "hypofibrinogenaemia", True),
        ({"alt_x_uln": 5.01}, "transaminitis", True),
        ({"ast_x_uln": 5}, "transaminitis", False),
        ({"triglycerides_mg_dl": 266}, "hypertriglyceridaemia", True),
        ({"triglycerides_mg_dl": 265}, "hypertriglyceridaemia", False),
        ({"platelets_per_ul": 49_999}, "cytopenia", True),
        ({"hemophagocytosis": True}, "hemophagocytosis", True),
    ],
)
def test_manifestation_thresholds(data: dict[str, Any], feature: str, present: bool) -> None:
    result = grade({"iechs_intervention": "observation_or_evaluation_only", **data})
    assert any(feature in d for d in result.drivers) is present


ORDER = [m.value for m in IechsIntervention]


@given(st.sampled_from(ORDER))
def test_recording_the_intervention_keeps_the_grade_within_floor_and_ceiling(
    intervention: str,
) -> None:
    base = {"ferritin_ng_ml": 20_000}
    open_result = grade(base)
    full = grade({**base, "iechs_intervention": intervention})
    assert full.grade is not None and open_result.floor is not None
    assert open_result.floor <= full.grade <= (open_result.ceiling or 0)
