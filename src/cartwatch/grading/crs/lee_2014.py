"""Lee 2014 CRS grading, the "NCI consensus" (scale id ``lee2014_crs``).

CRS is a clinical diagnosis (fever is a grade-1 example, not a requirement). Grade 2: O2 <40%,
hypotension responsive to fluids or one low-dose vasopressor, or grade 2 organ toxicity; grade 3:
O2 ≥40%, high-dose or multiple vasopressors (vasopressin counted), grade 3 organ toxicity or
grade 4 transaminitis; grade 4: ventilator support or grade 4 organ toxicity (not transaminitis).

References: [LEE2014] Lee DW, Gardner R, Porter DL, et al. Blood 2014;124(2):188-195, Table 2
and the high-dose vasopressor footnote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import Assessment, DeathCause
from cartwatch.grading.crs.common import (
    LOAD_WORDS,
    NIV_OPTION_CHOICES,
    VasopressorLoad,
    crs_presence,
    death_domain,
    fio2_rule,
    gated_explain,
    gated_most_severe,
    life_threatening_input,
    organ_contribution,
    organ_toxicity,
    oxygen_device,
    oxygen_fio2,
    register_table_scale,
    vasopressor_load,
)
from cartwatch.grading.engine import Domain, Finding, Options, TableScale
from cartwatch.grading.registry import ScaleOption
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "lee2014_crs"

NIV_OPTION = ScaleOption(
    name="niv_is_ventilator_support",
    default="no",
    choices=NIV_OPTION_CHOICES,
    meaning="whether CPAP/BiPAP count as 'ventilator support' (grade 4); Lee 2014 does not say "
    "(interpretation: default invasive ventilation only)",
)

LOAD_GRADE = {  # [LEE2014] Table 2 hypotension cells
    VasopressorLoad.NONE: 0,
    VasopressorLoad.FLUIDS: 2,  # "hypotension responsive to fluids"
    VasopressorLoad.LOW_SINGLE: 2,  # "or low dose of one vasopressor"
    VasopressorLoad.HIGH_SINGLE: 3,  # "high-dose ... vasopressors"
    VasopressorLoad.LOW_MULTIPLE: 3,  # "or multiple vasopressors"
    VasopressorLoad.HIGH_MULTIPLE: 3,
}


def hypotension_rule(values: Mapping[str, Any], options: Options) -> Finding:
    load: VasopressorLoad = values["load"]
    grade = LOAD_GRADE[load]
    return Finding(grade, f"{LOAD_WORDS[load]} → grade {grade}" if grade else "")


def organ_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[LEE2014] Table 2: grade 2/3 organ toxicity → 2/3; grade 4 → 4 except transaminitis → 3."""
    level, says = organ_contribution(values["organ"], grade4_transaminitis=3)
    return Finding(level, says)


def life_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[LEE2014] Table 2 grade 4: "life-threatening symptoms" (the clinician's judgement)."""
    if values["life_threatening"]:
        return Finding(4, "life-threatening symptoms → grade 4")
    return Finding(0, "")


def _hypoxia(values: Mapping[str, Any], options: Options) -> Finding:
    rule = fio2_rule(
        niv_is_ventilation=options["niv_is_ventilator_support"] == "yes", ventilation_grade=4
    )
    finding: Finding = rule(values, options)
    return finding


DOMAINS = (
    crs_presence,
    Domain(name="hypotension", inputs=(vasopressor_load,), rule=hypotension_rule),
    Domain(name="hypoxia", inputs=(oxygen_device, oxygen_fio2), rule=_hypoxia),
    Domain(name="organ", inputs=(organ_toxicity,), rule=organ_rule),
    Domain(
        name="life_threatening",
        inputs=(life_threatening_input("crs_life_threatening not recorded: taken as no"),),
        rule=life_rule,
    ),
    death_domain(DeathCause.CRS, "Lee 2014 grade 5"),
)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("LEE2014"),
    domains=DOMAINS,
    combine=gated_most_severe,
    explain=gated_explain("symptoms only, no grade 2-4 criterion"),
)


def grade_crs(assessment: Assessment, *, niv_is_ventilator_support: str = "no") -> GradeResult:
    """Grade CRS by Lee 2014 ([LEE2014] Table 2)."""
    return SCALE.evaluate(assessment, {"niv_is_ventilator_support": niv_is_ventilator_support})


register_table_scale(
    SCALE,
    title="Lee 2014 (NCI consensus) CRS grade",
    syndrome="crs",
    reference_keys=("LEE2014",),
    options=(NIV_OPTION,),
)
