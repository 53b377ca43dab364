"""Invariants every CRS and ICANS scale keeps (design.md §9), checked on random assessments.

* A worse finding never lowers the floor or the ceiling.
* Recording a missing field keeps the result inside the earlier [floor, ceiling]; a supplementary
  finding read as absent may move it only when the earlier result declared that assumption.
* A determined grade is the grade of every completion (follows from the above).
* The result does not depend on the order of the fields.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cartwatch
from cartwatch.errors import InvalidInput

CRS_SCALES = ("astct_crs", "lee2014_crs", "cartox_crs", "penn_crs", "mskcc_crs", "ctcae5_crs")
ICANS_SCALES = ("astct_icans", "cartox_cres")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HYPOTENSION_ORDER = [
    "none",
    "fluid_responsive",
    "vasopressin_only",
    "vasopressor_single",
    "vasopressor_multiple",
]
DEVICE_ORDER = [
    "none",
    "blow_by",
    "low_flow_nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "non_rebreather",
    "cpap",
    "bipap",
    "mechanical_ventilation",
]
CONSCIOUSNESS_ORDER = [
    "alert",
    "awakens_spontaneously",
    "awakens_to_voice",
    "awakens_to_tactile",
    "unarousable_or_vigorous_stimuli",
]
SEIZURE_ORDER = [
    "none",
    "partial_responding_to_benzodiazepine",
    "nonconvulsive_eeg_resolved_with_intervention",
    "focal_or_generalized_resolved_rapidly",
    "generalized",
    "prolonged_gt_5min",
    "repetitive_without_return_to_baseline",
]
MOTOR_ORDER = [
    "none",
    "tremor",
    "myoclonus",
    "mild_weakness",
    "new_motor_weakness",
    "hemiparesis",
    "paraparesis",
]
ICP_WORSE = {  # a partial order: the pairs (less, more) that are clinically "worse"
    "none": [
        "intracranial_hemorrhage",
        "focal_edema",
        "diffuse_edema",
        "papilledema_stage_1_2",
        "papilledema_stage_3_5",
        "posturing",
        "cn6_palsy",
        "cushing_triad",
    ],
    "intracranial_hemorrhage": ["focal_edema", "diffuse_edema", "papilledema_stage_3_5"],
    "focal_edema": ["diffuse_edema"],
    "papilledema_stage_1_2": ["papilledema_stage_3_5"],
}
AGENTS = ["norepinephrine", "epinephrine", "dopamine", "phenylephrine", "vasopressin"]
ORGAN_TERMS = ["creatinine_increased", "alt_increased", "ast_increased", "pulmonary_edema"]

# Read as absent when not charted, by definition of the field (never listed, never removed here).
QUIET = {
    "death_due_to",
    "fever_attributable_to_other_cause",
    "consciousness_attributable_to_other_cause",
    "developmental_delay",
    "ice_unable_unarousable",
    "capd_unable",
    "cartox10_unable_obtunded",
    "csf_opening_pressure_mmhg",
    "global_aphasia",
    "sedation",
    "other_findings",
}
# Supplementary: read as absent when not charted, and declared under `assumed` when it matters.
SUPPLEMENTARY = {
    "organ_toxicity_ctcae",
    "crs_life_threatening",
    "hospitalized_for_crs",
    "hospitalized_for_crs_organ_dysfunction",
    "coagulopathy_requiring_blood_products",
    "hypotension_refractory_to_high_dose_vasopressors",
}


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


temperatures = st.one_of(
    st.sampled_from([37.99, 38.0, 38.01]), st.floats(min_value=35.0, max_value=41.5)
)
flows = st.one_of(st.sampled_from([6.0, 6.01, 5.99]), st.floats(min_value=0.5, max_value=60))
fio2s = st.one_of(st.sampled_from([0.39, 0.4, 0.41]), st.floats(min_value=0.21, max_value=1.0))


@st.composite
def vasopressor_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    agents = draw(st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3, unique=True))
    out = []
    for agent in agents:
        if agent == "vasopressin":
            unit = "U/min"
            dose = draw(st.floats(min_value=0.01, max_value=0.08))
        elif agent == "dopamine":
            unit = draw(st.sampled_from(["mcg/kg/min", "mcg/min"]))
            dose = draw(st.sampled_from([9.99, 10.0, 5.0, 15.0, 800.0]))
        else:
            unit = draw(st.sampled_from(["mcg/min", "mcg/kg/min"]))
            dose = draw(
                st.sampled_from([0.1, 0.25, 5.0, 9.99, 10.0, 19.99, 20.0, 30.0, 199.0, 200.0])
            )
        out.append(
            {
                "agent": agent,
                "dose": dose,
                "unit": unit,
                "duration_h": draw(
                    _maybe(st.sampled_from([1.0, 2.99, 3.0, 12.0, 23.9, 24.0, 48.0]))
                ),
            }
        )
    return out


@st.composite
def crs_assessments(draw: st.DrawFn) -> dict[str, Any]:
    d: dict[str, Any] = {
        "temperature_c": draw(_maybe(temperatures)),
        "fever_attributable_to_other_cause": draw(_maybe(st.booleans())),
        "crs_previously_established": draw(_maybe(st.booleans())),
        "antipyretic_or_anticytokine_given": draw(_maybe(st.booleans())),
        "clinician_diagnosis_crs": draw(_maybe(st.booleans())),
        "crs_life_threatening": draw(_maybe(st.booleans())),
        "hospitalized_for_crs": draw(_maybe(st.booleans())),
        "hospitalized_for_crs_organ_dysfunction": draw(_maybe(st.booleans())),
        "coagulopathy_requiring_blood_products": draw(_maybe(st.booleans())),
        "hypotension_refractory_to_high_dose_vasopressors": draw(_maybe(st.booleans())),
        "weight_kg": draw(_maybe(st.sampled_from([70.0, 80.0, 100.0]))),
        "organ_toxicity_ctcae": draw(
            _maybe(st.dictionaries(st.sampled_from(ORGAN_TERMS), st.integers(0, 4), max_size=2))
        ),
    }
    if draw(st.booleans()):
        d["vasopressors"] = draw(vasopressor_lists())
    else:
        d["hypotension"] = draw(_maybe(st.sampled_from(HYPOTENSION_ORDER)))
        d["vasopressin"] = draw(_maybe(st.booleans()))
    if draw(st.booleans()):
        d["oxygen"] = {
            "device": draw(_maybe(st.sampled_from(DEVICE_ORDER))),
            "flow_l_min": draw(_maybe(flows)),
            "fio2": draw(_maybe(fio2s)),
        }
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def icans_assessments(draw: st.DrawFn) -> dict[str, Any]:
    d: dict[str, Any] = {
        "age_years": draw(_maybe(st.sampled_from([4.0, 11.99, 12.0, 40.0, 75.0]))),
        "developmental_delay": draw(_maybe(st.booleans())),
        "consciousness": draw(_maybe(st.sampled_from(CONSCIOUSNESS_ORDER))),
        "seizure": draw(_maybe(st.sampled_from(SEIZURE_ORDER))),
        "motor": draw(_maybe(st.sampled_from(MOTOR_ORDER))),
        "icp_edema": draw(_maybe(st.sampled_from([*ICP_WORSE["none"], "none"]))),
        "capd_score": draw(_maybe(st.sampled_from([0, 1, 8, 9, 20]))),
        "cartox10_score": draw(_maybe(st.integers(0, 10))),
    }
    if draw(st.booleans()):
        d["ice"] = {
            "orientation": draw(_maybe(st.integers(0, 4))),
            "naming": draw(_maybe(st.integers(0, 3))),
            "commands": draw(_maybe(st.integers(0, 1))),
            "writing": draw(_maybe(st.integers(0, 1))),
            "attention": draw(_maybe(st.integers(0, 1))),
        }
    elif draw(st.booleans()):
        d["ice_total"] = draw(st.integers(0, 10))
    return {k: v for k, v in d.items() if v is not None}


_OPTION_SEED: list[int] = [0]


def _options(scale: str) -> dict[str, str]:
    """Every documented alternative is exercised too: options drawn from the test's seed."""
    rnd = random.Random(_OPTION_SEED[0] * 7919 + sum(map(ord, scale)))
    info = next(i for i in cartwatch.scales() if i.id == scale)
    return {o.name: rnd.choice(o.choices) for o in info.options}


