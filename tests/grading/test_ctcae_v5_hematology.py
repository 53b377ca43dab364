"""CTCAE v5.0 haematology grades: every cut-off, the LLN rule, the clinical anaemia grades."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch.grading.result import GradeResult, Status
from tests.conftest import load_examples


def grade(scale: str, data: dict[str, Any]) -> GradeResult:
    result = cartwatch.grade(scale, data)
    assert isinstance(result, GradeResult)
    return result


def example(example_id: str) -> dict[str, Any]:
    return next(e for e in load_examples() if e["id"] == example_id)


def test_V106_platelets_49999_is_grade_3() -> None:
    ex = example("V106")
    result = grade("ctcae5_platelet", ex["input"])
    assert result.status is Status.GRADED
    assert result.grade == ex["expected"]["CTCAE5_PLATELET"]["grade"] == 3
    assert "49,999" in result.drivers[0]


@pytest.mark.parametrize(
    ("anc", "expected"),
    [
        (0, 4),
        (499, 4),
        (499.99, 4),
        (500, 3),
        (999, 3),
        (999.9, 3),
        (1000, 2),
        (1499, 2),
        (1499.99, 2),
        (1500, 1),
        (1799, 1),
        (1800, 0),
        (5000, 0),
    ],
)
def test_neutrophil_count_decreased_bands(anc: float, expected: int) -> None:
    result = grade("ctcae5_neutrophil", {"anc_per_ul": anc, "anc_lln_per_ul": 1800})
    assert result.grade == expected
    assert result.floor == result.ceiling == expected


@pytest.mark.parametrize(
    ("platelets", "expected"),
    [
        (24_999, 4),
        (25_000, 3),
        (49_999, 3),
        (50_000, 2),
        (74_999, 2),
        (75_000, 1),
        (149_999, 1),
        (150_000, 0),
    ],
)
def test_platelet_count_decreased_bands(platelets: float, expected: int) -> None:
    result = grade(
        "ctcae5_platelet", {"platelets_per_ul": platelets, "platelet_lln_per_ul": 150_000}
    )
    assert result.grade == expected


@pytest.mark.parametrize(
    ("hb", "expected"),
    [(7.99, 3), (8.0, 2), (9.99, 2), (10.0, 1), (11.99, 1), (12.0, 0)],
)
def test_anemia_bands(hb: float, expected: int) -> None:
    result = grade(
        "ctcae5_anemia",
        {
            "hemoglobin_g_dl": hb,
            "hemoglobin_lln_g_dl": 12.0,
            "transfusion_indicated": False,
            "anemia_life_threatening": False,
        },
    )
    assert result.grade == expected
    assert result.assumed == ()


def test_grade_1_needs_the_lln_and_says_so() -> None:
    result = grade("ctcae5_neutrophil", {"anc_per_ul": 1600})
    assert result.status is Status.NOT_GRADEABLE
    assert (result.floor, result.ceiling) == (0, 1)
    assert result.missing == ("anc_lln_per_ul",)
    assert any("LLN" in d for d in result.drivers)


def test_below_the_grade_2_band_the_lln_is_not_needed() -> None:
    result = grade("ctcae5_neutrophil", {"anc_per_ul": 1400})
    assert result.grade == 2
    assert result.missing == ()


def test_a_count_above_any_plausible_lln_is_grade_0_without_it() -> None:
    result = grade("ctcae5_neutrophil", {"anc_per_ul": 25_000})
    assert result.grade == 0
    assert result.status is Status.CRITERIA_NOT_MET


def test_missing_count_spans_every_grade() -> None:
    result = grade("ctcae5_platelet", {})
    assert (result.floor, result.ceiling) == (0, 4)
    assert "platelets_per_ul" in result.missing


def test_anemia_transfusion_indicated_is_grade_3_by_itself() -> None:
    result = grade("ctcae5_anemia", {"hemoglobin_g_dl": 9.0, "transfusion_indicated": True})
    assert result.grade == 3
    assert any("transfusion" in d for d in result.drivers)


def test_anemia_life_threatening_is_grade_4_even_without_haemoglobin() -> None:
    result = grade("ctcae5_anemia", {"anemia_life_threatening": True})
    assert result.grade == 4


def test_anemia_lists_the_unrecorded_clinical_flags_it_assumed() -> None:
    result = grade("ctcae5_anemia", {"hemoglobin_g_dl": 9.0})
    assert result.grade == 2
    assert any("transfusion_indicated" in a for a in result.assumed)
    assert any("anemia_life_threatening" in a for a in result.assumed)


def test_counts_in_si_units_are_converted_once_at_the_edge() -> None:
    assert grade("ctcae5_platelet", {"platelets_10e9_l": 50}).grade == 2
    assert grade("ctcae5_platelet", {"platelets_10e9_l": 49.9}).grade == 3
    assert grade("ctcae5_neutrophil", {"anc_10e9_l": 0.5}).grade == 3
    assert grade("ctcae5_anemia", {"hemoglobin_g_l": 80, "transfusion_indicated": False}).grade == 2


@given(
    st.floats(min_value=0, max_value=200_000, allow_nan=False),
    st.floats(min_value=0, max_value=200_000, allow_nan=False),
    st.floats(min_value=0, max_value=20_000, allow_nan=False),
)
def test_a_lower_anc_never_lowers_the_grade(a: float, b: float, lln: float) -> None:
    low, high = sorted((a, b))
    worse = grade("ctcae5_neutrophil", {"anc_per_ul": low, "anc_lln_per_ul": lln})
    better = grade("ctcae5_neutrophil", {"anc_per_ul": high, "anc_lln_per_ul": lln})
    assert worse.grade is not None and better.grade is not None
    assert worse.grade >= better.grade


@given(
    st.floats(min_value=0, max_value=3_000_000, allow_nan=False),
    st.floats(min_value=0, max_value=1_000_000, allow_nan=False),
)
def test_recording_the_lln_keeps_the_grade_within_floor_and_ceiling(
    platelets: float, lln: float
) -> None:
    open_result = grade("ctcae5_platelet", {"platelets_per_ul": platelets})
    full = grade("ctcae5_platelet", {"platelets_per_ul": platelets, "platelet_lln_per_ul": lln})
    assert full.grade is not None and open_result.floor is not None
    assert open_result.floor <= full.grade <= (open_result.ceiling or 0)


@given(st.floats(min_value=0.5, max_value=25, allow_nan=False))
def test_recording_haemoglobin_keeps_the_grade_within_floor_and_ceiling(hb: float) -> None:
    base = {"hemoglobin_lln_g_dl": 12.0, "transfusion_indicated": False}
    open_result = grade("ctcae5_anemia", base)
    full = grade("ctcae5_anemia", {**base, "hemoglobin_g_dl": hb})
    assert full.grade is not None and open_result.floor is not None
    assert open_result.floor <= full.grade <= (open_result.ceiling or 0)
