"""IEC-HS, immune effector cell-associated HLH-like syndrome (scale id ``iec_hs``; ASTCT 2023).

A hyperinflammatory syndrome, independent of CRS and ICANS, with features of macrophage
activation/HLH, attributable to the IEC therapy, and associated with new or worsening cytopenias,
hyperferritinaemia, coagulopathy with hypofibrinogenaemia and/or transaminitis. The diagnosis is
the clinician's; its grade is set by the IEC-HS-directed intervention that was required, so the
grade is read from ``iechs_intervention`` (grade 5: death due to IEC-HS). The recorded laboratory
manifestations are listed beside the grade to show what supports the diagnosis; they do not set
the grade.

Reference: [HINES2023] Hines MR, Knight TE, McNerney KO, et al. Transplant Cell Ther
2023;29(7):438.e1-438.e16 (definition, manifestations and grading table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cartwatch.assessment import Assessment, DeathCause, IechsIntervention
from cartwatch.grading.engine import (
    Domain,
    Finding,
    Input,
    Options,
    TableScale,
    assumed_input,
    enum_input,
)
from cartwatch.grading.registry import ScaleInfo, register
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "iec_hs"
REFERENCE = cite("HINES2023")

# [HINES2023] grading table: grade by the IEC-HS-directed intervention required.
# UNVERIFIED (spec §10 item 7): grade 1–4 example wording.
INTERVENTION_GRADE: dict[IechsIntervention, int] = {
    # Interpretation: "none" = no IEC-HS (grade 0, C-6); grade 1 is observation/evaluation only.
    IechsIntervention.NONE: 0,
    # [HINES2023] G1: asymptomatic or mild; observation or clinical/diagnostic evaluation only.
    IechsIntervention.OBSERVATION_OR_EVALUATION_ONLY: 1,
    # [HINES2023] G2: IEC-HS-directed therapy (e.g. immunomodulatory agent) …
    IechsIntervention.DIRECTED_THERAPY: 2,
    # [HINES2023] G2: … or transfusion for hypofibrinogenaemia.
    IechsIntervention.TRANSFUSION_FOR_HYPOFIBRINOGENEMIA: 2,
    # [HINES2023] G3: IEC-HS-associated coagulopathy requiring cryoprecipitate or fibrinogen
    # concentrate.
    IechsIntervention.CRYOPRECIPITATE_OR_FIBRINOGEN_CONCENTRATE: 3,
    # [HINES2023] G3: hospitalisation or ICU care for IEC-HS-related organ toxicity.
    IechsIntervention.HOSPITALIZATION_OR_ICU_FOR_ORGAN_TOXICITY: 3,
    # [HINES2023] G4: life-threatening consequences; urgent intervention indicated.
    IechsIntervention.LIFE_THREATENING_URGENT_INTERVENTION: 4,
}
INTERVENTION_WORDS: dict[IechsIntervention, str] = {
    IechsIntervention.NONE: "no IEC-HS-directed care recorded (no IEC-HS)",
    IechsIntervention.OBSERVATION_OR_EVALUATION_ONLY: "observation or evaluation only",
    IechsIntervention.DIRECTED_THERAPY: "IEC-HS-directed therapy required",
    IechsIntervention.TRANSFUSION_FOR_HYPOFIBRINOGENEMIA: "transfusion for hypofibrinogenaemia",
    IechsIntervention.CRYOPRECIPITATE_OR_FIBRINOGEN_CONCENTRATE: "coagulopathy requiring "
    "cryoprecipitate or fibrinogen concentrate",
    IechsIntervention.HOSPITALIZATION_OR_ICU_FOR_ORGAN_TOXICITY: "hospitalisation or ICU care "
    "for IEC-HS-related organ toxicity",
    IechsIntervention.LIFE_THREATENING_URGENT_INTERVENTION: "life-threatening consequences, "
    "urgent intervention indicated",
}

# [HINES2023] manifestations, UNVERIFIED (spec §10 item 7): shown as supporting findings only.
FERRITIN_X_ULN = 2.0  # ferritin >2× ULN
FERRITIN_X_BASELINE = 2.0  # or >2× baseline (at infusion)
FIBRINOGEN_LOW_MG_DL = 150.0  # hypofibrinogenaemia <150 mg/dL (or <LLN)
TRANSAMINASE_X_ULN = 5.0  # ALT/AST >5× ULN (baseline normal)
TRIGLYCERIDES_HIGH_MG_DL = 265.0  # fasting triglycerides >265 mg/dL
# Interpretation: "new or worsening cytopenia" is the clinician's judgement; a count in the
# CTCAE v5 grade ≥3 range ([CTCAE5]: ANC <1000/µL, platelets <50,000/µL, Hb <8.0 g/dL) is
# shown as a cytopenia.
CYTOPENIA_ANC_BELOW_PER_UL = 1000.0
CYTOPENIA_PLATELETS_BELOW_PER_UL = 50_000.0
CYTOPENIA_HEMOGLOBIN_BELOW_G_DL = 8.0


def _show(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else repr(float(value))


def manifestations(a: Assessment) -> tuple[str, ...]:
    """The recorded HLH-like features of IEC-HS, in words, with values and thresholds."""
    out: list[str] = []
    f = a.ferritin_ng_ml
    if f is not None:
        why = []
        if a.ferritin_at_infusion_ng_ml and f > FERRITIN_X_BASELINE * a.ferritin_at_infusion_ng_ml:
            why.append(f">{FERRITIN_X_BASELINE:g}× baseline {_show(a.ferritin_at_infusion_ng_ml)}")
        if a.ferritin_uln_ng_ml and f > FERRITIN_X_ULN * a.ferritin_uln_ng_ml:
            why.append(f">{FERRITIN_X_ULN:g}× ULN {_show(a.ferritin_uln_ng_ml)}")
        if why:
            out.append(f"hyperferritinaemia: ferritin {_show(f)} ng/mL ({'; '.join(why)})")
    if a.fibrinogen_mg_dl is not None and a.fibrinogen_mg_dl < FIBRINOGEN_LOW_MG_DL:
        out.append(
            f"hypofibrinogenaemia: fibrinogen {_show(a.fibrinogen_mg_dl)} mg/dL "
            f"(<{_show(FIBRINOGEN_LOW_MG_DL)})"
        )
    cytopenias = []
    if a.anc_per_ul is not None and a.anc_per_ul < CYTOPENIA_ANC_BELOW_PER_UL:
        cytopenias.append(f"ANC {_show(a.anc_per_ul)}/µL")
    if a.platelets_per_ul is not None and a.platelets_per_ul < CYTOPENIA_PLATELETS_BELOW_PER_UL:
        cytopenias.append(f"platelets {_show(a.platelets_per_ul)}/µL")
    if a.hemoglobin_g_dl is not None and a.hemoglobin_g_dl < CYTOPENIA_HEMOGLOBIN_BELOW_G_DL:
        cytopenias.append(f"haemoglobin {_show(a.hemoglobin_g_dl)} g/dL")
    if cytopenias:
        out.append(f"cytopenia: {', '.join(cytopenias)}")
    transaminases = []
    if a.alt_x_uln is not None and a.alt_x_uln > TRANSAMINASE_X_ULN:
        transaminases.append(f"ALT {_show(a.alt_x_uln)}× ULN")
    if a.ast_x_uln is not None and a.ast_x_uln > TRANSAMINASE_X_ULN:
        transaminases.append(f"AST {_show(a.ast_x_uln)}× ULN")
    if transaminases:
        out.append(f"transaminitis: {', '.join(transaminases)} (>{TRANSAMINASE_X_ULN:g}× ULN)")
    if a.triglycerides_mg_dl is not None and a.triglycerides_mg_dl > TRIGLYCERIDES_HIGH_MG_DL:
        out.append(
            f"hypertriglyceridaemia: {_show(a.triglycerides_mg_dl)} mg/dL "
            f"(>{_show(TRIGLYCERIDES_HIGH_MG_DL)})"
        )
    if a.hemophagocytosis:
        out.append("hemophagocytosis in marrow or tissue")
    return tuple(out)


def intervention_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[HINES2023] grade by the IEC-HS-directed intervention required."""
    intervention: IechsIntervention = values["intervention"]
    grade = INTERVENTION_GRADE[intervention]
    return Finding(grade, f"{INTERVENTION_WORDS[intervention]} → grade {grade}")


