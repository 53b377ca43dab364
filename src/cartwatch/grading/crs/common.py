"""Readings shared by the CRS scales: fever, vasopressor load, oxygen, organ toxicity, death.

Each reading is defined once here and used by every scale that needs it, so a threshold such as
the Lee 2014 high-dose vasopressor table lives in one place (design.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from cartwatch.assessment import (
    Assessment,
    DeathCause,
    DoseRateUnit,
    Hypotension,
    OxygenDevice,
    Vasopressor,
    VasopressorAgent,
)
from cartwatch.grading.engine import (
    Column,
    Domain,
    Explain,
    Finding,
    Input,
    Options,
    Possible,
    TableScale,
    assumed_input,
    enum_input,
    flag_input,
    fmt,
    number_candidates,
    recorded,
)
from cartwatch.grading.registry import ScaleInfo, ScaleOption, Syndrome, register

# [LEE2019] Table 1 / ASTCT-CRS-01: fever is a temperature ≥38.0 °C.
FEVER_C = 38.0
TEMPERATURE_RANGE_C = (25.0, 45.0)
FIO2_RANGE = (0.21, 1.0)
# [LEE2014] Table 2: "O2 requirement <40%" (grade 2) vs "≥40%" (grade 3); also CARTOX, MSKCC, CTCAE.
FIO2_HIGH = 0.40

# [LEE2014] high-dose vasopressor table (Table 2 footnote); "all doses required for ≥3 h".
# UNVERIFIED (spec §10 item 3); the ≥3 h element is confirmed via MDCalc's reproduction.
HIGH_DOSE_MIN_HOURS = 3.0
HIGH_DOSE_NOREPINEPHRINE_MCG_MIN = 20.0  # [LEE2014] NE monotherapy ≥20 µg/min
HIGH_DOSE_DOPAMINE_MCG_KG_MIN = 10.0  # [LEE2014] dopamine monotherapy ≥10 µg/kg/min
HIGH_DOSE_PHENYLEPHRINE_MCG_MIN = 200.0  # [LEE2014] phenylephrine monotherapy ≥200 µg/min
HIGH_DOSE_EPINEPHRINE_MCG_MIN = 10.0  # [LEE2014] epinephrine monotherapy ≥10 µg/min
HIGH_DOSE_WITH_VASOPRESSIN_NE_EQ_MCG_MIN = 10.0  # [LEE2014] vasopressin + NE-equivalent ≥10
HIGH_DOSE_COMBINATION_NE_EQ_MCG_MIN = 20.0  # [LEE2014] combination (no vasopressin) NE-eq ≥20
# [LEE2014] NE equivalent = NE + dopamine/2 + epinephrine + phenylephrine/10
# UNVERIFIED (spec §10 item 3).
NE_EQ_DOPAMINE_DIVISOR = 2.0
NE_EQ_PHENYLEPHRINE_DIVISOR = 10.0

# Organ toxicities: CTCAE terms read as transaminitis (Lee/CARTOX "grade 4 transaminitis").
# Interpretation: transaminitis = ALT or AST increased.
TRANSAMINITIS_TERMS = frozenset({"alt_increased", "ast_increased"})

OXYGEN_GIVING = frozenset(OxygenDevice) - {OxygenDevice.NONE}
POSITIVE_PRESSURE_NONINVASIVE = frozenset({OxygenDevice.CPAP, OxygenDevice.BIPAP})


class VasopressorLoad(StrEnum):
    """Hypotension by treatment, with vasopressin counted as an agent (Lee 2014 counting)."""

    NONE = "none"
    FLUIDS = "fluids"
    LOW_SINGLE = "low_dose_single"
    HIGH_SINGLE = "high_dose_single"
    LOW_MULTIPLE = "low_dose_multiple"
    HIGH_MULTIPLE = "high_dose_multiple"

    @property
    def on_vasopressors(self) -> bool:
        return self not in (VasopressorLoad.NONE, VasopressorLoad.FLUIDS)

    @property
    def high_dose(self) -> bool:
        return self in (VasopressorLoad.HIGH_SINGLE, VasopressorLoad.HIGH_MULTIPLE)

    @property
    def multiple(self) -> bool:
        return self in (VasopressorLoad.LOW_MULTIPLE, VasopressorLoad.HIGH_MULTIPLE)


LOAD_WORDS = {
    VasopressorLoad.NONE: "no hypotension",
    VasopressorLoad.FLUIDS: "hypotension responsive to fluids",
    VasopressorLoad.LOW_SINGLE: "one vasopressor at low dose",
    VasopressorLoad.HIGH_SINGLE: "one vasopressor at high dose (≥3 h)",
    VasopressorLoad.LOW_MULTIPLE: "multiple vasopressors (vasopressin counted), low dose",
    VasopressorLoad.HIGH_MULTIPLE: "multiple vasopressors (vasopressin counted), high dose (≥3 h)",
}


# --------------------------------------------------------------------------------------------
# Fever and the presence of CRS
# --------------------------------------------------------------------------------------------

TEMPERATURE_CANDIDATES = number_candidates((FEVER_C,), *TEMPERATURE_RANGE_C)

temperature = Input(
    name="temperature_c",
    read=recorded("temperature_c", lambda a: a.temperature_c, TEMPERATURE_CANDIDATES),
    columns=(Column(path="temperature_c", kind="number", thresholds=(FEVER_C,)),),
)
fever_attributed = Input(
    name="attributed",
    read=assumed_input(
        "fever_attributable_to_other_cause",
        lambda a: a.fever_attributable_to_other_cause,
        default=False,
    ),
    columns=(Column(path="fever_attributable_to_other_cause", kind="bool"),),
)
crs_established = Input(
    name="established",
    read=flag_input("crs_previously_established", lambda a: a.crs_previously_established),
    columns=(Column(path="crs_previously_established", kind="bool"),),
)
clinician_diagnosis = Input(
    name="diagnosis",
    read=flag_input("clinician_diagnosis_crs", lambda a: a.clinician_diagnosis_crs),
    columns=(Column(path="clinician_diagnosis_crs", kind="bool"),),
)


# Levels of the CRS-presence domain (ordered: the combines are monotone in them).
CRS_ABSENT = 0
CRS_ESTABLISHED = 1  # established earlier, no fever now: graded by its grade 2-4 findings
CRS_DIAGNOSED = 2  # the clinician diagnoses CRS now, without fever
CRS_WITH_FEVER = 3


def fever_now(values: Mapping[str, Any]) -> bool:
    """Temperature ≥38.0 °C not attributed to another cause (ASTCT-CRS-01, C-1, C-5)."""
    return bool(values["temperature_c"] >= FEVER_C and not values["attributed"])


def crs_presence_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """For scales where CRS is a clinical diagnosis (Lee 2014, CARTOX, Penn, MSKCC, CTCAE).

    Interpretation: CRS is present with fever ≥38.0 °C not attributed to another cause, a
    clinician's diagnosis of CRS, or a CRS established earlier. Without fever, an unrecorded
    diagnosis leaves the grade open (these scales do not require fever; C-4). An established
    CRS without fever and without a current diagnosis is graded by its grade 2-4 findings only
    (as ASTCT's IMPL-CRS-MASKED-NOFEATURE: no current feature → 0).
    ``clinician_diagnosis_crs=false`` adds no evidence against a febrile patient's CRS (the
    fever is discounted only through ``fever_attributable_to_other_cause``).
    """
    t = values["temperature_c"]
    if fever_now(values):
        return Finding(CRS_WITH_FEVER, f"fever {fmt(t)} °C (≥{FEVER_C} °C)")
    if values["diagnosis"] is True:
        return Finding(CRS_DIAGNOSED, "CRS diagnosed clinically, no fever now")
    if values["established"]:
        return Finding(CRS_ESTABLISHED, "CRS previously established (fever not required)")
    if values["attributed"] and t >= FEVER_C:
        return Finding(0, f"fever {fmt(t)} °C attributed to another cause → CRS criteria not met")
    return Finding(0, f"no fever ({fmt(t)} °C < {FEVER_C} °C) and no CRS diagnosis → not met")


crs_presence = Domain(
    name="crs_present",
    inputs=(temperature, fever_attributed, clinician_diagnosis, crs_established),
    rule=crs_presence_rule,
)


def gated_most_severe(levels: Mapping[str, int], options: Options) -> int:
    """CRS absent → 0; death from CRS → 5; else the most severe domain, at least grade 1.

    For Lee 2014, Penn and MSKCC, grade 1 is any mild CRS (fever is an example, not a need): a
    fever or a clinician's diagnosis gives at least grade 1; an established CRS alone is graded
    by its other findings.
    """
    if levels.get("death", 0) == 5:
        return 5
    gate = levels["crs_present"]
    if gate == CRS_ABSENT:
        return 0
    others = max(lv for name, lv in levels.items() if name != "crs_present")
    return max(1, others) if gate >= CRS_DIAGNOSED else others


def fever_gated_most_severe(levels: Mapping[str, int], options: Options) -> int:
    """As :func:`gated_most_severe`, but grade 1 needs fever (CARTOX, CTCAE v5).

    [NEELAPU2018] grade 1 = temperature ≥38 °C (or grade 1 organ toxicity, its own domain);
    [CTCAE5] grade 1 = "fever with or without constitutional symptoms". Without fever, CRS
    (clinically diagnosed or established) is graded by its grade 2-4 findings only.
    """
    if levels.get("death", 0) == 5:
        return 5
    gate = levels["crs_present"]
    if gate == CRS_ABSENT:
        return 0
    others = max(lv for name, lv in levels.items() if name != "crs_present")
    return max(1, others) if gate >= CRS_WITH_FEVER else others


def gated_explain(grade1_words: str) -> Explain:
    """Drivers for a gated CRS scale: why CRS is (not) present, then what set the grade.

    ``grade1_words`` is the scale's own grade-1 description.
    """

    def explain(grade: int, known: Mapping[str, Finding], options: Options) -> tuple[str, ...]:
        gate = known.get("crs_present")
        lines = [gate.says] if gate is not None and gate.says else []
        if grade == 1:
            lines.append(f"{grade1_words} → grade 1")
        elif grade > 1:
            lines.extend(
                f.says for n, f in known.items() if n != "crs_present" and f.level == grade
            )
        elif gate is not None and gate.level in (CRS_ESTABLISHED, CRS_DIAGNOSED):
            lines.append("no fever and no current grade-defining finding → criteria not met")
        return tuple(lines)

    return explain


def register_table_scale(
    scale: TableScale,
    *,
    title: str,
    syndrome: Syndrome,
    reference_keys: tuple[str, ...],
    options: tuple[ScaleOption, ...] = (),
) -> ScaleInfo:
    """Register a table-shaped scale; its inputs are the contract fields its domains declare."""
    inputs = tuple(dict.fromkeys(c.path for d in scale.domains for c in d.columns))
    return register(
        ScaleInfo(
            id=scale.id,
            title=title,
            syndrome=syndrome,
            kind="grade",
            reference_keys=reference_keys,
            evaluate=scale.evaluate,
            options=options,
            inputs=inputs,
        )
    )


# --------------------------------------------------------------------------------------------
# Death
# --------------------------------------------------------------------------------------------


def death_domain(cause: DeathCause, rule_id: str) -> Domain:
    """Grade 5: death due to the syndrome (``rule_id`` names the source rule)."""

    def rule(values: Mapping[str, Any], options: Options) -> Finding:
        if values["death"] is cause:
            return Finding(5, f"death due to {cause.value} → grade 5 ({rule_id})")
        return Finding(0)

    return Domain(
        name="death",
        inputs=(
            Input(
                name="death",
                read=assumed_input("death_due_to", lambda a: a.death_due_to, default=None),
                columns=(Column(path="death_due_to", kind="enum", enum=DeathCause),),
            ),
        ),
        rule=rule,
    )


# --------------------------------------------------------------------------------------------
# Vasopressors
# --------------------------------------------------------------------------------------------


def _rate(v: Vasopressor, weight_kg: float | None, per_kg: bool) -> float | None:
    """The agent's dose in µg/min (``per_kg`` False) or µg/kg/min (True), or None if unknown."""
    if v.dose is None or v.unit is None:
        return None
    if v.unit is DoseRateUnit.U_MIN:
        return None
    if v.unit is DoseRateUnit.MCG_KG_MIN:
        if per_kg:
            return v.dose
        return None if weight_kg is None else v.dose * weight_kg
    if per_kg:
        return None if weight_kg is None else v.dose / weight_kg
    return v.dose


