"""ASTCT 2019 ICANS ([LEE2019]): ICE bands, CAPD, the tie-break, sedation, exclusions, age rule."""

from __future__ import annotations

from typing import Any

import pytest

import cartwatch
from cartwatch.grading.icans.astct_2019 import ice_score
from cartwatch.grading.result import Status

CALM = {"consciousness": "alert", "seizure": "none", "motor": "none", "icp_edema": "none"}


def g(options: dict[str, str] | None = None, **fields: Any) -> Any:
    return cartwatch.grade("astct_icans", fields, options=options)


@pytest.mark.parametrize(
    ("ice_total", "expected"),
    [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (1, 3), (0, 3)],
)
def test_ice_bands(ice_total: int, expected: int) -> None:
    assert g(age_years=40, ice_total=ice_total, **CALM).grade == expected


def test_ice_items_sum_to_the_score() -> None:
    assert ice_score(orientation=4, naming=3, commands=1, writing=1, attention=0) == 9
    items = {"orientation": 2, "naming": 2, "commands": 1, "writing": 1, "attention": 0}
    assert g(age_years=40, ice=items, **CALM).grade == 2


def test_ice_zero_tie_break_aphasia_vs_unarousable() -> None:
    awake = g(age_years=40, ice_total=0, global_aphasia=True, **CALM)
    assert awake.grade == 3 and any("aphasia" in d for d in awake.drivers)
    roused = {**CALM, "consciousness": "unarousable_or_vigorous_stimuli"}
    assert g(age_years=40, ice_total=0, ice_unable_unarousable=True, **roused).grade == 4


@pytest.mark.parametrize(
    ("consciousness", "expected"),
    [
        ("alert", 0),
        ("awakens_spontaneously", 1),
        ("awakens_to_voice", 2),
        ("awakens_to_tactile", 3),
        ("unarousable_or_vigorous_stimuli", 4),
    ],
)
def test_consciousness_row(consciousness: str, expected: int) -> None:
    fields = {**CALM, "consciousness": consciousness}
    assert g(age_years=40, ice_total=10, **fields).grade == expected


@pytest.mark.parametrize(
    ("seizure", "expected"),
    [
        ("focal_or_generalized_resolved_rapidly", 3),
        ("nonconvulsive_eeg_resolved_with_intervention", 3),
        ("generalized", 3),
        ("prolonged_gt_5min", 4),
        ("repetitive_without_return_to_baseline", 4),
    ],
)
def test_seizure_row(seizure: str, expected: int) -> None:
    assert g(age_years=40, ice_total=10, **{**CALM, "seizure": seizure}).grade == expected


def test_ice_3_with_generalized_seizure_is_grade_3() -> None:
    assert g(age_years=40, ice_total=3, **{**CALM, "seizure": "generalized"}).grade == 3


@pytest.mark.parametrize(
    ("motor", "expected"),
    [
        ("tremor", 0),
        ("myoclonus", 0),
        ("mild_weakness", 0),
        ("new_motor_weakness", 0),
        ("hemiparesis", 4),
        ("paraparesis", 4),
    ],
)
def test_motor_row(motor: str, expected: int) -> None:
    assert g(age_years=40, ice_total=10, **{**CALM, "motor": motor}).grade == expected


def test_tremor_and_myoclonus_are_listed_as_ignored() -> None:
    r = g(age_years=40, ice_total=10, **{**CALM, "motor": "myoclonus"}, other_findings=["tremor"])
    assert r.grade == 0
    assert sum("ASTCT-ICANS-04" in text for text in r.ignored) == 2


@pytest.mark.parametrize(
    ("icp", "expected"),
    [
        ("focal_edema", 3),
        ("diffuse_edema", 4),
        ("posturing", 4),
        ("cn6_palsy", 4),
        ("papilledema_stage_1_2", 4),
        ("papilledema_stage_3_5", 4),
        ("cushing_triad", 4),
    ],
)
def test_icp_row(icp: str, expected: int) -> None:
    assert g(age_years=40, ice_total=10, **{**CALM, "icp_edema": icp}).grade == expected


