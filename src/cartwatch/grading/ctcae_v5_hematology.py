"""CTCAE v5.0 haematology grades (scale ids ``ctcae5_neutrophil``, ``ctcae5_platelet``,
``ctcae5_anemia``).

Neutrophil count decreased, platelet count decreased and anaemia, graded from the count or the
haemoglobin. Grade 1 starts below the laboratory's lower limit of normal (LLN), so it needs the
local LLN: when the LLN is not recorded and the value is above the grade-2 band, the grade is
0 or 1 and the result says the LLN is missing. Anaemia grade 3 is also met by "transfusion
indicated" and grade 4 is clinical (life-threatening consequences), both read from the
clinician's flags. Death (grade 5 of anaemia) has no field in the assessment and is not graded
here; neutrophil and platelet count decreased have no grade 5.

Reference: [CTCAE5] NCI Common Terminology Criteria for Adverse Events v5.0 (2017), "Investigations"
(neutrophil count decreased, platelet count decreased) and "Blood and lymphatic system
disorders" (anemia).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from cartwatch.assessment import FIELDS, Assessment
from cartwatch.grading.engine import (
    Domain,
    Finding,
    Input,
    Options,
    TableScale,
    assumed_input,
    number_candidates,
    recorded,
)
from cartwatch.grading.registry import ScaleInfo, register
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

REFERENCE = cite("CTCAE5")

# [CTCAE5] Neutrophil count decreased: G1 <LLN–1500/mm³; G2 <1500–1000; G3 <1000–500; G4 <500.
# UNVERIFIED (spec §10 item 6) for the SI equivalents; thresholds [V] (clinical-spec §4.3).
# Interpretation: "<1500 – 1000" means 1000 ≤ ANC < 1500 (ANC 1000 → grade 2, 500 → grade 3).
ANC_G2_BELOW_PER_UL = 1500.0
ANC_G3_BELOW_PER_UL = 1000.0
ANC_G4_BELOW_PER_UL = 500.0
# [CTCAE5] Platelet count decreased: G1 <LLN–75,000/mm³; G2 <75,000–50,000; G3 <50,000–25,000;
# G4 <25,000. UNVERIFIED (spec §10 item 6).
PLT_G2_BELOW_PER_UL = 75_000.0
PLT_G3_BELOW_PER_UL = 50_000.0
PLT_G4_BELOW_PER_UL = 25_000.0
# [CTCAE5] Anemia: G1 Hgb <LLN–10.0 g/dL; G2 <10.0–8.0 g/dL; G3 <8.0 g/dL; transfusion
# indicated; G4 life-threatening consequences, urgent intervention indicated.
# UNVERIFIED (spec §10 item 6).
HB_G2_BELOW_G_DL = 10.0
HB_G3_BELOW_G_DL = 8.0
# [CTCAE5] general instructions: a semicolon within a grade's description means "or", so
# "transfusion indicated" alone meets anaemia grade 3. Interpretation; UNVERIFIED (spec §10
# item 6): the instruction was not re-read from the NCI document.


def _range(name: str) -> tuple[float, float]:
    spec = FIELDS[name]
    assert spec.low is not None and spec.high is not None
    return float(spec.low), float(spec.high)


def _show(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else repr(float(value))


def _lln_candidates(name: str) -> tuple[float, ...]:
    """The extremes of the LLN's plausible range: grade 1 is "value < LLN", monotone in the LLN,
    so the two ends give every outcome an unrecorded LLN can produce."""
    return _range(name)


def _count_scale(
    *,
    scale_id: str,
    label: str,
    field: str,
    lln_field: str,
    unit: str,
    g2_below: float,
    g3_below: float,
    g4_below: float,
    get: Callable[[Assessment], float | None],
    get_lln: Callable[[Assessment], float | None],
) -> TableScale:
    """A count graded by fixed bands below ``g2_below`` and by the LLN above it ([CTCAE5])."""

    def rule(values: Mapping[str, Any], options: Options) -> Finding:
        v: float = values["value"]
        lln: float = values["lln"]
        shown = f"{label} {_show(v)}{unit}"
        if v < g4_below:
            return Finding(4, f"{shown} <{_show(g4_below)}{unit} → grade 4")
        if v < g3_below:
            return Finding(3, f"{shown} ({_show(g4_below)}–<{_show(g3_below)}{unit}) → grade 3")
        if v < g2_below:
            return Finding(2, f"{shown} ({_show(g3_below)}–<{_show(g2_below)}{unit}) → grade 2")
        if v < lln:
            return Finding(1, f"{shown} below the LLN {_show(lln)}{unit} → grade 1")
        return Finding(0, f"{shown} not below the LLN {_show(lln)}{unit} → grade 0")

    return TableScale(
        id=scale_id,
        reference=REFERENCE,
        domains=(
            Domain(
                name=label,
                inputs=(
                    Input(
                        name="value",
                        read=recorded(
                            field,
                            get,
                            number_candidates((g2_below, g3_below, g4_below), *_range(field)),
                        ),
                    ),
                    Input(
                        name="lln",
                        read=recorded(
                            lln_field,
                            get_lln,
                            _lln_candidates(lln_field),
                        ),
                    ),
                ),
                rule=rule,
            ),
        ),
        fields_read=(field, lln_field),
    )


NEUTROPHIL = _count_scale(
    scale_id="ctcae5_neutrophil",
    label="ANC",
    field="anc_per_ul",
    lln_field="anc_lln_per_ul",
    unit="/µL",
    g2_below=ANC_G2_BELOW_PER_UL,
    g3_below=ANC_G3_BELOW_PER_UL,
    g4_below=ANC_G4_BELOW_PER_UL,
    get=lambda a: a.anc_per_ul,
    get_lln=lambda a: a.anc_lln_per_ul,
)
PLATELET = _count_scale(
    scale_id="ctcae5_platelet",
    label="platelets",
    field="platelets_per_ul",
    lln_field="platelet_lln_per_ul",
    unit="/µL",
    g2_below=PLT_G2_BELOW_PER_UL,
    g3_below=PLT_G3_BELOW_PER_UL,
    g4_below=PLT_G4_BELOW_PER_UL,
    get=lambda a: a.platelets_per_ul,
    get_lln=lambda a: a.platelet_lln_per_ul,
)


def anemia_level_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[CTCAE5] Anemia by haemoglobin: <8.0 → 3; 8.0–<10.0 → 2; 10.0–<LLN → 1."""
    hb: float = values["hb"]
    lln: float = values["lln"]
    shown = f"haemoglobin {_show(hb)} g/dL"
    if hb < HB_G3_BELOW_G_DL:
        return Finding(3, f"{shown} <{HB_G3_BELOW_G_DL} g/dL → grade 3")
    if hb < HB_G2_BELOW_G_DL:
        return Finding(2, f"{shown} ({HB_G3_BELOW_G_DL}–<{HB_G2_BELOW_G_DL} g/dL) → grade 2")
    if hb < lln:
        return Finding(1, f"{shown} below the LLN {_show(lln)} g/dL → grade 1")
    return Finding(0, f"{shown} not below the LLN {_show(lln)} g/dL → grade 0")


