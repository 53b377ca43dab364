"""CARTOX CRES grading with the CARTOX-10 score (scale id ``cartox_cres``), MD Anderson 2018.

The most severe of: CARTOX-10 (7–9 grade 1, 3–6 grade 2, 0–2 grade 3, obtunded/unable grade 4);
raised intracranial pressure (papilledema stage 1–2 or CSF opening pressure <20 mmHg grade 3;
papilledema stage 3–5, CSF opening pressure ≥20 mmHg or cerebral oedema grade 4); seizures or motor
weakness (partial seizure or non-convulsive seizure responding to benzodiazepine grade 3;
generalised seizure, status epilepticus or new motor weakness grade 4).

References: [NEELAPU2018] Neelapu SS, Tummala S, Kebriaei P, et al. Nat Rev Clin Oncol
2018;15(1):47-62, Box 2 and Table 3. The ICP and seizure rows are UNVERIFIED (spec §10 item 4).
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
    enum_input,
    fmt,
    number_candidates,
)
from cartwatch.grading.registry import ScaleOption
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "cartox_cres"

CARTOX10_MAX = 10
CARTOX10_GRADE1_MIN = 7  # [NEELAPU2018] CARTOX-10 7–9 mild → grade 1
CARTOX10_GRADE2_MIN = 3  # [NEELAPU2018] 3–6 moderate → grade 2; 0–2 severe → grade 3
CSF_OPENING_PRESSURE_MMHG = 20.0  # [NEELAPU2018] CSF OP <20 mmHg grade 3, ≥20 grade 4 (UNVERIFIED)

CSF_OPTION = ScaleOption(
    name="csf_below_20_grades_3",
    default="yes",
    choices=("yes", "no"),
    meaning="the published CRES ICP row grades 'CSF opening pressure <20 mmHg' as grade 3 (yes); "
    "'no' counts only an opening pressure ≥20 mmHg",
)


def read_cartox10(a: Assessment, options: Options) -> Possible:
    """CARTOX-10 as recorded, or bounded when it was not recorded.

    Interpretation: CARTOX-10 = ICE without the command item plus one orientation item
    (head of state) [LEE2019]; with all ICE items known it lies in {S, S+1}, S = ICE − commands.
    An unarousable patient (not sedated) is obtunded and cannot perform CARTOX-10 (grade 4),
    whatever score was charted.
    """
    if a.cartox10_unable_obtunded:
        return Possible(values=("unable",))
    if a.consciousness is Consciousness.UNAROUSABLE_OR_VIGOROUS_STIMULI and not (
        a.consciousness_attributable_to_other_cause
    ):
        return Possible(values=("unable",))
    if a.cartox10_score is not None:
        return Possible(values=(a.cartox10_score,))
    ice = a.ice
    if ice is not None and None not in (
        ice.orientation,
        ice.naming,
        ice.writing,
        ice.attention,
    ):
        assert ice.orientation is not None and ice.naming is not None
        assert ice.writing is not None and ice.attention is not None
        s = ice.orientation + ice.naming + ice.writing + ice.attention
        return Possible(values=(s, s + 1), missing=("cartox10_score",))
    values: tuple[Any, ...] = tuple(range(CARTOX10_MAX + 1))
    if a.consciousness is None or a.consciousness_attributable_to_other_cause:
        values = (*values, "unable")
    return Possible(values=values, missing=("cartox10_score",))


def cartox10_rule(values: Mapping[str, Any], options: Options) -> Finding:
    score = values["cartox10"]
    if score == "unable":
        return Finding(4, "obtunded, cannot perform CARTOX-10 → grade 4")
    if score < CARTOX10_GRADE2_MIN:
        return Finding(3, f"CARTOX-10 {score} (0–2, severe) → grade 3")
    if score < CARTOX10_GRADE1_MIN:
        return Finding(2, f"CARTOX-10 {score} (3–6, moderate) → grade 2")
    if score < CARTOX10_MAX:
        return Finding(1, f"CARTOX-10 {score} (7–9, mild) → grade 1")
    return Finding(0, "CARTOX-10 10: normal")


ICP_GRADE = {  # [NEELAPU2018] raised ICP row (UNVERIFIED, spec §10 item 4)
    IcpEdema.NONE: 0,
    IcpEdema.PAPILLEDEMA_STAGE_1_2: 3,  # D3: CRES 3 vs ASTCT 4
    IcpEdema.PAPILLEDEMA_STAGE_3_5: 4,
    IcpEdema.FOCAL_EDEMA: 4,  # "cerebral oedema"
    IcpEdema.DIFFUSE_EDEMA: 4,
    # Not CRES criteria: posturing, CN VI palsy, Cushing's triad, haemorrhage.
    IcpEdema.POSTURING: 0,
    IcpEdema.CN6_PALSY: 0,
    IcpEdema.CUSHING_TRIAD: 0,
    IcpEdema.INTRACRANIAL_HEMORRHAGE: 0,
}

CSF_CANDIDATES = (None, *number_candidates((CSF_OPENING_PRESSURE_MMHG,), 0.0, 100.0))


def icp_rule(values: Mapping[str, Any], options: Options) -> Finding:
    icp: IcpEdema = values["icp"]
    best = Finding(ICP_GRADE[icp], "")
    if best.level:
        best = Finding(
            best.level, f"raised ICP: {icp.value.replace('_', ' ')} → grade {best.level}"
        )
    csf = values["csf"]
    if csf is not None:
        if csf >= CSF_OPENING_PRESSURE_MMHG and best.level < 4:
            best = Finding(4, f"CSF opening pressure {fmt(csf)} mmHg (≥20) → grade 4")
        elif (
            csf < CSF_OPENING_PRESSURE_MMHG
            and options["csf_below_20_grades_3"] == "yes"
            and best.level < 3
        ):
            best = Finding(3, f"CSF opening pressure {fmt(csf)} mmHg (<20) → grade 3")
    return best


def read_csf(a: Assessment, options: Options) -> Possible:
    """The CSF opening pressure is charted only when a lumbar puncture was done; absent = none."""
    return Possible(values=(a.csf_opening_pressure_mmhg,))


def read_seizure(a: Assessment, options: Options) -> Possible:
    """D4: a rapidly resolving seizure is focal (grade 3) or generalised (grade 4) under CRES;
    the contract's ``focal_or_generalized_resolved_rapidly`` does not say which."""
    if a.seizure is Seizure.FOCAL_OR_GENERALIZED_RESOLVED_RAPIDLY:
        return Possible(
            values=(Seizure.PARTIAL_RESPONDING_TO_BENZODIAZEPINE, Seizure.GENERALIZED),
            missing=("seizure",),
            reason="seizure_focal_or_generalized_not_specified",
        )
    if a.seizure is None:
        return Possible(values=tuple(Seizure), missing=("seizure",))
    return Possible(values=(a.seizure,))


