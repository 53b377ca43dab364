"""Agreement between grading scales applied to the same patients — the analysis of Pennisi et al.
(Blood Adv 2020): cross-tabulated maximum grades, percent exact agreement (overall: the same grade
under every scale), agreement on presence (any grade), and pairwise Cohen's kappa, unweighted and
weighted (linear, quadratic) with Wald CIs [PENNISI2020] [COHEN1960] [COHEN1968].

Input: a polars frame with one row per patient and one integer column per scale holding the
patient's maximum grade (null = not assessable under that scale). Patients not assessable under
any compared scale are left out of that comparison (counted in ``n_excluded``).

Standard errors use the large-sample variance of Fleiss, Cohen & Everitt (1969) [FLEISS1969]; they
equal ``vcd::Kappa`` (ASE) for every weighting and ``psych::cohen.kappa`` for unweighted kappa.
``psych::cohen.kappa`` 2.2.9 computes the weighted variance with the row marginal in place of the
weighted row mean (``rowSums(w * rs)``), and sets negative values to 0, so its weighted CIs differ;
we follow the published formula (checked against vcd in ``tests/analytics``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from cartwatch.analytics._frames import require_columns
from cartwatch.errors import InvalidValue

DEFAULT_CONFIDENCE = 0.95


class Weighting(StrEnum):
    """Agreement weights ``1 − (|i − j|/(k − 1))^p``: identity, linear p = 1, quadratic p = 2."""

    UNWEIGHTED = "unweighted"
    LINEAR = "linear"
    QUADRATIC = "quadratic"


@dataclass(frozen=True, slots=True, kw_only=True)
class Kappa:
    """Cohen's kappa with its large-sample standard error and Wald CI (clipped to [−1, 1])."""

    weighting: Weighting
    kappa: float | None
    std_err: float | None
    lower: float | None
    upper: float | None
    observed_agreement: float
    expected_agreement: float
    n: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "weighting": str(self.weighting),
            "kappa": self.kappa,
            "std_err": self.std_err,
            "lower": self.lower,
            "upper": self.upper,
            "observed_agreement": self.observed_agreement,
            "expected_agreement": self.expected_agreement,
            "n": self.n,
            "confidence": self.confidence,
        }


def agreement_weights(*, n_categories: int, weighting: Weighting | str) -> npt.NDArray[np.float64]:
    """Agreement weight matrix over ordered categories. [COHEN1968] [FLEISS1969]"""
    kind = Weighting(weighting)
    k = n_categories
    if k < 1:
        raise InvalidValue(
            f"`n_categories={k}` must be at least 1",
            field="n_categories",
            value=k,
            expected="≥ 1",
        )
    if kind is Weighting.UNWEIGHTED or k == 1:
        return np.eye(k)
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    power = 1.0 if kind is Weighting.LINEAR else 2.0
    return np.asarray(1.0 - distance**power, dtype=np.float64)


def kappa_from_table(
    *,
    table: npt.NDArray[Any] | Sequence[Sequence[int]],
    weighting: Weighting | str = Weighting.UNWEIGHTED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Kappa:
    """Cohen's kappa of a square k × k count table (rows rater A, columns rater B, categories in
    order). Kappa is ``None`` when expected agreement is 1 (a single category used by both).
    [COHEN1960] [COHEN1968] [FLEISS1969]
    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or (counts < 0).any():
        raise InvalidValue(
            f"`table` must be a square table of counts ≥ 0; got shape {counts.shape}",
            field="table",
            value=list(counts.shape),
            expected="k × k counts",
        )
    if not (0.0 < confidence < 1.0):
        raise InvalidValue(
            f"`confidence={confidence}` is not a probability; expected 0 < confidence < 1",
            field="confidence",
            value=confidence,
            expected="0 < confidence < 1",
        )
    n = float(counts.sum())
    if n == 0:
        raise InvalidValue(
            "`table` is empty; kappa needs at least one rated patient",
            field="table",
            value=0,
            expected="at least one patient",
        )
    kind = Weighting(weighting)
    w = agreement_weights(n_categories=counts.shape[0], weighting=kind)
    p = counts / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po = float((w * p).sum())
    pe = float((w * np.outer(rows, cols)).sum())
    if math.isclose(pe, 1.0, rel_tol=0.0, abs_tol=1e-15):
        return Kappa(
            weighting=kind,
            kappa=None,
            std_err=None,
            lower=None,
            upper=None,
            observed_agreement=po,
            expected_agreement=pe,
            n=int(n),
            confidence=confidence,
        )
    kappa = (po - pe) / (1.0 - pe)
    row_mean = w @ cols
    col_mean = w.T @ rows
    inner = w - np.add.outer(row_mean, col_mean) * (1.0 - kappa)
    variance = (float((p * inner**2).sum()) - (kappa - pe * (1.0 - kappa)) ** 2) / (
        n * (1.0 - pe) ** 2
    )
    std_err = math.sqrt(max(variance, 0.0))
    z = float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))
    return Kappa(
        weighting=kind,
        kappa=kappa,
        std_err=std_err,
        lower=max(-1.0, kappa - z * std_err),
        upper=min(1.0, kappa + z * std_err),
        observed_agreement=po,
        expected_agreement=pe,
        n=int(n),
        confidence=confidence,
    )


def _grade_values(frame: pl.DataFrame, column: str) -> list[int | None]:
    out: list[int | None] = []
    for i, value in enumerate(frame.get_column(column).to_list()):
        if value is None:
            out.append(None)
        elif isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise InvalidValue(
                f"`{column}` row {i} is {value!r}; expected a whole grade or null",
                field=column,
                value=value,
                expected="integer grade or null",
            )
        else:
            out.append(int(value))
    return out


def cross_tab(
    cohort: pl.DataFrame,
    *,
    row_column: str,
    column_column: str,
    categories: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Counts of patients by maximum grade under two scales (rows × columns), over patients
    assessable under both. First column ``grade`` holds the row scale's grade; the others are
    named by the column scale's grade. [PENNISI2020]
    """
    table, cats, _ = _table(cohort, row_column, column_column, categories)
    data: dict[str, Any] = {row_column: cats}
    for j, cat in enumerate(cats):
        data[f"{column_column}={cat}"] = table[:, j].astype(np.int64).tolist()
    return pl.DataFrame(data)


def _table(
    cohort: pl.DataFrame,
    a: str,
    b: str,
    categories: Sequence[int] | None,
) -> tuple[npt.NDArray[np.int64], list[int], int]:
    require_columns(cohort, [a, b], what="cohort")
    ga, gb = _grade_values(cohort, a), _grade_values(cohort, b)
    pairs = [(x, y) for x, y in zip(ga, gb, strict=True) if x is not None and y is not None]
    cats = sorted(
        set(categories) if categories is not None else {v for pair in pairs for v in pair}
    )
    unknown = {v for pair in pairs for v in pair} - set(cats)
    if unknown:
        raise InvalidValue(
            f"grades {sorted(unknown)} are not among categories {cats}",
            field="categories",
            value=cats,
            expected=f"a list including {sorted(unknown)}",
        )
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)), dtype=np.int64)
    for x, y in pairs:
        table[index[x], index[y]] += 1
    return table, cats, len(ga) - len(pairs)