def death_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[HINES2023] grade 5: death due to IEC-HS."""
    if values["death"] is DeathCause.IEC_HS:
        return Finding(5, "death due to IEC-HS → grade 5")
    return Finding(0)


def combine(levels: Mapping[str, int], options: Options) -> int:
    """Death due to IEC-HS is grade 5; otherwise the intervention sets the grade."""
    if levels["death"] == 5:
        return 5
    return levels["intervention"]


SCALE = TableScale(
    id=SCALE_ID,
    reference=REFERENCE,
    domains=(
        Domain(
            name="intervention",
            inputs=(
                Input(
                    name="intervention",
                    read=enum_input(
                        "iechs_intervention", lambda a: a.iechs_intervention, IechsIntervention
                    ),
                ),
            ),
            rule=intervention_rule,
        ),
        Domain(
            name="death",
            inputs=(
                Input(
                    name="death",
                    read=assumed_input("death_due_to", lambda a: a.death_due_to, default=None),
                ),
            ),
            rule=death_rule,
        ),
    ),
    combine=combine,
    fields_read=("iechs_intervention", "death_due_to"),
)


def grade_iec_hs(assessment: Assessment, options: Options | None = None) -> GradeResult:
    """Grade IEC-HS by the ASTCT 2023 definition: the intervention required ([HINES2023])."""
    result = SCALE.evaluate(assessment, options or {})
    features = manifestations(assessment)
    reasons = list(result.reasons)
    notes: list[str] = []
    if (result.floor or 0) >= 1 and not features:
        reasons.append("no_hlh_feature_recorded")
        notes.append(
            "no HLH-like laboratory feature is recorded: the grade rests on the clinician's "
            "diagnosis of IEC-HS"
        )
    return replace(result, drivers=(*features, *result.drivers, *notes), reasons=tuple(reasons))


INFO = register(
    ScaleInfo(
        id=SCALE_ID,
        title="IEC-HS (ASTCT 2023) grade",
        syndrome="iec_hs",
        kind="grade",
        reference_keys=("HINES2023",),
        evaluate=grade_iec_hs,
        inputs=(
            "iechs_intervention",
            "death_due_to",
            "ferritin_ng_ml",
            "ferritin_at_infusion_ng_ml",
            "ferritin_uln_ng_ml",
            "fibrinogen_mg_dl",
            "anc_per_ul",
            "platelets_per_ul",
            "hemoglobin_g_dl",
            "alt_x_uln",
            "ast_x_uln",
            "triglycerides_mg_dl",
            "hemophagocytosis",
        ),
    )
)
