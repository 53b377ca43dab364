"""Cellular kinetics of CAR-T cells without a model (non-compartmental): Cmax, Tmax, AUC₀₋₂₈ by the
linear trapezoidal rule and persistence (last day detectable), per patient, from CAR transgene
copies/µg DNA or CAR+ cells/µL; and their association with CRS grade (Spearman, Kruskal–Wallis)
[GABRIELSSON2016].

Input samples: a polars frame with one row per measurement, columns ``patient_id``,
``day`` (days since infusion) and ``value`` (copies/µg genomic DNA, or CAR+ cells/µL; 0 or any
value below ``lower_limit_of_quantification`` is "not detectable"). The unit is the caller's and is
carried through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from cartwatch.analytics._frames import FloatArray, as_float_array, require_columns
from cartwatch.errors import InvalidValue

# Interpretation: the exposure window reported for tisagenlecleucel and axi-cel, days 0–28 after
# infusion (AUC0-28d in the product labels' clinical pharmacology sections).
AUC_END_DAY = 28.0


@dataclass(frozen=True, slots=True, kw_only=True)
class KineticsParameters:
    """Non-compartmental parameters of one patient's series.

    ``auc_0_28`` integrates from the first sample (day ≥ 0) to day 28 (interpolated linearly when
    samples straddle it) or to the last sample before it; ``auc_covers_0_28`` says whether the
    window was fully covered (a sample at day 0 and one at or after day 28). Linear trapezoid
    throughout (no log-down): CAR-T expansion is not first-order elimination. [GABRIELSSON2016]
    """

    patient_id: Any
    n_samples: int
    cmax: float
    tmax_day: float
    auc_0_28: float | None
    auc_start_day: float | None
    auc_end_day: float | None
    auc_covers_0_28: bool
    last_detectable_day: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "n_samples": self.n_samples,
            "cmax": self.cmax,
            "tmax_day": self.tmax_day,
            "auc_0_28": self.auc_0_28,
            "auc_start_day": self.auc_start_day,
            "auc_end_day": self.auc_end_day,
            "auc_covers_0_28": self.auc_covers_0_28,
            "last_detectable_day": self.last_detectable_day,
        }


def trapezoid_auc(
    *, day: Sequence[float] | FloatArray, value: Sequence[float] | FloatArray, end_day: float
) -> tuple[float | None, float | None, float | None]:
    """Linear-trapezoid area from the first sample to ``end_day`` (linear interpolation at
    ``end_day`` when a later sample exists). Returns (auc, start_day, end_day actually reached);
    ``None`` values when fewer than two samples fall in the window. [GABRIELSSON2016]
    """
    t = as_float_array(day, field="day")
    y = as_float_array(value, field="value")
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    inside = t <= end_day
    ti, yi = t[inside], y[inside]
    if ti.size and ti[-1] < end_day and (t > end_day).any():
        j = int(np.flatnonzero(t > end_day)[0])
        t0, t1, y0, y1 = t[j - 1], t[j], y[j - 1], y[j]
        ti = np.append(ti, end_day)
        yi = np.append(yi, y0 + (y1 - y0) * (end_day - t0) / (t1 - t0))
    if ti.size < 2:
        return None, None, None
    auc = float(np.sum((ti[1:] - ti[:-1]) * (yi[1:] + yi[:-1]) / 2.0))
    return auc, float(ti[0]), float(ti[-1])


def patient_kinetics(
    *,
    patient_id: Any,
    day: Sequence[float] | FloatArray,
    value: Sequence[float] | FloatArray,
    lower_limit_of_quantification: float | None = None,
) -> KineticsParameters:
    """Cmax, Tmax (first day Cmax is observed), AUC₀₋₂₈ and last detectable day of one series.

    Detectable means ``value ≥ lower_limit_of_quantification`` when given, else ``value > 0``.
    [GABRIELSSON2016]
    """
    t = as_float_array(day, field="day")
    y = as_float_array(value, field="value")
    if t.size != y.size or t.size == 0:
        raise InvalidValue(
            f"patient {patient_id!r}: {t.size} days and {y.size} values; expected one value per "
            "day and at least one sample",
            field="value",
            value=y.size,
            expected=f"{t.size} values",
        )
    if (y < 0).any():
        raise InvalidValue(
            f"patient {patient_id!r}: `value={float(y[y < 0][0])}` is negative; expected "
            "copies/µg DNA or cells/µL ≥ 0",
            field="value",
            value=float(y[y < 0][0]),
            expected="≥ 0",
        )
    if (t < 0).any():
        raise InvalidValue(
            f"patient {patient_id!r}: `day={float(t[t < 0][0])}` is before infusion; expected "
            "days since infusion ≥ 0",
            field="day",
            value=float(t[t < 0][0]),
            expected="≥ 0",
        )
    if np.unique(t).size != t.size:
        raise InvalidValue(
            f"patient {patient_id!r} has two samples on the same day; expected one per day "
            "(average replicates before the analysis)",
            field="day",
            value=float(t[np.flatnonzero(np.diff(np.sort(t)) == 0)[0]]),
            expected="distinct days",
        )
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    peak = int(np.argmax(y))
    auc, start, end = trapezoid_auc(day=t, value=y, end_day=AUC_END_DAY)
    detectable = y >= lower_limit_of_quantification if lower_limit_of_quantification else y > 0
    last = float(t[np.flatnonzero(detectable)[-1]]) if detectable.any() else None
    return KineticsParameters(
        patient_id=patient_id,
        n_samples=int(t.size),
        cmax=float(y[peak]),
        tmax_day=float(t[peak]),
        auc_0_28=auc,
        auc_start_day=start,
        auc_end_day=end,
        auc_covers_0_28=bool(start == 0.0 and t[-1] >= AUC_END_DAY),
        last_detectable_day=last,
    )


def kinetics_table(
    samples: pl.DataFrame, *, lower_limit_of_quantification: float | None = None
) -> pl.DataFrame:
    """One row of ``KineticsParameters`` per patient, sorted by ``patient_id``.

    [GABRIELSSON2016]
    """
    require_columns(samples, ["patient_id", "day", "value"], what="samples")
    if samples.select(pl.col("day").is_null().any() | pl.col("value").is_null().any()).item():
        raise InvalidValue(
            "a sample has no day or no value; drop unmeasured samples before the analysis",
            field="value",
            value=None,
            expected="a number for every sample",
        )
    rows: list[dict[str, Any]] = []
    for (pid,), sub in samples.sort("patient_id").group_by("patient_id", maintain_order=True):
        rows.append(
            patient_kinetics(
                patient_id=pid,
                day=sub.get_column("day").cast(pl.Float64).to_numpy(),
                value=sub.get_column("value").cast(pl.Float64).to_numpy(),
                lower_limit_of_quantification=lower_limit_of_quantification,
            ).to_dict()
        )
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": samples.schema["patient_id"],
            "n_samples": pl.Int64,
            "cmax": pl.Float64,
            "tmax_day": pl.Float64,
            "auc_0_28": pl.Float64,
            "auc_start_day": pl.Float64,
            "auc_end_day": pl.Float64,
            "auc_covers_0_28": pl.Boolean,
            "last_detectable_day": pl.Float64,
        },
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GradeAssociation:
    """Association of one kinetic parameter with the maximum CRS grade."""

    parameter: str
    n: int
    spearman_rho: float | None
    spearman_p: float | None
    kruskal_h: float | None
    kruskal_p: float | None
    groups: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "n": self.n,
            "spearman_rho": self.spearman_rho,
            "spearman_p": self.spearman_p,
            "kruskal_h": self.kruskal_h,
            "kruskal_p": self.kruskal_p,
            "groups": {str(k): v for k, v in self.groups.items()},
        }


def association_with_grade(
    table: pl.DataFrame,
    *,
    parameter: str = "cmax",
    grade_column: str = "max_grade__astct_crs",
) -> GradeAssociation:
    """Spearman correlation and Kruskal–Wallis test (by grade) of a kinetic parameter with the
    maximum CRS grade over patients with both known (scipy; tie-corrected). ``None`` statistics
    when undefined (fewer than 3 patients, no variation, or fewer than two grade groups).
    """
    require_columns(table, [parameter, grade_column], what="kinetics")
    both = table.select(parameter, grade_column).drop_nulls()
    x = both.get_column(parameter).cast(pl.Float64).to_numpy()
    g = both.get_column(grade_column).cast(pl.Int64).to_numpy()
    groups = {int(k): int((g == k).sum()) for k in np.unique(g)}
    rho = p_rho = h = p_h = None
    if x.size >= 3 and np.unique(x).size > 1 and np.unique(g).size > 1:
        result = stats.spearmanr(x, g)
        rho, p_rho = float(result.statistic), float(result.pvalue)
        samples = [x[g == k] for k in groups]
        if len(samples) >= 2:
            kw = stats.kruskal(*samples)
            h, p_h = float(kw.statistic), float(kw.pvalue)
    return GradeAssociation(
        parameter=parameter,
        n=int(x.size),
        spearman_rho=rho,
        spearman_p=p_rho,
        kruskal_h=h,
        kruskal_p=p_h,
        groups=groups,
    )
