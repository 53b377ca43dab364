"""Helpers shared by the risk scores: plausible ranges, candidate values, wording of values."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from cartwatch.assessment import FIELDS


def plausible(name: str) -> tuple[float, float]:
    """The plausible range of contract field ``name`` (the admissible values when missing)."""
    spec = FIELDS[name]
    assert spec.low is not None and spec.high is not None
    return float(spec.low), float(spec.high)


def candidates(cuts: Iterable[float], low: float, high: float) -> tuple[float, ...]:
    """One value inside each region ``cuts`` make of [low, high], each cut, and both ends.

    Exact for any comparison against the cuts (<, ≤, ≥, >): every region the rule can tell
    apart is represented (design.md §3, clinical-spec C-4).
    """
    inside = sorted({c for c in cuts if low <= c <= high})
    points = {low, high, *inside}
    for left, right in itertools.pairwise([low, *inside, high]):
        if right > left:
            points.add((left + right) / 2.0)
    return tuple(sorted(points))


def show(value: float) -> str:
    """A measured value as entered, with thousands separators and no rounding."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return repr(float(value))


def with_unit(value: float, unit: str) -> str:
    """A value and its unit as a clinician writes them ("60,000/µL", "11 g/dL")."""
    return show(value) + ("" if unit.startswith("/") else " ") + unit


def day_after_infusion_reason(day_post_infusion: float | None, what: str) -> str | None:
    """Why a pre-lymphodepletion score does not apply on this day, or None when it may apply.

    Interpretation: scores defined before lymphodepletion (CAR-HEMATOTOX, EASIX-pre) are not
    applicable to an assessment on or after the day of infusion (day ≥ 0), when lymphodepletion
    has already been given.
    """
    if day_post_infusion is not None and day_post_infusion >= 0:
        return (
            f"{what} is defined before lymphodepleting chemotherapy; this assessment is on day "
            f"{show(day_post_infusion)} after infusion"
        )
    return None
