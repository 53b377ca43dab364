"""Lee 2014, CARTOX, Penn, MSKCC and CTCAE v5 CRS: cells and thresholds of each table."""

from __future__ import annotations

from typing import Any

import pytest

import cartwatch
from cartwatch.grading.result import Status

FEVER = {"temperature_c": 38.6}
NO_HYPO = {"hypotension": "none"}
AIR = {"oxygen": {"device": "none"}}


def ne(dose: float, hours: float, unit: str = "mcg/min") -> dict[str, Any]:
    return {"agent": "norepinephrine", "dose": dose, "unit": unit, "duration_h": hours}


def agent(name: str, dose: float, hours: float, unit: str = "mcg/min") -> dict[str, Any]:
    return {"agent": name, "dose": dose, "unit": unit, "duration_h": hours}


def g(scale: str, options: dict[str, str] | None = None, **fields: Any) -> Any:
    return cartwatch.grade(scale, fields, options=options)


# --- Lee 2014 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vasopressors", "expected"),
    [
        ([ne(19.99, 4)], 2),
        ([ne(20, 4)], 3),
        ([ne(25, 2.99)], 2),
        ([ne(25, 3)], 3),
        ([agent("dopamine", 9.99, 4, "mcg/kg/min")], 2),
        ([agent("dopamine", 10, 4, "mcg/kg/min")], 3),
        ([agent("phenylephrine", 199, 4)], 2),
        ([agent("phenylephrine", 200, 4)], 3),
        ([agent("epinephrine", 9.9, 4)], 2),
        ([agent("epinephrine", 10, 4)], 3),
        ([agent("vasopressin", 0.03, 4, "U/min")], 2),
        # two agents are "multiple" whatever the dose
        ([ne(2, 1), agent("vasopressin", 0.03, 1, "U/min")], 3),
        ([ne(2, 1), agent("phenylephrine", 20, 1)], 3),
    ],
)
def test_lee_high_dose_and_multiple_vasopressors(
    vasopressors: list[dict[str, Any]], expected: int
) -> None:
    assert g("lee2014_crs", **FEVER, vasopressors=vasopressors, **AIR).grade == expected


def test_lee_norepinephrine_per_kg_needs_the_weight() -> None:
    per_kg = [ne(0.25, 4, "mcg/kg/min")]
    assert (
        g("lee2014_crs", **FEVER, vasopressors=per_kg, weight_kg=80, **AIR).grade == 3
    )  # 20 µg/min
    assert g("lee2014_crs", **FEVER, vasopressors=per_kg, weight_kg=79, **AIR).grade == 2
    r = g("lee2014_crs", **FEVER, vasopressors=per_kg, **AIR)
    assert r.grade is None and "weight_kg" in r.missing


def test_lee_single_vasopressor_without_doses_is_open() -> None:
    r = g("lee2014_crs", **FEVER, hypotension="vasopressor_single", vasopressin=False, **AIR)
    assert (r.floor, r.ceiling) == (2, 3) and "vasopressors" in r.missing


@pytest.mark.parametrize(
    ("oxygen", "options", "expected"),
    [
        ({"device": "low_flow_nasal_cannula", "fio2": 0.39}, None, 2),
        ({"device": "low_flow_nasal_cannula", "fio2": 0.40}, None, 3),
        ({"device": "facemask", "fio2": 0.6}, None, 3),
        ({"device": "cpap", "fio2": 0.3}, None, 2),
        ({"device": "cpap", "fio2": 0.3}, {"niv_is_ventilator_support": "yes"}, 4),
        ({"device": "mechanical_ventilation", "fio2": 0.3}, None, 4),
    ],
)
def test_lee_hypoxia_by_fio2(
    oxygen: dict[str, Any], options: dict[str, str] | None, expected: int
) -> None:
    assert g("lee2014_crs", options, **FEVER, **NO_HYPO, oxygen=oxygen).grade == expected


def test_lee_cannot_grade_oxygen_from_the_device_alone() -> None:
    r = g(
        "lee2014_crs",
        **FEVER,
        **NO_HYPO,
        oxygen={"device": "low_flow_nasal_cannula", "flow_l_min": 4},
    )
    assert (r.floor, r.ceiling) == (2, 3) and r.missing == ("oxygen.fio2",)


