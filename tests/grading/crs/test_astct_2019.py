"""ASTCT 2019 CRS ([LEE2019] Table 1): every cell, every threshold below/at/above."""

from __future__ import annotations

from typing import Any

import pytest

import cartwatch
from cartwatch.grading.result import Status

FEBRILE = {"temperature_c": 38.5}
ROOM_AIR = {"oxygen": {"device": "none"}}
NO_HYPOTENSION = {"hypotension": "none"}


def grade(**fields: Any) -> Any:
    return cartwatch.grade("astct_crs", fields)


@pytest.mark.parametrize(
    ("temperature_c", "expected"),
    [(37.9, 0), (37.99, 0), (38.0, 1), (38.01, 1), (40.5, 1)],
)
def test_fever_threshold_is_exact(temperature_c: float, expected: int) -> None:
    r = grade(temperature_c=temperature_c, **NO_HYPOTENSION, **ROOM_AIR)
    assert r.grade == expected
    assert r.status is (Status.GRADED if expected else Status.CRITERIA_NOT_MET)


def test_fever_in_fahrenheit_is_converted_before_comparing() -> None:
    assert grade(temperature_f=100.4, **NO_HYPOTENSION, **ROOM_AIR).grade == 1
    assert grade(temperature_f=100.3, **NO_HYPOTENSION, **ROOM_AIR).grade == 0


@pytest.mark.parametrize(
    ("hypotension", "expected"),
    [
        ("none", 1),
        ("fluid_responsive", 2),
        ("vasopressor_single", 3),
        ("vasopressin_only", 3),
        ("vasopressor_multiple", 4),
    ],
)
def test_hypotension_row(hypotension: str, expected: int) -> None:
    assert grade(**FEBRILE, hypotension=hypotension, **ROOM_AIR).grade == expected


@pytest.mark.parametrize(
    ("oxygen", "expected"),
    [
        ({"device": "none"}, 1),
        ({"device": "blow_by"}, 2),
        ({"device": "low_flow_nasal_cannula"}, 2),
        ({"device": "low_flow_nasal_cannula", "flow_l_min": 5.9}, 2),
        ({"device": "low_flow_nasal_cannula", "flow_l_min": 6.0}, 2),
        ({"device": "low_flow_nasal_cannula", "flow_l_min": 6.01}, 3),
        ({"device": "high_flow_nasal_cannula"}, 3),
        ({"device": "high_flow_nasal_cannula", "flow_l_min": 40}, 3),
        ({"device": "facemask", "flow_l_min": 2}, 3),
        ({"device": "non_rebreather"}, 3),
        ({"device": "venturi", "fio2": 0.24}, 3),
        ({"device": "cpap", "fio2": 0.3}, 4),
        ({"device": "bipap"}, 4),
        ({"device": "mechanical_ventilation"}, 4),
    ],
)
def test_hypoxia_row(oxygen: dict[str, Any], expected: int) -> None:
    assert grade(**FEBRILE, **NO_HYPOTENSION, oxygen=oxygen).grade == expected


def test_the_more_severe_of_hypotension_and_hypoxia_sets_the_grade() -> None:
    r = grade(
        temperature_c=39.5,
        hypotension="vasopressor_single",
        oxygen={"device": "low_flow_nasal_cannula", "flow_l_min": 2},
    )
    assert r.grade == 3
    assert any("one vasopressor" in d for d in r.drivers)


def test_vasopressin_is_not_counted_toward_multiple() -> None:
    ne = {"agent": "norepinephrine", "dose": 10, "unit": "mcg/min", "duration_h": 2}
    vp = {"agent": "vasopressin", "dose": 0.03, "unit": "U/min", "duration_h": 2}
    phe = {"agent": "phenylephrine", "dose": 100, "unit": "mcg/min", "duration_h": 2}
    assert grade(**FEBRILE, vasopressors=[ne, vp], **ROOM_AIR).grade == 3
    assert grade(**FEBRILE, vasopressors=[ne, phe], **ROOM_AIR).grade == 4
    assert (
        grade(**FEBRILE, hypotension="vasopressor_single", vasopressin=True, **ROOM_AIR).grade == 3
    )


