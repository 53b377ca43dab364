"""ASTCT 2019 consensus grading of cytokine release syndrome (scale id ``astct_crs``).

Fever ≥38.0 °C (or, once CRS is established and antipyretic or anti-cytokine therapy has been
given, no fever needed) with the grade set by the more severe of hypotension and hypoxia.
Vasopressin never counts toward "multiple vasopressors"; oxygen is graded by device and flow;
organ toxicities do not influence the grade.

References: [LEE2019] Lee DW, Santomasso BD, Locke FL, et al. Biol Blood Marrow Transplant
2019;25(4):625-638, Table 1 and its footnotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import Assessment, DeathCause, Hypotension, OxygenDevice, VasopressorAgent
from cartwatch.grading.crs.common import (
    FEVER_C,
    TRANSAMINITIS_TERMS,
    crs_established,
    death_domain,
    fever_attributed,
    fever_now,
    organ_toxicity,
    organ_toxicity_ignored,
    oxygen_device,
    register_table_scale,
    temperature,
)
from cartwatch.grading.engine import (
    Column,
    Domain,
    Finding,
    Input,
    Options,
    Possible,
    TableScale,
    flag_input,
    fmt,
)
from cartwatch.grading.registry import ScaleOption
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "astct_crs"

# [LEE2019] Table 1 footnote: low-flow nasal cannula is ≤6 L/min; high-flow is >6 L/min.
LOW_FLOW_MAX_L_MIN = 6.0

MASKED_FEVER_OPTION = ScaleOption(
    name="masked_fever_trigger",
    default="antipyretic_or_anticytokine",
    choices=("antipyretic_or_anticytokine", "tocilizumab_or_steroids"),
    meaning="D10: fever stops being required after 'antipyretic or anticytokine therapy such as "
    "tocilizumab or steroids' (ASTCT wording, default) or only after tocilizumab or steroids "
    "(SITC 2020 wording; reads anticytokine_agents)",
)
VASOPRESSIN_OPTION = ScaleOption(
    name="vasopressin_counts_as_vasopressor",
    default="no",
    choices=("no", "yes"),
    meaning="D9: ASTCT excludes vasopressin when counting 'multiple vasopressors' (default no); "
    "yes counts it as Lee 2014 does",
)
NIV_OPTION = ScaleOption(
    name="niv_grade",
    default="4",
    choices=("4", "3"),
    meaning="D6: CPAP/BiPAP are positive pressure, grade 4 (ASTCT, default); 3 follows the seed "
    "001 table's grade-3 row (non-invasive ventilation)",
)
ORGAN_OPTION = ScaleOption(
    name="organ_toxicity_rule",
    default="excluded",
    choices=("excluded", "sitc2020"),
    meaning="D7/D19: organ toxicities do not influence the ASTCT grade (default); sitc2020 adds "
    "the SITC 2020 table's examples (grade 2 creatinine or grade 3 transaminitis → 2; grade 3 "
    "creatinine or grade 4 transaminitis → 3; grade 4 organ toxicity → 4)",
)
STEROID_OR_TOCILIZUMAB = frozenset(
    {
        "tocilizumab",
        "siltuximab",
        "dexamethasone",
        "methylprednisolone",
        "prednisone",
        "prednisolone",
        "hydrocortisone",
        "steroid",
        "steroids",
        "corticosteroid",
        "corticosteroids",
    }
)

# Gate levels of the fever domain.
NO_FEVER = 0
MASKED_FEVER = 1  # ASTCT-CRS-02: established CRS after antipyretic/anti-cytokine therapy
FEVER = 2

_antipyretic_flag = flag_input(
    "antipyretic_or_anticytokine_given", lambda a: a.antipyretic_or_anticytokine_given
)


def read_masking_treatment(a: Assessment, options: Options) -> Possible:
    """Whether treatment given since CRS onset lifts the fever requirement (ASTCT-CRS-02, D10)."""
    if options["masked_fever_trigger"] == "antipyretic_or_anticytokine":
        return _antipyretic_flag(a, options)
    if a.anticytokine_agents is not None:
        agents = {x.strip().lower() for x in a.anticytokine_agents}
        return Possible(values=(bool(agents & STEROID_OR_TOCILIZUMAB),))
    if a.antipyretic_or_anticytokine_given is False:
        return Possible(values=(False,))
    return Possible(values=(False, True), missing=("anticytokine_agents",))


antipyretic_given = Input(
    name="antipyretic",
    read=read_masking_treatment,
    columns=(
        Column(path="antipyretic_or_anticytokine_given", kind="bool"),
        Column(path="anticytokine_agents", kind="absent"),
    ),
)


def fever_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """ASTCT-CRS-01/02: fever now, or masked fever in established CRS after treatment."""
    t = values["temperature_c"]
    if fever_now(values):
        return Finding(FEVER, f"fever {fmt(t)} °C (≥{FEVER_C} °C, ASTCT-CRS-01)")
    if values["established"] and values["antipyretic"]:
        return Finding(
            MASKED_FEVER,
            "fever not required: CRS established and antipyretic or anti-cytokine therapy "
            "given (ASTCT-CRS-02)",
        )
    if values["attributed"] and t >= FEVER_C:
        return Finding(
            NO_FEVER,
            f"fever {fmt(t)} °C attributed to another cause (C-5) → CRS criteria not met",
        )
    return Finding(NO_FEVER, f"no fever ({fmt(t)} °C < {FEVER_C} °C) → CRS criteria not met")


def read_hypotension(a: Assessment, options: Options) -> Possible:
    """ASTCT hypotension class; a recorded vasopressor list decides the count.

    Vasopressin is left out of the count (ASTCT) unless ``vasopressin_counts_as_vasopressor``.
    """
    counts_vasopressin = options["vasopressin_counts_as_vasopressor"] == "yes"
    if a.vasopressors:
        kinds = {v.agent for v in a.vasopressors}
        others = kinds - {VasopressorAgent.VASOPRESSIN}
        counted = kinds if counts_vasopressin else others
        if not others:
            return Possible(values=(Hypotension.VASOPRESSIN_ONLY,))
        if len(counted) == 1:
            return Possible(values=(Hypotension.VASOPRESSOR_SINGLE,))
        return Possible(values=(Hypotension.VASOPRESSOR_MULTIPLE,))
    hyp = a.hypotension
    if hyp is None:
        options_left = tuple(
            h for h in Hypotension if h is not Hypotension.VASOPRESSOR_COUNT_UNKNOWN
        )
        if a.vasopressors is not None:
            options_left = (Hypotension.NONE, Hypotension.FLUID_RESPONSIVE)
        return Possible(values=options_left, missing=("hypotension",))
    if hyp is Hypotension.VASOPRESSOR_COUNT_UNKNOWN:
        return Possible(
            values=(Hypotension.VASOPRESSOR_SINGLE, Hypotension.VASOPRESSOR_MULTIPLE),
            missing=("vasopressors",),
        )
    if counts_vasopressin and hyp is Hypotension.VASOPRESSOR_SINGLE:
        if a.vasopressin is None:
            return Possible(
                values=(Hypotension.VASOPRESSOR_SINGLE, Hypotension.VASOPRESSOR_MULTIPLE),
                missing=("vasopressin",),
            )
        if a.vasopressin:
            return Possible(values=(Hypotension.VASOPRESSOR_MULTIPLE,))
    return Possible(values=(hyp,))


HYPOTENSION_GRADE = {  # [LEE2019] Table 1, hypotension row
    Hypotension.NONE: 0,
    Hypotension.FLUID_RESPONSIVE: 2,  # "not requiring vasopressors"
    Hypotension.VASOPRESSOR_SINGLE: 3,  # "a vasopressor with or without vasopressin"
    # Interpretation (IMPL-CRS-VASOPRESSIN-ALONE): vasopressin monotherapy is "a vasopressor".
    Hypotension.VASOPRESSIN_ONLY: 3,
    Hypotension.VASOPRESSOR_MULTIPLE: 4,  # "multiple vasopressors (excluding vasopressin)"
}
HYPOTENSION_WORDS = {
    Hypotension.NONE: "no hypotension",
    Hypotension.FLUID_RESPONSIVE: "hypotension not requiring vasopressors",
    Hypotension.VASOPRESSOR_SINGLE: "hypotension requiring one vasopressor (± vasopressin)",
    Hypotension.VASOPRESSIN_ONLY: "hypotension requiring vasopressin alone",
    Hypotension.VASOPRESSOR_MULTIPLE: "hypotension requiring multiple vasopressors "
    "(vasopressin excluded)",
}


def hypotension_rule(values: Mapping[str, Any], options: Options) -> Finding:
    hyp: Hypotension = values["hypotension"]
    grade = HYPOTENSION_GRADE[hyp]
    return Finding(grade, f"{HYPOTENSION_WORDS[hyp]} → grade {grade}" if grade else "")


def hypoxia_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[LEE2019] Table 1 hypoxia row and its flow footnote (ASTCT-CRS-04)."""
    device: OxygenDevice = values["device"]
    flow: float | None = values["flow"]
    flow_words = "" if flow is None else f" {fmt(flow)} L/min"
    if device is OxygenDevice.NONE:
        return Finding(0, "")
    if device is OxygenDevice.BLOW_BY:
        return Finding(2, f"hypoxia: blow-by oxygen{flow_words} (low flow) → grade 2")
    if device in (OxygenDevice.LOW_FLOW_NASAL_CANNULA, OxygenDevice.HIGH_FLOW_NASAL_CANNULA):
        if flow is not None:
            if flow <= LOW_FLOW_MAX_L_MIN:
                return Finding(
                    2,
                    f"hypoxia: nasal cannula{flow_words} (≤{LOW_FLOW_MAX_L_MIN} L/min, low flow) "
                    "→ grade 2",
                )
            return Finding(
                3,
                f"hypoxia: nasal cannula{flow_words} (>{LOW_FLOW_MAX_L_MIN} L/min, high flow) "
                "→ grade 3",
            )
        if device is OxygenDevice.LOW_FLOW_NASAL_CANNULA:
            return Finding(2, "hypoxia: low-flow nasal cannula → grade 2")
        return Finding(3, "hypoxia: high-flow nasal cannula → grade 3")
    if device in (OxygenDevice.FACEMASK, OxygenDevice.NON_REBREATHER, OxygenDevice.VENTURI):
        return Finding(3, f"hypoxia: {device.value.replace('_', ' ')}{flow_words} → grade 3")
    grade = (
        3
        if options["niv_grade"] == "3" and device is not OxygenDevice.MECHANICAL_VENTILATION
        else 4
    )
    return Finding(
        grade, f"hypoxia: positive pressure ({device.value.replace('_', ' ')}) → grade {grade}"
    )


