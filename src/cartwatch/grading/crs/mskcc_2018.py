"""MSKCC CRS grading (scale id ``mskcc_crs``), Park et al. 2018 supplement.

Grade 1 mild symptoms, supportive care; grade 2 vasopressors <24 h or oxygen <40%; grade 3
vasopressors ≥24 h or oxygen ≥40%; grade 4 life-threatening symptoms, hypotension refractory to
high-dose vasopressors, or mechanical ventilation; grade 5 death.

References: [PARK2018] Park JH, Riviere I, Gonen M, et al. N Engl J Med 2018;378:449-459,
supplementary appendix (CRS grading).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import Assessment, DeathCause
from cartwatch.grading.crs.common import (
    NIV_OPTION_CHOICES,
    VasopressorLoad,
    crs_presence,
    death_domain,
    fio2_rule,
    gated_explain,
    gated_most_severe,
    life_threatening_input,
    oxygen_device,
    oxygen_fio2,
    register_table_scale,
    vasopressor_hours,
    vasopressor_load,
)
from cartwatch.grading.engine import (
    Column,
    Domain,
    Finding,
    Input,
    Options,
    TableScale,
    assumed_input,
    fmt,
)
from cartwatch.grading.registry import ScaleOption
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "mskcc_crs"

VASOPRESSOR_LONG_H = 24.0  # [PARK2018] "any vasopressors <24 h" (2) vs "≥24 h" (3)

NIV_OPTION = ScaleOption(
    name="niv_is_ventilator_support",
    default="no",
    choices=NIV_OPTION_CHOICES,
    meaning="whether CPAP/BiPAP count as 'mechanical ventilation' (grade 4); default no",
)


def hypotension_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[PARK2018]: vasopressors <24 h → 2, ≥24 h → 3, refractory to high dose → 4.

    Interpretation: hypotension managed with fluids alone is not listed → supportive care
    (grade 1); the duration is that of the longest-running agent.
    """
    load: VasopressorLoad = values["load"]
    if not load.on_vasopressors:
        return Finding(0, "")
    if values["refractory"]:
        return Finding(4, "hypotension refractory to high-dose vasopressors → grade 4")
    hours: float = values["hours"]
    if hours >= VASOPRESSOR_LONG_H:
        return Finding(3, f"vasopressors for {fmt(hours)} h (≥{VASOPRESSOR_LONG_H} h) → grade 3")
    return Finding(2, f"vasopressors for {fmt(hours)} h (<{VASOPRESSOR_LONG_H} h) → grade 2")


def _hypoxia(values: Mapping[str, Any], options: Options) -> Finding:
    rule = fio2_rule(
        niv_is_ventilation=options["niv_is_ventilator_support"] == "yes", ventilation_grade=4
    )
    finding: Finding = rule(values, options)
    return finding


def life_rule(values: Mapping[str, Any], options: Options) -> Finding:
    if values["life_threatening"]:
        return Finding(4, "life-threatening symptoms → grade 4")
    return Finding(0, "")


DOMAINS = (
    crs_presence,
    Domain(
        name="hypotension",
        inputs=(
            vasopressor_load,
            vasopressor_hours,
            Input(
                name="refractory",
                read=assumed_input(
                    "hypotension_refractory_to_high_dose_vasopressors",
                    lambda a: a.hypotension_refractory_to_high_dose_vasopressors,
                    default=False,
                    alternatives=(True,),
                    note="hypotension_refractory_to_high_dose_vasopressors not recorded: taken "
                    "as not refractory",
                ),
                columns=(
                    Column(path="hypotension_refractory_to_high_dose_vasopressors", kind="bool"),
                ),
            ),
        ),
        rule=hypotension_rule,
    ),
    Domain(name="hypoxia", inputs=(oxygen_device, oxygen_fio2), rule=_hypoxia),
    Domain(
        name="life_threatening",
        inputs=(life_threatening_input("crs_life_threatening not recorded: taken as no"),),
        rule=life_rule,
    ),
    death_domain(DeathCause.CRS, "MSKCC grade 5"),
)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("PARK2018"),
    domains=DOMAINS,
    combine=gated_most_severe,
    explain=gated_explain("mild symptoms, observation or supportive care only"),
)


def grade_crs(assessment: Assessment, *, niv_is_ventilator_support: str = "no") -> GradeResult:
    """Grade CRS by the MSKCC scale ([PARK2018] supplement)."""
    return SCALE.evaluate(assessment, {"niv_is_ventilator_support": niv_is_ventilator_support})


register_table_scale(
    SCALE,
    title="MSKCC CRS grade",
    syndrome="crs",
    reference_keys=("PARK2018",),
    options=(NIV_OPTION,),
)
