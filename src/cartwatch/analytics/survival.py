"""Time to event after infusion: Kaplan–Meier OS and PFS/EFS with numbers at risk, median follow-up
by reverse Kaplan–Meier, and the cumulative incidence of CRS or ICANS with death as a competing
risk (Aalen–Johansen).

Own numpy implementations, written to reproduce R exactly rather than lifelines (whose default
interval is log-log and whose Aalen–Johansen estimator breaks ties by jittering the times):

* ``kaplan_meier`` equals ``survival::survfit(Surv(time, status) ~ 1)``: Greenwood standard error of
  the cumulative hazard, default ``conf_type="log"`` (R's default), also ``"log-log"`` and
  ``"plain"``; the median and its CI as ``print.survfit`` (a curve flat at exactly 0.5 gives the
  midpoint to the next drop) [KAPLAN1958] [GREENWOOD1926] [THERNEAU_SURVIVAL].
* ``cumulative_incidence`` equals ``cmprsk::cuminc``: tied times are handled together (all events
  at a time leave the risk set at once; censorings at an event time are still at risk for it, as in
  Kaplan–Meier), and the variance is Gray's delta-method estimator of ``cinc`` [GRAY1988]
  [AALEN1978]. Its CI (not produced by cmprsk) uses the log(−log) transform
  ``F^exp(±z·se/(F·log F))`` (Choudhury 2002, as recommended by Pintilie 2006) [CHOUDHURY2002].

A per-patient frame for these functions has ``time_days`` (days since infusion, ≥ 0) and either
``event`` (boolean; death for OS, progression or death for PFS) or ``cause`` (0 censored,
1 the toxicity of interest, 2 death before it, or any other competing code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from cartwatch.analytics._frames import FloatArray, as_float_array, require_columns
from cartwatch.errors import InvalidValue

DEFAULT_CONFIDENCE = 0.95
# [THERNEAU_SURVIVAL] print.survfit: a survival value within sqrt(machine epsilon) of 0.5 is 0.5.
MEDIAN_TOLERANCE = math.sqrt(np.finfo(np.float64).eps)
# Largest argument of exp() that fits a double; beyond it the lower CIF limit is 0.
LOG_OVERFLOW = math.log(np.finfo(np.float64).max)


class ConfType(StrEnum):
    """Transform for Kaplan–Meier pointwise intervals (names as ``survfit(conf.type=)``)."""

    LOG = "log"
    LOG_LOG = "log-log"
    PLAIN = "plain"


def _z(confidence: float) -> float:
    if not (0.0 < confidence < 1.0):
        raise InvalidValue(
            f"`confidence={confidence}` is not a probability; expected 0 < confidence < 1",
            field="confidence",
            value=confidence,
            expected="0 < confidence < 1",
        )
    return float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def _check_times(time_days: Sequence[float] | FloatArray) -> FloatArray:
    t = as_float_array(time_days, field="time_days")
    if t.size == 0:
        raise InvalidValue(
            "`time_days` is empty; a survival curve needs at least one patient",
            field="time_days",
            value=[],
            expected="at least one time",
        )
    if (t < 0).any():
        index = int(np.flatnonzero(t < 0)[0])
        raise InvalidValue(
            f"`time_days[{index}]={t[index]}` is negative; expected days since infusion ≥ 0",
            field="time_days",
            value=float(t[index]),
            expected="≥ 0 days",
        )
    return t


def _check_events(
    event: Sequence[bool] | Sequence[int] | npt.NDArray[Any], n: int
) -> npt.NDArray[np.bool_]:
    arr = np.asarray(event)
    if arr.shape != (n,):
        raise InvalidValue(
            f"`event` has {arr.size} values for {n} times; expected one per patient",
            field="event",
            value=arr.size,
            expected=f"{n} values",
        )
    if arr.dtype != np.bool_:
        if not np.isin(arr, (0, 1)).all():
            raise InvalidValue(
                "`event` must be true/false (or 1/0)",
                field="event",
                value=[v for v in arr.tolist() if v not in (0, 1)][:3],
                expected="booleans or 0/1",
            )
        arr = arr.astype(np.bool_)
    return arr


def _none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _minmin(y: FloatArray, x: FloatArray) -> float | None:
    """First time the curve ``y`` reaches 0.5; midpoint rule of R ``print.survfit``."""
    keep = ~np.isnan(y) & (y < 0.5 + MEDIAN_TOLERANCE)
    if not keep.any():
        return None
    xs, ys = x[keep], y[keep]
    if abs(ys[0] - 0.5) < MEDIAN_TOLERANCE and (ys < ys[0]).any():
        return float((xs[0] + xs[int(np.flatnonzero(ys < ys[0])[0])]) / 2.0)
    return float(xs[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class KaplanMeier:
    """A fitted Kaplan–Meier curve at each distinct time (as ``survfit``); NaN where R gives NA."""

    time: FloatArray
    n_risk: npt.NDArray[np.int64]
    n_event: npt.NDArray[np.int64]
    n_censor: npt.NDArray[np.int64]
    survival: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_type: ConfType
    confidence: float
    n: int

    def median(self) -> dict[str, float | None]:
        """Median survival with its CI (``summary(fit)$table``); ``None`` when not reached."""
        return {
            "median": _minmin(self.survival, self.time),
            "lower": _minmin(self.lower, self.time),
            "upper": _minmin(self.upper, self.time),
        }

    def at(self, times: Sequence[float] | FloatArray) -> dict[str, list[Any]]:
        """Survival and numbers at risk at ``times`` (``summary(fit, times=, extend=TRUE)``).

        ``n_risk`` at t counts patients still followed just before t (time ≥ t); the survival
        includes events at t.
        """
        t = as_float_array(times, field="times")
        idx = np.searchsorted(self.time, t, side="right") - 1
        surv = [1.0 if i < 0 else float(self.survival[i]) for i in idx]
        start = None if self.conf_type is ConfType.LOG_LOG else 1.0
        lower = [start if i < 0 else _none(float(self.lower[i])) for i in idx]
        upper = [start if i < 0 else _none(float(self.upper[i])) for i in idx]
        first_at_or_after = np.searchsorted(self.time, t, side="left")
        at_risk = [
            self.n if j == 0 else (int(self.n_risk[j]) if j < self.time.size else 0)
            for j in first_at_or_after
        ]
        return {
            "time": t.tolist(),
            "n_risk": at_risk,
            "survival": surv,
            "lower": lower,
            "upper": upper,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.tolist(),
            "n_risk": self.n_risk.tolist(),
            "n_event": self.n_event.tolist(),
            "n_censor": self.n_censor.tolist(),
            "survival": self.survival.tolist(),
            "std_err": [_none(v) for v in self.std_err.tolist()],
            "lower": [_none(v) for v in self.lower.tolist()],
            "upper": [_none(v) for v in self.upper.tolist()],
            "conf_type": str(self.conf_type),
            "confidence": self.confidence,
            "n": self.n,
            "median": self.median(),
        }


def kaplan_meier(
    *,
    time_days: Sequence[float] | FloatArray,
    event: Sequence[bool] | Sequence[int] | npt.NDArray[Any],
    conf_type: ConfType | str = ConfType.LOG,
    confidence: float = DEFAULT_CONFIDENCE,
) -> KaplanMeier:
    """Kaplan–Meier estimate with Greenwood standard errors and pointwise CIs, as R
    ``survfit(Surv(time, status) ~ 1, conf.type=)``; the default ``"log"`` is R's default.
    [KAPLAN1958] [GREENWOOD1926] [THERNEAU_SURVIVAL]
    """
    t = _check_times(time_days)
    d = _check_events(event, t.size)
    try:
        kind = ConfType(conf_type)
    except ValueError:
        raise InvalidValue(
            f"`conf_type={conf_type!r}` is not a known interval; expected one of "
            f"{', '.join(c.value for c in ConfType)}",
            field="conf_type",
            value=conf_type,
            expected=", ".join(c.value for c in ConfType),
        ) from None
    z = _z(confidence)
    times, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=d.astype(np.float64), minlength=times.size)
    n_total = np.bincount(inverse, minlength=times.size).astype(np.float64)
    n_risk = t.size - np.concatenate(([0.0], np.cumsum(n_total)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - n_event / n_risk)
        increments = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        variance = np.cumsum(increments)
        std_err = np.where(np.isfinite(variance), np.sqrt(variance), np.nan)
        lower, upper = _confint(survival, std_err, z, kind)
    return KaplanMeier(
        time=times,
        n_risk=n_risk.astype(np.int64),
        n_event=n_event.astype(np.int64),
        n_censor=(n_total - n_event).astype(np.int64),
        survival=survival,
        std_err=std_err,
        lower=lower,
        upper=upper,
        conf_type=kind,
        confidence=confidence,
        n=int(t.size),
    )


def _confint(
    surv: FloatArray, se: FloatArray, z: float, kind: ConfType
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits as ``survival:::survfit_confint`` (standard error on the log scale)."""
    if kind is ConfType.PLAIN:
        half = se * surv * z
        return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
    if kind is ConfType.LOG:
        xx = np.where(surv == 0.0, np.nan, surv)
        return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
    xx = np.where((surv == 0.0) | (surv == 1.0), np.nan, surv)
    scaled = z * se / np.log(xx)
    return np.exp(-np.exp(np.log(-np.log(xx)) - scaled)), np.exp(
        -np.exp(np.log(-np.log(xx)) + scaled)
    )