def high_dose(
    agents: tuple[Vasopressor, ...], weight_kg: float | None
) -> tuple[bool | None, tuple[str, ...]]:
    """Whether the agents meet the Lee 2014 high-dose table (all for ≥3 h), and what is missing.

    Returns (True/False, ()) when decided, or (None, missing paths) when a dose, unit, duration
    or the weight needed to convert µg/kg/min is not recorded. [LEE2014] high-dose table.
    """
    if any(v.duration_h is None for v in agents):
        return None, ("vasopressors[].duration_h",)
    if any(v.duration_h is not None and v.duration_h < HIGH_DOSE_MIN_HOURS for v in agents):
        return False, ()
    kinds = {v.agent for v in agents}
    with_vasopressin = VasopressorAgent.VASOPRESSIN in kinds
    others = [v for v in agents if v.agent is not VasopressorAgent.VASOPRESSIN]
    if not others:
        # Interpretation: vasopressin alone has no high-dose row in the table → not high dose.
        return False, ()
    ne_eq = 0.0
    for v in others:
        per_kg = v.agent is VasopressorAgent.DOPAMINE
        rate = _rate(v, weight_kg, per_kg)
        if rate is None:
            missing: tuple[str, ...] = ("vasopressors[].dose", "vasopressors[].unit")
            if v.unit is not None and v.dose is not None:
                missing = ("weight_kg",)
            return None, missing
        if v.agent is VasopressorAgent.NOREPINEPHRINE:
            ne_eq += rate
        elif v.agent is VasopressorAgent.DOPAMINE:
            ne_eq += rate / NE_EQ_DOPAMINE_DIVISOR
        elif v.agent is VasopressorAgent.EPINEPHRINE:
            ne_eq += rate
        elif v.agent is VasopressorAgent.PHENYLEPHRINE:
            ne_eq += rate / NE_EQ_PHENYLEPHRINE_DIVISOR
    if with_vasopressin:
        return ne_eq >= HIGH_DOSE_WITH_VASOPRESSIN_NE_EQ_MCG_MIN, ()
    if len(others) > 1:
        return ne_eq >= HIGH_DOSE_COMBINATION_NE_EQ_MCG_MIN, ()
    single = others[0]
    rate = _rate(single, weight_kg, single.agent is VasopressorAgent.DOPAMINE)
    assert rate is not None
    limits = {
        VasopressorAgent.NOREPINEPHRINE: HIGH_DOSE_NOREPINEPHRINE_MCG_MIN,
        VasopressorAgent.DOPAMINE: HIGH_DOSE_DOPAMINE_MCG_KG_MIN,
        VasopressorAgent.PHENYLEPHRINE: HIGH_DOSE_PHENYLEPHRINE_MCG_MIN,
        VasopressorAgent.EPINEPHRINE: HIGH_DOSE_EPINEPHRINE_MCG_MIN,
    }
    return rate >= limits[single.agent], ()