SEIZURE_GRADE = {  # [NEELAPU2018] seizures or motor weakness row (UNVERIFIED)
    Seizure.NONE: 0,
    Seizure.PARTIAL_RESPONDING_TO_BENZODIAZEPINE: 3,
    Seizure.NONCONVULSIVE_EEG_RESOLVED_WITH_INTERVENTION: 3,
    Seizure.GENERALIZED: 4,
    Seizure.PROLONGED_GT_5MIN: 4,  # status epilepticus
    Seizure.REPETITIVE_WITHOUT_RETURN_TO_BASELINE: 4,
    Seizure.FOCAL_OR_GENERALIZED_RESOLVED_RAPIDLY: 3,  # never reached: read_seizure splits it
}
MOTOR_GRADE = {  # [NEELAPU2018] "new motor weakness" → grade 4 (D5)
    Motor.NONE: 0,
    Motor.TREMOR: 0,
    Motor.MYOCLONUS: 0,
    Motor.MILD_WEAKNESS: 4,  # Interpretation: any new weakness is "new motor weakness"
    Motor.NEW_MOTOR_WEAKNESS: 4,
    Motor.HEMIPARESIS: 4,
    Motor.PARAPARESIS: 4,
}


def seizure_motor_rule(values: Mapping[str, Any], options: Options) -> Finding:
    seizure: Seizure = values["seizure"]
    motor: Motor = values["motor"]
    s, m = SEIZURE_GRADE[seizure], MOTOR_GRADE[motor]
    if m >= s and m:
        return Finding(m, f"new motor weakness ({motor.value}) → grade 4")
    if s:
        return Finding(s, f"seizure: {seizure.value.replace('_', ' ')} → grade {s}")
    return Finding(0, "")


