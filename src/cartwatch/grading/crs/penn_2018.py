"""Penn (University of Pennsylvania / CHOP) CRS grading (scale id ``penn_crs``).

Grade 1 mild reaction with supportive care; grade 2 moderate (grade 2 creatinine or grade 3 LFTs,
hospitalisation for CRS symptoms); grade 3 more severe (grade 3 creatinine or grade 4 LFTs,
hospitalisation for organ dysfunction, hypotension treated with IV fluids or low-dose vasopressors,
coagulopathy needing blood products, any supplemental oxygen including CPAP/BiPAP); grade 4
life-threatening (high-dose vasopressors, mechanical ventilation); grade 5 death.

References: [PORTER2018] Porter D, Frey N, Wood PA, Weng Y, Grupp SA. J Hematol Oncol
2018;11:35, Table 1; high-dose vasopressors per [LEE2014] (UNVERIFIED, spec §10 item 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import Assessment, DeathCause, OxygenDevice
from cartwatch.grading.crs.common import (
    LOAD_WORDS,
    VasopressorLoad,
    crs_presence,
    death_domain,
    gated_explain,
    gated_most_severe,
    life_threatening_input,
    organ_toxicity,
    oxygen_device,
    register_table_scale,
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
)
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "penn_crs"

# [PORTER2018] Table 1: "grade 2 creatinine or grade 3 LFTs" (grade 2);
# "grade 4 LFTs or grade 3 creatinine" (grade 3).
CREATININE_TERMS = frozenset({"creatinine_increased", "acute_kidney_injury"})
# Interpretation: "LFTs" = transaminases, bilirubin and alkaline phosphatase.
LFT_TERMS = frozenset(
    {
        "alt_increased",
        "ast_increased",
        "blood_bilirubin_increased",
        "alkaline_phosphatase_increased",
    }
)
CREATININE_GRADE = {2: 2, 3: 3, 4: 4}  # grade 4 kidney injury: life-threatening (interpretation)
LFT_GRADE = {3: 2, 4: 3}

LOAD_GRADE = {  # [PORTER2018] Table 1 hypotension cells
    VasopressorLoad.NONE: 0,
    # "hypotension treated with IV fluids (defined as multiple fluid boluses for blood-pressure
    # support)"; interpretation: the contract's fluid_responsive is that treatment.
    VasopressorLoad.FLUIDS: 3,
    VasopressorLoad.LOW_SINGLE: 3,  # "or low-dose vasopressors"
    VasopressorLoad.LOW_MULTIPLE: 3,
    VasopressorLoad.HIGH_SINGLE: 4,  # "hypotension requiring high-dose vasopressors"
    VasopressorLoad.HIGH_MULTIPLE: 4,
}


def hypotension_rule(values: Mapping[str, Any], options: Options) -> Finding:
    load: VasopressorLoad = values["load"]
    grade = LOAD_GRADE[load]
    return Finding(grade, f"{LOAD_WORDS[load]} → grade {grade}" if grade else "")


def hypoxia_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[PORTER2018]: any supplemental oxygen (nasal cannula, high flow, CPAP, BiPAP) → 3;
    mechanical ventilation → 4 (PENN-O2)."""
    device: OxygenDevice = values["device"]
    if device is OxygenDevice.NONE:
        return Finding(0, "")
    if device is OxygenDevice.MECHANICAL_VENTILATION:
        return Finding(4, "hypoxia requiring mechanical ventilation → grade 4")
    return Finding(3, f"hypoxia requiring supplemental oxygen ({device.value}) → grade 3")


def organ_rule(values: Mapping[str, Any], options: Options) -> Finding:
    best = Finding(0, "")
    for term, g in values["organ"]:
        grade = 0
        if term in CREATININE_TERMS:
            grade = CREATININE_GRADE.get(g, 0)
        elif term in LFT_TERMS:
            grade = LFT_GRADE.get(g, 0)
        if grade > best.level:
            best = Finding(grade, f"grade {g} {term} related to CRS → grade {grade}")
    if values["organ_hospitalization"] and best.level < 3:
        best = Finding(3, "hospitalised for CRS-related organ dysfunction → grade 3")
    return best


def supportive_rule(values: Mapping[str, Any], options: Options) -> Finding:
    if values["life_threatening"]:
        return Finding(4, "life-threatening complication → grade 4")
    if values["coagulopathy"]:
        return Finding(3, "coagulopathy requiring FFP, cryoprecipitate or fibrinogen → grade 3")
    if values["hospitalized"]:
        return Finding(2, "hospitalised for management of CRS-related symptoms → grade 2")
    return Finding(0, "")


def _flag(path: str, name: str, note: str) -> Input:
    return Input(
        name=name,
        read=assumed_input(
            path, lambda a: getattr(a, path), default=False, alternatives=(True,), note=note
        ),
        columns=(Column(path=path, kind="bool"),),
    )


DOMAINS = (
    crs_presence,
    Domain(name="hypotension", inputs=(vasopressor_load,), rule=hypotension_rule),
    Domain(name="hypoxia", inputs=(oxygen_device,), rule=hypoxia_rule),
    Domain(
        name="organ",
        inputs=(
            organ_toxicity,
            _flag(
                "hospitalized_for_crs_organ_dysfunction",
                "organ_hospitalization",
                "hospitalized_for_crs_organ_dysfunction not recorded: taken as no",
            ),
        ),
        rule=organ_rule,
    ),
    Domain(
        name="supportive",
        inputs=(
            _flag(
                "hospitalized_for_crs",
                "hospitalized",
                "hospitalized_for_crs not recorded: taken as no",
            ),
            _flag(
                "coagulopathy_requiring_blood_products",
                "coagulopathy",
                "coagulopathy_requiring_blood_products not recorded: taken as no",
            ),
            life_threatening_input("crs_life_threatening not recorded: taken as no"),
        ),
        rule=supportive_rule,
    ),
    death_domain(DeathCause.CRS, "Penn grade 5"),
)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("PORTER2018", "LEE2014"),
    domains=DOMAINS,
    combine=gated_most_severe,
    explain=gated_explain("mild reaction, supportive care only"),
)


def grade_crs(assessment: Assessment) -> GradeResult:
    """Grade CRS by the Penn scale ([PORTER2018] Table 1)."""
    return SCALE.evaluate(assessment, {})


register_table_scale(
    SCALE,
    title="Penn (UPenn/CHOP) CRS grade",
    syndrome="crs",
    reference_keys=("PORTER2018", "LEE2014"),
)