def _loads(multiple: bool | None, high: bool | None) -> tuple[VasopressorLoad, ...]:
    out = []
    for m in (False, True) if multiple is None else (multiple,):
        for h in (False, True) if high is None else (high,):
            if m:
                out.append(VasopressorLoad.HIGH_MULTIPLE if h else VasopressorLoad.LOW_MULTIPLE)
            else:
                out.append(VasopressorLoad.HIGH_SINGLE if h else VasopressorLoad.LOW_SINGLE)
    return tuple(out)


def read_vasopressor_load(a: Assessment, options: Options) -> Possible:
    """The vasopressor load (Lee counting: vasopressin is an agent), from the list or the enum."""
    if a.vasopressors:
        agents = a.vasopressors
        multiple = len({v.agent for v in agents}) >= 2
        high, missing = high_dose(agents, a.weight_kg)
        return Possible(values=_loads(multiple, high), missing=missing)
    hyp = a.hypotension
    if hyp is None:
        if a.vasopressors is not None:  # an empty list: no vasopressor, hypotension unknown
            return Possible(
                values=(VasopressorLoad.NONE, VasopressorLoad.FLUIDS), missing=("hypotension",)
            )
        return Possible(values=tuple(VasopressorLoad), missing=("hypotension",))
    if hyp is Hypotension.NONE:
        return Possible(values=(VasopressorLoad.NONE,))
    if hyp is Hypotension.FLUID_RESPONSIVE:
        return Possible(values=(VasopressorLoad.FLUIDS,))
    dose_missing = ("vasopressors",)
    if hyp is Hypotension.VASOPRESSIN_ONLY:
        return Possible(values=(VasopressorLoad.LOW_SINGLE,))
    if hyp is Hypotension.VASOPRESSOR_MULTIPLE:
        return Possible(values=_loads(True, None), missing=dose_missing)
    if hyp is Hypotension.VASOPRESSOR_SINGLE:
        vasopressin = a.vasopressin
        missing = dose_missing if vasopressin is not None else ("vasopressin", *dose_missing)
        return Possible(values=_loads(vasopressin, None), missing=missing)
    return Possible(values=_loads(None, None), missing=dose_missing)