DOMAINS = (
    Domain(
        name="cartox10",
        inputs=(
            Input(
                name="cartox10",
                read=read_cartox10,
                columns=(
                    Column(path="cartox10_score", kind="integer"),
                    Column(path="cartox10_unable_obtunded", kind="bool"),
                    Column(path="consciousness", kind="enum", enum=Consciousness),
                    Column(path="consciousness_attributable_to_other_cause", kind="bool"),
                    Column(path="ice", kind="ice4"),
                ),
            ),
        ),
        rule=cartox10_rule,
    ),
    Domain(
        name="icp",
        inputs=(
            Input(
                name="icp",
                read=enum_input("icp_edema", lambda a: a.icp_edema, IcpEdema),
                columns=(Column(path="icp_edema", kind="enum", enum=IcpEdema),),
            ),
            Input(
                name="csf",
                read=read_csf,
                columns=(
                    Column(
                        path="csf_opening_pressure_mmhg",
                        kind="number",
                        thresholds=(CSF_OPENING_PRESSURE_MMHG,),
                    ),
                ),
            ),
        ),
        rule=icp_rule,
    ),
    Domain(
        name="seizure_motor",
        inputs=(
            Input(
                name="seizure",
                read=read_seizure,
                columns=(Column(path="seizure", kind="enum", enum=Seizure),),
            ),
            Input(
                name="motor",
                read=enum_input("motor", lambda a: a.motor, Motor),
                columns=(Column(path="motor", kind="enum", enum=Motor),),
            ),
        ),
        rule=seizure_motor_rule,
    ),
    death_domain(DeathCause.ICANS, "CRES grade 5"),
)


def ignored(a: Assessment, options: Options) -> tuple[str, ...]:
    out: list[str] = []
    if a.motor in (Motor.TREMOR, Motor.MYOCLONUS):
        out.append(f"{a.motor.value}: not a CRES criterion")
    if a.icp_edema in (IcpEdema.POSTURING, IcpEdema.CN6_PALSY, IcpEdema.CUSHING_TRIAD):
        out.append(f"{a.icp_edema.value.replace('_', ' ')}: not a CRES criterion (ASTCT grades it)")
    if a.icp_edema is IcpEdema.INTRACRANIAL_HEMORRHAGE:
        out.append("intracranial haemorrhage: not a neurotoxicity criterion")
    if a.consciousness not in (None, Consciousness.ALERT):
        out.append("depressed consciousness: not a separate CRES domain (it bounds CARTOX-10 only)")
    return tuple(out)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("NEELAPU2018"),
    domains=DOMAINS,
    ignored=ignored,
)

SCALE_ID_ALIASES = ("cres",)


def grade_cres(assessment: Assessment, *, csf_below_20_grades_3: str = "yes") -> GradeResult:
    """Grade CAR-T-cell-related encephalopathy syndrome by CARTOX ([NEELAPU2018])."""
    return SCALE.evaluate(assessment, {"csf_below_20_grades_3": csf_below_20_grades_3})


register_table_scale(
    SCALE,
    title="CARTOX CRES grade (CARTOX-10)",
    syndrome="icans",
    reference_keys=("NEELAPU2018",),
    options=(CSF_OPTION,),
)
