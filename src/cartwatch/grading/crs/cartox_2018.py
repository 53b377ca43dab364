"""CARTOX CRS grading (scale id ``cartox_crs``), MD Anderson 2018.

Grade 1: temperature ≥38 °C or grade 1 organ toxicity. Grade 2: hypotension responding to fluids
or a low-dose vasopressor, FiO2 <40%, grade 2 organ toxicity. Grade 3: high-dose or multiple
vasopressors, FiO2 ≥40%, grade 3 organ toxicity or grade 4 transaminitis. Grade 4: life-threatening
hypotension, ventilator support, grade 4 organ toxicity except transaminitis. High-dose vasopressors
follow the Lee 2014 table.

References: [NEELAPU2018] Neelapu SS, Tummala S, Kebriaei P, et al. Nat Rev Clin Oncol
2018;15(1):47-62, Table 2 (CRS grading); [LEE2014] high-dose vasopressor table.
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
    fever_gated_most_severe,
    fio2_rule,
    gated_explain,
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

SCALE_ID = "cartox_crs"

NIV_OPTION = ScaleOption(
    name="niv_is_ventilator_support",
    default="no",
    choices=NIV_OPTION_CHOICES,
    meaning="whether CPAP/BiPAP count as 'needs ventilator support' (grade 4); default invasive "
    "ventilation only (interpretation)",
)

LOAD_GRADE = {  # [NEELAPU2018] Table 2 hypotension row (SBP <90 mmHg)
    VasopressorLoad.NONE: 0,
    VasopressorLoad.FLUIDS: 2,  # "responds to IV fluids"
    VasopressorLoad.LOW_SINGLE: 2,  # "or low-dose vasopressor"
    VasopressorLoad.HIGH_SINGLE: 3,  # "needs high-dose ... vasopressors"
    VasopressorLoad.LOW_MULTIPLE: 3,  # "or multiple vasopressors"
    VasopressorLoad.HIGH_MULTIPLE: 3,
}


def hypotension_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[NEELAPU2018]: grade 4 when the hypotension is life-threatening (clinician's flag)."""
    load: VasopressorLoad = values["load"]
    if load is not VasopressorLoad.NONE and values["life_threatening"]:
        return Finding(4, f"life-threatening hypotension ({LOAD_WORDS[load]}) → grade 4")
    grade = LOAD_GRADE[load]
    return Finding(grade, f"{LOAD_WORDS[load]} → grade {grade}" if grade else "")


def organ_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[NEELAPU2018] organ toxicity row: 1→1, 2→2, 3 or grade 4 transaminitis →3, other 4→4."""
    level, says = organ_contribution(values["organ"], grade4_transaminitis=3)
    return Finding(level, says)


def _hypoxia(values: Mapping[str, Any], options: Options) -> Finding:
    rule = fio2_rule(
        niv_is_ventilation=options["niv_is_ventilator_support"] == "yes", ventilation_grade=4
    )
    finding: Finding = rule(values, options)
    return finding


DOMAINS = (
    crs_presence,
    Domain(
        name="hypotension",
        inputs=(
            vasopressor_load,
            life_threatening_input(
                "crs_life_threatening not recorded: hypotension taken as not life-threatening"
            ),
        ),
        rule=hypotension_rule,
    ),
    Domain(name="hypoxia", inputs=(oxygen_device, oxygen_fio2), rule=_hypoxia),
    Domain(name="organ", inputs=(organ_toxicity,), rule=organ_rule),
    death_domain(DeathCause.CRS, "CARTOX grade 5"),
)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("NEELAPU2018", "LEE2014"),
    domains=DOMAINS,
    combine=fever_gated_most_severe,
    explain=gated_explain("temperature ≥38 °C or grade 1 organ toxicity only"),
)


def grade_crs(assessment: Assessment, *, niv_is_ventilator_support: str = "no") -> GradeResult:
    """Grade CRS by CARTOX ([NEELAPU2018] Table 2)."""
    return SCALE.evaluate(assessment, {"niv_is_ventilator_support": niv_is_ventilator_support})


register_table_scale(
    SCALE,
    title="CARTOX (MD Anderson 2018) CRS grade",
    syndrome="crs",
    reference_keys=("NEELAPU2018", "LEE2014"),
    options=(NIV_OPTION,),
)