VASOPRESSOR_COLUMNS = (
    Column(path="hypotension", kind="enum", enum=Hypotension),
    Column(path="vasopressin", kind="bool"),
    Column(path="vasopressors", kind="absent"),
    Column(path="weight_kg", kind="number"),
)
vasopressor_load = Input(
    name="load",
    read=read_vasopressor_load,
    columns=VASOPRESSOR_COLUMNS,
)


def read_vasopressor_hours(a: Assessment, options: Options) -> Possible:
    """Hours on vasopressors (the longest agent), for MSKCC's <24 h / ≥24 h rule."""
    candidates = number_candidates((24.0,), 0.0, 8760.0)
    if a.vasopressors:
        durations = [v.duration_h for v in a.vasopressors]
        if all(d is not None for d in durations):
            return Possible(values=(max(d for d in durations if d is not None),))
        return Possible(values=candidates, missing=("vasopressors[].duration_h",))
    return Possible(values=candidates, missing=("vasopressors",))


vasopressor_hours = Input(
    name="hours",
    read=read_vasopressor_hours,
    columns=(Column(path="vasopressors", kind="absent"),),
)


# --------------------------------------------------------------------------------------------
# Oxygen
# --------------------------------------------------------------------------------------------

oxygen_device = Input(
    name="device",
    read=enum_input("oxygen.device", lambda a: a.oxygen.device if a.oxygen else None, OxygenDevice),
    columns=(Column(path="oxygen.device", kind="enum", enum=OxygenDevice),),
)
FIO2_CANDIDATES = number_candidates((FIO2_HIGH,), *FIO2_RANGE)
oxygen_fio2 = Input(
    name="fio2",
    read=recorded("oxygen.fio2", lambda a: a.oxygen.fio2 if a.oxygen else None, FIO2_CANDIDATES),
    columns=(Column(path="oxygen.fio2", kind="number", thresholds=(FIO2_HIGH,)),),
)


