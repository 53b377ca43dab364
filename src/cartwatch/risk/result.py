"""The result every risk score and prediction model returns.

A score explains itself like a grade does (reference/assessment.md): the value when every input
is recorded, otherwise the range of values it could still take (``value_range``) and whether the
risk band is already decided whatever the missing inputs turn out to be (clinical-spec C-4). Each
component shows the value used, its points or contribution, and the rule that gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cartwatch.grading.result import Status


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One variable of a score: the value used, its contribution and the rule applied.

    ``points`` is the variable's points (a points score), the factor entering the formula in the
    formula's unit (EASIX family) or 1/0 for a tree condition met/not met; it is set when the
    contribution is determined, otherwise ``points_range`` gives the lowest and highest still
    possible (the value was not recorded).
    """

    name: str
    value: float | None
    unit: str
    points: float | None
    points_range: tuple[float | None, float | None]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """The component as JSON-ready data."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "points": self.points,
            "points_range": list(self.points_range),
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreResult:
    """One score's value, range, risk band and components for one assessment.

    ``value`` is ``None`` when a missing input leaves it open (or for a classifier, whose output is
    the band only). ``value_range`` is (lowest, highest) still possible; ``None`` at one end means
    unbounded. ``risk_determined`` is True when every admissible value of the missing inputs gives
    the same band; ``risk`` and ``high_risk`` are ``None`` otherwise (and for scores that publish
    no band). ``extra`` holds named outputs such as ``log2``.
    """

    scale: str
    status: Status
    value: float | None
    value_range: tuple[float | None, float | None] | None
    unit: str
    risk: str | None = None
    risk_determined: bool = False
    high_risk: bool | None = None
    components: tuple[Component, ...] = ()
    missing: tuple[str, ...] = ()
    drivers: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    reference: str = ""
    extra: Mapping[str, float | str | None] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as contract JSON (``score_range`` repeats ``value_range``, examples.json)."""
        value_range = None if self.value_range is None else list(self.value_range)
        out: dict[str, Any] = {
            "scale": self.scale,
            "status": self.status.value,
            "value": self.value,
            "value_range": value_range,
            "score_range": value_range,
            "unit": self.unit,
            "risk": self.risk,
            "risk_determined": self.risk_determined,
            "high_risk": self.high_risk,
            "components": [c.to_dict() for c in self.components],
            "missing": list(self.missing),
            "drivers": list(self.drivers),
            "reasons": list(self.reasons),
            "reference": self.reference,
            "options": dict(self.options),
        }
        out.update(self.extra)
        return out


def score_not_applicable(
    scale: str,
    *,
    unit: str,
    reason: str,
    code: str,
    reference: str,
    options: Mapping[str, str] | None = None,
) -> ScoreResult:
    """A score asked outside the time window or population it is defined for."""
    return ScoreResult(
        scale=scale,
        status=Status.NOT_APPLICABLE,
        value=None,
        value_range=None,
        unit=unit,
        drivers=(reason,),
        reasons=(code,),
        reference=reference,
        options=dict(options or {}),
    )
