"""ASTCT 2019 consensus grading of ICANS (scale id ``astct_icans``), with ICE and CAPD.

The grade is the most severe of five domains — encephalopathy (ICE score from 12 years, CAPD
below 12 or with developmental delay), depressed level of consciousness, seizure, motor findings,
raised intracranial pressure / cerebral oedema — none attributable to another cause. Tremor,
myoclonus and intracranial haemorrhage are recorded but do not grade.

References: [LEE2019] Lee DW, Santomasso BD, Locke FL, et al. Biol Blood Marrow Transplant
2019;25(4):625-638, Tables 4-6; [TRAUBE2014] CAPD; [NCIT_C188936] the alternative age rule (D1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import (
    Assessment,
    Consciousness,
    DeathCause,
    IcpEdema,
    Motor,
    Seizure,
    ice_total_range,
)
from cartwatch.grading.crs.common import death_domain, register_table_scale
from cartwatch.grading.engine import (
    Column,
    Domain,
    Finding,
    Input,
    Options,
    Possible,
    TableScale,
    assumed_input,
    enum_input,
)
from cartwatch.grading.registry import ScaleOption
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "astct_icans"

# [LEE2019] ICE scoring key: 10 no impairment; 7–9 grade 1; 3–6 grade 2; 0–2 grade 3;
# 0 because unarousable grade 4.
ICE_MAX = 10
ICE_GRADE1_MIN = 7
ICE_GRADE2_MIN = 3
# [LEE2019] ICE is for patients ≥12 years; CAPD below 12 and with developmental delay (D1).
ICE_MIN_AGE_YEARS = 12.0
# [LEE2019] paediatric table, CAPD row: "1–8" grades 1–2, "≥9" grade 3, unable grade 4.
# UNVERIFIED (spec §10 item 2): "1–8" vs the "<9" paraphrase (D2).
CAPD_GRADE1_MIN = 1  # Interpretation (IMPL-PED-A): CAPD 0 contributes nothing
CAPD_GRADE3_MIN = 9  # [TRAUBE2014] validated delirium cut point ≥9
CAPD_MAX = 32

PEDIATRIC_AGE_RULE = ScaleOption(
    name="pediatric_age_rule",
    default="astct_lt12",
    choices=("astct_lt12", "ncit_le12"),
    meaning="ICE from 12 years and CAPD below 12 (ASTCT, default) or ICE above 12 and CAPD at 12 "
    "and under (NCIt C188936) — disagreement D1",
)

CAPD_BAND_OPTION = ScaleOption(
    name="capd_low_band",
    default="astct_1_8",
    choices=("astct_1_8", "lt9"),
    meaning="D2: the CAPD row reads '1–8' for grades 1–2 (default; CAPD 0 gives no ICANS) or "
    "'<9' (the MDedge paraphrase; CAPD 0 counts as grade 1)",
)

ICE = "ice"
CAPD = "capd"

SEDATION_COLUMNS = (
    Column(path="consciousness_attributable_to_other_cause", kind="bool"),
    Column(path="sedation", kind="present"),
)
INSTRUMENT_COLUMNS = (
    Column(path="age_years", kind="number", thresholds=(ICE_MIN_AGE_YEARS, ICE_MIN_AGE_YEARS + 1)),
    Column(path="developmental_delay", kind="bool"),
)
ICE_COLUMNS = (
    Column(path="ice", kind="ice_range"),
    Column(path="ice_total", kind="integer"),
    Column(path="ice_unable_unarousable", kind="bool"),
    *SEDATION_COLUMNS,
)
CAPD_COLUMNS = (
    Column(path="capd_score", kind="integer", thresholds=(CAPD_GRADE1_MIN, CAPD_GRADE3_MIN)),
    Column(path="capd_unable", kind="bool"),
    *SEDATION_COLUMNS,
)


def _uses_capd(age: float, rule: str) -> bool:
    if rule == "ncit_le12":
        # [NCIT_C188936] "children 12 and under" (CAPD) vs "over 12" (ICE): under 13 years.
        return age < ICE_MIN_AGE_YEARS + 1
    return age < ICE_MIN_AGE_YEARS  # [LEE2019] "children younger than 12"


def read_instrument(a: Assessment, options: Options) -> Possible:
    """ICE or CAPD, by exact age (IMPL-PED-B) and developmental delay.

    Without a recorded age the instrument is open: the age is not inferred from the instrument
    the assessor happened to use (C-4), so ``age_years`` is reported missing when it matters.
    """
    if a.developmental_delay:
        return Possible(values=(CAPD,))
    if a.age_years is not None:
        rule = options["pediatric_age_rule"]
        return Possible(values=(CAPD if _uses_capd(a.age_years, rule) else ICE,))
    return Possible(values=(ICE, CAPD), missing=("age_years",))


def _sedation_state(a: Assessment) -> str:
    """``confounded`` when depressed consciousness is attributed to another cause (sedation),
    ``possible`` when a sedating agent is charted but attribution is not recorded, else ``none``.
    ASTCT-ICANS-03, IMPL-ICANS-E."""
    if a.consciousness_attributable_to_other_cause:
        return "confounded"
    if a.sedation and a.consciousness_attributable_to_other_cause is None:
        return "possible"
    return "none"


def _unable_is_icans(a: Assessment) -> bool:
    return _sedation_state(a) == "none"


def read_ice(a: Assessment, options: Options) -> Possible:
    """The ICE total: recorded, bounded by the items assessed, or open (0–10) when not done.

    Interpretation (IMPL-ICANS-C): an unrecorded ICE ranges over 0–10; the "unable, unarousable"
    case is carried by the consciousness domain, which grades unarousable patients 4.
    """
    instrument = read_instrument(a, options)
    if instrument.known and instrument.values == (CAPD,):
        return Possible(values=(None,))
    if a.ice_unable_unarousable:
        if _unable_is_icans(a):
            return Possible(values=("unable",))
        return Possible(
            values=tuple(range(ICE_MAX + 1)), missing=("ice",), reason="confounded_by_sedation"
        )
    known = ice_total_range(a)
    if known is None:
        reason = "confounded_by_sedation" if a.consciousness_attributable_to_other_cause else None
        return Possible(values=tuple(range(ICE_MAX + 1)), missing=("ice",), reason=reason)
    low, high, missing = known
    return Possible(values=tuple(range(low, high + 1)), missing=missing)


def read_capd(a: Assessment, options: Options) -> Possible:
    instrument = read_instrument(a, options)
    if instrument.known and instrument.values == (ICE,):
        return Possible(values=(None,))
    if a.capd_unable:
        if _unable_is_icans(a):
            return Possible(values=("unable",))
        return Possible(
            values=tuple(range(CAPD_MAX + 1)),
            missing=("capd_score",),
            reason="confounded_by_sedation",
        )
    if a.capd_score is None:
        return Possible(values=tuple(range(CAPD_MAX + 1)), missing=("capd_score",))
    return Possible(values=(a.capd_score,))


def encephalopathy_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """[LEE2019] ICE row (adults, ≥12 y) and CAPD row (children); ASTCT-ICANS-02 tie-break."""
    if values["instrument"] == ICE:
        ice = values["ice"]
        if ice == "unable":
            return Finding(4, "ICE 0: unarousable and unable to perform ICE → grade 4")
        aphasia = (
            " (awake with global aphasia, ASTCT-ICANS-02)" if values["aphasia"] and ice == 0 else ""
        )
        if ice < ICE_GRADE2_MIN:
            return Finding(3, f"ICE {ice}{aphasia} (0–2) → grade 3")
        if ice < ICE_GRADE1_MIN:
            return Finding(2, f"ICE {ice} (3–6) → grade 2")
        if ice < ICE_MAX:
            return Finding(1, f"ICE {ice} (7–9) → grade 1")
        return Finding(0, "ICE 10: no impairment")
    capd = values["capd"]
    if capd == "unable":
        return Finding(4, "unable to perform CAPD → grade 4")
    if capd >= CAPD_GRADE3_MIN:
        return Finding(3, f"CAPD {capd} (≥{CAPD_GRADE3_MIN}) → grade 3")
    low = 0 if options["capd_low_band"] == "lt9" else CAPD_GRADE1_MIN
    if capd >= low:
        band = "<9" if low == 0 else "1–8"
        return Finding(1, f"CAPD {capd} ({band}) → grade 1 (grade 2 with depressed consciousness)")
    return Finding(0, "CAPD 0: no delirium features")


def read_consciousness(a: Assessment, options: Options) -> Possible:
    """Level of consciousness; when attributed to another cause (sedation) it cannot grade.

    ASTCT-ICANS-03 and IMPL-ICANS-E: a depressed level of consciousness due to sedating
    medication is not ICANS; the domain is then open and the result says why.
    """
    depressed = a.consciousness not in (None, Consciousness.ALERT)
    state = _sedation_state(a)
    if depressed and state == "confounded":
        return Possible(
            values=tuple(Consciousness), missing=("consciousness",), reason="confounded_by_sedation"
        )
    if depressed and state == "possible":
        return Possible(
            values=tuple(Consciousness),
            missing=("consciousness_attributable_to_other_cause",),
            reason="possibly_confounded_by_sedation",
        )
    if a.consciousness is None:
        if a.global_aphasia:
            # ASTCT-ICANS-02: "awake with global aphasia" excludes the unarousable row.
            awake = tuple(
                c for c in Consciousness if c is not Consciousness.UNAROUSABLE_OR_VIGOROUS_STIMULI
            )
            return Possible(values=awake, missing=("consciousness",))
        return Possible(values=tuple(Consciousness), missing=("consciousness",))
    return Possible(values=(a.consciousness,))


CONSCIOUSNESS_GRADE = {  # [LEE2019] Table 5, depressed level of consciousness row
    Consciousness.ALERT: 0,  # Interpretation (IMPL-ICANS-A): alert is not depressed
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_TO_TACTILE: 3,
    Consciousness.UNAROUSABLE_OR_VIGOROUS_STIMULI: 4,
}
CONSCIOUSNESS_WORDS = {
    Consciousness.AWAKENS_SPONTANEOUSLY: "depressed consciousness: awakens spontaneously",
    Consciousness.AWAKENS_TO_VOICE: "depressed consciousness: awakens to voice",
    Consciousness.AWAKENS_TO_TACTILE: "depressed consciousness: awakens only to tactile stimulus",
    Consciousness.UNAROUSABLE_OR_VIGOROUS_STIMULI: "depressed consciousness: unarousable or "
    "needs vigorous or repetitive stimuli (stupor or coma)",
}


def consciousness_rule(values: Mapping[str, Any], options: Options) -> Finding:
    level: Consciousness = values["consciousness"]
    grade = CONSCIOUSNESS_GRADE[level]
    return Finding(grade, f"{CONSCIOUSNESS_WORDS[level]} → grade {grade}" if grade else "")


SEIZURE_GRADE = {  # [LEE2019] Table 5, seizure row
    Seizure.NONE: 0,
    Seizure.FOCAL_OR_GENERALIZED_RESOLVED_RAPIDLY: 3,
    Seizure.NONCONVULSIVE_EEG_RESOLVED_WITH_INTERVENTION: 3,
    Seizure.PARTIAL_RESPONDING_TO_BENZODIAZEPINE: 3,  # a focal clinical seizure that resolves
    Seizure.GENERALIZED: 3,  # ASTCT-ICANS-01 example: ICE 3 + generalized seizure → grade 3
    Seizure.PROLONGED_GT_5MIN: 4,
    Seizure.REPETITIVE_WITHOUT_RETURN_TO_BASELINE: 4,
}


def seizure_rule(values: Mapping[str, Any], options: Options) -> Finding:
    seizure: Seizure = values["seizure"]
    grade = SEIZURE_GRADE[seizure]
    words = seizure.value.replace("_", " ").replace("gt 5min", ">5 min")
    return Finding(grade, f"seizure: {words} → grade {grade}" if grade else "")


MOTOR_GRADE = {  # [LEE2019] Table 5, motor findings row
    Motor.NONE: 0,
    Motor.TREMOR: 0,  # ASTCT-ICANS-04: graded by CTCAE, not ICANS
    Motor.MYOCLONUS: 0,  # ASTCT-ICANS-04
    Motor.MILD_WEAKNESS: 0,  # Interpretation (IMPL-ICANS-D): not deep focal weakness
    Motor.NEW_MOTOR_WEAKNESS: 0,  # Interpretation (IMPL-ICANS-D), D5
    Motor.HEMIPARESIS: 4,  # "deep focal motor weakness such as hemiparesis or paraparesis"
    Motor.PARAPARESIS: 4,
}


def motor_rule(values: Mapping[str, Any], options: Options) -> Finding:
    motor: Motor = values["motor"]
    grade = MOTOR_GRADE[motor]
    return Finding(grade, f"deep focal motor weakness ({motor.value}) → grade 4" if grade else "")


ICP_GRADE = {  # [LEE2019] Table 5, elevated ICP / cerebral oedema row
    IcpEdema.NONE: 0,
    IcpEdema.FOCAL_EDEMA: 3,
    IcpEdema.DIFFUSE_EDEMA: 4,
    IcpEdema.POSTURING: 4,
    IcpEdema.CN6_PALSY: 4,
    IcpEdema.PAPILLEDEMA_STAGE_1_2: 4,  # D3: ASTCT grades any papilledema 4
    IcpEdema.PAPILLEDEMA_STAGE_3_5: 4,
    IcpEdema.CUSHING_TRIAD: 4,
    IcpEdema.INTRACRANIAL_HEMORRHAGE: 0,  # ASTCT-ICANS-05: excluded, graded by CTCAE
}
ICP_WORDS = {
    IcpEdema.FOCAL_EDEMA: "focal/local oedema on neuroimaging",
    IcpEdema.DIFFUSE_EDEMA: "diffuse cerebral oedema on neuroimaging",
    IcpEdema.POSTURING: "decerebrate or decorticate posturing",
    IcpEdema.CN6_PALSY: "cranial nerve VI palsy",
    IcpEdema.PAPILLEDEMA_STAGE_1_2: "papilledema (stage 1–2)",
    IcpEdema.PAPILLEDEMA_STAGE_3_5: "papilledema (stage 3–5)",
    IcpEdema.CUSHING_TRIAD: "Cushing's triad",
}


def icp_rule(values: Mapping[str, Any], options: Options) -> Finding:
    icp: IcpEdema = values["icp"]
    grade = ICP_GRADE[icp]
    return Finding(grade, f"raised ICP: {ICP_WORDS[icp]} → grade {grade}" if grade else "")


DOMAINS = (
    Domain(
        name="encephalopathy",
        inputs=(
            Input(name="instrument", read=read_instrument, columns=INSTRUMENT_COLUMNS),
            Input(name="ice", read=read_ice, columns=(*INSTRUMENT_COLUMNS, *ICE_COLUMNS)),
            Input(name="capd", read=read_capd, columns=(*INSTRUMENT_COLUMNS, *CAPD_COLUMNS)),
            Input(
                name="aphasia",
                read=assumed_input("global_aphasia", lambda a: a.global_aphasia, default=False),
                columns=(Column(path="global_aphasia", kind="bool"),),
            ),
        ),
        rule=encephalopathy_rule,
    ),
    Domain(
        name="consciousness",
        inputs=(
            Input(
                name="consciousness",
                read=read_consciousness,
                columns=(
                    Column(path="consciousness", kind="enum", enum=Consciousness),
                    *SEDATION_COLUMNS,
                    Column(path="global_aphasia", kind="bool"),
                ),
            ),
        ),
        rule=consciousness_rule,
    ),
    Domain(
        name="seizure",
        inputs=(
            Input(
                name="seizure",
                read=enum_input("seizure", lambda a: a.seizure, Seizure),
                columns=(Column(path="seizure", kind="enum", enum=Seizure),),
            ),
        ),
        rule=seizure_rule,
    ),
    Domain(
        name="motor",
        inputs=(
            Input(
                name="motor",
                read=enum_input("motor", lambda a: a.motor, Motor),
                columns=(Column(path="motor", kind="enum", enum=Motor),),
            ),
        ),
        rule=motor_rule,
    ),
    Domain(
        name="icp",
        inputs=(
            Input(
                name="icp",
                read=enum_input("icp_edema", lambda a: a.icp_edema, IcpEdema),
                columns=(Column(path="icp_edema", kind="enum", enum=IcpEdema),),
            ),
        ),
        rule=icp_rule,
    ),
    death_domain(DeathCause.ICANS, "ASTCT-ICANS-06"),
)


def ignored(a: Assessment, options: Options) -> tuple[str, ...]:
    """Findings recorded but excluded from ICANS grading (ASTCT-ICANS-03/04/05)."""
    out: list[str] = []
    if a.motor in (Motor.TREMOR, Motor.MYOCLONUS):
        out.append(
            f"{a.motor.value}: graded by CTCAE v5.0, does not influence ICANS (ASTCT-ICANS-04)"
        )
    if a.motor in (Motor.MILD_WEAKNESS, Motor.NEW_MOTOR_WEAKNESS):
        out.append(
            f"{a.motor.value.replace('_', ' ')}: not deep focal weakness, no ICANS grade "
            "(IMPL-ICANS-D)"
        )
    for finding in a.other_findings or ():
        word = finding.strip().lower()
        if word in ("tremor", "myoclonus"):
            out.append(f"{word}: graded by CTCAE v5.0, does not influence ICANS (ASTCT-ICANS-04)")
        else:
            out.append(f"{finding}: recorded; not an ASTCT ICANS domain")
    if a.icp_edema is IcpEdema.INTRACRANIAL_HEMORRHAGE:
        out.append(
            "intracranial haemorrhage: not a neurotoxicity feature, graded by CTCAE v5.0 "
            "(ASTCT-ICANS-05)"
        )
    if a.consciousness_attributable_to_other_cause and a.consciousness not in (
        None,
        Consciousness.ALERT,
    ):
        agent = f" ({a.sedation})" if a.sedation else ""
        out.append(
            f"depressed consciousness attributable to another cause{agent}: not graded "
            "(ASTCT-ICANS-03)"
        )
    return tuple(out)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("LEE2019", "TRAUBE2014"),
    domains=DOMAINS,
    ignored=ignored,
)


def grade_icans(
    assessment: Assessment,
    *,
    pediatric_age_rule: str = "astct_lt12",
    capd_low_band: str = "astct_1_8",
) -> GradeResult:
    """Grade ICANS by the ASTCT 2019 consensus ([LEE2019] Tables 4-6; CAPD [TRAUBE2014])."""
    return SCALE.evaluate(
        assessment, {"pediatric_age_rule": pediatric_age_rule, "capd_low_band": capd_low_band}
    )


def ice_score(*, orientation: int, naming: int, commands: int, writing: int, attention: int) -> int:
    """The ICE score 0–10 from its five items ([LEE2019] ICE table)."""
    return orientation + naming + commands + writing + attention


register_table_scale(
    SCALE,
    title="ASTCT 2019 consensus ICANS grade (ICE / CAPD)",
    syndrome="icans",
    reference_keys=("LEE2019", "TRAUBE2014", "NCIT_C188936"),
    options=(PEDIATRIC_AGE_RULE, CAPD_BAND_OPTION),
)