def _grade(scale: str, data: dict[str, Any]) -> Any:
    try:
        return cartwatch.grade(scale, data, options=_options(scale))
    except InvalidInput:
        assume(False)


def _next(order: list[str], value: str, rnd: random.Random) -> str | None:
    i = order.index(value)
    if i + 1 >= len(order):
        return None
    return order[rnd.randint(i + 1, len(order) - 1)]


def _worsen_crs(d: dict[str, Any], rnd: random.Random) -> dict[str, Any] | None:
    w = copy.deepcopy(d)
    moves = []
    if "temperature_c" in w:
        moves.append("temperature")
    if w.get("hypotension") in HYPOTENSION_ORDER[:-1]:
        moves.append("hypotension")
    if w.get("oxygen", {}).get("device") in DEVICE_ORDER[:-1]:
        moves.append("device")
    if w.get("oxygen", {}).get("fio2") is not None:
        moves.append("fio2")
    if w.get("oxygen", {}).get("flow_l_min") is not None:
        moves.append("flow")
    if w.get("organ_toxicity_ctcae"):
        moves.append("organ")
    if w.get("vasopressors"):
        moves.append("dose")
        if any(v["duration_h"] is not None for v in w["vasopressors"]):
            moves.append("duration")
    for flag in (
        "crs_life_threatening",
        "hospitalized_for_crs",
        "hospitalized_for_crs_organ_dysfunction",
        "coagulopathy_requiring_blood_products",
        "hypotension_refractory_to_high_dose_vasopressors",
        "crs_previously_established",
        "antipyretic_or_anticytokine_given",
        "clinician_diagnosis_crs",
    ):
        if w.get(flag) is False:
            moves.append(flag)
    if w.get("fever_attributable_to_other_cause") is True:
        moves.append("unattribute")
    if not moves:
        return None
    move = rnd.choice(moves)
    if move == "temperature":
        w["temperature_c"] = min(45.0, w["temperature_c"] + rnd.choice([0.01, 0.5, 2.0]))
    elif move == "hypotension":
        w["hypotension"] = _next(HYPOTENSION_ORDER, w["hypotension"], rnd)
    elif move == "device":
        w["oxygen"]["device"] = _next(DEVICE_ORDER, w["oxygen"]["device"], rnd)
    elif move == "fio2":
        w["oxygen"]["fio2"] = min(1.0, w["oxygen"]["fio2"] + rnd.choice([0.01, 0.2]))
    elif move == "flow":
        w["oxygen"]["flow_l_min"] = min(80.0, w["oxygen"]["flow_l_min"] + rnd.choice([0.01, 3]))
    elif move == "organ":
        term = rnd.choice(sorted(w["organ_toxicity_ctcae"]))
        w["organ_toxicity_ctcae"][term] = min(4, w["organ_toxicity_ctcae"][term] + 1)
    elif move == "dose":
        v = rnd.choice(w["vasopressors"])
        v["dose"] = v["dose"] * rnd.choice([1.01, 2.0, 10.0])
    elif move == "duration":
        v = rnd.choice([v for v in w["vasopressors"] if v["duration_h"] is not None])
        v["duration_h"] = v["duration_h"] + rnd.choice([0.01, 3.0, 30.0])
        if v["duration_h"] > 8760:
            return None
    elif move == "unattribute":
        w["fever_attributable_to_other_cause"] = False
    else:
        w[move] = True
    return w


