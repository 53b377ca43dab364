"""Cohort tables: incidence of CRS and ICANS by grade with exact CIs, onset and duration,
treatments, ICU transfers and response — the shape of a CAR-T paper's Table 1 (seed 001, 表1).

A cohort is a polars DataFrame with one row per infused patient:

* ``patient_id`` — any hashable id, unique;
* one column per syndrome × scale holding the patient's maximum grade as an integer 0–5
  (e.g. ``max_grade__astct_crs``); **null means "not assessable"** (not graded, data insufficient),
  which is never merged with grade 0;
* optional boolean columns for treatments and events (``tocilizumab_given``, ``steroids_given``,
  ``anakinra_given``, ``icu_transfer``); null means unknown;
* optional ``best_response`` (``sCR``, ``CR``, ``CRi``, ``VGPR``, ``PR``, ``MR``, ``SD``, ``PD``,
  ``NE``; null means not recorded);
* any grouping column (``product``, ``disease``, ``costimulatory_domain`` …).

Episodes (one row per toxicity episode) carry ``patient_id``, ``scale_id``, ``onset_day`` and
``duration_days`` (null while unresolved).

Exact binomial intervals follow Clopper & Pearson (1934) and equal R ``binom.test`` [CLOPPER1934].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from cartwatch.analytics._frames import FloatArray, as_float_array, require_columns
from cartwatch.errors import InvalidValue

DEFAULT_CONFIDENCE = 0.95
# [LEE2019] Grades of CRS and ICANS run 1–4; grade 5 is death from the toxicity (CTCAE convention).
MAX_GRADE = 5
# [LEE2019] "Severe" CRS/ICANS as reported in trial tables: grade ≥ 3 (seed 001 表1 sCRS, sICANS).
SEVERE_GRADE = 3
NOT_ASSESSABLE = "not_assessable"

# Interpretation: complete responses across response criteria (Lugano/IMWG sCR and CR; ALL CR with
# incomplete count recovery, CRi) count as CR; VGPR and PR add to the overall response rate.
COMPLETE_RESPONSES = frozenset({"sCR", "CR", "CRi"})
PARTIAL_RESPONSES = frozenset({"VGPR", "PR"})
NON_RESPONSES = frozenset({"MR", "SD", "PD", "NE"})
RESPONSE_CATEGORIES = COMPLETE_RESPONSES | PARTIAL_RESPONSES | NON_RESPONSES

TREATMENT_COLUMNS = ("tocilizumab_given", "steroids_given", "anakinra_given", "icu_transfer")


@dataclass(frozen=True, slots=True, kw_only=True)
class Proportion:
    """``events`` of ``n`` with an exact two-sided interval; ``None`` estimates when ``n == 0``."""

    events: int
    n: int
    proportion: float | None
    lower: float | None
    upper: float | None
    confidence: float
    method: str = "clopper-pearson"

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "n": self.n,
            "proportion": self.proportion,
            "lower": self.lower,
            "upper": self.upper,
            "confidence": self.confidence,
            "method": self.method,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MedianIQR:
    """Median and quartiles (R ``quantile`` type 7) of ``n`` values; ``None`` when ``n == 0``."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


def _check_confidence(confidence: float) -> None:
    if not (0.0 < confidence < 1.0):
        raise InvalidValue(
            f"`confidence={confidence}` is not a probability; expected 0 < confidence < 1 "
            "(e.g. 0.95)",
            field="confidence",
            value=confidence,
            expected="0 < confidence < 1",
        )


def clopper_pearson(*, events: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Proportion:
    """Proportion ``events / n`` with the exact Clopper–Pearson interval, as R ``binom.test``.

    Limits are beta quantiles: lower ``B(α/2; x, n−x+1)`` (0 when x = 0), upper
    ``B(1−α/2; x+1, n−x)`` (1 when x = n). [CLOPPER1934]
    """
    _check_confidence(confidence)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InvalidValue(
            f"`n={n}` is not a count; expected an integer ≥ 0",
            field="n",
            value=n,
            expected="integer ≥ 0",
        )
    if (
        isinstance(events, bool)
        or not isinstance(events, int | np.integer)
        or not (0 <= events <= n)
    ):
        raise InvalidValue(
            f"`events={events}` is not a count between 0 and n={n}",
            field="events",
            value=events,
            expected=f"integer 0–{n}",
        )
    x, total = int(events), int(n)
    if total == 0:
        return Proportion(
            events=0, n=0, proportion=None, lower=None, upper=None, confidence=confidence
        )
    alpha = 1.0 - confidence
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2.0, x, total - x + 1))
    upper = 1.0 if x == total else float(stats.beta.ppf(1.0 - alpha / 2.0, x + 1, total - x))
    return Proportion(
        events=x,
        n=total,
        proportion=x / total,
        lower=lower,
        upper=upper,
        confidence=confidence,
    )