def median_follow_up(
    *,
    time_days: Sequence[float] | FloatArray,
    event: Sequence[bool] | Sequence[int] | npt.NDArray[Any],
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, float | None]:
    """Median follow-up by reverse Kaplan–Meier (censoring is the event, deaths are censored), as
    ``survfit(Surv(time, 1 - status) ~ 1)``. [SCHEMPER1996]
    """
    t = _check_times(time_days)
    d = _check_events(event, t.size)
    return kaplan_meier(time_days=t, event=~d, confidence=confidence).median()


def number_at_risk(
    *, time_days: Sequence[float] | FloatArray, times: Sequence[float] | FloatArray
) -> list[int]:
    """Patients still followed just before each of ``times`` (follow-up time ≥ t), as the
    numbers at risk printed under survival and cumulative-incidence curves.
    """
    t = np.sort(_check_times(time_days))
    at = as_float_array(times, field="times")
    return [int(t.size - np.searchsorted(t, value, side="left")) for value in at]


@dataclass(frozen=True, slots=True, kw_only=True)
class CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of one cause, as one curve of ``cmprsk::cuminc``.

    ``time``, ``estimate`` and ``variance`` list every corner of the step function exactly as
    cmprsk does (starting at (0, 0), a pair of points at each jump, ending at the last follow-up).
    """

    cause: int
    time: FloatArray
    estimate: FloatArray
    variance: FloatArray
    confidence: float
    n: int

    def at(self, times: Sequence[float] | FloatArray) -> dict[str, list[Any]]:
        """Estimate, variance and log(−log) CI at ``times`` (``cmprsk::timepoints``); ``None``
        beyond the last follow-up time.
        """
        t = as_float_array(times, field="times")
        z = _z(self.confidence)
        est: list[float | None] = []
        var: list[float | None] = []
        lower: list[float | None] = []
        upper: list[float | None] = []
        last = float(self.time[-1])
        for value in t:
            if value > last or value < 0:
                est.append(None)
                var.append(None)
                lower.append(None)
                upper.append(None)
                continue
            i = int(np.searchsorted(self.time, value, side="right")) - 1
            f, v = float(self.estimate[i]), float(self.variance[i])
            lo, hi = _cif_interval(f, v, z)
            est.append(f)
            var.append(v)
            lower.append(lo)
            upper.append(hi)
        return {
            "time": t.tolist(),
            "estimate": est,
            "variance": var,
            "lower": lower,
            "upper": upper,
        }

    def interval(self) -> tuple[FloatArray, FloatArray]:
        """Pointwise log(−log) limits at every corner of the curve. [CHOUDHURY2002]"""
        z = _z(self.confidence)
        pairs = [
            _cif_interval(float(f), float(v), z)
            for f, v in zip(self.estimate, self.variance, strict=True)
        ]
        lo = np.array([np.nan if a is None else a for a, _ in pairs])
        hi = np.array([np.nan if b is None else b for _, b in pairs])
        return lo, hi

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval()
        return {
            "cause": self.cause,
            "time": self.time.tolist(),
            "estimate": self.estimate.tolist(),
            "variance": self.variance.tolist(),
            "lower": [_none(v) for v in lo.tolist()],
            "upper": [_none(v) for v in hi.tolist()],
            "confidence": self.confidence,
            "n": self.n,
        }


def _cif_interval(f: float, v: float, z: float) -> tuple[float | None, float | None]:
    """``F^exp(±z·se/(F·log F))``; (0, 0) at F = 0 and undefined at F = 1. [CHOUDHURY2002]"""
    if f == 0.0:
        return 0.0, 0.0
    if f >= 1.0 or v < 0:
        return None, None
    spread = abs(z * math.sqrt(v) / (f * math.log(f)))
    lower = 0.0 if spread > LOG_OVERFLOW else f ** math.exp(spread)
    return lower, f ** math.exp(-spread)


def cumulative_incidence(
    *,
    time_days: Sequence[float] | FloatArray,
    cause: Sequence[int] | npt.NDArray[Any],
    censor_code: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[int, CumulativeIncidence]:
    """Aalen–Johansen cumulative incidence of every cause present, with Gray's variance, equal to
    ``cmprsk::cuminc(time, cause, cencode=)``. Empty when no event of any cause occurred (cmprsk
    stops with an error there). [AALEN1978] [GRAY1988]
    """
    t = _check_times(time_days)
    c = np.asarray(cause)
    if c.shape != t.shape or not np.issubdtype(c.dtype, np.integer):
        raise InvalidValue(
            f"`cause` must hold one integer code per patient ({t.size}); got {c.size} values "
            f"of type {c.dtype}",
            field="cause",
            value=c.size,
            expected=f"{t.size} integer codes, {censor_code} = censored",
        )
    _z(confidence)
    order = np.argsort(t, kind="stable")
    t, c = t[order], c[order]
    codes = sorted(int(k) for k in np.unique(c[c != censor_code]))
    failed = c != censor_code
    return {code: _cinc(t, failed, c == code, code=code, confidence=confidence) for code in codes}


def _cinc(
    y: FloatArray,
    failed: npt.NDArray[np.bool_],
    this_cause: npt.NDArray[np.bool_],
    *,
    code: int,
    confidence: float,
) -> CumulativeIncidence:
    """Gray's ``cinc`` estimator and variance over sorted times (cmprsk ``cincsub.f``).

    [GRAY1988]
    """
    n = y.size
    times, starts, counts = np.unique(y, return_index=True, return_counts=True)
    xs: list[float] = [0.0]
    fs: list[float] = [0.0]
    vs: list[float] = [0.0]
    overall = 1.0
    v1 = v2 = v3 = 0.0
    for time, start, count in zip(times, starts, counts, strict=True):
        at_risk = float(n - start)
        block = slice(int(start), int(start + count))
        nd1 = int(this_cause[block].sum())
        nd2 = int(failed[block].sum()) - nd1
        if nd1 + nd2 == 0:
            continue
        overall_next = overall * (at_risk - nd1 - nd2) / at_risk
        current = fs[-1]
        if nd1 > 0:
            current = fs[-1] + overall * nd1 / at_risk
        if nd2 > 0 and overall_next > 0:
            shrink = 1.0 if nd2 == 1 else 1.0 - (nd2 - 1.0) / (at_risk - 1.0)
            weight = overall * overall * shrink * nd2 / (at_risk * at_risk)
            a3 = 1.0 / overall_next
            a4 = current / overall_next
            v1 += a4 * a4 * weight
            v2 += a3 * a4 * weight
            v3 += a3 * a3 * weight
        if nd1 > 0:
            shrink = 1.0 if nd1 == 1 else 1.0 - (nd1 - 1.0) / (at_risk - 1.0)
            weight = overall * overall * shrink * nd1 / (at_risk * at_risk)
            a3 = 1.0 / overall_next if overall_next > 0 else 0.0
            a4 = 1.0 + a3 * current
            v1 += a4 * a4 * weight
            v2 += a3 * a4 * weight
            v3 += a3 * a3 * weight
            xs += [float(time), float(time)]
            fs += [fs[-1], current]
            vs += [vs[-1], v1 + current * current * v3 - 2.0 * current * v2]
        overall = overall_next
    xs.append(float(y[-1]))
    fs.append(fs[-1])
    vs.append(vs[-1])
    return CumulativeIncidence(
        cause=code,
        time=np.array(xs),
        estimate=np.array(fs),
        variance=np.array(vs),
        confidence=confidence,
        n=n,
    )


def _frame_groups(cohort: pl.DataFrame, group_by: str | None) -> list[tuple[str, pl.DataFrame]]:
    if group_by is None:
        return [("All", cohort)]
    require_columns(cohort, [group_by], what="cohort")
    keys = cohort.get_column(group_by).unique().to_list()
    return [
        (
            "(missing)" if key is None else str(key),
            cohort.filter(pl.col(group_by).is_null() if key is None else pl.col(group_by) == key),
        )
        for key in sorted(keys, key=lambda k: (k is None, str(k)))
    ]


def kaplan_meier_by_group(
    cohort: pl.DataFrame,
    *,
    time_column: str = "os_days",
    event_column: str = "death",
    group_by: str | None = None,
    conf_type: ConfType | str = ConfType.LOG,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, KaplanMeier]:
    """Kaplan–Meier curves per group of a one-row-per-patient frame (``time_column`` days since
    infusion, ``event_column`` boolean). Rows with a null time or event are refused, not dropped.
    [KAPLAN1958]
    """
    require_columns(cohort, [time_column, event_column], what="cohort")
    _refuse_nulls(cohort, [time_column, event_column])
    return {
        label: kaplan_meier(
            time_days=sub.get_column(time_column).cast(pl.Float64).to_numpy(),
            event=sub.get_column(event_column).cast(pl.Boolean).to_numpy(),
            conf_type=conf_type,
            confidence=confidence,
        )
        for label, sub in _frame_groups(cohort, group_by)
    }


def cumulative_incidence_by_group(
    cohort: pl.DataFrame,
    *,
    time_column: str = "crs_time_days",
    cause_column: str = "crs_cause",
    group_by: str | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, dict[int, CumulativeIncidence]]:
    """Aalen–Johansen curves per group: ``time_column`` is the day of the first event of any cause
    or of last follow-up, ``cause_column`` 0 censored, 1 the toxicity, 2 death first. [GRAY1988]
    """
    require_columns(cohort, [time_column, cause_column], what="cohort")
    _refuse_nulls(cohort, [time_column, cause_column])
    return {
        label: cumulative_incidence(
            time_days=sub.get_column(time_column).cast(pl.Float64).to_numpy(),
            cause=sub.get_column(cause_column).cast(pl.Int64).to_numpy(),
            confidence=confidence,
        )
        for label, sub in _frame_groups(cohort, group_by)
    }


def _refuse_nulls(cohort: pl.DataFrame, columns: Sequence[str]) -> None:
    for column in columns:
        nulls = cohort.get_column(column).null_count()
        if nulls:
            raise InvalidValue(
                f"`{column}` is missing for {nulls} patient(s); time-to-event needs every "
                "patient's time and status (set the cohort's data cut and censor there)",
                field=column,
                value=None,
                expected="a value for every patient",
            )


def survival_table(curves: Mapping[str, KaplanMeier], *, times: Sequence[float]) -> pl.DataFrame:
    """Tidy table of survival, CI and numbers at risk at chosen days per group (CSV-ready).

    Columns: ``group``, ``time_days``, ``n_risk``, ``survival``, ``lower``, ``upper``.
    """
    rows: list[dict[str, Any]] = []
    for label, km in curves.items():
        at = km.at(times)
        for i, t in enumerate(at["time"]):
            rows.append(
                {
                    "group": label,
                    "time_days": t,
                    "n_risk": at["n_risk"][i],
                    "survival": at["survival"][i],
                    "lower": at["lower"][i],
                    "upper": at["upper"][i],
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "time_days": pl.Float64,
            "n_risk": pl.Int64,
            "survival": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
        },
    )


def cumulative_incidence_table(
    curves: Mapping[str, Mapping[int, CumulativeIncidence]], *, times: Sequence[float]
) -> pl.DataFrame:
    """Tidy table of cumulative incidence (with variance and log(−log) CI) at chosen days.

    Columns: ``group``, ``cause``, ``time_days``, ``estimate``, ``variance``, ``lower``,
    ``upper`` (null beyond the group's last follow-up).
    """
    rows: list[dict[str, Any]] = []
    for label, by_cause in curves.items():
        for code, curve in by_cause.items():
            at = curve.at(times)
            for i, t in enumerate(at["time"]):
                rows.append(
                    {
                        "group": label,
                        "cause": code,
                        "time_days": t,
                        "estimate": at["estimate"][i],
                        "variance": at["variance"][i],
                        "lower": at["lower"][i],
                        "upper": at["upper"][i],
                    }
                )
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "cause": pl.Int64,
            "time_days": pl.Float64,
            "estimate": pl.Float64,
            "variance": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
        },
    )
