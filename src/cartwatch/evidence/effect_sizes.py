"""Effect sizes for single proportions, computed exactly as metafor's ``escalc`` does.

Five measures: raw proportion (PR), log proportion (PLN), logit (PLO), arcsine square root (PAS)
and Freeman–Tukey double arcsine (PFT). Studies with 0 events or with every patient an event
are handled as metafor 3.8-1 handles them by default (``escalc(..., add=1/2, to="only0")``):
for PR, PLN and PLO ½ is added to the event and the non-event count of those studies only; for
PAS and PFT nothing is added (metafor sets ``add=0`` for them unless the caller gives ``add``).
Both are selectable. Per-study Clopper–Pearson and Wilson intervals are computed from the raw
counts. [VIECHTBAUER2010] escalc; [CLOPPER1934]; [WILSON1927]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from cartwatch.errors import ImplausibleValue, InvalidValue

FloatArray = NDArray[np.float64]
# counts or effect sizes as a list or any numeric numpy array
Numbers = Sequence[float] | NDArray[Any]


class Measure(StrEnum):
    """The effect-size measures for a single proportion (metafor's names)."""

    PR = "PR"
    PLN = "PLN"
    PLO = "PLO"
    PAS = "PAS"
    PFT = "PFT"


class AddTo(StrEnum):
    """Which studies receive the continuity correction ``add`` (metafor's ``to``)."""

    ALL = "all"
    ONLY0 = "only0"
    IF0ALL = "if0all"
    NONE = "none"


# [VIECHTBAUER2010] metafor 3.8-1 escalc(): default add = 1/2, to = "only0"
DEFAULT_ADD = 0.5
# [VIECHTBAUER2010] metafor 3.8-1 escalc(): add <- 0 for "PAS" and "PFT" when add is not given
MEASURES_WITHOUT_DEFAULT_ADD: frozenset[Measure] = frozenset({Measure.PAS, Measure.PFT})
DEFAULT_TO = AddTo.ONLY0


def parse_measure(measure: str | Measure) -> Measure:
    """The measure named by ``measure`` (case-insensitive), or an error listing the choices."""
    try:
        return Measure(str(measure).upper())
    except ValueError:
        allowed = ", ".join(m.value for m in Measure)
        raise InvalidValue(
            f"`measure={measure!r}` is not a proportion measure; expected one of {allowed}",
            field="measure",
            value=measure,
            expected=allowed,
        ) from None


def parse_to(to: str | AddTo) -> AddTo:
    """The ``to`` option named by ``to``, or an error listing the choices."""
    try:
        return AddTo(str(to).lower())
    except ValueError:
        allowed = ", ".join(t.value for t in AddTo)
        raise InvalidValue(
            f"`to={to!r}` is not a continuity-correction target; expected one of {allowed}",
            field="to",
            value=to,
            expected=allowed,
        ) from None


def default_add(measure: Measure) -> float:
    """metafor's default ``add`` for ``measure`` (½, or 0 for PAS and PFT). [VIECHTBAUER2010]"""
    return 0.0 if measure in MEASURES_WITHOUT_DEFAULT_ADD else DEFAULT_ADD


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectSizes:
    """Per-study effect sizes ``yi`` and sampling variances ``vi`` on the ``measure`` scale."""

    measure: Measure
    events: tuple[float, ...]
    totals: tuple[float, ...]
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    add: float
    to: AddTo
    corrected: tuple[bool, ...]

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.yi)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "measure": self.measure.value,
            "events": list(self.events),
            "totals": list(self.totals),
            "yi": list(self.yi),
            "vi": list(self.vi),
            "add": self.add,
            "to": self.to.value,
            "corrected": list(self.corrected),
        }