def quantile_type7(*, values: Sequence[float] | FloatArray, probability: float) -> float:
    """The sample quantile of R ``quantile(type = 7)`` (linear interpolation of order stats)."""
    arr = np.sort(as_float_array(values, field="values"))
    if arr.size == 0:
        raise InvalidValue(
            "`values` is empty; a quantile needs at least one value",
            field="values",
            value=[],
            expected="at least one value",
        )
    if not (0.0 <= probability <= 1.0):
        raise InvalidValue(
            f"`probability={probability}` is outside 0–1",
            field="probability",
            value=probability,
            expected="0 ≤ probability ≤ 1",
        )
    h = (arr.size - 1) * probability
    lo = math.floor(h)
    hi = min(lo + 1, arr.size - 1)
    return float(arr[lo] + (h - lo) * (arr[hi] - arr[lo]))


def median_iqr(*, values: Sequence[float] | FloatArray) -> MedianIQR:
    """Median (IQR) as papers report onset day and duration; quartiles as R ``quantile`` type 7."""
    arr = as_float_array(values, field="values")
    if arr.size == 0:
        return MedianIQR(n=0, median=None, q1=None, q3=None, minimum=None, maximum=None)
    return MedianIQR(
        n=int(arr.size),
        median=quantile_type7(values=arr, probability=0.5),
        q1=quantile_type7(values=arr, probability=0.25),
        q3=quantile_type7(values=arr, probability=0.75),
        minimum=float(arr.min()),
        maximum=float(arr.max()),
    )


def _grades(cohort: pl.DataFrame, column: str) -> list[int | None]:
    require_columns(cohort, [column], what="cohort")
    series = cohort.get_column(column)
    out: list[int | None] = []
    for i, value in enumerate(series.to_list()):
        if value is None:
            out.append(None)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(
                f"`{column}` row {i} is {value!r}; expected a grade 0–{MAX_GRADE} or null "
                "(not assessable)",
                field=column,
                value=value,
                expected=f"integer 0–{MAX_GRADE} or null",
            )
        if isinstance(value, float) and (math.isnan(value) or not value.is_integer()):
            raise InvalidValue(
                f"`{column}` row {i} is {value!r}; expected a whole grade 0–{MAX_GRADE} or null "
                "(use null, not NaN, for not assessable)",
                field=column,
                value=value,
                expected=f"integer 0–{MAX_GRADE} or null",
            )
        grade = int(value)
        if not (0 <= grade <= MAX_GRADE):
            raise InvalidValue(
                f"`{column}` row {i} is {grade}; expected a grade 0–{MAX_GRADE} or null",
                field=column,
                value=grade,
                expected=f"integer 0–{MAX_GRADE} or null",
            )
        out.append(grade)
    return out