oxygen_flow = Input(
    name="flow",
    read=lambda a, options: Possible(values=(a.oxygen.flow_l_min if a.oxygen else None,)),
    columns=(Column(path="oxygen.flow_l_min", kind="number", thresholds=(LOW_FLOW_MAX_L_MIN,)),),
)

SITC_CREATININE_TERMS = frozenset({"creatinine_increased", "acute_kidney_injury"})


def organ_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """D19: the SITC 2020 CRS table's organ-toxicity examples, when selected (default: none)."""
    if options["organ_toxicity_rule"] == "excluded":
        return Finding(0, "")
    best = Finding(0, "")
    for term, g in values["organ"]:
        level = 0
        if g == 4 and term not in TRANSAMINITIS_TERMS:
            level = 4
        elif term in SITC_CREATININE_TERMS and g in (2, 3):
            level = g
        elif term in TRANSAMINITIS_TERMS and g in (3, 4):
            level = g - 1
        if level > best.level:
            best = Finding(level, f"grade {g} {term} (SITC 2020 table) → grade {level}")
    return best


DOMAINS = (
    Domain(
        name="fever",
        inputs=(temperature, fever_attributed, crs_established, antipyretic_given),
        rule=fever_rule,
    ),
    Domain(
        name="hypotension",
        inputs=(
            Input(
                name="hypotension",
                read=read_hypotension,
                columns=(
                    Column(path="hypotension", kind="enum", enum=Hypotension),
                    Column(path="vasopressin", kind="bool"),
                    Column(path="vasopressors", kind="absent"),
                ),
            ),
        ),
        rule=hypotension_rule,
    ),
    Domain(name="hypoxia", inputs=(oxygen_device, oxygen_flow), rule=hypoxia_rule),
    Domain(name="organ", inputs=(organ_toxicity,), rule=organ_rule),
    death_domain(DeathCause.CRS, "ASTCT-CRS-06"),
)