def fio2_rule(
    *, niv_is_ventilation: bool, ventilation_grade: int, low_grade: int = 2, high_grade: int = 3
) -> Any:
    """Hypoxia graded by FiO2 (<40% / ≥40%) and ventilator support ([LEE2014] Table 2)."""

    def rule(values: Mapping[str, Any], options: Options) -> Finding:
        device: OxygenDevice = values["device"]
        fio2: float = values["fio2"]
        if device is OxygenDevice.NONE:
            return Finding(0, "no supplemental oxygen")
        if device is OxygenDevice.MECHANICAL_VENTILATION or (
            niv_is_ventilation and device in POSITIVE_PRESSURE_NONINVASIVE
        ):
            return Finding(
                ventilation_grade,
                f"ventilator support ({device.value}) → grade {ventilation_grade}",
            )
        if fio2 >= FIO2_HIGH:
            return Finding(high_grade, f"FiO2 {fmt(fio2)} ≥ {FIO2_HIGH} → grade {high_grade}")
        return Finding(low_grade, f"FiO2 {fmt(fio2)} < {FIO2_HIGH} → grade {low_grade}")

    return rule


NIV_OPTION_CHOICES = ("no", "yes")


# --------------------------------------------------------------------------------------------
# Organ toxicity (CTCAE grades), supplementary: absent = none charted
# --------------------------------------------------------------------------------------------