def incidence(
    cohort: pl.DataFrame,
    *,
    grade_column: str,
    min_grade: int = 1,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Proportion:
    """Share of assessable patients whose maximum grade is ≥ ``min_grade``, with an exact CI.

    Interpretation: patients whose grade is null ("not assessable") are left out of the denominator
    and counted apart (see ``grade_distribution``); they are never counted as grade 0. [CLOPPER1934]
    """
    if not (1 <= min_grade <= MAX_GRADE):
        raise InvalidValue(
            f"`min_grade={min_grade}` is outside 1–{MAX_GRADE}",
            field="min_grade",
            value=min_grade,
            expected=f"1–{MAX_GRADE}",
        )
    grades = [g for g in _grades(cohort, grade_column) if g is not None]
    events = sum(1 for g in grades if g >= min_grade)
    return clopper_pearson(events=events, n=len(grades), confidence=confidence)


def grade_distribution(cohort: pl.DataFrame, *, grade_column: str) -> pl.DataFrame:
    """Patients by maximum grade 0–5 plus a separate ``not_assessable`` row.

    Columns: ``grade`` (str), ``n``, ``percent_of_patients`` (all patients),
    ``percent_of_assessable`` (null for the not-assessable row). [LEE2019]
    """
    grades = _grades(cohort, grade_column)
    total = len(grades)
    assessable = sum(1 for g in grades if g is not None)
    labels: list[str] = []
    counts: list[int] = []
    of_all: list[float | None] = []
    of_assessable: list[float | None] = []
    for grade in range(MAX_GRADE + 1):
        count = sum(1 for g in grades if g == grade)
        labels.append(str(grade))
        counts.append(count)
        of_all.append(100.0 * count / total if total else None)
        of_assessable.append(100.0 * count / assessable if assessable else None)
    missing = total - assessable
    labels.append(NOT_ASSESSABLE)
    counts.append(missing)
    of_all.append(100.0 * missing / total if total else None)
    of_assessable.append(None)
    return pl.DataFrame(
        {
            "grade": labels,
            "n": counts,
            "percent_of_patients": of_all,
            "percent_of_assessable": of_assessable,
        },
        schema={
            "grade": pl.String,
            "n": pl.Int64,
            "percent_of_patients": pl.Float64,
            "percent_of_assessable": pl.Float64,
        },
    )


def _groups(cohort: pl.DataFrame, group_by: str | None) -> list[tuple[str, pl.DataFrame]]:
    out: list[tuple[str, pl.DataFrame]] = [("All", cohort)]
    if group_by is None:
        return out
    require_columns(cohort, [group_by], what="cohort")
    keys = cohort.get_column(group_by).unique(maintain_order=True).to_list()
    for key in sorted(keys, key=lambda k: (k is None, str(k))):
        sub = (
            cohort.filter(pl.col(group_by).is_null())
            if key is None
            else cohort.filter(pl.col(group_by) == key)
        )
        out.append(("(missing)" if key is None else str(key), sub))
    return out


_PROPORTION_SCHEMA = {
    "events": pl.Int64,
    "n": pl.Int64,
    "proportion": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}


def incidence_by_scale(
    cohort: pl.DataFrame,
    *,
    grade_columns: Sequence[str],
    group_by: str | None = None,
    min_grades: Sequence[int] = (1, SEVERE_GRADE),
    confidence: float = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Tidy incidence table: one row per group × grade column × threshold.

    Columns: ``group``, ``grade_column``, ``min_grade``, ``n_patients``, ``n_not_assessable``,
    ``events``, ``n`` (assessable), ``proportion``, ``lower``, ``upper``. [CLOPPER1934]
    """
    rows: list[dict[str, Any]] = []
    for label, sub in _groups(cohort, group_by):
        for column in grade_columns:
            grades = _grades(sub, column)
            for threshold in min_grades:
                p = incidence(sub, grade_column=column, min_grade=threshold, confidence=confidence)
                rows.append(
                    {
                        "group": label,
                        "grade_column": column,
                        "min_grade": threshold,
                        "n_patients": len(grades),
                        "n_not_assessable": sum(1 for g in grades if g is None),
                        **{k: getattr(p, k) for k in _PROPORTION_SCHEMA},
                    }
                )
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "grade_column": pl.String,
            "min_grade": pl.Int64,
            "n_patients": pl.Int64,
            "n_not_assessable": pl.Int64,
            **_PROPORTION_SCHEMA,
        },
    )


def _flags(cohort: pl.DataFrame, column: str) -> list[bool | None]:
    require_columns(cohort, [column], what="cohort")
    values = cohort.get_column(column).to_list()
    for i, value in enumerate(values):
        if value is not None and not isinstance(value, bool):
            raise InvalidValue(
                f"`{column}` row {i} is {value!r}; expected true, false or null (unknown)",
                field=column,
                value=value,
                expected="boolean or null",
            )
    return values


def event_rates(
    cohort: pl.DataFrame,
    *,
    columns: Sequence[str] = TREATMENT_COLUMNS,
    group_by: str | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Share of patients with each yes/no event (tocilizumab, steroids, anakinra, ICU transfer).

    Interpretation: null (unknown) is left out of the denominator and counted in ``n_unknown``.
    Columns: ``group``, ``column``, ``n_patients``, ``n_unknown``, ``events``, ``n``,
    ``proportion``, ``lower``, ``upper``. [CLOPPER1934]
    """
    rows: list[dict[str, Any]] = []
    for label, sub in _groups(cohort, group_by):
        for column in columns:
            flags = _flags(sub, column)
            known = [f for f in flags if f is not None]
            p = clopper_pearson(events=sum(known), n=len(known), confidence=confidence)
            rows.append(
                {
                    "group": label,
                    "column": column,
                    "n_patients": len(flags),
                    "n_unknown": len(flags) - len(known),
                    **{k: getattr(p, k) for k in _PROPORTION_SCHEMA},
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "column": pl.String,
            "n_patients": pl.Int64,
            "n_unknown": pl.Int64,
            **_PROPORTION_SCHEMA,
        },
    )


def _responses(cohort: pl.DataFrame, column: str) -> list[str | None]:
    require_columns(cohort, [column], what="cohort")
    values = cohort.get_column(column).to_list()
    for i, value in enumerate(values):
        if value is not None and value not in RESPONSE_CATEGORIES:
            raise InvalidValue(
                f"`{column}` row {i} is {value!r}; expected one of "
                f"{', '.join(sorted(RESPONSE_CATEGORIES))} or null (not recorded)",
                field=column,
                value=value,
                expected=", ".join(sorted(RESPONSE_CATEGORIES)),
            )
    return values


def response_rates(
    cohort: pl.DataFrame,
    *,
    response_column: str = "best_response",
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Proportion]:
    """Overall response rate (CR or PR) and CR rate with exact CIs.

    Interpretation: the denominator is every infused patient with a recorded best response,
    "NE" (not evaluable) included as a non-responder; null (not recorded) is left out.
    [CLOPPER1934]
    """
    responses = [r for r in _responses(cohort, response_column) if r is not None]
    complete = sum(1 for r in responses if r in COMPLETE_RESPONSES)
    overall = complete + sum(1 for r in responses if r in PARTIAL_RESPONSES)
    return {
        "orr": clopper_pearson(events=overall, n=len(responses), confidence=confidence),
        "cr": clopper_pearson(events=complete, n=len(responses), confidence=confidence),
    }


def onset_duration(episodes: pl.DataFrame) -> pl.DataFrame:
    """Onset day (first episode per patient) and episode duration, median (IQR), per scale.

    Interpretation: onset is the day of a patient's first episode under the scale; duration is
    summarised over resolved episodes (null ``duration_days`` = unresolved, counted apart).
    Columns: ``scale_id``, ``n_patients``, ``onset_median``, ``onset_q1``, ``onset_q3``,
    ``n_episodes``, ``n_unresolved``, ``duration_median``, ``duration_q1``, ``duration_q3``.
    """
    require_columns(
        episodes, ["patient_id", "scale_id", "onset_day", "duration_days"], what="episodes"
    )
    rows: list[dict[str, Any]] = []
    for scale in sorted(episodes.get_column("scale_id").unique().to_list()):
        sub = episodes.filter(pl.col("scale_id") == scale)
        if sub.get_column("onset_day").null_count():
            raise InvalidValue(
                f"an episode under `{scale}` has no onset_day; every episode has an onset",
                field="onset_day",
                value=None,
                expected="a day since infusion",
            )
        first = sub.group_by("patient_id").agg(pl.col("onset_day").min())
        onset = median_iqr(values=first.get_column("onset_day").cast(pl.Float64).to_numpy())
        durations = sub.get_column("duration_days").drop_nulls().cast(pl.Float64).to_numpy()
        duration = median_iqr(values=durations)
        rows.append(
            {
                "scale_id": scale,
                "n_patients": onset.n,
                "onset_median": onset.median,
                "onset_q1": onset.q1,
                "onset_q3": onset.q3,
                "n_episodes": sub.height,
                "n_unresolved": sub.height - duration.n,
                "duration_median": duration.median,
                "duration_q1": duration.q1,
                "duration_q3": duration.q3,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "scale_id": pl.String,
            "n_patients": pl.Int64,
            "onset_median": pl.Float64,
            "onset_q1": pl.Float64,
            "onset_q3": pl.Float64,
            "n_episodes": pl.Int64,
            "n_unresolved": pl.Int64,
            "duration_median": pl.Float64,
            "duration_q1": pl.Float64,
            "duration_q3": pl.Float64,
        },
    )


def _proportion_cells(prefix: str, p: Proportion) -> dict[str, Any]:
    def pct(x: float | None) -> float | None:
        return None if x is None else 100.0 * x

    return {
        f"{prefix}_events": p.events,
        f"{prefix}_n": p.n,
        f"{prefix}_pct": pct(p.proportion),
        f"{prefix}_lower_pct": pct(p.lower),
        f"{prefix}_upper_pct": pct(p.upper),
    }


def table_one(
    cohort: pl.DataFrame,
    *,
    group_by: str | None = None,
    syndrome_columns: Mapping[str, str] | None = None,
    response_column: str | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """A paper's Table 1: one row per subgroup (first row "All"), columns ``n`` and, for each
    syndrome, any-grade and grade ≥ 3 incidence (``crs_any_pct``, ``crs_any_lower_pct`` …,
    ``crs_ge3_*``, ``icans_any_*``, ``icans_ge3_*``) and, with ``response_column``, ``cr_*`` and
    ``orr_*``. Percentages are 0–100; write with ``DataFrame.write_csv``. [CLOPPER1934]
    """
    columns = (
        dict(syndrome_columns)
        if syndrome_columns is not None
        else {"crs": "max_grade__astct_crs", "icans": "max_grade__astct_icans"}
    )
    rows: list[dict[str, Any]] = []
    for label, sub in _groups(cohort, group_by):
        row: dict[str, Any] = {"group": label, "n": sub.height}
        for syndrome, column in columns.items():
            for tag, threshold in (("any", 1), (f"ge{SEVERE_GRADE}", SEVERE_GRADE)):
                p = incidence(sub, grade_column=column, min_grade=threshold, confidence=confidence)
                row.update(_proportion_cells(f"{syndrome}_{tag}", p))
        if response_column is not None:
            rates = response_rates(sub, response_column=response_column, confidence=confidence)
            row.update(_proportion_cells("cr", rates["cr"]))
            row.update(_proportion_cells("orr", rates["orr"]))
        rows.append(row)
    schema: dict[str, Any] = {"group": pl.String, "n": pl.Int64}
    prefixes = [f"{s}_{t}" for s in columns for t in ("any", f"ge{SEVERE_GRADE}")]
    if response_column is not None:
        prefixes += ["cr", "orr"]
    for prefix in prefixes:
        schema |= {
            f"{prefix}_events": pl.Int64,
            f"{prefix}_n": pl.Int64,
            f"{prefix}_pct": pl.Float64,
            f"{prefix}_lower_pct": pl.Float64,
            f"{prefix}_upper_pct": pl.Float64,
        }
    return pl.DataFrame(rows, schema=schema)


def format_table_one(table: pl.DataFrame, *, decimals: int = 1) -> pl.DataFrame:
    """Table 1 as printed: each proportion as ``"25/30 83.3 (65.3–94.4)"``; "—" when n = 0."""
    prefixes = [c[: -len("_events")] for c in table.columns if c.endswith("_events")]
    out: dict[str, list[Any]] = {
        "group": table.get_column("group").to_list(),
        "n": table.get_column("n").to_list(),
    }
    for prefix in prefixes:
        cells: list[str] = []
        for row in table.select(
            f"{prefix}_events",
            f"{prefix}_n",
            f"{prefix}_pct",
            f"{prefix}_lower_pct",
            f"{prefix}_upper_pct",
        ).iter_rows():
            events, n, pct, lower, upper = row
            if not n:
                cells.append("—")
                continue
            cells.append(
                f"{events}/{n} {pct:.{decimals}f} ({lower:.{decimals}f}–{upper:.{decimals}f})"
            )
        out[prefix] = cells
    return pl.DataFrame(out)
