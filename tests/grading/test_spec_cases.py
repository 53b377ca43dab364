"""Independent checks of the CRS/ICANS scales, written from the clinical sources, not the code.

Each case names the rule it checks (ids of ``shared/reference/clinical-spec.md``: ASTCT-CRS-nn,
ASTCT-ICANS-nn, IMPL-*, LEE14-*, PENN-O2, MSKCC-24H, C-n, D1…D9, the §8.3 rules of thumb) and
asserts the grade the source table gives. Only the public API is used:
``cartwatch.grade(scale_id, assessment, options=...)``.

Cases where the implementation disagrees with the source carry ``xfail(strict=True)`` with the
reason; they are listed in the checker's report to the lead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cartwatch
from cartwatch import errors

# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """What the source says the result must be."""

    grade: int | None
    status: str
    floor: int | None = None
    ceiling: int | None = None
    missing_has: str | None = None
    ignored_has: str | None = None


def G(n: int, *, ignored_has: str | None = None) -> Expect:
    """A determined grade (0 is ``criteria_not_met``)."""
    status = "graded" if n >= 1 else "criteria_not_met"
    return Expect(grade=n, status=status, floor=n, ceiling=n, ignored_has=ignored_has)


def NG(
    floor: int | None = None, ceiling: int | None = None, *, missing_has: str | None = None
) -> Expect:
    """Not gradeable: the recorded findings leave the grade between ``floor`` and ``ceiling``."""
    return Expect(
        grade=None, status="not_gradeable", floor=floor, ceiling=ceiling, missing_has=missing_has
    )


def ox(
    device: str | None, *, flow: float | None = None, fio2: float | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"device": device}
    if flow is not None:
        out["flow_l_min"] = flow
    if fio2 is not None:
        out["fio2"] = fio2
    return out


def vp(
    agent: str, dose: float, duration_h: float | None, unit: str | None = None
) -> dict[str, Any]:
    default_unit = {"dopamine": "mcg/kg/min", "vasopressin": "U/min"}.get(agent, "mcg/min")
    return {"agent": agent, "dose": dose, "unit": unit or default_unit, "duration_h": duration_h}


_DROP = object()


# A febrile adult, nothing else wrong, every primary CRS finding recorded (FiO2 included).
CRS_BASE: dict[str, Any] = {
    "age_years": 50,
    "weight_kg": 70,
    "temperature_c": 38.5,
    "fever_attributable_to_other_cause": False,
    "crs_previously_established": False,
    "antipyretic_or_anticytokine_given": False,
    "hypotension": "none",
    "vasopressin": False,
    "oxygen": {"device": "none", "fio2": 0.21},
    "organ_toxicity_ctcae": {},
}

# An adult with a normal ICE and every other ICANS domain recorded as normal.
ICANS_BASE: dict[str, Any] = {
    "age_years": 50,
    "ice_total": 10,
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_edema": "none",
}

# A child under 12 with a normal CAPD and every other domain normal.
PED_BASE: dict[str, Any] = {
    "age_years": 4,
    "capd_score": 0,
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_edema": "none",
}

# An adult with a normal CARTOX-10 and every CRES domain recorded as normal.
CRES_BASE: dict[str, Any] = {
    "age_years": 50,
    "cartox10_score": 10,
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_edema": "none",
}


def mk(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def crs(**changes: Any) -> dict[str, Any]:
    return mk(CRS_BASE, **changes)


def icans(**changes: Any) -> dict[str, Any]:
    return mk(ICANS_BASE, **changes)


def ped(**changes: Any) -> dict[str, Any]:
    return mk(PED_BASE, **changes)


def cres(**changes: Any) -> dict[str, Any]:
    return mk(CRES_BASE, **changes)


def ice_items(
    orientation: int | None = 4,
    naming: int | None = 3,
    commands: int | None = 1,
    writing: int | None = 1,
    attention: int | None = 1,
) -> dict[str, Any]:
    return {
        "orientation": orientation,
        "naming": naming,
        "commands": commands,
        "writing": writing,
        "attention": attention,
    }


def case(
    case_id: str,
    scale: str,
    assessment: dict[str, Any],
    expect: Expect,
    options: dict[str, str] | None = None,
    xfail: str | None = None,
) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(scale, assessment, options, expect, id=case_id, marks=marks)


# Norepinephrine single agent, used by the Lee 2014 high-dose table.
def on_ne(dose: float, hours: float, **changes: Any) -> dict[str, Any]:
    return crs(
        hypotension="vasopressor_single",
        vasopressors=[vp("norepinephrine", dose, hours)],
        **changes,
    )


def on_single(agent: str, dose: float, hours: float = 4.0) -> dict[str, Any]:
    return crs(hypotension="vasopressor_single", vasopressors=[vp(agent, dose, hours)])


# --------------------------------------------------------------------------------------------
# ASTCT 2019 CRS (spec §1)
# --------------------------------------------------------------------------------------------

ASTCT_CRS = [
    # ASTCT-CRS-01 fever ≥38.0 °C, C-1 exact comparison
    case("ASTCT-CRS-01 temp 37.99 → 0", "astct_crs", crs(temperature_c=37.99), G(0)),
    case("ASTCT-CRS-01 temp 38.0 → 1 (V001)", "astct_crs", crs(temperature_c=38.0), G(1)),
    case("ASTCT-CRS-01 temp 38.01 → 1", "astct_crs", crs(temperature_c=38.01), G(1)),
    case("C-1 temp 37.95 not rounded → 0", "astct_crs", crs(temperature_c=37.95), G(0)),
    case(
        "C-2 temperature_f 100.4 (=38.0 °C) → 1",
        "astct_crs",
        crs(temperature_c=_DROP, temperature_f=100.4),
        G(1),
    ),
    case(
        "C-2 temperature_f 100.3 (<38.0 °C) → 0",
        "astct_crs",
        crs(temperature_c=_DROP, temperature_f=100.3),
        G(0),
    ),
    # ASTCT-CRS-TABLE hypotension row
    case("ASTCT-CRS-TABLE fever only → 1", "astct_crs", crs(), G(1)),
    case(
        "ASTCT-CRS-TABLE fluid-responsive → 2",
        "astct_crs",
        crs(hypotension="fluid_responsive"),
        G(2),
    ),
    case(
        "ASTCT-CRS-TABLE one vasopressor → 3",
        "astct_crs",
        crs(hypotension="vasopressor_single"),
        G(3),
    ),
    case(
        "ASTCT-CRS-TABLE one vasopressor + vasopressin → 3 (D9)",
        "astct_crs",
        crs(hypotension="vasopressor_single", vasopressin=True),
        G(3),
    ),
    case(
        "ASTCT-CRS-TABLE multiple vasopressors → 4",
        "astct_crs",
        crs(hypotension="vasopressor_multiple"),
        G(4),
    ),
    case(
        "ASTCT-CRS-TABLE NE+epi+vasopressin → 4 (V022)",
        "astct_crs",
        crs(
            temperature_c=39.4,
            hypotension="vasopressor_multiple",
            vasopressin=True,
            vasopressors=[
                vp("norepinephrine", 20, 5),
                vp("epinephrine", 5, 5),
                vp("vasopressin", 0.03, 5),
            ],
        ),
        G(4),
    ),
    case(
        "IMPL-CRS-VASOPRESSIN-ALONE vasopressin only → 3",
        "astct_crs",
        crs(hypotension="vasopressin_only", vasopressin=True),
        G(3),
    ),
    case(
        "ASTCT-CRS-TABLE one vasopressor dose irrelevant (NE 25 4 h, V036) → 3",
        "astct_crs",
        on_ne(25, 4),
        G(3),
    ),
    # ASTCT-CRS-TABLE hypoxia row, ASTCT-CRS-04 flow definitions
    case("ASTCT-CRS-04 blow-by → 2", "astct_crs", crs(oxygen=ox("blow_by")), G(2)),
    case(
        "ASTCT-CRS-04 low-flow NC 2 L/min → 2",
        "astct_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=2)),
        G(2),
    ),
    case(
        "ASTCT-CRS-04 flow 6.0 → 2 (V008)",
        "astct_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=6.0)),
        G(2),
    ),
    case(
        "ASTCT-CRS-04 flow 6.01 → 3",
        "astct_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=6.01)),
        G(3),
    ),
    case(
        "ASTCT-CRS-04 standard cannula 6.5 L/min is high flow → 3",
        "astct_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=6.5)),
        G(3),
    ),
    case(
        "ASTCT-CRS-04 high-flow NC 8 L/min → 3",
        "astct_crs",
        crs(oxygen=ox("high_flow_nasal_cannula", flow=8)),
        G(3),
    ),
    case(
        "ASTCT-CRS-04 high-flow NC labelled but 5 L/min is low flow → 2",
        "astct_crs",
        crs(oxygen=ox("high_flow_nasal_cannula", flow=5)),
        G(2),
    ),
    case(
        "ASTCT-CRS-04 low-flow NC label, flow unknown → 2",
        "astct_crs",
        crs(oxygen=ox("low_flow_nasal_cannula")),
        G(2),
    ),
    case(
        "ASTCT-CRS-04 blow-by is low flow at any flow (10 L/min) → 2",
        "astct_crs",
        crs(oxygen=ox("blow_by", flow=10)),
        G(2),
    ),
    case(
        "ASTCT-CRS-TABLE high-flow NC label, flow unknown → 3",
        "astct_crs",
        crs(oxygen={"device": "high_flow_nasal_cannula"}),
        G(3),
    ),
    case("ASTCT-CRS-TABLE facemask → 3", "astct_crs", crs(oxygen=ox("facemask")), G(3)),
    case(
        "ASTCT-CRS-TABLE facemask at 2 L/min FiO2 0.28 still → 3",
        "astct_crs",
        crs(oxygen=ox("facemask", flow=2, fio2=0.28)),
        G(3),
    ),
    case("ASTCT-CRS-TABLE non-rebreather → 3", "astct_crs", crs(oxygen=ox("non_rebreather")), G(3)),
    case("ASTCT-CRS-TABLE Venturi → 3", "astct_crs", crs(oxygen=ox("venturi", fio2=0.35)), G(3)),
    case("ASTCT-CRS-TABLE CPAP → 4 (D6)", "astct_crs", crs(oxygen=ox("cpap", fio2=0.4)), G(4)),
    case("ASTCT-CRS-TABLE BiPAP → 4 (D6)", "astct_crs", crs(oxygen=ox("bipap")), G(4)),
    case(
        "ASTCT-CRS-TABLE mechanical ventilation → 4",
        "astct_crs",
        crs(oxygen=ox("mechanical_ventilation", fio2=0.5)),
        G(4),
    ),
    case(
        "D8 ASTCT ignores FiO2: NC 2 L/min FiO2 0.45 → 2",
        "astct_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=2, fio2=0.45)),
        G(2),
    ),
    # ASTCT-CRS-03 more severe event
    case(
        "ASTCT-CRS-03 39.5 + one vasopressor + low-flow NC → 3",
        "astct_crs",
        crs(
            temperature_c=39.5,
            hypotension="vasopressor_single",
            oxygen=ox("low_flow_nasal_cannula", flow=3),
        ),
        G(3),
    ),
    case(
        "ASTCT-CRS-03 fluid-responsive + high-flow NC → 3",
        "astct_crs",
        crs(hypotension="fluid_responsive", oxygen=ox("high_flow_nasal_cannula", flow=30)),
        G(3),
    ),
    case(
        "ASTCT-CRS-03 one vasopressor + CPAP → 4",
        "astct_crs",
        crs(hypotension="vasopressor_single", oxygen=ox("cpap")),
        G(4),
    ),
    # ASTCT-CRS-02 masked fever, IMPL-CRS-MASKED-NOFEATURE
    case(
        "ASTCT-CRS-02 masked fever (CRS + tocilizumab) + one vasopressor → 3",
        "astct_crs",
        crs(
            temperature_c=37.2,
            crs_previously_established=True,
            antipyretic_or_anticytokine_given=True,
            hypotension="vasopressor_single",
        ),
        G(3),
    ),
    case(
        "ASTCT-CRS-02 masked fever + low-flow NC → 2",
        "astct_crs",
        crs(
            temperature_c=36.8,
            crs_previously_established=True,
            antipyretic_or_anticytokine_given=True,
            oxygen=ox("low_flow_nasal_cannula", flow=2),
        ),
        G(2),
    ),
    case(
        "IMPL-CRS-MASKED-NOFEATURE masked fever, no hypotension/hypoxia → 0",
        "astct_crs",
        crs(
            temperature_c=37.0,
            crs_previously_established=True,
            antipyretic_or_anticytokine_given=True,
        ),
        G(0),
    ),
    case(
        "ASTCT-CRS-02 established CRS but no antipyretic/anticytokine: afebrile + vasopressor → 0",
        "astct_crs",
        crs(temperature_c=37.2, crs_previously_established=True, hypotension="vasopressor_single"),
        G(0),
    ),
    case(
        "ASTCT-CRS-02 antipyretic but CRS not established: afebrile + vasopressor → 0",
        "astct_crs",
        crs(
            temperature_c=37.2,
            antipyretic_or_anticytokine_given=True,
            hypotension="vasopressor_single",
        ),
        G(0),
    ),
    case(
        "ASTCT-CRS-02 masked fever: fever attributed elsewhere, CRS + toci, vasopressor → 3",
        "astct_crs",
        crs(
            fever_attributable_to_other_cause=True,
            crs_previously_established=True,
            antipyretic_or_anticytokine_given=True,
            hypotension="vasopressor_single",
        ),
        G(3),
    ),
    # C-5 attribution
    case(
        "C-5 fever attributed to bacteraemia → 0 (V029)",
        "astct_crs",
        crs(temperature_c=38.4, fever_attributable_to_other_cause=True),
        G(0),
    ),
    case(
        "C-5 attributed fever + one vasopressor, no masked-fever context → 0",
        "astct_crs",
        crs(fever_attributable_to_other_cause=True, hypotension="vasopressor_single"),
        G(0),
    ),
    # ASTCT-CRS-05 organ toxicity, §8.3 row 3
    case(
        "ASTCT-CRS-05 fever + grade 4 transaminitis → 1 (§8.3)",
        "astct_crs",
        crs(organ_toxicity_ctcae={"alt_increased": 4}),
        G(1),
    ),
    # ASTCT-CRS-06 grade 5
    case("ASTCT-CRS-06 death due to CRS → 5", "astct_crs", crs(death_due_to="CRS"), G(5)),
    case(
        "ASTCT-CRS-06 death due to ICANS is not CRS grade 5 → 1",
        "astct_crs",
        crs(death_due_to="ICANS"),
        G(1),
    ),
    case(
        "ASTCT-CRS-06 death due to CRS → 5 whatever else is unrecorded",
        "astct_crs",
        crs(death_due_to="CRS", temperature_c=_DROP, hypotension=_DROP, oxygen=_DROP),
        G(5),
    ),
    case(
        "ASTCT-CRS-06 death due to other cause is not grade 5 → 1",
        "astct_crs",
        crs(death_due_to="other"),
        G(1),
    ),
    # C-4 missing-data determinacy
    case(
        "C-4 one vasopressor + low-flow NC flow unknown → 3",
        "astct_crs",
        crs(hypotension="vasopressor_single", oxygen=ox("low_flow_nasal_cannula")),
        G(3),
    ),
    case(
        "C-4 one vasopressor + oxygen unknown → not determined (3–4)",
        "astct_crs",
        crs(hypotension="vasopressor_single", oxygen=_DROP),
        NG(3, 4, missing_has="oxygen"),
    ),
    case(
        "C-4 multiple vasopressors + oxygen unknown → 4",
        "astct_crs",
        crs(hypotension="vasopressor_multiple", oxygen=_DROP),
        G(4),
    ),
    case(
        "C-4 hypotension and vasopressors unrecorded, room air → not determined (1–4)",
        "astct_crs",
        crs(hypotension=_DROP, vasopressin=_DROP),
        NG(1, 4, missing_has="hypotension"),
    ),
    case(
        "C-4 hypotension unrecorded but vasopressors listed as none → not determined (1–2)",
        "astct_crs",
        crs(hypotension=_DROP, vasopressors=[]),
        NG(1, 2, missing_has="hypotension"),
    ),
    case(
        "C-4 hypotension unknown + mechanical ventilation → 4",
        "astct_crs",
        crs(hypotension=_DROP, oxygen=ox("mechanical_ventilation")),
        G(4),
    ),
    case(
        "C-4 vasopressor count unknown → not determined (3–4)",
        "astct_crs",
        crs(hypotension="vasopressor_count_unknown"),
        NG(3, 4),
    ),
    case(
        "C-4 temperature unknown, nothing else → not determined (0–1)",
        "astct_crs",
        crs(temperature_c=_DROP),
        NG(0, 1, missing_has="temperature"),
    ),
    case(
        "C-4 temperature unknown + one vasopressor → not determined (0–3)",
        "astct_crs",
        crs(temperature_c=_DROP, hypotension="vasopressor_single"),
        NG(0, 3, missing_has="temperature"),
    ),
    case(
        "C-4 masked-fever flags unrecorded, afebrile + vasopressor → not determined (0–3)",
        "astct_crs",
        crs(
            temperature_c=37.0,
            crs_previously_established=_DROP,
            antipyretic_or_anticytokine_given=_DROP,
            hypotension="vasopressor_single",
        ),
        NG(0, 3),
    ),
]

# --------------------------------------------------------------------------------------------
# ASTCT 2019 ICANS, adults (spec §2.1–2.3)
# --------------------------------------------------------------------------------------------

ASTCT_ICANS = [
    case("IMPL-ICANS-B ICE 10, all normal → 0", "astct_icans", icans(), G(0)),
    case("ASTCT-ICANS-ICE ICE 9 → 1", "astct_icans", icans(ice_total=9), G(1)),
    case("ASTCT-ICANS-ICE ICE 7 → 1", "astct_icans", icans(ice_total=7), G(1)),
    case("ASTCT-ICANS-ICE ICE 6 → 2", "astct_icans", icans(ice_total=6), G(2)),
    case("ASTCT-ICANS-ICE ICE 3 → 2", "astct_icans", icans(ice_total=3), G(2)),
    case("ASTCT-ICANS-ICE ICE 2 → 3", "astct_icans", icans(ice_total=2), G(3)),
    case(
        "ASTCT-ICANS-ICE items ICE 9 attention failed → 1 (V043)",
        "astct_icans",
        icans(ice_total=_DROP, ice=ice_items(attention=0)),
        G(1),
    ),
    case(
        "ASTCT-ICANS-ICE items 2+1+1+1+1 = 6 → 2",
        "astct_icans",
        icans(ice_total=_DROP, ice=ice_items(orientation=2, naming=1)),
        G(2),
    ),
    case(
        "ASTCT-ICANS-02 ICE 0 awake with global aphasia → 3",
        "astct_icans",
        icans(ice_total=0, global_aphasia=True, consciousness="alert"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-02 ICE 0 unarousable → 4",
        "astct_icans",
        icans(
            ice_total=0,
            ice_unable_unarousable=True,
            consciousness="unarousable_or_vigorous_stimuli",
        ),
        G(4),
    ),
    case(
        "ASTCT-ICANS-02 ICE 0 in an alert patient (cannot be unarousable) → 3",
        "astct_icans",
        icans(ice_total=0, consciousness="alert"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-02 ICE 0 unable/unarousable flag, consciousness unrecorded → 4",
        "astct_icans",
        icans(ice_total=0, ice_unable_unarousable=True, consciousness=_DROP),
        G(4),
    ),
    case(
        "ASTCT-ICANS-02 ICE 0 awake with global aphasia, consciousness unrecorded → 3",
        "astct_icans",
        icans(ice_total=0, global_aphasia=True, consciousness=_DROP),
        G(3),
    ),
    case(
        "ASTCT-ICANS-01 ICE 0 + awakens to tactile (not unarousable) → 3",
        "astct_icans",
        icans(ice_total=0, consciousness="awakens_to_tactile"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-02 ICE 0, consciousness unknown, no tie-break flag → not determined (3–4)",
        "astct_icans",
        icans(ice_total=0, consciousness=_DROP),
        NG(3, 4),
    ),
    # consciousness row, IMPL-ICANS-A
    case("IMPL-ICANS-A alert contributes 0 → 0", "astct_icans", icans(consciousness="alert"), G(0)),
    case(
        "ASTCT-ICANS-TABLE awakens spontaneously → 1",
        "astct_icans",
        icans(consciousness="awakens_spontaneously"),
        G(1),
    ),
    case(
        "ASTCT-ICANS-TABLE awakens to voice → 2",
        "astct_icans",
        icans(consciousness="awakens_to_voice"),
        G(2),
    ),
    case(
        "ASTCT-ICANS-TABLE awakens only to tactile → 3",
        "astct_icans",
        icans(ice_total=4, consciousness="awakens_to_tactile"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-TABLE unarousable/vigorous stimuli → 4",
        "astct_icans",
        icans(
            ice_total=_DROP,
            ice_unable_unarousable=True,
            consciousness="unarousable_or_vigorous_stimuli",
        ),
        G(4),
    ),
    case(
        "ASTCT-ICANS-01 ICE 9 + awakens to voice → 2 (V050)",
        "astct_icans",
        icans(ice_total=_DROP, ice=ice_items(attention=0), consciousness="awakens_to_voice"),
        G(2),
    ),
    # seizure row
    case(
        "ASTCT-ICANS-TABLE seizure resolved rapidly → 3",
        "astct_icans",
        icans(seizure="focal_or_generalized_resolved_rapidly"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-TABLE non-convulsive EEG seizure resolved with intervention → 3",
        "astct_icans",
        icans(seizure="nonconvulsive_eeg_resolved_with_intervention"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-TABLE prolonged seizure >5 min → 4",
        "astct_icans",
        icans(seizure="prolonged_gt_5min"),
        G(4),
    ),
    case(
        "ASTCT-ICANS-TABLE repetitive seizures without return to baseline → 4",
        "astct_icans",
        icans(seizure="repetitive_without_return_to_baseline"),
        G(4),
    ),
    case(
        "ASTCT-ICANS-01 ICE 3 + generalized seizure → 3 (D4)",
        "astct_icans",
        icans(ice_total=3, seizure="generalized"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-TABLE partial seizure responding to benzodiazepine → 3 (V071)",
        "astct_icans",
        icans(
            ice_total=_DROP,
            ice=ice_items(attention=0),
            seizure="partial_responding_to_benzodiazepine",
        ),
        G(3),
    ),
    # motor row, D5, IMPL-ICANS-D
    case("ASTCT-ICANS-TABLE hemiparesis → 4", "astct_icans", icans(motor="hemiparesis"), G(4)),
    case("ASTCT-ICANS-TABLE paraparesis → 4", "astct_icans", icans(motor="paraparesis"), G(4)),
    case(
        "IMPL-ICANS-D mild weakness contributes 0 → 0",
        "astct_icans",
        icans(motor="mild_weakness"),
        G(0),
    ),
    case(
        "D5 new motor weakness not deep focal → ASTCT 0",
        "astct_icans",
        icans(motor="new_motor_weakness"),
        G(0),
    ),
    case(
        "ASTCT-ICANS-04 tremor ignored → 0 and listed",
        "astct_icans",
        icans(motor="tremor"),
        G(0, ignored_has="tremor"),
    ),
    case(
        "ASTCT-ICANS-04 myoclonus ignored → 0 and listed",
        "astct_icans",
        icans(motor="myoclonus"),
        G(0, ignored_has="myoclonus"),
    ),
    case(
        "ASTCT-ICANS-04 myoclonus in other_findings ignored, ICE 8 → 1",
        "astct_icans",
        icans(ice_total=8, other_findings=["myoclonus"]),
        G(1, ignored_has="myoclonus"),
    ),
    # ICP / oedema row, D3
    case("ASTCT-ICANS-TABLE focal oedema → 3", "astct_icans", icans(icp_edema="focal_edema"), G(3)),
    case(
        "ASTCT-ICANS-01 ICE 8 + focal oedema → 3 (V057)",
        "astct_icans",
        icans(ice_total=_DROP, ice=ice_items(naming=2, attention=0), icp_edema="focal_edema"),
        G(3),
    ),
    case(
        "ASTCT-ICANS-TABLE diffuse oedema → 4",
        "astct_icans",
        icans(icp_edema="diffuse_edema"),
        G(4),
    ),
    case("ASTCT-ICANS-TABLE posturing → 4", "astct_icans", icans(icp_edema="posturing"), G(4)),
    case("ASTCT-ICANS-TABLE CN VI palsy → 4", "astct_icans", icans(icp_edema="cn6_palsy"), G(4)),
    case(
        "D3 ASTCT papilledema stage 1–2 → 4",
        "astct_icans",
        icans(icp_edema="papilledema_stage_1_2"),
        G(4),
    ),
    case(
        "ASTCT-ICANS-TABLE papilledema stage 3–5 → 4",
        "astct_icans",
        icans(icp_edema="papilledema_stage_3_5"),
        G(4),
    ),
    case(
        "ASTCT-ICANS-TABLE Cushing's triad → 4",
        "astct_icans",
        icans(icp_edema="cushing_triad"),
        G(4),
    ),
    case(
        "ASTCT-ICANS-05 intracranial haemorrhage excluded → 0 and listed",
        "astct_icans",
        icans(icp_edema="intracranial_hemorrhage"),
        G(0, ignored_has="intracranial"),
    ),
    case(
        "ASTCT-ICANS-05 haemorrhage excluded, ICE 6 decides → 2",
        "astct_icans",
        icans(ice_total=6, icp_edema="intracranial_hemorrhage"),
        G(2, ignored_has="intracranial"),
    ),
    case("ASTCT-ICANS-06 death due to ICANS → 5", "astct_icans", icans(death_due_to="ICANS"), G(5)),
    case(
        "ASTCT-ICANS-06 death due to CRS is not ICANS grade 5 → 0",
        "astct_icans",
        icans(death_due_to="CRS"),
        G(0),
    ),
    # sedation, IMPL-ICANS-E, ASTCT-ICANS-03
    case(
        "IMPL-ICANS-E sedated on propofol, nothing else gradeable → not_gradeable (V064)",
        "astct_icans",
        icans(
            ice_total=_DROP,
            consciousness="unarousable_or_vigorous_stimuli",
            consciousness_attributable_to_other_cause=True,
            sedation="propofol",
        ),
        NG(),
    ),
    case(
        "IMPL-ICANS-E propofol recorded, attribution unrecorded, unarousable → not_gradeable",
        "astct_icans",
        icans(
            ice_total=_DROP,
            consciousness="unarousable_or_vigorous_stimuli",
            sedation="propofol",
        ),
        NG(),
    ),
    case(
        "IMPL-ICANS-E ICE 0 'unable' because sedated (midazolam) → not_gradeable",
        "astct_icans",
        icans(
            ice_total=0,
            ice_unable_unarousable=True,
            consciousness="unarousable_or_vigorous_stimuli",
            consciousness_attributable_to_other_cause=True,
            sedation="midazolam",
        ),
        NG(),
    ),
    case(
        "IMPL-ICANS-E ICE not performed, unarousable on midazolam → not_gradeable",
        "astct_icans",
        icans(
            ice_total=_DROP,
            ice_unable_unarousable=True,
            consciousness="unarousable_or_vigorous_stimuli",
            consciousness_attributable_to_other_cause=True,
            sedation="midazolam",
        ),
        NG(),
    ),
    case(
        "IMPL-ICANS-E sedated but prolonged seizure → 4",
        "astct_icans",
        icans(
            ice_total=_DROP,
            consciousness="unarousable_or_vigorous_stimuli",
            consciousness_attributable_to_other_cause=True,
            sedation="propofol",
            seizure="prolonged_gt_5min",
        ),
        G(4),
    ),
    # C-4 / IMPL-ICANS-C missing data
    case(
        "IMPL-ICANS-C ICE missing + focal oedema, alert → 3",
        "astct_icans",
        icans(ice_total=_DROP, icp_edema="focal_edema"),
        G(3),
    ),
    case(
        "IMPL-ICANS-C ICE missing + focal oedema, consciousness unknown → not determined (3–4)",
        "astct_icans",
        icans(ice_total=_DROP, consciousness=_DROP, icp_edema="focal_edema"),
        NG(3, 4),
    ),
    case(
        "IMPL-ICANS-C ICE missing, all other domains 0 → not_gradeable",
        "astct_icans",
        icans(ice_total=_DROP),
        NG(0, 3, missing_has="ice"),
    ),
    case(
        "IMPL-ICANS-C ICE missing, awakens to voice (not unarousable) → not determined (2–3)",
        "astct_icans",
        icans(ice_total=_DROP, consciousness="awakens_to_voice"),
        NG(2, 3, missing_has="ice"),
    ),
    case(
        "C-4 ICE 5, consciousness unrecorded → not determined (2–4)",
        "astct_icans",
        icans(ice_total=5, consciousness=_DROP),
        NG(2, 4, missing_has="consciousness"),
    ),
    case(
        "IMPL-ICANS-E ICE 5 but consciousness sedated (lorazepam) → not determined (2–4)",
        "astct_icans",
        icans(
            ice_total=5,
            consciousness="awakens_to_voice",
            consciousness_attributable_to_other_cause=True,
            sedation="lorazepam",
        ),
        NG(2, 4),
    ),
    case(
        "C-4 ICE missing + diffuse oedema → 4",
        "astct_icans",
        icans(ice_total=_DROP, icp_edema="diffuse_edema"),
        G(4),
    ),
    case(
        "C-4 ICE item attention unknown, others 9 → not determined (0–1)",
        "astct_icans",
        icans(ice_total=_DROP, ice=ice_items(attention=None)),
        NG(0, 1, missing_has="ice"),
    ),
    case(
        "C-4 ICE items 0+0+0+1+? → total 1–2 → 3",
        "astct_icans",
        icans(
            ice_total=_DROP,
            ice=ice_items(orientation=0, naming=0, commands=0, writing=1, attention=None),
        ),
        G(3),
    ),
    case(
        "C-4 seizure unknown, ICE 10 → not determined (0–4)",
        "astct_icans",
        icans(seizure=_DROP),
        NG(0, 4, missing_has="seizure"),
    ),
    case(
        "C-4 oedema unknown, ICE 5 → not determined (2–4)",
        "astct_icans",
        icans(ice_total=5, icp_edema=_DROP),
        NG(2, 4, missing_has="icp_edema"),
    ),
]

# --------------------------------------------------------------------------------------------
# ASTCT 2019 ICANS, children: CAPD, D1, D2 (spec §2.4–2.5)
# --------------------------------------------------------------------------------------------

PED_ICANS = [
    case("IMPL-PED-A CAPD 0 → 0 (V078, D2)", "astct_icans", ped(), G(0)),
    case("ASTCT-ICANS-PED CAPD 1, alert → 1", "astct_icans", ped(capd_score=1), G(1)),
    case("ASTCT-ICANS-PED CAPD 8, alert → 1", "astct_icans", ped(capd_score=8), G(1)),
    case(
        "ASTCT-ICANS-PED CAPD 5 + awakens to voice → 2",
        "astct_icans",
        ped(capd_score=5, consciousness="awakens_to_voice"),
        G(2),
    ),
    case("CAPD-01 CAPD 9 → 3", "astct_icans", ped(capd_score=9), G(3)),
    case("CAPD-01 CAPD 32 → 3", "astct_icans", ped(capd_score=32), G(3)),
    case(
        "ASTCT-ICANS-PED unable to perform CAPD → 4",
        "astct_icans",
        ped(capd_score=_DROP, capd_unable=True, consciousness="unarousable_or_vigorous_stimuli"),
        G(4),
    ),
    case(
        "IMPL-ICANS-E/CAPD-01 unable to perform CAPD because sedated (midazolam) → not_gradeable",
        "astct_icans",
        ped(
            capd_score=_DROP,
            capd_unable=True,
            consciousness="unarousable_or_vigorous_stimuli",
            consciousness_attributable_to_other_cause=True,
            sedation="midazolam",
        ),
        NG(),
    ),
    case(
        "ASTCT-ICANS-PED CAPD 3 + focal oedema → 3",
        "astct_icans",
        ped(capd_score=3, icp_edema="focal_edema"),
        G(3),
    ),
    case(
        "IMPL-PED-B age 11.99 uses CAPD (CAPD 9, ICE 10) → 3",
        "astct_icans",
        ped(age_years=11.99, capd_score=9, ice_total=10),
        G(3),
    ),
    case(
        "IMPL-PED-B age 12.0 uses ICE (CAPD 9, ICE 10) → 0",
        "astct_icans",
        ped(age_years=12.0, capd_score=9, ice_total=10),
        G(0),
    ),
    case(
        "IMPL-PED-B date arithmetic: 11 y 364 d uses CAPD (CAPD 9, ICE 10) → 3",
        "astct_icans",
        ped(
            age_years=_DROP,
            date_of_birth="2014-11-23",
            assessed_at="2026-11-22",
            capd_score=9,
            ice_total=10,
        ),
        G(3),
    ),
    case(
        "IMPL-PED-B date arithmetic: 12 y 0 d uses ICE (CAPD 9, ICE 10) → 0",
        "astct_icans",
        ped(
            age_years=_DROP,
            date_of_birth="2014-11-22",
            assessed_at="2026-11-22",
            capd_score=9,
            ice_total=10,
        ),
        G(0),
    ),
    case(
        "CAPD-01 CAPD items summing to 8 → 1",
        "astct_icans",
        ped(capd_score=_DROP, capd_items=[1, 1, 1, 1, 1, 1, 1, 1]),
        G(1),
    ),
    case(
        "CAPD-01 CAPD items summing to 9 → 3",
        "astct_icans",
        ped(capd_score=_DROP, capd_items=[2, 1, 1, 1, 1, 1, 1, 1]),
        G(3),
    ),
    case(
        "ASTCT-ICANS-PED CAPD 5 + awakens spontaneously → 1",
        "astct_icans",
        ped(capd_score=5, consciousness="awakens_spontaneously"),
        G(1),
    ),
    case(
        "D1 ncit_le12: age 12.0 uses CAPD (CAPD 9, ICE 10) → 3",
        "astct_icans",
        ped(age_years=12.0, capd_score=9, ice_total=10),
        G(3),
        options={"pediatric_age_rule": "ncit_le12"},
    ),
    case(
        "D1 ncit_le12: age 11.99 uses CAPD → 3",
        "astct_icans",
        ped(age_years=11.99, capd_score=9, ice_total=10),
        G(3),
        options={"pediatric_age_rule": "ncit_le12"},
    ),
    case(
        "D1 ncit_le12: age 12.5 is a 12-year-old, uses CAPD → 3",
        "astct_icans",
        ped(age_years=12.5, capd_score=9, ice_total=10),
        G(3),
        options={"pediatric_age_rule": "ncit_le12"},
    ),
    case(
        "D1 ncit_le12: age 12.99 is a 12-year-old, uses CAPD → 3",
        "astct_icans",
        ped(age_years=12.99, capd_score=9, ice_total=10),
        G(3),
        options={"pediatric_age_rule": "ncit_le12"},
    ),
    case(
        "D1 default astct_lt12: age 12.5 uses ICE → 0",
        "astct_icans",
        ped(age_years=12.5, capd_score=9, ice_total=10),
        G(0),
    ),
    case(
        "D1 ncit_le12: age 13 uses ICE (CAPD 9, ICE 10) → 0",
        "astct_icans",
        ped(age_years=13.0, capd_score=9, ice_total=10),
        G(0),
        options={"pediatric_age_rule": "ncit_le12"},
    ),
    case(
        "ASTCT-ICANS-PED developmental delay at 30 y uses CAPD (CAPD 9, ICE 10) → 3",
        "astct_icans",
        ped(age_years=30, developmental_delay=True, capd_score=9, ice_total=10),
        G(3),
    ),
    case(
        "C-4 IMPL-PED-B age unrecorded, ICE 8 only → not_gradeable (instrument depends on age)",
        "astct_icans",
        icans(age_years=_DROP, ice_total=8),
        NG(missing_has="age"),
    ),
    case(
        "ASTCT-ICANS-PED child under 12 with only ICE recorded → not_gradeable (CAPD missing)",
        "astct_icans",
        ped(capd_score=_DROP, ice_total=10),
        NG(missing_has="capd"),
    ),
]

# --------------------------------------------------------------------------------------------
# Lee 2014 (spec §3.1)
# --------------------------------------------------------------------------------------------

LEE = [
    case("LEE14 fever only → 1 (V001)", "lee2014_crs", crs(temperature_c=38.0), G(1)),
    case(
        "LEE14-FEVER-NOT-REQUIRED afebrile, CRS explicitly not diagnosed, fluid-responsive → 0",
        "lee2014_crs",
        crs(temperature_c=37.0, clinician_diagnosis_crs=False, hypotension="fluid_responsive"),
        G(0),
    ),
    case(
        "C-4 LEE14 afebrile fluid-responsive, diagnosis unrecorded → not determined (0–2)",
        "lee2014_crs",
        crs(temperature_c=37.0, hypotension="fluid_responsive"),
        NG(0, 2, missing_has="clinician_diagnosis_crs"),
    ),
    case(
        "LEE14-FEVER-NOT-REQUIRED afebrile, clinical CRS, fluid-responsive → 2",
        "lee2014_crs",
        crs(temperature_c=37.0, clinician_diagnosis_crs=True, hypotension="fluid_responsive"),
        G(2),
    ),
    case(
        "LEE14 FiO2 0.39 → 2",
        "lee2014_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=4, fio2=0.39)),
        G(2),
    ),
    case(
        "C-1 LEE14 FiO2 0.3999 not rounded → 2",
        "lee2014_crs",
        crs(oxygen=ox("facemask", fio2=0.3999)),
        G(2),
    ),
    case(
        "LEE14 FiO2 0.40 → 3",
        "lee2014_crs",
        crs(oxygen=ox("facemask", fio2=0.40)),
        G(3),
    ),
    case(
        "LEE14 FiO2 0.41 → 3",
        "lee2014_crs",
        crs(oxygen=ox("facemask", fio2=0.41)),
        G(3),
    ),
    case(
        "D8 Lee facemask FiO2 0.35 → 2 (ASTCT 3)",
        "lee2014_crs",
        crs(oxygen=ox("facemask", fio2=0.35)),
        G(2),
    ),
    case(
        "LEE14 device without FiO2 → not_gradeable (no flow→FiO2 conversion)",
        "lee2014_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=2)),
        NG(2, 3, missing_has="fio2"),
    ),
    case(
        "LEE14 ventilator support → 4",
        "lee2014_crs",
        crs(oxygen=ox("mechanical_ventilation", fio2=0.3)),
        G(4),
    ),
    case(
        "D6 Lee CPAP FiO2 0.40, default NIV not ventilator → 3 (V015)",
        "lee2014_crs",
        crs(oxygen=ox("cpap", fio2=0.40)),
        G(3),
    ),
    case(
        "D6 Lee BiPAP FiO2 0.30, default → 2",
        "lee2014_crs",
        crs(oxygen=ox("bipap", fio2=0.30)),
        G(2),
    ),
    case(
        "D6 Lee CPAP FiO2 0.40, niv_is_ventilator_support=yes → 4",
        "lee2014_crs",
        crs(oxygen=ox("cpap", fio2=0.40)),
        G(4),
        options={"niv_is_ventilator_support": "yes"},
    ),
    case(
        "D6 Lee BiPAP FiO2 0.30, niv_is_ventilator_support=yes → 4",
        "lee2014_crs",
        crs(oxygen=ox("bipap", fio2=0.30)),
        G(4),
        options={"niv_is_ventilator_support": "yes"},
    ),
    case("LEE14 fluid-responsive → 2", "lee2014_crs", crs(hypotension="fluid_responsive"), G(2)),
    # LEE14-HIGHDOSE single agents, ≥3 h rule
    case("LEE14-HIGHDOSE NE 19.99 mcg/min 4 h → 2", "lee2014_crs", on_ne(19.99, 4), G(2)),
    case("LEE14-HIGHDOSE NE 20 mcg/min 4 h → 3", "lee2014_crs", on_ne(20, 4), G(3)),
    case("LEE14-HIGHDOSE NE 25 mcg/min 4 h → 3 (V036)", "lee2014_crs", on_ne(25, 4), G(3)),
    case("LEE14-HIGHDOSE NE 20 mcg/min for 2.99 h → 2", "lee2014_crs", on_ne(20, 2.99), G(2)),
    case("LEE14-HIGHDOSE NE 20 mcg/min for 3.0 h → 3", "lee2014_crs", on_ne(20, 3.0), G(3)),
    case(
        "LEE14-HIGHDOSE dopamine 9.99 mcg/kg/min → 2",
        "lee2014_crs",
        on_single("dopamine", 9.99),
        G(2),
    ),
    case(
        "LEE14-HIGHDOSE dopamine 10 mcg/kg/min → 3", "lee2014_crs", on_single("dopamine", 10), G(3)
    ),
    case(
        "LEE14-HIGHDOSE phenylephrine 199.9 mcg/min → 2",
        "lee2014_crs",
        on_single("phenylephrine", 199.9),
        G(2),
    ),
    case(
        "LEE14-HIGHDOSE phenylephrine 200 mcg/min → 3",
        "lee2014_crs",
        on_single("phenylephrine", 200),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE epinephrine 9.99 mcg/min → 2",
        "lee2014_crs",
        on_single("epinephrine", 9.99),
        G(2),
    ),
    case(
        "LEE14-HIGHDOSE epinephrine 10 mcg/min → 3",
        "lee2014_crs",
        on_single("epinephrine", 10),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE NE 20 mcg/min, duration unknown → not determined (2–3)",
        "lee2014_crs",
        crs(hypotension="vasopressor_single", vasopressors=[vp("norepinephrine", 20, None)]),
        NG(2, 3, missing_has="duration_h"),
    ),
    case(
        "LEE14-HIGHDOSE vasopressin alone (NE-eq 0 <10) → 2",
        "lee2014_crs",
        crs(
            hypotension="vasopressin_only",
            vasopressin=True,
            vasopressors=[vp("vasopressin", 0.03, 4)],
        ),
        G(2),
    ),
    case(
        "LEE14-HIGHDOSE NE 0.3 mcg/kg/min × 70 kg = 21 mcg/min → 3",
        "lee2014_crs",
        crs(
            hypotension="vasopressor_single",
            vasopressors=[vp("norepinephrine", 0.3, 4, "mcg/kg/min")],
        ),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE NE 0.28 mcg/kg/min × 70 kg = 19.6 mcg/min → 2",
        "lee2014_crs",
        crs(
            hypotension="vasopressor_single",
            vasopressors=[vp("norepinephrine", 0.28, 4, "mcg/kg/min")],
        ),
        G(2),
    ),
    case(
        "LEE14-HIGHDOSE NE in mcg/kg/min, weight unrecorded → not determined (2–3)",
        "lee2014_crs",
        crs(
            weight_kg=_DROP,
            hypotension="vasopressor_single",
            vasopressors=[vp("norepinephrine", 0.3, 4, "mcg/kg/min")],
        ),
        NG(2, 3, missing_has="weight_kg"),
    ),
    case(
        "LEE14-HIGHDOSE dopamine 700 mcg/min ÷ 70 kg = 10 mcg/kg/min → 3",
        "lee2014_crs",
        crs(hypotension="vasopressor_single", vasopressors=[vp("dopamine", 700, 4, "mcg/min")]),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE dopamine 690 mcg/min ÷ 70 kg = 9.86 mcg/kg/min → 2",
        "lee2014_crs",
        crs(hypotension="vasopressor_single", vasopressors=[vp("dopamine", 690, 4, "mcg/min")]),
        G(2),
    ),
    case(
        "LEE14 multiple vasopressors, doses unrecorded → 3",
        "lee2014_crs",
        crs(hypotension="vasopressor_multiple", vasopressors=_DROP),
        G(3),
    ),
    case(
        "LEE14 life-threatening symptoms (flag), nothing else → 4",
        "lee2014_crs",
        crs(crs_life_threatening=True),
        G(4),
    ),
    case(
        "LEE14 room air, FiO2 unrecorded → 1 (no O2 requirement)",
        "lee2014_crs",
        crs(oxygen={"device": "none"}),
        G(1),
    ),
    case(
        "LEE14 mechanical ventilation, FiO2 unrecorded → 4",
        "lee2014_crs",
        crs(oxygen={"device": "mechanical_ventilation"}),
        G(4),
    ),
    case(
        "LEE14 one vasopressor, dose unknown → not determined (2–3)",
        "lee2014_crs",
        crs(hypotension="vasopressor_single", vasopressors=_DROP),
        NG(2, 3),
    ),
    # multiple vasopressors / D9 vasopressin counted
    case(
        "D9 Lee NE low dose + vasopressin = multiple → 3",
        "lee2014_crs",
        crs(
            hypotension="vasopressor_single",
            vasopressin=True,
            vasopressors=[vp("norepinephrine", 5, 2), vp("vasopressin", 0.03, 2)],
        ),
        G(3),
    ),
    case(
        "§8.3 Lee NE + phenylephrine low dose = multiple → 3",
        "lee2014_crs",
        crs(
            hypotension="vasopressor_multiple",
            vasopressors=[vp("norepinephrine", 5, 2), vp("phenylephrine", 50, 2)],
        ),
        G(3),
    ),
    # organ toxicity (D7)
    case(
        "D7 Lee grade 2 organ toxicity → 2",
        "lee2014_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 2}),
        G(2),
    ),
    case(
        "D7 Lee grade 3 organ toxicity → 3",
        "lee2014_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 3}),
        G(3),
    ),
    case(
        "D7 Lee grade 4 transaminitis → 3 (§8.3)",
        "lee2014_crs",
        crs(organ_toxicity_ctcae={"alt_increased": 4}),
        G(3),
    ),
    case(
        "D7 Lee grade 4 AST transaminitis → 3",
        "lee2014_crs",
        crs(organ_toxicity_ctcae={"ast_increased": 4}),
        G(3),
    ),
    case(
        "D7 Lee grade 4 organ toxicity (not transaminitis) → 4",
        "lee2014_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 4}),
        G(4),
    ),
    case("LEE14 death due to CRS → 5", "lee2014_crs", crs(death_due_to="CRS"), G(5)),
]

# --------------------------------------------------------------------------------------------
# CARTOX CRS (spec §3.2)
# --------------------------------------------------------------------------------------------

CARTOX = [
    case("CARTOX temp 37.99, nothing else → 0", "cartox_crs", crs(temperature_c=37.99), G(0)),
    case("CARTOX temp 38.0 → 1 (V001)", "cartox_crs", crs(temperature_c=38.0), G(1)),
    case(
        "CARTOX grade 1 organ toxicity without fever (clinical CRS) → 1",
        "cartox_crs",
        crs(
            temperature_c=37.0,
            clinician_diagnosis_crs=True,
            organ_toxicity_ctcae={"creatinine_increased": 1},
        ),
        G(1),
    ),
    case(
        "CARTOX fever not required for grade 2: afebrile clinical CRS, fluid-responsive → 2",
        "cartox_crs",
        crs(temperature_c=37.0, clinician_diagnosis_crs=True, hypotension="fluid_responsive"),
        G(2),
    ),
    case(
        "C-4 CARTOX afebrile fluid-responsive, diagnosis unrecorded → not determined (0–2)",
        "cartox_crs",
        crs(temperature_c=37.0, hypotension="fluid_responsive"),
        NG(0, 2, missing_has="clinician_diagnosis_crs"),
    ),
    case("CARTOX fluid-responsive → 2", "cartox_crs", crs(hypotension="fluid_responsive"), G(2)),
    case("CARTOX NE 19.99 mcg/min 4 h (low dose) → 2", "cartox_crs", on_ne(19.99, 4), G(2)),
    case("CARTOX NE 20 mcg/min 3 h (high dose) → 3", "cartox_crs", on_ne(20, 3), G(3)),
    case("CARTOX NE 25 mcg/min 4 h → 3 (V036)", "cartox_crs", on_ne(25, 4), G(3)),
    case(
        "CARTOX multiple vasopressors → 3",
        "cartox_crs",
        crs(
            hypotension="vasopressor_multiple",
            vasopressors=[vp("norepinephrine", 5, 2), vp("phenylephrine", 50, 2)],
        ),
        G(3),
    ),
    case(
        "CARTOX FiO2 0.39 → 2",
        "cartox_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=4, fio2=0.39)),
        G(2),
    ),
    case("CARTOX FiO2 0.40 → 3", "cartox_crs", crs(oxygen=ox("facemask", fio2=0.40)), G(3)),
    case(
        "CARTOX ventilator support → 4",
        "cartox_crs",
        crs(oxygen=ox("mechanical_ventilation", fio2=0.4)),
        G(4),
    ),
    case(
        "CARTOX grade 2 organ toxicity → 2",
        "cartox_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 2}),
        G(2),
    ),
    case(
        "CARTOX grade 3 organ toxicity → 3",
        "cartox_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 3}),
        G(3),
    ),
    case(
        "CARTOX grade 4 transaminitis → 3",
        "cartox_crs",
        crs(organ_toxicity_ctcae={"ast_increased": 4}),
        G(3),
    ),
    case(
        "CARTOX grade 4 organ toxicity except transaminitis → 4",
        "cartox_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 4}),
        G(4),
    ),
    case("CARTOX death due to CRS → 5", "cartox_crs", crs(death_due_to="CRS"), G(5)),
    case(
        "CARTOX life-threatening hypotension → 4",
        "cartox_crs",
        crs(hypotension="vasopressor_multiple", crs_life_threatening=True),
        G(4),
    ),
    case(
        "D6 CARTOX CPAP FiO2 0.30, default NIV not ventilator → 2",
        "cartox_crs",
        crs(oxygen=ox("cpap", fio2=0.30)),
        G(2),
    ),
    case(
        "D6 CARTOX CPAP FiO2 0.30, niv_is_ventilator_support=yes → 4",
        "cartox_crs",
        crs(oxygen=ox("cpap", fio2=0.30)),
        G(4),
        options={"niv_is_ventilator_support": "yes"},
    ),
]

# --------------------------------------------------------------------------------------------
# Penn (spec §3.4); the Lee 2014 high-dose table incl. NE-equivalent combinations
# --------------------------------------------------------------------------------------------


def penn_combo(*pressors: dict[str, Any], vasopressin: bool = False) -> dict[str, Any]:
    non_vp = [p for p in pressors if p["agent"] != "vasopressin"]
    hyp = "vasopressor_multiple" if len(non_vp) >= 2 else "vasopressor_single"
    if not non_vp:
        hyp = "vasopressin_only"
    return crs(hypotension=hyp, vasopressin=vasopressin, vasopressors=list(pressors))


PENN = [
    case("PENN fever only → 1", "penn_crs", crs(), G(1)),
    case(
        "PENN-O2 nasal cannula 1 L/min → 3",
        "penn_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=1, fio2=0.24)),
        G(3),
    ),
    case(
        "§8.3 Penn 2 L/min NC (FiO2 <40%) → 3",
        "penn_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=2, fio2=0.28)),
        G(3),
    ),
    case("PENN-O2 blow-by is supplemental oxygen → 3", "penn_crs", crs(oxygen=ox("blow_by")), G(3)),
    case(
        "PENN-O2 high-flow oxygen → 3",
        "penn_crs",
        crs(oxygen=ox("high_flow_nasal_cannula", flow=40, fio2=0.6)),
        G(3),
    ),
    case("D6 Penn CPAP → 3 (V015)", "penn_crs", crs(oxygen=ox("cpap", fio2=0.4)), G(3)),
    case("D6 Penn BiPAP → 3", "penn_crs", crs(oxygen=ox("bipap", fio2=0.5)), G(3)),
    case(
        "PENN mechanical ventilation → 4",
        "penn_crs",
        crs(oxygen=ox("mechanical_ventilation", fio2=0.4)),
        G(4),
    ),
    case(
        "PENN hypotension treated with IV fluids → 3",
        "penn_crs",
        crs(hypotension="fluid_responsive"),
        G(3),
    ),
    case("§8.3 Penn NE low dose 2 h → 3", "penn_crs", on_ne(5, 2), G(3)),
    case("PENN NE 19.99 mcg/min 4 h (low dose) → 3", "penn_crs", on_ne(19.99, 4), G(3)),
    case("PENN NE 20 mcg/min 4 h (high dose) → 4", "penn_crs", on_ne(20, 4), G(4)),
    case("PENN NE 25 mcg/min 4 h → 4 (V036)", "penn_crs", on_ne(25, 4), G(4)),
    case("LEE14-HIGHDOSE ≥3 h: Penn NE 25 mcg/min for 2 h → 3", "penn_crs", on_ne(25, 2), G(3)),
    case(
        "LEE14-HIGHDOSE ≥3 h: Penn NE 15 + epi 10 (NE-eq 25) for 2 h → 3",
        "penn_crs",
        penn_combo(vp("norepinephrine", 15, 2), vp("epinephrine", 10, 2)),
        G(3),
    ),
    case(
        "§8.3 Penn NE + phenylephrine low dose (NE-eq 10) → 3",
        "penn_crs",
        penn_combo(vp("norepinephrine", 5, 2), vp("phenylephrine", 50, 2)),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE combo NE 10 + epi 9.99 (NE-eq 19.99) → Penn 3",
        "penn_crs",
        penn_combo(vp("norepinephrine", 10, 4), vp("epinephrine", 9.99, 4)),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE combo NE 10 + epi 10 (NE-eq 20) → Penn 4",
        "penn_crs",
        penn_combo(vp("norepinephrine", 10, 4), vp("epinephrine", 10, 4)),
        G(4),
    ),
    case(
        "LEE14-HIGHDOSE combo NE 15 + dopamine 10 mcg/kg/min (NE-eq 20) → Penn 4",
        "penn_crs",
        penn_combo(vp("norepinephrine", 15, 4), vp("dopamine", 10, 4)),
        G(4),
    ),
    case(
        "LEE14-HIGHDOSE combo NE 15 + dopamine 9.9 mcg/kg/min (NE-eq 19.95) → Penn 3",
        "penn_crs",
        penn_combo(vp("norepinephrine", 15, 4), vp("dopamine", 9.9, 4)),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE combo NE 18 + phenylephrine 20 (NE-eq 20) → Penn 4",
        "penn_crs",
        penn_combo(vp("norepinephrine", 18, 4), vp("phenylephrine", 20, 4)),
        G(4),
    ),
    case(
        "LEE14-HIGHDOSE combo NE 18 + phenylephrine 19 (NE-eq 19.9) → Penn 3",
        "penn_crs",
        penn_combo(vp("norepinephrine", 18, 4), vp("phenylephrine", 19, 4)),
        G(3),
    ),
    case(
        "LEE14-HIGHDOSE vasopressin + NE 10 (NE-eq ≥10) → Penn 4",
        "penn_crs",
        penn_combo(vp("norepinephrine", 10, 4), vp("vasopressin", 0.03, 4), vasopressin=True),
        G(4),
    ),
    case(
        "LEE14-HIGHDOSE vasopressin + NE 9.99 (NE-eq <10) → Penn 3",
        "penn_crs",
        penn_combo(vp("norepinephrine", 9.99, 4), vp("vasopressin", 0.03, 4), vasopressin=True),
        G(3),
    ),
    case(
        "PENN grade 2 creatinine → 2",
        "penn_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 2}),
        G(2),
    ),
    case(
        "PENN grade 3 LFTs → 2",
        "penn_crs",
        crs(organ_toxicity_ctcae={"alt_increased": 3}),
        G(2),
    ),
    case(
        "§8.3 Penn grade 4 transaminitis → 3",
        "penn_crs",
        crs(organ_toxicity_ctcae={"alt_increased": 4}),
        G(3),
    ),
    case(
        "PENN grade 3 creatinine → 3",
        "penn_crs",
        crs(organ_toxicity_ctcae={"creatinine_increased": 3}),
        G(3),
    ),
    case("PENN death due to CRS → 5", "penn_crs", crs(death_due_to="CRS"), G(5)),
    case(
        "PENN hospitalised for CRS-related symptoms → 2",
        "penn_crs",
        crs(hospitalized_for_crs=True),
        G(2),
    ),
    case(
        "PENN hospitalised for CRS-related organ dysfunction → 3",
        "penn_crs",
        crs(hospitalized_for_crs_organ_dysfunction=True),
        G(3),
    ),
    case(
        "PENN coagulopathy requiring FFP/cryo/fibrinogen → 3",
        "penn_crs",
        crs(coagulopathy_requiring_blood_products=True),
        G(3),
    ),
    case(
        "PENN life-threatening complication → 4",
        "penn_crs",
        crs(crs_life_threatening=True),
        G(4),
    ),
    case(
        "PENN-O2 low-flow NC without FiO2 still → 3 (Penn does not use FiO2)",
        "penn_crs",
        crs(oxygen={"device": "low_flow_nasal_cannula"}),
        G(3),
    ),
    case(
        "C-4 PENN oxygen unrecorded → not determined (1–4)",
        "penn_crs",
        crs(oxygen=_DROP),
        NG(1, 4, missing_has="oxygen"),
    ),
]

# --------------------------------------------------------------------------------------------
# MSKCC (spec §3.5)
# --------------------------------------------------------------------------------------------

MSKCC = [
    case("MSKCC fever only → 1", "mskcc_crs", crs(), G(1)),
    case(
        "MSKCC fluid-responsive hypotension (no vasopressor) → 1 [I]",
        "mskcc_crs",
        crs(hypotension="fluid_responsive"),
        G(1),
    ),
    case("MSKCC-24H vasopressor 23.9 h → 2", "mskcc_crs", on_ne(5, 23.9), G(2)),
    case("MSKCC-24H vasopressor 24.0 h → 3", "mskcc_crs", on_ne(5, 24.0), G(3)),
    case("MSKCC-24H vasopressor 24.1 h → 3", "mskcc_crs", on_ne(5, 24.1), G(3)),
    case("MSKCC-24H NE 25 mcg/min 4 h → 2 (V036)", "mskcc_crs", on_ne(25, 4), G(2)),
    case(
        "MSKCC-24H multiple vasopressors 5 h → 2 (any vasopressors <24 h)",
        "mskcc_crs",
        crs(
            hypotension="vasopressor_multiple",
            vasopressors=[vp("norepinephrine", 5, 5), vp("phenylephrine", 50, 5)],
        ),
        G(2),
    ),
    case(
        "MSKCC-24H vasopressor duration unknown → not determined (2–3)",
        "mskcc_crs",
        crs(hypotension="vasopressor_single", vasopressors=_DROP),
        NG(2, 3),
    ),
    case(
        "MSKCC refractory to high-dose vasopressors → 4",
        "mskcc_crs",
        on_ne(30, 6, hypotension_refractory_to_high_dose_vasopressors=True),
        G(4),
    ),
    case(
        "MSKCC O2 FiO2 0.39 → 2",
        "mskcc_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=4, fio2=0.39)),
        G(2),
    ),
    case("MSKCC O2 FiO2 0.40 → 3", "mskcc_crs", crs(oxygen=ox("facemask", fio2=0.40)), G(3)),
    case(
        "MSKCC CPAP FiO2 0.40, default → 3 (V015)",
        "mskcc_crs",
        crs(oxygen=ox("cpap", fio2=0.40)),
        G(3),
    ),
    case(
        "MSKCC mechanical ventilation → 4",
        "mskcc_crs",
        crs(oxygen=ox("mechanical_ventilation", fio2=0.3)),
        G(4),
    ),
    case("MSKCC death due to CRS → 5", "mskcc_crs", crs(death_due_to="CRS"), G(5)),
    case(
        "MSKCC life-threatening symptoms → 4",
        "mskcc_crs",
        crs(crs_life_threatening=True),
        G(4),
    ),
    case(
        "MSKCC-24H vasopressin alone 5 h counts as any vasopressor → 2",
        "mskcc_crs",
        crs(
            hypotension="vasopressin_only",
            vasopressin=True,
            vasopressors=[vp("vasopressin", 0.03, 5)],
        ),
        G(2),
    ),
    case(
        "D6 MSKCC CPAP FiO2 0.30, niv_is_ventilator_support=yes → 4",
        "mskcc_crs",
        crs(oxygen=ox("cpap", fio2=0.30)),
        G(4),
        options={"niv_is_ventilator_support": "yes"},
    ),
    case(
        "MSKCC O2 device without FiO2 → not determined (2–3)",
        "mskcc_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=3)),
        NG(2, 3, missing_has="fio2"),
    ),
]

# --------------------------------------------------------------------------------------------
# CTCAE v5.0 CRS (spec §3.6)
# --------------------------------------------------------------------------------------------

CTCAE = [
    case("CTCAE5 temp 37.99, nothing else → 0", "ctcae5_crs", crs(temperature_c=37.99), G(0)),
    case("CTCAE5 fever 38.0 → 1 (V001)", "ctcae5_crs", crs(temperature_c=38.0), G(1)),
    case("CTCAE5 fluid-responsive → 2", "ctcae5_crs", crs(hypotension="fluid_responsive"), G(2)),
    case(
        "CTCAE5 FiO2 0.39 → 2",
        "ctcae5_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=4, fio2=0.39)),
        G(2),
    ),
    case("CTCAE5 FiO2 0.40 → 3", "ctcae5_crs", crs(oxygen=ox("facemask", fio2=0.40)), G(3)),
    case("CTCAE5 one pressor, any dose → 3", "ctcae5_crs", on_ne(2, 1), G(3)),
    case("CTCAE5 one pressor NE 25 4 h → 3 (V036)", "ctcae5_crs", on_ne(25, 4), G(3)),
    case(
        "CTCAE5 multiple pressors + life-threatening flag → 4",
        "ctcae5_crs",
        crs(hypotension="vasopressor_multiple", crs_life_threatening=True),
        G(4),
    ),
    case(
        "CTCAE5 multiple pressors, life-threatening unrecorded → not_gradeable (3–4) [I]",
        "ctcae5_crs",
        crs(hypotension="vasopressor_multiple"),
        NG(3, 4, missing_has="crs_life_threatening"),
    ),
    case(
        # Spec §3.6 [I] says "otherwise not_gradeable"; with the clinician's explicit "not
        # life-threatening", the one-pressor criterion of grade 3 is met and grade 4 is ruled out
        # (docs/interpretations.md). An unrecorded flag stays not_gradeable (case above).
        "CTCAE5 multiple pressors, flag explicitly false → 3 [I]",
        "ctcae5_crs",
        crs(hypotension="vasopressor_multiple", crs_life_threatening=False),
        G(3),
    ),
    case(
        "CTCAE5 O2 device without FiO2 → not determined (2–3)",
        "ctcae5_crs",
        crs(oxygen=ox("low_flow_nasal_cannula", flow=3)),
        NG(2, 3, missing_has="fio2"),
    ),
    case(
        "CTCAE5 life-threatening, urgent intervention → 4",
        "ctcae5_crs",
        crs(crs_life_threatening=True),
        G(4),
    ),
    case("CTCAE5 death due to CRS → 5", "ctcae5_crs", crs(death_due_to="CRS"), G(5)),
    case(
        "CTCAE5 mechanical ventilation = urgent intervention → 4",
        "ctcae5_crs",
        crs(oxygen=ox("mechanical_ventilation", fio2=0.3)),
        G(4),
    ),
]

# --------------------------------------------------------------------------------------------
# CARTOX-10 / CRES (spec §3.3), D3–D5
# --------------------------------------------------------------------------------------------

CRES = [
    case("CARTOX-CRES CARTOX-10 10 → 0", "cartox_cres", cres(), G(0)),
    case("CARTOX-CRES CARTOX-10 9 → 1", "cartox_cres", cres(cartox10_score=9), G(1)),
    case("CARTOX-CRES CARTOX-10 7 → 1", "cartox_cres", cres(cartox10_score=7), G(1)),
    case("CARTOX-CRES CARTOX-10 6 → 2", "cartox_cres", cres(cartox10_score=6), G(2)),
    case("CARTOX-CRES CARTOX-10 3 → 2", "cartox_cres", cres(cartox10_score=3), G(2)),
    case("CARTOX-CRES CARTOX-10 2 → 3", "cartox_cres", cres(cartox10_score=2), G(3)),
    case("CARTOX-CRES CARTOX-10 0 → 3", "cartox_cres", cres(cartox10_score=0), G(3)),
    case(
        "CARTOX-CRES obtunded, cannot perform → 4",
        "cartox_cres",
        cres(cartox10_score=_DROP, cartox10_unable_obtunded=True),
        G(4),
    ),
    case(
        "CARTOX-CRES partial seizure responding to benzodiazepine → 3 (V071)",
        "cartox_cres",
        cres(cartox10_score=9, seizure="partial_responding_to_benzodiazepine"),
        G(3),
    ),
    case(
        "CARTOX-CRES non-convulsive EEG seizure resolved with intervention → 3",
        "cartox_cres",
        cres(seizure="nonconvulsive_eeg_resolved_with_intervention"),
        G(3),
    ),
    case("D4 CRES generalized seizure → 4", "cartox_cres", cres(seizure="generalized"), G(4)),
    case(
        "CARTOX-CRES status epilepticus (prolonged >5 min) → 4",
        "cartox_cres",
        cres(seizure="prolonged_gt_5min"),
        G(4),
    ),
    case(
        "D5 CRES new motor weakness → 4",
        "cartox_cres",
        cres(motor="new_motor_weakness"),
        G(4),
    ),
    case("CARTOX-CRES hemiparesis → 4", "cartox_cres", cres(motor="hemiparesis"), G(4)),
    case(
        "D5/IMPL-ICANS-D CRES mild (new) weakness → 4",
        "cartox_cres",
        cres(motor="mild_weakness"),
        G(4),
    ),
    case(
        "CARTOX-CRES tremor is not a CRES criterion → 0",
        "cartox_cres",
        cres(motor="tremor"),
        G(0, ignored_has="tremor"),
    ),
    case(
        "CARTOX-CRES repetitive seizures (status epilepticus) → 4",
        "cartox_cres",
        cres(seizure="repetitive_without_return_to_baseline"),
        G(4),
    ),
    case(
        "C-4 D4 CRES seizure 'focal or generalized' resolved rapidly → not determined (3–4)",
        "cartox_cres",
        cres(seizure="focal_or_generalized_resolved_rapidly"),
        NG(3, 4, missing_has="seizure"),
    ),
    case(
        "CARTOX-CRES death due to ICANS → 5",
        "cartox_cres",
        cres(death_due_to="ICANS"),
        G(5),
    ),
    case(
        "D3 CRES papilledema stage 1–2 → 3",
        "cartox_cres",
        cres(icp_edema="papilledema_stage_1_2"),
        G(3),
    ),
    case(
        "D3 CRES papilledema stage 3–5 → 4",
        "cartox_cres",
        cres(icp_edema="papilledema_stage_3_5"),
        G(4),
    ),
    case(
        "CARTOX-CRES cerebral oedema (diffuse) → 4",
        "cartox_cres",
        cres(icp_edema="diffuse_edema"),
        G(4),
    ),
    case(
        "CARTOX-CRES cerebral oedema (focal) → 4",
        "cartox_cres",
        cres(icp_edema="focal_edema"),
        G(4),
    ),
    case(
        "CARTOX-CRES CSF opening pressure 19.9 mmHg → 3 (default)",
        "cartox_cres",
        cres(csf_opening_pressure_mmhg=19.9),
        G(3),
    ),
    case(
        "CARTOX-CRES CSF opening pressure 20 mmHg → 4",
        "cartox_cres",
        cres(csf_opening_pressure_mmhg=20.0),
        G(4),
    ),
    case(
        "CARTOX-CRES CSF 15 mmHg, csf_below_20_grades_3=no → 0",
        "cartox_cres",
        cres(csf_opening_pressure_mmhg=15.0),
        G(0),
        options={"csf_below_20_grades_3": "no"},
    ),
    case(
        "CARTOX-CRES CSF 20 mmHg, csf_below_20_grades_3=no → 4",
        "cartox_cres",
        cres(csf_opening_pressure_mmhg=20.0),
        G(4),
        options={"csf_below_20_grades_3": "no"},
    ),
    case(
        "CARTOX-CRES consciousness is not a CRES domain: voice + CARTOX-10 10 → 0",
        "cartox_cres",
        cres(consciousness="awakens_to_voice"),
        G(0),
    ),
    case(
        "C-4 CRES CARTOX-10 missing, other domains normal → not_gradeable",
        "cartox_cres",
        cres(cartox10_score=_DROP),
        NG(missing_has="cartox10"),
    ),
    case(
        "C-4 CRES CARTOX-10 missing + generalized seizure → 4",
        "cartox_cres",
        cres(cartox10_score=_DROP, seizure="generalized"),
        G(4),
    ),
]

# --------------------------------------------------------------------------------------------
# §8.3 rules of thumb across scales (each row, each scale)
# --------------------------------------------------------------------------------------------

_NC2 = crs(oxygen=ox("low_flow_nasal_cannula", flow=2, fio2=0.28))
_CPAP = crs(oxygen=ox("cpap", fio2=0.5))
_T4 = crs(organ_toxicity_ctcae={"alt_increased": 4})
_NE_PE = crs(
    hypotension="vasopressor_multiple",
    vasopressors=[vp("norepinephrine", 5, 4), vp("phenylephrine", 50, 4)],
)
_NE_LOW_2H = on_ne(5, 2)

RULES_OF_THUMB = [
    case("§8.3 NC 2 L/min → ASTCT 2", "astct_crs", _NC2, G(2)),
    case("§8.3 NC 2 L/min → Lee 2", "lee2014_crs", _NC2, G(2)),
    case("§8.3 CPAP → ASTCT 4", "astct_crs", _CPAP, G(4)),
    case("§8.3 CPAP FiO2 0.5 → Lee 3 (default)", "lee2014_crs", _CPAP, G(3)),
    case(
        "§8.3 CPAP → Lee 4 (niv_is_ventilator_support=yes)",
        "lee2014_crs",
        _CPAP,
        G(4),
        options={"niv_is_ventilator_support": "yes"},
    ),
    case("§8.3 CPAP → Penn 3", "penn_crs", _CPAP, G(3)),
    case("§8.3 G4 transaminitis → ASTCT 1", "astct_crs", _T4, G(1)),
    case("§8.3 G4 transaminitis → Lee 3", "lee2014_crs", _T4, G(3)),
    case("§8.3 G4 transaminitis → Penn 3", "penn_crs", _T4, G(3)),
    case("§8.3 NC 2 L/min → Penn 3", "penn_crs", _NC2, G(3)),
    case("§8.3 NE + phenylephrine low dose → ASTCT 4", "astct_crs", _NE_PE, G(4)),
    case("§8.3 NE + phenylephrine low dose → Lee 3", "lee2014_crs", _NE_PE, G(3)),
    case("§8.3 NE + phenylephrine low dose → Penn 3", "penn_crs", _NE_PE, G(3)),
    case("§8.3 NE low dose 2 h → ASTCT 3", "astct_crs", _NE_LOW_2H, G(3)),
    case("§8.3 NE low dose 2 h → Lee 2", "lee2014_crs", _NE_LOW_2H, G(2)),
    case("§8.3 NE low dose 2 h → Penn 3", "penn_crs", _NE_LOW_2H, G(3)),
]

ALL_CASES = (
    ASTCT_CRS
    + ASTCT_ICANS
    + PED_ICANS
    + LEE
    + CARTOX
    + PENN
    + MSKCC
    + CTCAE
    + CRES
    + RULES_OF_THUMB
)


@pytest.mark.parametrize(("scale", "assessment", "options", "expect"), ALL_CASES)
def test_grade_matches_source(
    scale: str, assessment: dict[str, Any], options: dict[str, str] | None, expect: Expect
) -> None:
    result = cartwatch.grade(scale, assessment, options=options)
    assert isinstance(result, cartwatch.GradeResult)
    got = (str(result.status), result.grade)
    assert got == (expect.status, expect.grade), result.to_dict()
    if expect.floor is not None:
        assert result.floor == expect.floor, result.to_dict()
    if expect.ceiling is not None:
        assert result.ceiling == expect.ceiling, result.to_dict()
    if expect.missing_has is not None:
        assert any(expect.missing_has in str(m) for m in result.missing), result.to_dict()
    if expect.ignored_has is not None:
        assert any(expect.ignored_has in str(i).lower() for i in result.ignored), result.to_dict()
    if expect.status in ("graded", "criteria_not_met"):
        assert list(result.missing) == [], result.to_dict()
    json.dumps(result.to_dict())


# --------------------------------------------------------------------------------------------
# Bad input (assessment.md "Rules for every field")
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "suggestion"),
    [
        pytest.param(
            {"temprature_c": 38.5}, "temperature_c", id="INPUT unknown temprature_c → temperature_c"
        ),
        pytest.param(
            {"hypotention": "none"}, "hypotension", id="INPUT unknown hypotention → hypotension"
        ),
        pytest.param({"ice_totl": 8}, "ice_total", id="INPUT unknown ice_totl → ice_total"),
        pytest.param(
            {"oxygen": {"device": "low_flow_nasal_cannula", "flow_lmin": 2}},
            "flow_l_min",
            id="INPUT unknown oxygen.flow_lmin → flow_l_min",
        ),
    ],
)
def test_unknown_field_suggests_closest(bad: dict[str, Any], suggestion: str) -> None:
    with pytest.raises(errors.UnknownField) as info:
        cartwatch.grade("astct_crs", crs(**bad))
    assert suggestion in str(info.value)


@pytest.mark.parametrize(
    ("bad", "field_text"),
    [
        pytest.param(
            {"temperature_c": 101},
            "temperature_f",
            id="INPUT temperature_c 101 → mentions temperature_f",
        ),
        pytest.param(
            {"temperature_c": 24.9}, "temperature_c", id="INPUT temperature_c 24.9 implausible"
        ),
        pytest.param({"oxygen": ox("venturi", fio2=40)}, "fio2", id="INPUT fio2 40 implausible"),
        pytest.param({"oxygen": ox("venturi", fio2=0.2)}, "fio2", id="INPUT fio2 0.20 implausible"),
        pytest.param(
            {"oxygen": ox("high_flow_nasal_cannula", flow=81)},
            "flow_l_min",
            id="INPUT flow 81 implausible",
        ),
        pytest.param({"age_years": 121}, "age_years", id="INPUT age 121 implausible"),
        pytest.param({"weight_kg": 0.4}, "weight_kg", id="INPUT weight 0.4 implausible"),
    ],
)
def test_implausible_value_rejected(bad: dict[str, Any], field_text: str) -> None:
    with pytest.raises(errors.ImplausibleValue) as info:
        cartwatch.grade("astct_crs", crs(**bad))
    assert field_text in str(info.value)


@pytest.mark.parametrize(
    ("scale", "bad", "field_text"),
    [
        pytest.param(
            "astct_icans", {"capd_score": 33}, "capd_score", id="INPUT CAPD 33 implausible"
        ),
        pytest.param(
            "astct_icans", {"ice_total": 11}, "ice_total", id="INPUT ICE total 11 implausible"
        ),
        pytest.param(
            "astct_icans",
            {"ice_total": _DROP, "ice": ice_items(orientation=5)},
            "orientation",
            id="INPUT ICE orientation 5 implausible",
        ),
    ],
)
def test_neuro_out_of_range_rejected(scale: str, bad: dict[str, Any], field_text: str) -> None:
    with pytest.raises(errors.InvalidInput) as info:
        cartwatch.grade(scale, icans(**bad))
    assert field_text in str(info.value)


def test_both_temperatures_disagreeing_is_an_error() -> None:
    with pytest.raises(errors.ConflictingValues) as info:
        cartwatch.grade("astct_crs", crs(temperature_c=38.0, temperature_f=102.0))
    assert "temperature_c" in str(info.value) and "temperature_f" in str(info.value)


def test_both_temperatures_agreeing_is_accepted() -> None:
    result = cartwatch.grade("astct_crs", crs(temperature_c=38.0, temperature_f=100.4))
    assert isinstance(result, cartwatch.GradeResult)
    assert result.grade == 1


def test_enum_value_not_allowed_is_rejected() -> None:
    with pytest.raises(errors.InvalidValue) as info:
        cartwatch.grade("astct_crs", crs(hypotension="pressors"))
    assert "hypotension" in str(info.value)


def test_unknown_scale_suggests_closest() -> None:
    with pytest.raises(errors.UnknownScale) as info:
        cartwatch.grade("astct_cr", crs())
    assert "astct_crs" in str(info.value)


def test_unknown_option_rejected() -> None:
    with pytest.raises(errors.ConfigError) as info:
        cartwatch.grade("lee2014_crs", crs(), options={"niv_is_ventilator": "yes"})
    assert "niv_is_ventilator_support" in str(info.value)


def test_scales_lists_the_crs_and_icans_scales() -> None:
    ids = {s.id for s in cartwatch.scales()}
    assert {
        "astct_crs",
        "astct_icans",
        "lee2014_crs",
        "cartox_crs",
        "cartox_cres",
        "penn_crs",
        "mskcc_crs",
        "ctcae5_crs",
    } <= ids


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        pytest.param(
            {"temperature_c": 25.0}, True, id="INPUT temperature_c 25 (range edge) accepted"
        ),
        pytest.param(
            {"temperature_c": 45.0}, True, id="INPUT temperature_c 45 (range edge) accepted"
        ),
        pytest.param({"temperature_c": 45.01}, False, id="INPUT temperature_c 45.01 rejected"),
        pytest.param({"oxygen": ox("venturi", fio2=0.21)}, True, id="INPUT fio2 0.21 accepted"),
        pytest.param({"oxygen": ox("venturi", fio2=1.0)}, True, id="INPUT fio2 1.0 accepted"),
        pytest.param({"oxygen": ox("venturi", fio2=1.01)}, False, id="INPUT fio2 1.01 rejected"),
        pytest.param(
            {"oxygen": ox("high_flow_nasal_cannula", flow=80)}, True, id="INPUT flow 80 accepted"
        ),
        pytest.param(
            {"oxygen": ox("high_flow_nasal_cannula", flow=80.01)},
            False,
            id="INPUT flow 80.01 rejected",
        ),
        pytest.param({"age_years": 120}, True, id="INPUT age 120 accepted"),
        pytest.param({"age_years": 0}, True, id="INPUT age 0 accepted"),
    ],
)
def test_plausible_range_edges(changes: dict[str, Any], ok: bool) -> None:
    if ok:
        cartwatch.grade("astct_crs", crs(**changes))
    else:
        with pytest.raises(errors.ImplausibleValue):
            cartwatch.grade("astct_crs", crs(**changes))


def test_temperature_f_implausible_names_temperature_f() -> None:
    with pytest.raises(errors.ImplausibleValue) as info:
        cartwatch.grade("astct_crs", crs(temperature_c=_DROP, temperature_f=200))
    assert "temperature_f" in str(info.value)


def test_hypotension_disagreeing_with_vasopressor_list_is_an_error() -> None:
    with pytest.raises(errors.ConflictingValues):
        cartwatch.grade(
            "astct_crs",
            crs(
                hypotension="vasopressor_single",
                vasopressors=[vp("norepinephrine", 5, 1), vp("epinephrine", 5, 1)],
            ),
        )


def test_ice_total_disagreeing_with_items_is_an_error() -> None:
    with pytest.raises(errors.ConflictingValues):
        cartwatch.grade("astct_icans", icans(ice_total=8, ice=ice_items()))


def test_typed_assessment_gives_the_same_result_as_the_dict() -> None:
    raw = crs(hypotension="vasopressor_single", oxygen=ox("low_flow_nasal_cannula"))
    typed = cartwatch.parse_assessment(raw)
    assert (
        cartwatch.grade("astct_crs", typed).to_dict() == cartwatch.grade("astct_crs", raw).to_dict()
    )


# --------------------------------------------------------------------------------------------
# The reference's worked examples (shared/reference/examples.json), CRS/ICANS scales only
# --------------------------------------------------------------------------------------------

_EXAMPLES_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "examples.json"
_GRADING_SCALES = {
    "ASTCT_CRS",
    "ASTCT_ICANS",
    "LEE2014_CRS",
    "CARTOX_CRS",
    "CARTOX_CRES",
    "PENN_CRS",
    "MSKCC_CRS",
    "CTCAE5_CRS",
}


def _example_params() -> list[Any]:
    if not _EXAMPLES_PATH.exists():
        return []
    params = []
    for example in json.loads(_EXAMPLES_PATH.read_text(encoding="utf-8")):
        for key, expected in example["expected"].items():
            if key in _GRADING_SCALES:
                params.append(
                    pytest.param(
                        key.lower(),
                        example["input"],
                        expected,
                        id=f"{example['id']} {key}: {example['title']}",
                    )
                )
    return params


@pytest.mark.skipif(not _EXAMPLES_PATH.exists(), reason="shared reference not present")
@pytest.mark.parametrize(("scale", "assessment", "expected"), _example_params())
def test_worked_example(scale: str, assessment: dict[str, Any], expected: dict[str, Any]) -> None:
    result = cartwatch.grade(scale, assessment)
    assert isinstance(result, cartwatch.GradeResult)
    assert (str(result.status), result.grade) == (expected["status"], expected["grade"])


@pytest.mark.parametrize(
    ("scale", "options"),
    [
        pytest.param(
            "astct_icans", {"pediatric_age_rule": "foo"}, id="OPTION bad value for D1 rejected"
        ),
        pytest.param(
            "cartox_cres",
            {"csf_below_20_grades_3": "maybe"},
            id="OPTION bad value for CSF rejected",
        ),
        pytest.param(
            "astct_crs",
            {"niv_is_ventilator_support": "yes"},
            id="OPTION D6 NIV option does not exist on ASTCT (NIV is always 4)",
        ),
    ],
)
def test_bad_option_rejected(scale: str, options: dict[str, str]) -> None:
    with pytest.raises(errors.ConfigError):
        cartwatch.grade(
            scale, icans() if "icans" in scale or "cres" in scale else crs(), options=options
        )