def anemia_clinical_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[CTCAE5] Anemia grade 3 "transfusion indicated"; grade 4 life-threatening consequences."""
    if values["life_threatening"]:
        return Finding(
            4, "anaemia with life-threatening consequences, urgent intervention indicated → grade 4"
        )
    if values["transfusion"]:
        return Finding(3, "red-cell transfusion indicated → grade 3")
    return Finding(0)


ANEMIA = TableScale(
    id="ctcae5_anemia",
    reference=REFERENCE,
    domains=(
        Domain(
            name="haemoglobin",
            inputs=(
                Input(
                    name="hb",
                    read=recorded(
                        "hemoglobin_g_dl",
                        lambda a: a.hemoglobin_g_dl,
                        number_candidates(
                            (HB_G2_BELOW_G_DL, HB_G3_BELOW_G_DL), *_range("hemoglobin_g_dl")
                        ),
                    ),
                ),
                Input(
                    name="lln",
                    read=recorded(
                        "hemoglobin_lln_g_dl",
                        lambda a: a.hemoglobin_lln_g_dl,
                        _lln_candidates("hemoglobin_lln_g_dl"),
                    ),
                ),
            ),
            rule=anemia_level_rule,
        ),
        Domain(
            name="clinical",
            inputs=(
                Input(
                    name="transfusion",
                    read=assumed_input(
                        "transfusion_indicated",
                        lambda a: a.transfusion_indicated,
                        default=False,
                        alternatives=(True,),
                        note="transfusion_indicated not recorded: taken as not indicated; a "
                        "transfusion indication would make this grade 3",
                    ),
                ),
                Input(
                    name="life_threatening",
                    read=assumed_input(
                        "anemia_life_threatening",
                        lambda a: a.anemia_life_threatening,
                        default=False,
                        alternatives=(True,),
                        note="anemia_life_threatening not recorded: taken as no life-threatening "
                        "consequences (grade 4 is a clinical judgement)",
                    ),
                ),
            ),
            rule=anemia_clinical_rule,
        ),
    ),
    fields_read=(
        "hemoglobin_g_dl",
        "hemoglobin_lln_g_dl",
        "transfusion_indicated",
        "anemia_life_threatening",
    ),
)


def _with_lln_note(
    scale: TableScale, label: str, unit: str, lln_field: str, get: Callable[[Assessment], Any]
) -> Callable[[Assessment, Options], GradeResult]:
    """The scale's evaluation, saying in words why an unrecorded LLN leaves grade 0 or 1 open."""

    def evaluate(assessment: Assessment, options: Options) -> GradeResult:
        result = scale.evaluate(assessment, options)
        value = get(assessment)
        if result.grade is None and value is not None and lln_field in result.missing:
            note = (
                f"{label} {_show(value)}{unit} is above the grade-2 band: grade 1 if below the "
                f"laboratory's LLN, else grade 0 ({lln_field} not recorded)"
            )
            return replace(result, drivers=(*result.drivers, note))
        return result

    return evaluate