@pytest.mark.parametrize(
    ("organ", "expected"),
    [
        ({"creatinine_increased": 2}, 2),
        ({"creatinine_increased": 3}, 3),
        ({"creatinine_increased": 4}, 4),
        ({"alt_increased": 4}, 3),
        ({"alt_increased": 4, "creatinine_increased": 4}, 4),
    ],
)
def test_lee_organ_toxicity(organ: dict[str, int], expected: int) -> None:
    assert g("lee2014_crs", **FEVER, **NO_HYPO, **AIR, organ_toxicity_ctcae=organ).grade == expected


def test_lee_does_not_require_fever() -> None:
    r = g(
        "lee2014_crs",
        temperature_c=37.0,
        clinician_diagnosis_crs=True,
        hypotension="fluid_responsive",
        **AIR,
    )
    assert r.grade == 2
    no_dx = {"clinician_diagnosis_crs": False, "crs_previously_established": False}
    assert g("lee2014_crs", temperature_c=37.0, **no_dx, **NO_HYPO, **AIR).grade == 0


def test_lee_lists_the_unrecorded_organ_toxicity_assumption_when_it_matters() -> None:
    r = g("lee2014_crs", **FEVER, **NO_HYPO, **AIR)
    assert r.grade == 1
    assert any("organ_toxicity_ctcae" in note for note in r.assumed)


# --- CARTOX ------------------------------------------------------------------------------------


def test_cartox_cells() -> None:
    assert g("cartox_crs", **FEVER, hypotension="fluid_responsive", **AIR).grade == 2
    assert g("cartox_crs", **FEVER, vasopressors=[ne(10, 5)], **AIR).grade == 2
    assert g("cartox_crs", **FEVER, vasopressors=[ne(20, 5)], **AIR).grade == 3
    assert (
        g("cartox_crs", **FEVER, vasopressors=[ne(20, 5)], crs_life_threatening=True, **AIR).grade
        == 4
    )
    assert (
        g("cartox_crs", **FEVER, **NO_HYPO, **AIR, organ_toxicity_ctcae={"ast_increased": 4}).grade
        == 3
    )
    assert (
        g(
            "cartox_crs",
            **FEVER,
            **NO_HYPO,
            **AIR,
            organ_toxicity_ctcae={"creatinine_increased": 4},
        ).grade
        == 4
    )
    assert (
        g("cartox_crs", **FEVER, **NO_HYPO, oxygen={"device": "facemask", "fio2": 0.4}).grade == 3
    )


# --- Penn --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({**NO_HYPO, "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 1}}, 3),
        ({**NO_HYPO, "oxygen": {"device": "bipap"}}, 3),
        ({**NO_HYPO, "oxygen": {"device": "mechanical_ventilation"}}, 4),
        ({"vasopressors": [ne(5, 1)], **AIR}, 3),
        ({"vasopressors": [ne(20, 3)], **AIR}, 4),
        ({**NO_HYPO, **AIR, "organ_toxicity_ctcae": {"creatinine_increased": 2}}, 2),
        ({**NO_HYPO, **AIR, "organ_toxicity_ctcae": {"alt_increased": 3}}, 2),
        ({**NO_HYPO, **AIR, "organ_toxicity_ctcae": {"alt_increased": 4}}, 3),
        ({**NO_HYPO, **AIR, "organ_toxicity_ctcae": {"creatinine_increased": 3}}, 3),
        ({**NO_HYPO, **AIR, "hospitalized_for_crs": True}, 2),
        ({**NO_HYPO, **AIR, "coagulopathy_requiring_blood_products": True}, 3),
        ({**NO_HYPO, **AIR}, 1),
    ],
)
def test_penn_cells(fields: dict[str, Any], expected: int) -> None:
    assert g("penn_crs", **FEVER, **fields).grade == expected


# --- MSKCC -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(0.5, 2), (23.9, 2), (24.0, 3), (72, 3)],
)
def test_mskcc_vasopressor_duration(hours: float, expected: int) -> None:
    assert g("mskcc_crs", **FEVER, vasopressors=[ne(5, hours)], **AIR).grade == expected


