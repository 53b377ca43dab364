"""The 36-hour prediction trees (scale ids ``hay2017_tree`` and ``gust2017_tree``).

Both read the highest temperature and serum cytokines measured from infusion (t = 0) to 36 hours
after it. Hay 2017: fever ≥38.9 °C and MCP-1 ≥1343.5 pg/mL → high risk of grade ≥4 CRS. Gust 2017:
fever ≥38.9 °C, IL-6 ≥16 pg/mL and MCP-1 ≥1343.5 pg/mL → high risk of grade ≥4 neurotoxicity.
Outside 0–36 h the trees are ``not_applicable``. A missing measurement leaves the class open
unless a recorded one already fails its condition (clinical-spec C-4).

The outcomes were graded by the Lee 2014 consensus (CRS) and CTCAE v4.03 (neurotoxicity), not by
ASTCT 2019: a predicted "grade ≥4 neurotoxicity" is not an ASTCT ICANS grade (D18).

References: [HAY2017] Hay KA, et al. Blood 2017;130(21):2295-2306; [GUST2017] Gust J, et al.
Cancer Discov 2017;7(12):1404-1419 (thresholds as stated in [SEED001_TABLE2]).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cartwatch.assessment import Assessment
from cartwatch.grading.registry import ScaleInfo, register
from cartwatch.grading.result import Status
from cartwatch.references import cite
from cartwatch.risk._common import show
from cartwatch.risk.result import Component, ScoreResult, score_not_applicable

UNIT = "class"

# [HAY2017] [GUST2017] measurements within 36 h of infusion.
# Interpretation: the window is closed, 0 ≤ hours ≤ 36 (clinical-spec §5.1).
WINDOW_START_H = 0.0
WINDOW_END_H = 36.0
# [HAY2017] fever ≥38.9 °C within 36 h. UNVERIFIED (spec §10 item 8).
HAY_FEVER_C = 38.9
# [HAY2017] serum MCP-1 ≥1343.5 pg/mL within 36 h. UNVERIFIED (spec §10 item 8).
HAY_MCP1_PG_ML = 1343.5
# [GUST2017] as stated in [SEED001_TABLE2]: fever ≥38.9 °C. UNVERIFIED (spec §10 item 9).
GUST_FEVER_C = 38.9
# [GUST2017] as stated in [SEED001_TABLE2]: IL-6 ≥16 pg/mL. UNVERIFIED (spec §10 item 9).
GUST_IL6_PG_ML = 16.0
# [GUST2017] as stated in [SEED001_TABLE2]: MCP-1 ≥1343.5 pg/mL. UNVERIFIED (spec §10 item 9).
GUST_MCP1_PG_ML = 1343.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One branch condition: ``value ≥ threshold``."""

    field: str
    label: str
    unit: str
    threshold: float
    get: Callable[[Assessment], float | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tree:
    """A conjunction of conditions: all met → high risk; any not met → low risk."""

    scale: str
    name: str
    outcome: str
    conditions: tuple[Condition, ...]
    reference_keys: tuple[str, ...]
    performance: str


def _tmax(threshold: float) -> Condition:
    return Condition(
        field="tmax_c_0_36h",
        label="highest temperature 0–36 h",
        unit="°C",
        threshold=threshold,
        get=lambda a: a.tmax_c_0_36h,
    )


def _mcp1(threshold: float) -> Condition:
    return Condition(
        field="mcp1_pg_ml_0_36h",
        label="MCP-1 0–36 h",
        unit="pg/mL",
        threshold=threshold,
        get=lambda a: a.mcp1_pg_ml_0_36h,
    )


HAY2017 = Tree(
    scale="hay2017_tree",
    name="Hay 2017 tree",
    outcome="grade ≥4 CRS (Lee 2014-based grading)",
    conditions=(_tmax(HAY_FEVER_C), _mcp1(HAY_MCP1_PG_ML)),
    reference_keys=("HAY2017",),
    performance="sensitivity 100%, specificity 95% (UNVERIFIED, spec §10 item 8)",
)
GUST2017 = Tree(
    scale="gust2017_tree",
    name="Gust 2017 tree",
    outcome="grade ≥4 neurotoxicity (CTCAE v4.03-based; not an ASTCT ICANS grade, D18)",
    conditions=(
        _tmax(GUST_FEVER_C),
        Condition(
            field="il6_pg_ml_0_36h",
            label="IL-6 0–36 h",
            unit="pg/mL",
            threshold=GUST_IL6_PG_ML,
            get=lambda a: a.il6_pg_ml_0_36h,
        ),
        _mcp1(GUST_MCP1_PG_ML),
    ),
    reference_keys=("GUST2017", "SEED001_TABLE2"),
    performance="sensitivity 100%, specificity 94% (UNVERIFIED, spec §10 item 9)",
)


HOURS_PER_DAY = 24.0


def _window_reason(hours: float | None, day_post_infusion: float | None) -> str | None:
    """Why the tree does not apply, or None.

    Interpretation: the hours of the measurements decide when recorded; otherwise an assessment
    dated outside 0–36 h (``day_post_infusion`` × 24) is outside the tree's window (reference/
    assessment.md: "a 36-hour model on day 5" is not applicable).
    """
    if hours is not None:
        if WINDOW_START_H <= hours <= WINDOW_END_H:
            return None
        return (
            f"measurements taken {show(hours)} h after infusion; the tree is defined for "
            f"{show(WINDOW_START_H)}–{show(WINDOW_END_H)} h only"
        )
    if day_post_infusion is None:
        return None
    if WINDOW_START_H <= day_post_infusion * HOURS_PER_DAY <= WINDOW_END_H:
        return None
    return (
        f"assessment on day {show(day_post_infusion)}: the tree is defined for measurements "
        f"{show(WINDOW_START_H)}–{show(WINDOW_END_H)} h after infusion (give "
        "hours_post_infusion_of_measurements to apply it to earlier measurements)"
    )


def classify(tree: Tree, assessment: Assessment) -> ScoreResult:
    """Apply a 36-hour tree: high risk when every condition is met, else low risk."""
    reference = cite(*tree.reference_keys)
    reason = _window_reason(
        assessment.hours_post_infusion_of_measurements, assessment.day_post_infusion
    )
    if reason is not None:
        return score_not_applicable(
            tree.scale, unit=UNIT, reason=reason, code="outside_0_36h", reference=reference
        )
    components: list[Component] = []
    unmet: list[str] = []
    open_fields: list[str] = []
    met: list[str] = []
    for cond in tree.conditions:
        value = cond.get(assessment)
        if value is None:
            open_fields.append(cond.field)
            components.append(
                Component(
                    name=cond.field,
                    value=None,
                    unit=cond.unit,
                    points=None,
                    points_range=(0, 1),
                    rule=f"{cond.label} not recorded (condition ≥{show(cond.threshold)} "
                    f"{cond.unit} open)",
                )
            )
            continue
        ok = value >= cond.threshold
        sign = "≥" if ok else "<"
        words = f"{cond.label} {show(value)} {cond.unit} {sign} {show(cond.threshold)} {cond.unit}"
        (met if ok else unmet).append(words)
        components.append(
            Component(
                name=cond.field,
                value=value,
                unit=cond.unit,
                points=1 if ok else 0,
                points_range=(1, 1) if ok else (0, 0),
                rule=words + (" (met)" if ok else " (not met)"),
            )
        )
    risk: str | None
    if unmet:
        risk = "low"
        drivers = [*unmet, f"a condition is not met → not high risk of {tree.outcome}"]
        missing: tuple[str, ...] = ()
    elif open_fields:
        risk = None
        drivers = [*met, f"the class depends on {', '.join(open_fields)}"]
        missing = tuple(open_fields)
    else:
        risk = "high"
        drivers = [*met, f"all conditions met → high risk of {tree.outcome}"]
        missing = ()
    extra: dict[str, float | str | None] = {
        "outcome": tree.outcome,
        "performance": tree.performance,
    }
    if assessment.hours_post_infusion_of_measurements is None:
        drivers.append(
            "hours_post_infusion_of_measurements not recorded: the *_0_36h fields are taken as "
            "measured within 0–36 h, as their names say"
        )
    return ScoreResult(
        scale=tree.scale,
        status=Status.COMPUTED,
        value=None,
        value_range=None,
        unit=UNIT,
        risk=risk,
        risk_determined=risk is not None,
        high_risk=None if risk is None else risk == "high",
        components=tuple(components),
        missing=missing,
        drivers=tuple(drivers),
        reasons=() if risk is not None else ("risk_band_open",),
        reference=reference,
        extra=extra,
    )


def hay2017_tree(assessment: Assessment) -> ScoreResult:
    """Hay 2017: fever ≥38.9 °C and MCP-1 ≥1343.5 pg/mL within 36 h → high risk ([HAY2017])."""
    return classify(HAY2017, assessment)


def gust2017_tree(assessment: Assessment) -> ScoreResult:
    """Gust 2017: fever ≥38.9 °C, IL-6 ≥16, MCP-1 ≥1343.5 pg/mL within 36 h ([GUST2017])."""
    return classify(GUST2017, assessment)


def _register(tree: Tree, title: str, fn: Callable[[Assessment], ScoreResult]) -> ScaleInfo:
    def evaluate(assessment: Assessment, options: Mapping[str, str]) -> ScoreResult:
        return fn(assessment)

    return register(
        ScaleInfo(
            id=tree.scale,
            title=title,
            syndrome="prediction",
            kind="score",
            reference_keys=tree.reference_keys,
            evaluate=evaluate,
            inputs=(
                *(c.field for c in tree.conditions),
                "hours_post_infusion_of_measurements",
                "day_post_infusion",
            ),
        )
    )


HAY_INFO = _register(HAY2017, "Hay 2017 36-hour tree for grade ≥4 CRS", hay2017_tree)
GUST_INFO = _register(GUST2017, "Gust 2017 36-hour tree for grade ≥4 neurotoxicity", gust2017_tree)