def as_counts(events: Numbers, totals: Numbers) -> tuple[FloatArray, FloatArray]:
    """Validated event and total counts as float arrays (0 ≤ events ≤ totals, totals > 0)."""
    xi = np.asarray(events, dtype=np.float64).reshape(-1)
    ni = np.asarray(totals, dtype=np.float64).reshape(-1)
    if xi.size != ni.size:
        raise InvalidValue(
            f"`events` has {xi.size} values but `totals` has {ni.size}; expected one of each "
            "per study",
            field="events",
            value=xi.size,
            expected=f"{ni.size} values",
        )
    if xi.size == 0:
        raise InvalidValue(
            "`events` is empty; expected at least one study",
            field="events",
            value=[],
            expected="at least 1 study",
        )
    for name, arr in (("events", xi), ("totals", ni)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise InvalidValue(
                f"`{name}[{i}]={arr[i]}` is missing or not finite; expected a count",
                field=name,
                value=float(arr[i]),
                expected="a finite count",
            )
    neg = np.flatnonzero(xi < 0)
    if neg.size:
        i = int(neg[0])
        raise ImplausibleValue(
            f"`events[{i}]={xi[i]:g}` is negative; expected 0 ≤ events ≤ totals",
            field="events",
            value=float(xi[i]),
            expected="0 ≤ events ≤ totals",
        )
    nonpos = np.flatnonzero(ni <= 0)
    if nonpos.size:
        i = int(nonpos[0])
        raise ImplausibleValue(
            f"`totals[{i}]={ni[i]:g}` is not positive; expected a group size > 0",
            field="totals",
            value=float(ni[i]),
            expected="> 0",
        )
    over = np.flatnonzero(xi > ni)
    if over.size:
        i = int(over[0])
        raise ImplausibleValue(
            f"`events[{i}]={xi[i]:g}` exceeds `totals[{i}]={ni[i]:g}`; expected 0 ≤ events ≤ "
            "totals",
            field="events",
            value=float(xi[i]),
            expected=f"0–{ni[i]:g}",
        )
    return xi, ni


def escalc(
    *,
    events: Numbers,
    totals: Numbers,
    measure: str | Measure = Measure.PLO,
    add: float | None = None,
    to: str | AddTo = DEFAULT_TO,
) -> EffectSizes:
    """Effect sizes and sampling variances as metafor ``escalc(measure, xi=, ni=)`` (vtype "LS").

    ``add=None`` means metafor's default for the measure (½ for PR/PLN/PLO, 0 for PAS/PFT).
    [VIECHTBAUER2010] metafor 3.8-1 escalc()
    """
    m = parse_measure(measure)
    target = parse_to(to)
    add_value = default_add(m) if add is None else float(add)
    if not math.isfinite(add_value) or add_value < 0:
        raise InvalidValue(
            f"`add={add}` is not usable; expected a non-negative number",
            field="add",
            value=add,
            expected="≥ 0",
        )
    xi_u, ni_u = as_counts(events, totals)
    xi = xi_u.copy()
    mi = ni_u - xi_u
    corrected = np.zeros(xi.size, dtype=bool)
    if target is AddTo.ALL:
        corrected[:] = True
    elif target is AddTo.ONLY0:
        corrected = (xi == 0) | (mi == 0)
    elif target is AddTo.IF0ALL and bool(np.any((xi == 0) | (mi == 0))):
        corrected[:] = True
    xi = np.where(corrected, xi + add_value, xi)
    mi = np.where(corrected, mi + add_value, mi)
    ni = xi + mi
    pri = xi / ni
    with np.errstate(divide="ignore", invalid="ignore"):
        if m is Measure.PR:
            yi = pri
            vi = pri * (1.0 - pri) / ni
        elif m is Measure.PLN:
            yi = np.log(pri)
            vi = 1.0 / xi - 1.0 / ni
        elif m is Measure.PLO:
            yi = np.log(pri / (1.0 - pri))
            vi = 1.0 / xi + 1.0 / mi
        elif m is Measure.PAS:
            yi = np.arcsin(np.sqrt(pri))
            vi = 1.0 / (4.0 * ni)
        else:
            yi = 0.5 * (
                np.arcsin(np.sqrt(xi / (ni + 1.0))) + np.arcsin(np.sqrt((xi + 1.0) / (ni + 1.0)))
            )
            vi = 1.0 / (4.0 * ni + 2.0)
    return EffectSizes(
        measure=m,
        events=tuple(float(v) for v in xi_u),
        totals=tuple(float(v) for v in ni_u),
        yi=tuple(float(v) for v in yi),
        vi=tuple(float(v) for v in vi),
        add=add_value,
        to=target,
        corrected=tuple(bool(v) for v in corrected),
    )


def pft(proportion: FloatArray | float, n: FloatArray | float) -> FloatArray:
    """Freeman–Tukey double arcsine of ``proportion`` at sample size ``n`` (metafor transf.pft)."""
    x = np.asarray(proportion, dtype=np.float64) * n
    return np.asarray(
        0.5 * (np.arcsin(np.sqrt(x / (n + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n + 1.0)))),
        dtype=np.float64,
    )


def ipft(values: FloatArray | float, n: float) -> FloatArray:
    """Inverse Freeman–Tukey at sample size ``n`` (metafor transf.ipft). [MILLER1978]"""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(2.0 * x)
        z = 0.5 * (1.0 - np.sign(np.cos(2.0 * x)) * np.sqrt(1.0 - (s + (s - 1.0 / s) / n) ** 2))
    z = np.where(x > pft(1.0, n), 1.0, z)
    z = np.where(x < pft(0.0, n), 0.0, z)
    return np.asarray(z, dtype=np.float64)


def harmonic_mean(totals: Numbers) -> float:
    """Harmonic mean of the study sizes (metafor transf.ipft.hm's ``1/mean(1/ni)``)."""
    n = np.asarray(totals, dtype=np.float64)
    return float(1.0 / np.mean(1.0 / n))


def back_transform(values: FloatArray | float, *, measure: Measure, totals: Numbers) -> FloatArray:
    """Values on the ``measure`` scale as proportions (metafor's transf.* functions).

    PR: identity; PLN: exp; PLO: transf.ilogit; PAS: transf.iarcsin (clipped to [0, 1]);
    PFT: transf.ipft.hm with the harmonic mean of ``totals``. [VIECHTBAUER2010] [MILLER1978]
    """
    x = np.asarray(values, dtype=np.float64)
    if measure is Measure.PR:
        return x.copy()
    if measure is Measure.PLN:
        return np.asarray(np.exp(x), dtype=np.float64)
    if measure is Measure.PLO:
        return np.asarray(stats.logistic.cdf(x), dtype=np.float64)
    if measure is Measure.PAS:
        z = np.sin(x) ** 2
        z = np.where(x < 0, 0.0, z)
        z = np.where(x > math.asin(1.0), 1.0, z)
        return np.asarray(z, dtype=np.float64)
    return ipft(x, harmonic_mean(totals))


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyInterval:
    """A per-study proportion with its confidence interval."""

    proportion: float
    ci_lb: float
    ci_ub: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "proportion": self.proportion,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "method": self.method,
        }


