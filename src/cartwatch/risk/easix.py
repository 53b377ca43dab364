"""The EASIX family (scale ids ``easix``, ``m_easix``, ``easix_pre_korell``).

EASIX = LDH (U/L) × creatinine (mg/dL) ÷ platelets (10⁹/L); m-EASIX replaces creatinine with CRP
(mg/dL); EASIX-pre is EASIX measured immediately before lymphodepletion, with Korell's cut-off
(>4.67 → high risk of grade ≥3 CRS and/or ICANS). The assessment stores platelets per µL; the
formula uses 10⁹/L, converted here with :mod:`cartwatch.units`. Analyses use log2(EASIX): both
are reported. With an input missing, the value range follows from the plausible range of that
input (each formula is monotone in every input), and the Korell band is decided when the whole
range lies on one side of the cut-off (clinical-spec C-4).

Pennisi's m-EASIX cut-offs by time point could not be retrieved (spec §10 item 12), so m-EASIX and
EASIX carry no risk band. "P-EASIX" has no standard definition and is not offered (spec §5.5).

References: [PENNISI2021] Pennisi M, et al. Blood Adv 2021;5(17):3397-3406; [KORELL2022] Korell F,
et al. Front Immunol 2022;13:877477.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cartwatch import units
from cartwatch.assessment import Assessment
from cartwatch.errors import InvalidValue
from cartwatch.grading.registry import ScaleInfo, register
from cartwatch.grading.result import Status
from cartwatch.references import cite
from cartwatch.risk._common import day_after_infusion_reason, plausible, show
from cartwatch.risk.result import Component, ScoreResult, score_not_applicable

UNIT = "U/L × mg/dL ÷ 10⁹/L"

# [KORELL2022] EASIX-pre cut-off: ">4.67" → 4.3-fold odds of grade ≥3 CRS and/or ICANS
# (validation cohort); strict ">" as printed ([V], clinical-spec §5.5).
KORELL_CUTOFF = 4.67
# [KORELL2022] odds ratio per 2-fold increase of EASIX-pre (reported alongside log2).
KORELL_OR_PER_DOUBLING = 1.72


@dataclass(frozen=True, slots=True, kw_only=True)
class _Factor:
    field: str
    label: str
    unit: str
    get: Callable[[Assessment], float | None]


LDH = _Factor(field="ldh_u_l", label="LDH", unit="U/L", get=lambda a: a.ldh_u_l)
CREATININE = _Factor(
    field="creatinine_mg_dl", label="creatinine", unit="mg/dL", get=lambda a: a.creatinine_mg_dl
)
CRP = _Factor(field="crp_mg_dl", label="CRP", unit="mg/dL", get=lambda a: a.crp_mg_dl)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Formula:
    scale: str
    name: str
    numerator: tuple[_Factor, ...]
    reference_keys: tuple[str, ...]


EASIX = _Formula(
    scale="easix",
    name="EASIX",
    numerator=(LDH, CREATININE),
    reference_keys=("PENNISI2021",),  # [PENNISI2021] EASIX = LDH × creatinine ÷ platelets
)
M_EASIX = _Formula(
    scale="m_easix",
    name="m-EASIX",
    numerator=(LDH, CRP),
    reference_keys=("PENNISI2021",),  # [PENNISI2021] m-EASIX = LDH × CRP (mg/dL) ÷ platelets
)
EASIX_PRE = _Formula(
    scale="easix_pre_korell",
    name="EASIX-pre",
    numerator=(LDH, CREATININE),
    reference_keys=("KORELL2022",),  # [KORELL2022] EASIX before lymphodepletion
)


def _log2(value: float | None) -> float | None:
    if value is None or value <= 0:
        return None
    return math.log2(value)


def _compute(
    formula: _Formula, a: Assessment
) -> tuple[float | None, tuple[float, float | None], list[Component], list[str]]:
    """(value, (low, high), components, missing) of one ratio; high None means unbounded."""
    components: list[Component] = []
    missing: list[str] = []
    num_lo = 1.0
    num_hi = 1.0
    for factor in formula.numerator:
        value = factor.get(a)
        if value is None:
            lo, hi = plausible(factor.field)
            missing.append(factor.field)
            components.append(
                Component(
                    name=factor.field,
                    value=None,
                    unit=factor.unit,
                    points=None,
                    points_range=(lo, hi),
                    rule=f"{factor.label} not recorded: any of {show(lo)}–{show(hi)} "
                    f"{factor.unit} (numerator)",
                )
            )
        else:
            lo = hi = value
            components.append(
                Component(
                    name=factor.field,
                    value=value,
                    unit=factor.unit,
                    points=value,
                    points_range=(value, value),
                    rule=f"{factor.label} {show(value)} {factor.unit} (numerator)",
                )
            )
        num_lo *= lo
        num_hi *= hi
    platelets = a.platelets_per_ul
    if platelets is None:
        lo_ul, hi_ul = plausible("platelets_per_ul")
        plt_lo = units.count_per_ul_to_10e9_l(lo_ul)
        plt_hi = units.count_per_ul_to_10e9_l(hi_ul)
        missing.append("platelets_per_ul")
        components.append(
            Component(
                name="platelets_per_ul",
                value=None,
                unit="×10⁹/L",
                points=None,
                points_range=(plt_lo, plt_hi),
                rule=f"platelets not recorded: any of {show(plt_lo)}–{show(plt_hi)} ×10⁹/L "
                "(denominator)",
            )
        )
    else:
        denominator = units.count_per_ul_to_10e9_l(platelets) if platelets > 0 else 0.0
        if denominator <= 0 or not math.isfinite(num_hi / denominator):
            raise InvalidValue(
                f"`platelets_per_ul={show(platelets)}`: {formula.name} divides by the platelet "
                "count; expected a count above 0 /µL",
                field="platelets_per_ul",
                value=platelets,
                expected="> 0 /µL",
            )
        plt_lo = plt_hi = denominator
        components.append(
            Component(
                name="platelets_per_ul",
                value=platelets,
                unit="×10⁹/L",
                points=plt_lo,
                points_range=(plt_lo, plt_lo),
                rule=f"platelets {show(platelets)}/µL = {show(plt_lo)} ×10⁹/L (denominator)",
            )
        )
    low = num_lo / plt_hi
    high = None if plt_lo <= 0 else num_hi / plt_lo
    value = low if not missing else None
    return value, (low, high), components, missing


def _words(formula: _Formula, value: float | None, rng: tuple[float, float | None]) -> str:
    if value is not None:
        log2 = _log2(value)
        tail = "" if log2 is None else f" (log2 {log2!r})"
        return f"{formula.name} = {value!r}{tail}"
    high = "unbounded" if rng[1] is None else repr(rng[1])
    return f"{formula.name} between {rng[0]!r} and {high}"


def _result(
    formula: _Formula,
    a: Assessment,
    *,
    cutoff: float | None,
) -> ScoreResult:
    value, rng, components, missing = _compute(formula, a)
    drivers = [c.rule for c in components if c.value is not None]
    drivers.append(_words(formula, value, rng))
    risk: str | None = None
    determined = False
    reasons: list[str] = []
    if cutoff is not None:
        low, high = rng
        if low > cutoff:
            risk, determined = "high", True
        elif high is not None and high <= cutoff:
            risk, determined = "low", True
        else:
            reasons.append("risk_band_open")
        if determined:
            sign = ">" if risk == "high" else "≤"
            drivers.append(f"{formula.name} {sign} {cutoff!r} → {risk} risk ([KORELL2022])")
        else:
            drivers.append(f"the band (cut-off >{cutoff!r}) depends on {', '.join(missing)}")
    else:
        reasons.append("no_published_band")
    extra: dict[str, float | str | None] = {
        "log2": _log2(value),
        "log2_low": _log2(rng[0]),
        "log2_high": _log2(rng[1]),
    }
    if cutoff is not None:
        extra["cutoff"] = cutoff
        extra["odds_ratio_per_doubling"] = KORELL_OR_PER_DOUBLING
    return ScoreResult(
        scale=formula.scale,
        status=Status.COMPUTED,
        value=value,
        value_range=rng,
        unit=UNIT,
        risk=risk,
        risk_determined=determined,
        high_risk=None if risk is None else risk == "high",
        components=tuple(components),
        missing=tuple(missing),
        drivers=tuple(drivers),
        reasons=tuple(reasons),
        reference=cite(*formula.reference_keys),
        extra=extra,
    )


def easix(assessment: Assessment) -> ScoreResult:
    """EASIX = LDH × creatinine ÷ platelets (10⁹/L), with log2; no band ([PENNISI2021])."""
    return _result(EASIX, assessment, cutoff=None)


def m_easix(assessment: Assessment) -> ScoreResult:
    """m-EASIX = LDH × CRP (mg/dL) ÷ platelets (10⁹/L), with log2; no band ([PENNISI2021])."""
    return _result(M_EASIX, assessment, cutoff=None)


def easix_pre_korell(assessment: Assessment) -> ScoreResult:
    """EASIX before lymphodepletion with Korell's >4.67 high-risk cut-off ([KORELL2022])."""
    reason = day_after_infusion_reason(assessment.day_post_infusion, "EASIX-pre")
    if reason is not None:
        return score_not_applicable(
            EASIX_PRE.scale,
            unit=UNIT,
            reason=reason,
            code="after_lymphodepletion",
            reference=cite(*EASIX_PRE.reference_keys),
        )
    return _result(EASIX_PRE, assessment, cutoff=KORELL_CUTOFF)


def _info(
    formula: _Formula, title: str, fn: Callable[[Assessment], ScoreResult], inputs: tuple[str, ...]
) -> ScaleInfo:
    def evaluate(assessment: Assessment, options: Mapping[str, str]) -> ScoreResult:
        return fn(assessment)

    return register(
        ScaleInfo(
            id=formula.scale,
            title=title,
            syndrome="prediction",
            kind="score",
            reference_keys=formula.reference_keys,
            evaluate=evaluate,
            inputs=inputs,
        )
    )


EASIX_INFO = _info(
    EASIX,
    "EASIX (LDH × creatinine ÷ platelets)",
    easix,
    ("ldh_u_l", "creatinine_mg_dl", "platelets_per_ul"),
)
M_EASIX_INFO = _info(
    M_EASIX,
    "m-EASIX (LDH × CRP ÷ platelets)",
    m_easix,
    ("ldh_u_l", "crp_mg_dl", "platelets_per_ul"),
)
EASIX_PRE_INFO = _info(
    EASIX_PRE,
    "EASIX-pre before lymphodepletion (Korell cut-off 4.67)",
    easix_pre_korell,
    ("ldh_u_l", "creatinine_mg_dl", "platelets_per_ul", "day_post_infusion"),
)
