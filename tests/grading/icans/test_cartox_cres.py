"""CARTOX CRES with CARTOX-10 ([NEELAPU2018]) and its documented disagreements with ASTCT."""

from __future__ import annotations

from typing import Any

import pytest

import cartwatch
from cartwatch.grading.result import Status

CALM = {"seizure": "none", "motor": "none", "icp_edema": "none"}


def g(options: dict[str, str] | None = None, **fields: Any) -> Any:
    return cartwatch.grade("cartox_cres", fields, options=options)


@pytest.mark.parametrize(
    ("score", "expected"), [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3)]
)
def test_cartox10_bands(score: int, expected: int) -> None:
    assert g(cartox10_score=score, **CALM).grade == expected


def test_obtunded_is_grade_4() -> None:
    assert g(cartox10_unable_obtunded=True, **CALM).grade == 4


@pytest.mark.parametrize(
    ("fields", "cres", "astct"),
    [
        ({"seizure": "generalized"}, 4, 3),  # D4
        ({"icp_edema": "papilledema_stage_1_2"}, 3, 4),  # D3
        ({"motor": "new_motor_weakness"}, 4, 0),  # D5
        ({"icp_edema": "focal_edema"}, 4, 3),
    ],
)
def test_disagreements_with_astct(fields: dict[str, Any], cres: int, astct: int) -> None:
    data = {**CALM, **fields}
    assert g(cartox10_score=10, **data).grade == cres
    icans = cartwatch.grade(
        "astct_icans", {"age_years": 40, "ice_total": 10, "consciousness": "alert", **data}
    )
    assert icans.grade == astct


def test_csf_opening_pressure_row_and_its_option() -> None:
    assert g(cartox10_score=10, **CALM, csf_opening_pressure_mmhg=20).grade == 4
    assert g(cartox10_score=10, **CALM, csf_opening_pressure_mmhg=19.9).grade == 3
    assert (
        g(
            {"csf_below_20_grades_3": "no"},
            cartox10_score=10,
            **CALM,
            csf_opening_pressure_mmhg=19.9,
        ).grade
        == 0
    )


def test_rapid_seizure_of_unknown_type_is_open_between_3_and_4() -> None:
    r = g(cartox10_score=10, **{**CALM, "seizure": "focal_or_generalized_resolved_rapidly"})
    assert r.status is Status.NOT_GRADEABLE and (r.floor, r.ceiling) == (3, 4)


def test_cartox10_is_bounded_by_the_ice_items() -> None:
    items = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0}
    r = g(ice=items, consciousness="alert", **CALM)  # CARTOX-10 is 8 or 9 → grade 1
    assert r.grade == 1
    r = g(ice={**items, "attention": 1}, consciousness="alert", **CALM)  # 9 or 10
    assert r.status is Status.NOT_GRADEABLE and r.missing == ("cartox10_score",)