def combine(levels: Mapping[str, int], options: Options) -> int:
    """[LEE2019] Table 1: fever gates; the more severe of hypotension and hypoxia sets the grade.

    Interpretation (IMPL-CRS-MASKED-NOFEATURE): masked fever with neither hypotension nor
    hypoxia defines no grade → 0.
    """
    if levels["death"] == 5:
        return 5
    gate = levels["fever"]
    if gate == NO_FEVER:
        return 0
    worst = max(levels["hypotension"], levels["hypoxia"], levels["organ"])
    return max(1, worst) if gate >= FEVER else worst


def explain(grade: int, known: Mapping[str, Finding], options: Options) -> tuple[str, ...]:
    fever = known.get("fever")
    if grade == 5:
        return tuple(f.says for f in known.values() if f.level == 5)
    lines = [fever.says] if fever is not None and fever.says else []
    if grade == 0:
        if fever is not None and fever.level == MASKED_FEVER:
            lines.append("no hypotension and no hypoxia → no grade-defining feature")
        return tuple(lines)
    setting = [
        f.says
        for n, f in known.items()
        if n in ("hypotension", "hypoxia", "organ") and f.level == grade
    ]
    if setting:
        lines.extend(setting)
    else:
        lines.append("no hypotension, no hypoxia → grade 1")
    return tuple(lines)


def ignored(a: Assessment, options: Options) -> tuple[str, ...]:
    if options["organ_toxicity_rule"] == "sitc2020":
        return ()
    return organ_toxicity_ignored(a, "ASTCT-CRS-05")


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("LEE2019"),
    domains=DOMAINS,
    combine=combine,
    explain=explain,
    ignored=ignored,
)


OPTIONS = (MASKED_FEVER_OPTION, VASOPRESSIN_OPTION, NIV_OPTION, ORGAN_OPTION)
DEFAULTS = {o.name: o.default for o in OPTIONS}


def grade_crs(assessment: Assessment, **options: str) -> GradeResult:
    """Grade CRS by the ASTCT 2019 consensus ([LEE2019] Table 1); options select D6/D7/D9/D10."""
    return SCALE.evaluate(assessment, {**DEFAULTS, **options})


register_table_scale(
    SCALE,
    title="ASTCT 2019 consensus CRS grade",
    syndrome="crs",
    reference_keys=("LEE2019",),
    options=OPTIONS,
)