def test_masked_fever_after_tocilizumab_grades_by_hypotension_and_hypoxia() -> None:
    r = grade(
        temperature_c=37.2,
        crs_previously_established=True,
        antipyretic_or_anticytokine_given=True,
        hypotension="fluid_responsive",
        **ROOM_AIR,
    )
    assert r.grade == 2
    assert any("ASTCT-CRS-02" in d for d in r.drivers)


def test_masked_fever_with_no_hypotension_or_hypoxia_is_not_a_grade() -> None:
    r = grade(
        temperature_c=37.2,
        crs_previously_established=True,
        antipyretic_or_anticytokine_given=True,
        **NO_HYPOTENSION,
        **ROOM_AIR,
    )
    assert r.grade == 0 and r.status is Status.CRITERIA_NOT_MET


def test_masking_needs_both_an_established_crs_and_treatment() -> None:
    common = {"temperature_c": 37.0, "hypotension": "vasopressor_single", **ROOM_AIR}
    assert (
        grade(
            **common, crs_previously_established=True, antipyretic_or_anticytokine_given=False
        ).grade
        == 0
    )
    assert (
        grade(
            **common, crs_previously_established=False, antipyretic_or_anticytokine_given=True
        ).grade
        == 0
    )


def test_without_fever_the_masking_history_decides_and_is_reported_missing() -> None:
    r = grade(temperature_c=37.0, hypotension="vasopressor_single", **ROOM_AIR)
    assert r.status is Status.NOT_GRADEABLE
    assert (r.floor, r.ceiling) == (0, 3)
    assert set(r.missing) == {"crs_previously_established", "antipyretic_or_anticytokine_given"}


def test_fever_attributed_to_another_cause_does_not_meet_criteria() -> None:
    r = grade(
        **FEBRILE,
        fever_attributable_to_other_cause=True,
        crs_previously_established=False,
        hypotension="vasopressor_single",
        **ROOM_AIR,
    )
    assert r.grade == 0
    masked_possible = grade(
        **FEBRILE,
        fever_attributable_to_other_cause=True,
        hypotension="vasopressor_single",
        **ROOM_AIR,
    )
    assert (masked_possible.floor, masked_possible.ceiling) == (0, 3)


def test_one_vasopressor_with_unknown_cannula_flow_is_grade_3() -> None:
    r = grade(
        **FEBRILE, hypotension="vasopressor_single", oxygen={"device": "low_flow_nasal_cannula"}
    )
    assert r.grade == 3 and r.missing == ()


def test_unknown_oxygen_device_leaves_positive_pressure_open() -> None:
    r = grade(**FEBRILE, hypotension="vasopressor_single")
    assert r.status is Status.NOT_GRADEABLE
    assert (r.floor, r.ceiling) == (3, 4)
    assert r.missing == ("oxygen.device",)


def test_multiple_vasopressors_decide_grade_4_whatever_the_oxygen() -> None:
    r = grade(**FEBRILE, hypotension="vasopressor_multiple")
    assert r.grade == 4 and r.missing == ()


def test_vasopressor_count_unknown_is_open_between_3_and_4() -> None:
    r = grade(**FEBRILE, hypotension="vasopressor_count_unknown", **ROOM_AIR)
    assert (r.floor, r.ceiling, r.grade) == (3, 4, None)
    assert r.missing == ("vasopressors",)


def test_organ_toxicity_is_recorded_but_ignored() -> None:
    r = grade(**FEBRILE, **NO_HYPOTENSION, **ROOM_AIR, organ_toxicity_ctcae={"alt_increased": 4})
    assert r.grade == 1
    assert any("ASTCT-CRS-05" in text for text in r.ignored)


def test_death_due_to_crs_is_grade_5() -> None:
    assert grade(death_due_to="CRS").grade == 5
    r = grade(death_due_to="other", **FEBRILE, **NO_HYPOTENSION, **ROOM_AIR)
    assert r.grade == 1


def test_nothing_recorded_is_not_gradeable_and_lists_what_decides() -> None:
    r = grade()
    assert r.status is Status.NOT_GRADEABLE and (r.floor, r.ceiling) == (0, 4)
    assert {"temperature_c", "hypotension", "oxygen.device"} <= set(r.missing)