evaluate_neutrophil = _with_lln_note(
    NEUTROPHIL, "ANC", "/µL", "anc_lln_per_ul", lambda a: a.anc_per_ul
)
evaluate_platelet = _with_lln_note(
    PLATELET, "platelets", "/µL", "platelet_lln_per_ul", lambda a: a.platelets_per_ul
)
evaluate_anemia = _with_lln_note(
    ANEMIA, "haemoglobin", " g/dL", "hemoglobin_lln_g_dl", lambda a: a.hemoglobin_g_dl
)


def grade_neutrophil_count_decreased(assessment: Assessment) -> GradeResult:
    """CTCAE v5.0 "Neutrophil count decreased" from ``anc_per_ul`` (and its LLN) ([CTCAE5])."""
    return evaluate_neutrophil(assessment, {})


def grade_platelet_count_decreased(assessment: Assessment) -> GradeResult:
    """CTCAE v5.0 "Platelet count decreased" from ``platelets_per_ul`` (and its LLN) ([CTCAE5])."""
    return evaluate_platelet(assessment, {})


def grade_anemia(assessment: Assessment) -> GradeResult:
    """CTCAE v5.0 "Anemia" from haemoglobin, its LLN and the clinical flags ([CTCAE5])."""
    return evaluate_anemia(assessment, {})


def _register(
    scale: TableScale, title: str, evaluate: Callable[[Assessment, Options], GradeResult]
) -> ScaleInfo:
    return register(
        ScaleInfo(
            id=scale.id,
            title=title,
            syndrome="hematotoxicity",
            kind="grade",
            reference_keys=("CTCAE5",),
            evaluate=evaluate,
            inputs=scale.fields_read,
        )
    )


NEUTROPHIL_INFO = _register(
    NEUTROPHIL, "CTCAE v5.0 neutrophil count decreased", evaluate_neutrophil
)
PLATELET_INFO = _register(PLATELET, "CTCAE v5.0 platelet count decreased", evaluate_platelet)
ANEMIA_INFO = _register(ANEMIA, "CTCAE v5.0 anaemia", evaluate_anemia)