OrganItems = tuple[tuple[str, int], ...]
ORGAN_ALTERNATIVES: tuple[OrganItems, ...] = tuple(
    ((term, g),)
    for term in ("creatinine_increased", "alt_increased", "unspecified_organ_toxicity")
    for g in (1, 2, 3, 4)
)


def _organ_items(a: Assessment) -> OrganItems | None:
    if a.organ_toxicity_ctcae is None:
        return None
    return tuple(sorted(a.organ_toxicity_ctcae.items()))


organ_toxicity = Input(
    name="organ",
    read=assumed_input(
        "organ_toxicity_ctcae",
        _organ_items,
        default=(),
        alternatives=ORGAN_ALTERNATIVES,
        note="organ_toxicity_ctcae not recorded: taken as no organ toxicity; a charted CTCAE "
        "organ toxicity could raise this grade",
    ),
    columns=(Column(path="organ_toxicity_ctcae", kind="absent"),),
)


def organ_contribution(items: OrganItems, *, grade4_transaminitis: int) -> tuple[int, str]:
    """Lee 2014 / CARTOX organ row: the worst contribution over the charted terms.

    Grade 1–3 organ toxicity contributes its grade; grade 4 contributes 4, except transaminitis,
    which contributes ``grade4_transaminitis`` ([LEE2014] Table 2; [NEELAPU2018] Table 2).
    """
    best = (0, "")
    for term, g in items:
        if g == 0:
            continue
        if g == 4 and term in TRANSAMINITIS_TERMS:
            level, says = grade4_transaminitis, f"grade 4 transaminitis ({term})"
        else:
            level, says = g, f"grade {g} organ toxicity ({term})"
        if level > best[0]:
            best = (level, f"{says} → grade {level}")
    return best


def life_threatening_input(note: str) -> Input:
    """The clinician's "life-threatening consequences; urgent intervention indicated" flag."""
    return Input(
        name="life_threatening",
        read=assumed_input(
            "crs_life_threatening",
            lambda a: a.crs_life_threatening,
            default=False,
            alternatives=(True,),
            note=note,
        ),
        columns=(Column(path="crs_life_threatening", kind="bool"),),
    )


def organ_toxicity_ignored(a: Assessment, rule: str) -> tuple[str, ...]:
    """Charted organ toxicities listed as ignored by a scale that excludes them."""
    if not a.organ_toxicity_ctcae:
        return ()
    charted = ", ".join(f"{t} grade {g}" for t, g in sorted(a.organ_toxicity_ctcae.items()))
    return (f"organ toxicity ({charted}): graded by CTCAE, does not change this grade ({rule})",)