def test_intracranial_haemorrhage_is_excluded() -> None:
    r = g(age_years=40, ice_total=10, **{**CALM, "icp_edema": "intracranial_hemorrhage"})
    assert r.grade == 0 and any("ASTCT-ICANS-05" in t for t in r.ignored)


@pytest.mark.parametrize(("capd", "expected"), [(0, 0), (1, 1), (8, 1), (9, 3), (32, 3)])
def test_capd_row_for_children(capd: int, expected: int) -> None:
    assert g(age_years=6, capd_score=capd, **CALM).grade == expected


def test_capd_1_to_8_with_voice_arousal_is_grade_2() -> None:
    assert g(age_years=6, capd_score=5, **{**CALM, "consciousness": "awakens_to_voice"}).grade == 2


def test_unable_to_perform_capd_is_grade_4() -> None:
    assert g(age_years=6, capd_unable=True, **CALM).grade == 4


def test_age_boundary_is_exact_and_the_ncit_rule_is_selectable() -> None:
    ice_only = {"ice_total": 10, **CALM}
    eleven = g(age_years=11.997, **ice_only)
    assert eleven.status is Status.NOT_GRADEABLE and eleven.missing == ("capd_score",)
    assert g(age_years=12.0, **ice_only).grade == 0
    ncit = g({"pediatric_age_rule": "ncit_le12"}, age_years=12.0, **ice_only)
    assert ncit.status is Status.NOT_GRADEABLE and ncit.missing == ("capd_score",)
    twelve_and_a_half = g({"pediatric_age_rule": "ncit_le12"}, age_years=12.5, **ice_only)
    assert twelve_and_a_half.missing == ("capd_score",)  # NCIt: "12 and under" = under 13
    assert g({"pediatric_age_rule": "ncit_le12"}, age_years=13.0, **ice_only).grade == 0


def test_developmental_delay_uses_capd_at_any_age() -> None:
    assert g(age_years=30, developmental_delay=True, capd_score=10, **CALM).grade == 3


def test_unknown_option_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="did you mean pediatric_age_rule"):
        g({"pediatric_age_rul": "ncit_le12"}, age_years=30, ice_total=10, **CALM)
    with pytest.raises(ValueError, match="astct_lt12, ncit_le12"):
        g({"pediatric_age_rule": "under_12"}, age_years=30, ice_total=10, **CALM)


def test_missing_ice_with_a_grade_3_domain_and_known_consciousness_is_determined() -> None:
    r = g(
        age_years=40, consciousness="alert", seizure="none", motor="none", icp_edema="focal_edema"
    )
    assert r.grade == 3 and r.missing == ()


def test_missing_ice_with_all_else_normal_is_not_gradeable() -> None:
    r = g(age_years=40, **CALM)
    assert r.status is Status.NOT_GRADEABLE and (r.floor, r.ceiling) == (0, 3)
    assert r.missing == ("ice",)


def test_partial_ice_is_determined_when_the_missing_items_cannot_change_the_band() -> None:
    r = g(age_years=40, ice={"orientation": 4, "naming": 3, "commands": 1, "writing": 0}, **CALM)
    assert r.grade == 1  # 8 or 9 → 7–9
    r = g(age_years=40, ice={"orientation": 4, "naming": 3, "commands": 1, "writing": 1}, **CALM)
    assert r.status is Status.NOT_GRADEABLE and r.missing == ("ice.attention",)  # 9 or 10


def test_sedation_confounds_consciousness() -> None:
    r = g(
        age_years=58,
        consciousness="unarousable_or_vigorous_stimuli",
        consciousness_attributable_to_other_cause=True,
        sedation="propofol",
        seizure="none",
        motor="none",
        icp_edema="none",
    )
    assert r.status is Status.NOT_GRADEABLE
    assert "confounded_by_sedation" in r.reasons
    assert "consciousness" in r.missing
    sedated_with_oedema = g(
        age_years=58,
        consciousness="unarousable_or_vigorous_stimuli",
        consciousness_attributable_to_other_cause=True,
        seizure="none",
        motor="none",
        icp_edema="diffuse_edema",
    )
    assert sedated_with_oedema.grade == 4


def test_death_due_to_icans_is_grade_5() -> None:
    assert g(death_due_to="ICANS").grade == 5