def test_mskcc_other_cells() -> None:
    assert g("mskcc_crs", **FEVER, hypotension="fluid_responsive", **AIR).grade == 1
    assert (
        g(
            "mskcc_crs",
            **FEVER,
            vasopressors=[ne(30, 30)],
            hypotension_refractory_to_high_dose_vasopressors=True,
            **AIR,
        ).grade
        == 4
    )
    assert (
        g("mskcc_crs", **FEVER, **NO_HYPO, oxygen={"device": "facemask", "fio2": 0.39}).grade == 2
    )
    assert (
        g("mskcc_crs", **FEVER, **NO_HYPO, oxygen={"device": "facemask", "fio2": 0.40}).grade == 3
    )
    assert (
        g("mskcc_crs", **FEVER, **NO_HYPO, oxygen={"device": "mechanical_ventilation"}).grade == 4
    )


# --- CTCAE v5 ----------------------------------------------------------------------------------


def test_ctcae_cells() -> None:
    assert g("ctcae5_crs", **FEVER, **NO_HYPO, **AIR).grade == 1
    assert g("ctcae5_crs", **FEVER, hypotension="fluid_responsive", **AIR).grade == 2
    assert (
        g("ctcae5_crs", **FEVER, **NO_HYPO, oxygen={"device": "facemask", "fio2": 0.35}).grade == 2
    )
    assert (
        g("ctcae5_crs", **FEVER, **NO_HYPO, oxygen={"device": "facemask", "fio2": 0.4}).grade == 3
    )
    assert (
        g("ctcae5_crs", **FEVER, hypotension="vasopressor_single", vasopressin=False, **AIR).grade
        == 3
    )


def test_ctcae_several_pressors_need_the_clinicians_judgement() -> None:
    r = g("ctcae5_crs", **FEVER, hypotension="vasopressor_multiple", **AIR)
    assert r.status is Status.NOT_GRADEABLE and r.missing == ("crs_life_threatening",)
    flagged = g(
        "ctcae5_crs", **FEVER, hypotension="vasopressor_multiple", crs_life_threatening=True, **AIR
    )
    assert flagged.grade == 4


# --- across scales (clinical-spec §8.3) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {
                **NO_HYPO,
                "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 2, "fio2": 0.28},
            },
            {"astct_crs": 2, "lee2014_crs": 2, "penn_crs": 3},
        ),
        (
            {**NO_HYPO, "oxygen": {"device": "bipap", "fio2": 0.35}},
            {"astct_crs": 4, "lee2014_crs": 2, "penn_crs": 3},
        ),
        (
            {**NO_HYPO, **AIR, "organ_toxicity_ctcae": {"alt_increased": 4}},
            {"astct_crs": 1, "lee2014_crs": 3, "penn_crs": 3},
        ),
        (
            {"vasopressors": [ne(5, 2), agent("phenylephrine", 20, 2)], **AIR},
            {"astct_crs": 4, "lee2014_crs": 3, "penn_crs": 3},
        ),
        ({"vasopressors": [ne(5, 2)], **AIR}, {"astct_crs": 3, "lee2014_crs": 2, "penn_crs": 3}),
    ],
)
def test_rules_of_thumb_across_scales(fields: dict[str, Any], expected: dict[str, int]) -> None:
    for scale, grade in expected.items():
        assert g(scale, **FEVER, **fields).grade == grade, scale


@pytest.mark.parametrize(
    "scale", ["lee2014_crs", "penn_crs", "mskcc_crs", "cartox_crs", "ctcae5_crs"]
)
def test_established_crs_without_a_current_finding_is_not_a_grade(scale: str) -> None:
    """Like ASTCT's masked fever with no feature: a CRS carried as established, now afebrile with
    nothing else, meets no grade (so episodes can resolve); a clinician's diagnosis keeps grade 1
    where the scale does not need fever."""
    quiet = {"temperature_c": 36.9, "crs_previously_established": True, **NO_HYPO, **AIR}
    assert g(scale, **quiet, clinician_diagnosis_crs=False).grade == 0
    diagnosed = g(scale, **quiet, clinician_diagnosis_crs=True).grade
    needs_fever = scale in ("cartox_crs", "ctcae5_crs")
    assert diagnosed == (0 if needs_fever else 1)
    unknown = g(scale, **quiet)
    if needs_fever:
        assert unknown.grade == 0
    else:  # grade 1 is "symptoms": the clinician's current diagnosis decides (C-4)
        assert (unknown.floor, unknown.ceiling) == (0, 1)
        assert unknown.missing == ("clinician_diagnosis_crs",)
    hypoxic = {**quiet, "oxygen": {"device": "facemask", "fio2": 0.5}}
    assert g(scale, **hypoxic).grade == 3  # established CRS is graded by its findings