def _worsen_icans(d: dict[str, Any], rnd: random.Random) -> dict[str, Any] | None:
    w = copy.deepcopy(d)
    moves = []
    for field, order in (
        ("consciousness", CONSCIOUSNESS_ORDER),
        ("seizure", SEIZURE_ORDER),
        ("motor", MOTOR_ORDER),
    ):
        if w.get(field) in order[:-1]:
            moves.append(field)
    if w.get("icp_edema") in ICP_WORSE:
        moves.append("icp_edema")
    if w.get("ice_total", 0) > 0:
        moves.append("ice_total")
    if any(v for v in w.get("ice", {}).values()):
        moves.append("ice_item")
    if w.get("capd_score") is not None:
        moves.append("capd")
    if w.get("cartox10_score", 0) > 0:
        moves.append("cartox10")
    if not moves:
        return None
    move = rnd.choice(moves)
    if move == "consciousness":
        w[move] = _next(CONSCIOUSNESS_ORDER, w[move], rnd)
    elif move == "seizure":
        w[move] = _next(SEIZURE_ORDER, w[move], rnd)
    elif move == "motor":
        w[move] = _next(MOTOR_ORDER, w[move], rnd)
    elif move == "icp_edema":
        w[move] = rnd.choice(ICP_WORSE[w[move]])
    elif move == "ice_total":
        w["ice_total"] = rnd.randint(0, w["ice_total"] - 1)
    elif move == "ice_item":
        item = rnd.choice([k for k, v in w["ice"].items() if v])
        w["ice"][item] -= 1
    elif move == "capd":
        w["capd_score"] = min(32, w["capd_score"] + rnd.choice([1, 8]))
    elif move == "cartox10":
        w["cartox10_score"] = rnd.randint(0, w["cartox10_score"] - 1)
    return w