def _check_level(level: float) -> float:
    if not (0.0 < level < 1.0):
        raise InvalidValue(
            f"`level={level}` is not a confidence level; expected 0 < level < 1 (e.g. 0.95)",
            field="level",
            value=level,
            expected="0 < level < 1",
        )
    return float(level)


def clopper_pearson(
    *,
    events: Numbers,
    totals: Numbers,
    level: float = 0.95,
) -> tuple[StudyInterval, ...]:
    """Exact (Clopper–Pearson) intervals, as R ``binom.test``. [CLOPPER1934]"""
    alpha = 1.0 - _check_level(level)
    xi, ni = as_counts(events, totals)
    lo = np.where(xi == 0, 0.0, stats.beta.ppf(alpha / 2.0, xi, ni - xi + 1.0))
    hi = np.where(xi == ni, 1.0, stats.beta.ppf(1.0 - alpha / 2.0, xi + 1.0, ni - xi))
    return tuple(
        StudyInterval(
            proportion=float(x / n), ci_lb=float(a), ci_ub=float(b), method="clopper-pearson"
        )
        for x, n, a, b in zip(xi, ni, lo, hi, strict=True)
    )


def wilson(
    *,
    events: Numbers,
    totals: Numbers,
    level: float = 0.95,
) -> tuple[StudyInterval, ...]:
    """Wilson score intervals, as R ``prop.test(correct=FALSE)``. [WILSON1927]"""
    alpha = 1.0 - _check_level(level)
    xi, ni = as_counts(events, totals)
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    p = xi / ni
    centre = p + z * z / (2.0 * ni)
    half = z * np.sqrt(p * (1.0 - p) / ni + z * z / (4.0 * ni * ni))
    denom = 1.0 + z * z / ni
    lo = np.where(xi == 0, 0.0, np.maximum(0.0, (centre - half) / denom))
    hi = np.where(xi == ni, 1.0, np.minimum(1.0, (centre + half) / denom))
    return tuple(
        StudyInterval(proportion=float(pp), ci_lb=float(a), ci_ub=float(b), method="wilson")
        for pp, a, b in zip(p, lo, hi, strict=True)
    )