def pairwise_kappa(
    cohort: pl.DataFrame,
    *,
    scale_columns: Sequence[str],
    categories: Sequence[int] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Every pair of scales: n, exact agreement, unweighted, linear and quadratic kappa with CIs.

    ``categories`` fixes the ordered grade set (e.g. 0–4) so that weights do not depend on which
    grades happened to occur; by default the grades observed in the pair. [COHEN1968] [FLEISS1969]
    """
    rows: list[dict[str, Any]] = []
    for a, b in itertools.combinations(scale_columns, 2):
        table, _, excluded = _table(cohort, a, b, categories)
        n = int(table.sum())
        row: dict[str, Any] = {
            "scale_a": a,
            "scale_b": b,
            "n": n,
            "n_excluded": excluded,
            "percent_agreement": 100.0 * float(np.trace(table)) / n if n else None,
        }
        for kind in Weighting:
            result = (
                kappa_from_table(table=table, weighting=kind, confidence=confidence) if n else None
            )
            row[f"kappa_{kind.value}"] = None if result is None else result.kappa
            row[f"kappa_{kind.value}_lower"] = None if result is None else result.lower
            row[f"kappa_{kind.value}_upper"] = None if result is None else result.upper
        rows.append(row)
    schema: dict[str, Any] = {
        "scale_a": pl.String,
        "scale_b": pl.String,
        "n": pl.Int64,
        "n_excluded": pl.Int64,
        "percent_agreement": pl.Float64,
    }
    for kind in Weighting:
        for suffix in ("", "_lower", "_upper"):
            schema[f"kappa_{kind.value}{suffix}"] = pl.Float64
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """Agreement across all compared scales over patients assessable under every one of them."""

    scale_columns: tuple[str, ...]
    n: int
    n_excluded: int
    same_grade: int
    same_presence: int

    @property
    def percent_same_grade(self) -> float | None:
        """Pennisi's "same grade in every system" (25% CRS, 54% ICANS). [PENNISI2020]"""
        return None if self.n == 0 else 100.0 * self.same_grade / self.n

    @property
    def percent_same_presence(self) -> float | None:
        """All scales agree on presence (grade ≥ 1) or absence (99% CRS, 91% ICANS).

        [PENNISI2020]
        """
        return None if self.n == 0 else 100.0 * self.same_presence / self.n

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale_columns": list(self.scale_columns),
            "n": self.n,
            "n_excluded": self.n_excluded,
            "same_grade": self.same_grade,
            "same_presence": self.same_presence,
            "percent_same_grade": self.percent_same_grade,
            "percent_same_presence": self.percent_same_presence,
        }


def overall_agreement(cohort: pl.DataFrame, *, scale_columns: Sequence[str]) -> Agreement:
    """Share of patients graded identically by every scale, and sharing presence/absence.

    Interpretation: a patient not assessable under any one scale is excluded (``n_excluded``).
    [PENNISI2020]
    """
    if len(scale_columns) < 2:
        raise InvalidValue(
            f"`scale_columns` names {len(scale_columns)} scale(s); agreement needs at least two",
            field="scale_columns",
            value=list(scale_columns),
            expected="two or more grade columns",
        )
    require_columns(cohort, scale_columns, what="cohort")
    grades = [_grade_values(cohort, c) for c in scale_columns]
    rows = [r for r in zip(*grades, strict=True) if all(g is not None for g in r)]
    same = sum(1 for r in rows if len(set(r)) == 1)
    presence = sum(1 for r in rows if len({g >= 1 for g in r if g is not None}) == 1)
    return Agreement(
        scale_columns=tuple(scale_columns),
        n=len(rows),
        n_excluded=cohort.height - len(rows),
        same_grade=same,
        same_presence=presence,
    )
