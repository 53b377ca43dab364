"""CAR-HEMATOTOX (scale id ``car_hematotox``): baseline risk of severe haematotoxicity.

Five laboratory values taken before lymphodepleting chemotherapy (platelets, ANC, haemoglobin,
CRP, ferritin) give 0–7 points; 0–1 is HT-low and ≥2 HT-high, which predicted neutropenia for
≥14 days after CD19 CAR-T in large B-cell lymphoma (and was later applied to BCMA CAR-T in
myeloma). A missing value gives the range of totals still possible and says whether the band is
already decided (clinical-spec C-4; example V112).

Reference: [REJESKI2021] Rejeski K, Perez A, Sesques P, et al. Blood 2021;138(24):2499-2513.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cartwatch.assessment import Assessment
from cartwatch.errors import ConfigError
from cartwatch.grading.registry import ScaleInfo, ScaleOption, register
from cartwatch.grading.result import Status
from cartwatch.references import cite
from cartwatch.risk._common import (
    candidates,
    day_after_infusion_reason,
    plausible,
    with_unit,
)
from cartwatch.risk.result import Component, ScoreResult, score_not_applicable

SCALE_ID = "car_hematotox"
REFERENCE = cite("REJESKI2021")
UNIT = "points"

# [REJESKI2021] score table (clinical-spec §5.4). UNVERIFIED (spec §10 item 11): the per-variable
# cut-offs are widely reproduced but were not re-read from the full text.
PLATELETS_HIGH_PER_UL = 175_000.0  # >175,000/µL → 0; 75,000–175,000 → 1
PLATELETS_LOW_PER_UL = 75_000.0  # <75,000/µL → 2
ANC_PER_UL = 1_200.0  # >1200/µL → 0; <1200 → 1
HEMOGLOBIN_G_DL = 9.0  # >9.0 g/dL → 0; <9.0 → 1
CRP_MG_DL = 3.0  # <3.0 mg/dL → 0; >3.0 → 1
FERRITIN_LOW_NG_ML = 650.0  # <650 ng/mL → 0; 650–2000 → 1
FERRITIN_HIGH_NG_ML = 2_000.0  # >2000 ng/mL → 2
# [REJESKI2021] HT-low 0–1, HT-high ≥2 ([V], clinical-spec §5.4).
HIGH_RISK_MIN_POINTS = 2
MAX_POINTS = 7

# Interpretation (IMPL-HT-BOUNDARY): the source prints open bounds (">1200", "<1200") and closed
# bands ("75,000–175,000"), so a value exactly at a cut-off is not defined. Points at each cut-off:
BOUNDARY_IMPL = "impl_ht_boundary"  # clinical-spec §5.4 default: closed bands, ties to 0 points
BOUNDARY_LOWER = "cutoff_to_lower_points"  # every tie to the less severe side
BOUNDARY_HIGHER = "cutoff_to_higher_points"  # every tie to the more severe side
AT_CUTOFF_POINTS: dict[str, dict[str, int]] = {
    BOUNDARY_IMPL: {
        "platelets_175k": 1,
        "platelets_75k": 1,
        "anc_1200": 0,
        "hemoglobin_9": 0,
        "crp_3": 0,
        "ferritin_650": 1,
        "ferritin_2000": 1,
    },
    BOUNDARY_LOWER: {
        "platelets_175k": 0,
        "platelets_75k": 1,
        "anc_1200": 0,
        "hemoglobin_9": 0,
        "crp_3": 0,
        "ferritin_650": 0,
        "ferritin_2000": 1,
    },
    BOUNDARY_HIGHER: {
        "platelets_175k": 1,
        "platelets_75k": 2,
        "anc_1200": 1,
        "hemoglobin_9": 1,
        "crp_3": 1,
        "ferritin_650": 1,
        "ferritin_2000": 2,
    },
}
BOUNDARY_OPTION = ScaleOption(
    name="boundary_rule",
    default=BOUNDARY_IMPL,
    choices=(BOUNDARY_IMPL, BOUNDARY_LOWER, BOUNDARY_HIGHER),
    meaning="points for a value exactly at a cut-off (IMPL-HT-BOUNDARY): the clinical-spec "
    "default, always the less severe side, or always the more severe side",
)


def platelet_points(platelets_per_ul: float, at: Mapping[str, int]) -> tuple[int, str]:
    """[REJESKI2021] platelets: >175,000 → 0; 75,000–175,000 → 1; <75,000 → 2."""
    v = platelets_per_ul
    if v == PLATELETS_HIGH_PER_UL:
        return at["platelets_175k"], "at the 175,000/µL cut-off (IMPL-HT-BOUNDARY)"
    if v > PLATELETS_HIGH_PER_UL:
        return 0, ">175,000/µL"
    if v == PLATELETS_LOW_PER_UL:
        return at["platelets_75k"], "at the 75,000/µL cut-off (IMPL-HT-BOUNDARY)"
    if v > PLATELETS_LOW_PER_UL:
        return 1, "75,000–175,000/µL"
    return 2, "<75,000/µL"


def anc_points(anc_per_ul: float, at: Mapping[str, int]) -> tuple[int, str]:
    """[REJESKI2021] ANC: >1200 → 0; <1200 → 1."""
    if anc_per_ul == ANC_PER_UL:
        return at["anc_1200"], "at the 1200/µL cut-off (IMPL-HT-BOUNDARY)"
    if anc_per_ul > ANC_PER_UL:
        return 0, ">1200/µL"
    return 1, "<1200/µL"


def hemoglobin_points(hemoglobin_g_dl: float, at: Mapping[str, int]) -> tuple[int, str]:
    """[REJESKI2021] haemoglobin: >9.0 → 0; <9.0 → 1."""
    if hemoglobin_g_dl == HEMOGLOBIN_G_DL:
        return at["hemoglobin_9"], "at the 9.0 g/dL cut-off (IMPL-HT-BOUNDARY)"
    if hemoglobin_g_dl > HEMOGLOBIN_G_DL:
        return 0, ">9.0 g/dL"
    return 1, "<9.0 g/dL"


def crp_points(crp_mg_dl: float, at: Mapping[str, int]) -> tuple[int, str]:
    """[REJESKI2021] CRP: <3.0 mg/dL → 0; >3.0 → 1."""
    if crp_mg_dl == CRP_MG_DL:
        return at["crp_3"], "at the 3.0 mg/dL cut-off (IMPL-HT-BOUNDARY)"
    if crp_mg_dl < CRP_MG_DL:
        return 0, "<3.0 mg/dL"
    return 1, ">3.0 mg/dL"


def ferritin_points(ferritin_ng_ml: float, at: Mapping[str, int]) -> tuple[int, str]:
    """[REJESKI2021] ferritin: <650 → 0; 650–2000 → 1; >2000 → 2."""
    v = ferritin_ng_ml
    if v == FERRITIN_LOW_NG_ML:
        return at["ferritin_650"], "at the 650 ng/mL cut-off (IMPL-HT-BOUNDARY)"
    if v < FERRITIN_LOW_NG_ML:
        return 0, "<650 ng/mL"
    if v == FERRITIN_HIGH_NG_ML:
        return at["ferritin_2000"], "at the 2000 ng/mL cut-off (IMPL-HT-BOUNDARY)"
    if v < FERRITIN_HIGH_NG_ML:
        return 1, "650–2000 ng/mL"
    return 2, ">2000 ng/mL"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Variable:
    field: str
    label: str
    unit: str
    cuts: tuple[float, ...]
    points: Callable[[float, Mapping[str, int]], tuple[int, str]]
    get: Callable[[Assessment], float | None]


VARIABLES: tuple[_Variable, ...] = (
    _Variable(
        field="platelets_per_ul",
        label="platelets",
        unit="/µL",
        cuts=(PLATELETS_LOW_PER_UL, PLATELETS_HIGH_PER_UL),
        points=platelet_points,
        get=lambda a: a.platelets_per_ul,
    ),
    _Variable(
        field="anc_per_ul",
        label="ANC",
        unit="/µL",
        cuts=(ANC_PER_UL,),
        points=anc_points,
        get=lambda a: a.anc_per_ul,
    ),
    _Variable(
        field="hemoglobin_g_dl",
        label="haemoglobin",
        unit="g/dL",
        cuts=(HEMOGLOBIN_G_DL,),
        points=hemoglobin_points,
        get=lambda a: a.hemoglobin_g_dl,
    ),
    _Variable(
        field="crp_mg_dl",
        label="CRP",
        unit="mg/dL",
        cuts=(CRP_MG_DL,),
        points=crp_points,
        get=lambda a: a.crp_mg_dl,
    ),
    _Variable(
        field="ferritin_ng_ml",
        label="ferritin",
        unit="ng/mL",
        cuts=(FERRITIN_LOW_NG_ML, FERRITIN_HIGH_NG_ML),
        points=ferritin_points,
        get=lambda a: a.ferritin_ng_ml,
    ),
)


def risk_band(points: int) -> str:
    """HT-low (0–1) or HT-high (≥2) [REJESKI2021]."""
    return "high" if points >= HIGH_RISK_MIN_POINTS else "low"


def car_hematotox(assessment: Assessment, *, boundary_rule: str = BOUNDARY_IMPL) -> ScoreResult:
    """The CAR-HEMATOTOX score, its points per variable and the HT-low/HT-high band.

    Reference: [REJESKI2021] Rejeski K, et al. Blood 2021;138(24):2499-2513.
    """
    if boundary_rule not in AT_CUTOFF_POINTS:
        raise ConfigError(
            f"`boundary_rule={boundary_rule}` is not one of: {', '.join(AT_CUTOFF_POINTS)}",
            field="boundary_rule",
            value=boundary_rule,
            expected=", ".join(AT_CUTOFF_POINTS),
        )
    options = {BOUNDARY_OPTION.name: boundary_rule}
    reason = day_after_infusion_reason(assessment.day_post_infusion, "CAR-HEMATOTOX")
    if reason is not None:
        return score_not_applicable(
            SCALE_ID,
            unit=UNIT,
            reason=reason,
            code="after_lymphodepletion",
            reference=REFERENCE,
            options=options,
        )
    at = AT_CUTOFF_POINTS[boundary_rule]
    components: list[Component] = []
    missing: list[str] = []
    low_total = 0
    high_total = 0
    for var in VARIABLES:
        value = var.get(assessment)
        if value is None:
            possible = [var.points(c, at)[0] for c in candidates(var.cuts, *plausible(var.field))]
            lo, hi = min(possible), max(possible)
            missing.append(var.field)
            components.append(
                Component(
                    name=var.field,
                    value=None,
                    unit=var.unit,
                    points=None,
                    points_range=(lo, hi),
                    rule=f"{var.label} not recorded: {lo}–{hi} points possible",
                )
            )
        else:
            pts, where = var.points(value, at)
            lo = hi = pts
            components.append(
                Component(
                    name=var.field,
                    value=value,
                    unit=var.unit,
                    points=pts,
                    points_range=(pts, pts),
                    rule=f"{var.label} {with_unit(value, var.unit)} ({where}) → {pts} point"
                    + ("" if pts == 1 else "s"),
                )
            )
        low_total += lo
        high_total += hi
    determined = risk_band(low_total) == risk_band(high_total)
    band: str | None = risk_band(low_total) if determined else None
    value = low_total if low_total == high_total else None
    drivers = [c.rule for c in components if c.points]
    if value is not None:
        drivers.append(f"total {value} points → HT-{band} (HT-high ≥{HIGH_RISK_MIN_POINTS})")
    elif determined:
        drivers.append(
            f"total {low_total}–{high_total} points whatever {', '.join(missing)} → HT-{band} "
            f"(HT-high ≥{HIGH_RISK_MIN_POINTS})"
        )
    else:
        drivers.append(
            f"total {low_total}–{high_total} points: the band depends on {', '.join(missing)}"
        )
    return ScoreResult(
        scale=SCALE_ID,
        status=Status.COMPUTED,
        value=value,
        value_range=(low_total, high_total),
        unit=UNIT,
        risk=band,
        risk_determined=determined,
        high_risk=None if band is None else band == "high",
        components=tuple(components),
        missing=tuple(missing),
        drivers=tuple(drivers),
        reasons=() if determined else ("risk_band_open",),
        reference=REFERENCE,
        options=options,
    )


def _evaluate(assessment: Assessment, options: Mapping[str, str]) -> ScoreResult:
    return car_hematotox(
        assessment, boundary_rule=options.get(BOUNDARY_OPTION.name, BOUNDARY_OPTION.default)
    )


INFO = register(
    ScaleInfo(
        id=SCALE_ID,
        title="CAR-HEMATOTOX (pre-lymphodepletion haematotoxicity risk)",
        syndrome="hematotoxicity",
        kind="score",
        reference_keys=("REJESKI2021",),
        evaluate=_evaluate,
        options=(BOUNDARY_OPTION,),
        inputs=(*(v.field for v in VARIABLES), "day_post_infusion"),
    )
)