def _bounds(result: Any) -> tuple[int, int]:
    return result.floor, result.ceiling


@SETTINGS
@given(data=crs_assessments(), scale=st.sampled_from(CRS_SCALES), seed=st.integers(0, 2**16))
def test_a_worse_crs_finding_never_lowers_the_grade(
    data: dict[str, Any], scale: str, seed: int
) -> None:
    _OPTION_SEED[0] = seed
    worse = _worsen_crs(data, random.Random(seed))
    assume(worse is not None)
    before, after = _grade(scale, data), _grade(scale, worse)
    assert after.floor >= before.floor and after.ceiling >= before.ceiling, (data, worse)


@SETTINGS
@given(data=icans_assessments(), scale=st.sampled_from(ICANS_SCALES), seed=st.integers(0, 2**16))
def test_a_worse_neurological_finding_never_lowers_the_grade(
    data: dict[str, Any], scale: str, seed: int
) -> None:
    _OPTION_SEED[0] = seed
    worse = _worsen_icans(data, random.Random(seed))
    assume(worse is not None)
    before, after = _grade(scale, data), _grade(scale, worse)
    assert after.floor >= before.floor and after.ceiling >= before.ceiling, (data, worse)


def _remove(d: dict[str, Any], rnd: random.Random) -> tuple[dict[str, Any], set[str]]:
    partial = copy.deepcopy(d)
    removed: set[str] = set()
    for key in list(partial):
        if key in QUIET or rnd.random() > 0.4:
            continue
        if isinstance(partial[key], dict) and key != "organ_toxicity_ctcae" and rnd.random() < 0.5:
            for sub in list(partial[key]):
                if rnd.random() < 0.5:
                    del partial[key][sub]
                    removed.add(f"{key}.{sub}")
            continue
        del partial[key]
        removed.add(key)
    return partial, removed


def _check_refinement(scale: str, full: dict[str, Any], seed: int) -> None:
    _OPTION_SEED[0] = seed
    partial, removed = _remove(full, random.Random(seed))
    whole, part = _grade(scale, full), _grade(scale, partial)
    inside = part.floor <= whole.floor and whole.ceiling <= part.ceiling
    if inside:
        return
    # Outside the bounds only through an assumption the partial result declared.
    assert removed & SUPPLEMENTARY or "age_years" in removed or part.assumed, (partial, full)
    assert part.assumed, (scale, partial, full, part.to_dict(), whole.to_dict())


@SETTINGS
@given(data=crs_assessments(), scale=st.sampled_from(CRS_SCALES), seed=st.integers(0, 2**16))
def test_recording_a_missing_crs_field_stays_within_floor_and_ceiling(
    data: dict[str, Any], scale: str, seed: int
) -> None:
    _check_refinement(scale, data, seed)


@SETTINGS
@given(data=icans_assessments(), scale=st.sampled_from(ICANS_SCALES), seed=st.integers(0, 2**16))
def test_recording_a_missing_neuro_field_stays_within_floor_and_ceiling(
    data: dict[str, Any], scale: str, seed: int
) -> None:
    _check_refinement(scale, data, seed)


@SETTINGS
@given(
    data=st.one_of(crs_assessments(), icans_assessments()),
    scale=st.sampled_from(CRS_SCALES + ICANS_SCALES),
    seed=st.integers(0, 2**16),
)
def test_the_result_does_not_depend_on_field_order(
    data: dict[str, Any], scale: str, seed: int
) -> None:
    keys = list(data)
    random.Random(seed).shuffle(keys)
    shuffled = {k: data[k] for k in keys}
    assert _grade(scale, data).to_dict() == _grade(scale, shuffled).to_dict()


@SETTINGS
@given(
    data=st.one_of(crs_assessments(), icans_assessments()),
    scale=st.sampled_from(CRS_SCALES + ICANS_SCALES),
)
def test_status_agrees_with_floor_and_ceiling(data: dict[str, Any], scale: str) -> None:
    r = _grade(scale, data)
    assert r.floor <= r.ceiling
    if r.floor == r.ceiling:
        assert r.grade == r.floor and r.missing == ()
        assert r.status.value == ("graded" if r.grade >= 1 else "criteria_not_met")
    else:
        assert r.grade is None and r.status.value == "not_gradeable" and r.missing
