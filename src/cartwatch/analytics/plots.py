"""Publication figures of a cohort (matplotlib, no pyplot state, Agg canvas): swimmer plot of
episodes and treatments, Kaplan–Meier and cumulative-incidence curves with numbers at risk, maximum
grade stacked bars by scale, and a daily grade heatmap. Each function returns the ``Figure``;
``save_figure`` writes PNG and SVG. Plotted values are the estimates passed in, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cartwatch.analytics._frames import require_columns
from cartwatch.analytics.incidence import MAX_GRADE, NOT_ASSESSABLE, grade_distribution
from cartwatch.analytics.survival import CumulativeIncidence, KaplanMeier, number_at_risk
from cartwatch.errors import InvalidValue

PNG_DPI = 300
# Colour-blind-safe sequential palette for grades 0–5 (ColorBrewer YlOrRd, grade 5 black).
GRADE_COLOURS = ("#f0f0f0", "#fed976", "#fd8d3c", "#e31a1c", "#800026", "#000000")
NOT_ASSESSABLE_COLOUR = "#ffffff"
CURVE_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
TREATMENT_MARKERS = {"tocilizumab": "v", "steroids": "D", "anakinra": "s"}
FORMATS = ("png", "svg")

_RC = {"font.size": 8.0, "axes.titlesize": 9.0, "axes.labelsize": 8.0}


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=_RC["font.size"])


def save_figure(fig: Figure, *, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png`` (300 dpi) and ``stem.svg`` (text kept as text, no date)."""
    paths: list[Path] = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise InvalidValue(
                f"`format={fmt!r}` is not supported; expected one of {', '.join(FORMATS)}",
                field="formats",
                value=fmt,
                expected=", ".join(FORMATS),
            )
        path = Path(f"{stem}.{fmt}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "png":
            fig.savefig(path, format="png", dpi=PNG_DPI, metadata={"Software": "cartwatch"})
        else:
            fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "cartwatch"})
        paths.append(path)
    return paths


def segments_from_daily(daily: pl.DataFrame) -> pl.DataFrame:
    """Runs of consecutive days at the same grade ≥ 1 as swimmer segments.

    From rows ``patient_id``, ``day`` (integer), ``grade`` (null = not assessable, which breaks a
    run) to rows ``patient_id``, ``start_day``, ``end_day`` (exclusive: last day + 1), ``grade``.
    """
    patients, days, matrix = daily_grade_matrix(daily)
    rows: list[dict[str, Any]] = []
    for i, pid in enumerate(patients):
        run_start: int | None = None
        run_grade = 0.0
        for j in range(len(days) + 1):
            grade = matrix[i, j] if j < len(days) else np.nan
            if run_start is not None and grade != run_grade:
                rows.append(
                    {
                        "patient_id": pid,
                        "start_day": days[run_start],
                        "end_day": days[j - 1] + 1,
                        "grade": int(run_grade),
                    }
                )
                run_start = None
            if run_start is None and not np.isnan(grade) and grade >= 1:
                run_start, run_grade = j, grade
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": daily.schema["patient_id"],
            "start_day": pl.Int64,
            "end_day": pl.Int64,
            "grade": pl.Int64,
        },
    )


def swimmer_plot(
    segments: pl.DataFrame,
    *,
    treatments: pl.DataFrame | None = None,
    follow_up: pl.DataFrame | None = None,
    title: str = "Toxicity episodes after infusion",
) -> Figure:
    """One lane per patient: grade bars over days since infusion, treatment markers on top.

    ``segments``: ``patient_id``, ``start_day``, ``end_day``, ``grade`` (one row per day range at a
    grade). ``treatments``: ``patient_id``, ``day``, ``treatment`` (tocilizumab, steroids,
    anakinra, or any other name). ``follow_up``: ``patient_id``, ``last_day`` (a grey lane).
    """
    require_columns(segments, ["patient_id", "start_day", "end_day", "grade"], what="segments")
    patients = sorted(segments.get_column("patient_id").unique().to_list(), key=str)
    if follow_up is not None:
        require_columns(follow_up, ["patient_id", "last_day"], what="follow_up")
        extra = set(follow_up.get_column("patient_id").to_list()) - set(patients)
        patients += sorted(extra, key=str)
    lane = {p: i for i, p in enumerate(patients)}
    fig = _figure(6.5, max(2.0, 0.22 * len(patients) + 1.2))
    ax = fig.add_subplot()
    if follow_up is not None:
        for pid, last in follow_up.select("patient_id", "last_day").iter_rows():
            ax.broken_barh(
                [(0.0, float(last))], (lane[pid] - 0.1, 0.2), facecolors="#d9d9d9", gid="follow_up"
            )
    for pid, start, end, grade in segments.select(
        "patient_id", "start_day", "end_day", "grade"
    ).iter_rows():
        if end < start:
            raise InvalidValue(
                f"patient {pid!r}: segment ends (day {end}) before it starts (day {start})",
                field="end_day",
                value=end,
                expected=f"≥ {start}",
            )
        ax.broken_barh(
            [(float(start), float(end) - float(start))],
            (lane[pid] - 0.35, 0.7),
            facecolors=GRADE_COLOURS[int(grade)],
            edgecolors="#404040",
            linewidth=0.3,
            gid=f"segment:{pid}:{int(grade)}",
        )
    handles: list[Any] = [
        Patch(facecolor=GRADE_COLOURS[g], edgecolor="#404040", label=f"Grade {g}")
        for g in range(1, MAX_GRADE)
    ]
    if treatments is not None:
        require_columns(treatments, ["patient_id", "day", "treatment"], what="treatments")
        for name in sorted(treatments.get_column("treatment").unique().to_list()):
            sub = treatments.filter(pl.col("treatment") == name)
            ys = [lane[p] - 0.5 for p in sub.get_column("patient_id").to_list()]
            handle = ax.scatter(
                sub.get_column("day").cast(pl.Float64).to_numpy(),
                ys,
                marker=TREATMENT_MARKERS.get(name, "o"),
                s=14,
                color="#000000",
                zorder=3,
                label=name.capitalize(),
                gid=f"treatment:{name}",
            )
            handles.append(handle)
    ax.set_yticks(range(len(patients)), [str(p) for p in patients])
    ax.set_ylim(-0.7, len(patients) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("Days since infusion")
    ax.set_ylabel("Patient")
    ax.set_title(title)
    ax.legend(handles=handles, loc="upper right", fontsize=6, frameon=False)
    _style(ax)
    return fig


def _risk_table(
    ax: Axes, labels: Sequence[str], counts: Sequence[Sequence[int]], times: Sequence[float]
) -> None:
    for row, (label, values) in enumerate(zip(labels, counts, strict=True)):
        for t, count in zip(times, values, strict=True):
            ax.text(t, -row, str(count), ha="center", va="center", fontsize=7, gid="at_risk")
        ax.text(
            -0.02,
            -row,
            label,
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=7,
        )
    ax.set_ylim(-len(labels) + 0.5, 0.5)
    ax.set_yticks([])
    ax.set_title("Number at risk", fontsize=7, loc="left")
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelbottom=False, length=0)


def km_plot(
    curves: Mapping[str, KaplanMeier],
    *,
    risk_times: Sequence[float],
    title: str = "Overall survival",
    ylabel: str = "Survival probability",
    show_ci: bool = True,
) -> Figure:
    """Kaplan–Meier step curves (with censoring ticks and CI bands) and numbers at risk below."""
    fig = _figure(5.5, 4.0 + 0.18 * len(curves))
    ax, risk = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [4.0, 0.6 + 0.25 * len(curves)]}
    )
    for i, (label, km) in enumerate(curves.items()):
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        x = np.concatenate(([0.0], km.time))
        y = np.concatenate(([1.0], km.survival))
        ax.step(x, y, where="post", color=colour, linewidth=1.2, label=label, gid=f"km:{label}")
        censored = km.n_censor > 0
        ax.plot(
            km.time[censored],
            km.survival[censored],
            "|",
            color=colour,
            markersize=5,
            gid=f"censor:{label}",
        )
        if show_ci:
            lo = np.concatenate(([1.0], km.lower))
            hi = np.concatenate(([1.0], km.upper))
            ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlim(left=0.0)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend(frameon=False, fontsize=7)
    _style(ax)
    ax.set_xlabel("Days since infusion")
    ax.xaxis.set_tick_params(labelbottom=True)
    counts = [km.at(risk_times)["n_risk"] for km in curves.values()]
    _risk_table(risk, list(curves), counts, risk_times)
    return fig


def cumulative_incidence_plot(
    curves: Mapping[str, CumulativeIncidence],
    *,
    time_days: Mapping[str, Sequence[float]],
    risk_times: Sequence[float],
    title: str = "Cumulative incidence (death as competing risk)",
    ylabel: str = "Cumulative incidence",
) -> Figure:
    """Aalen–Johansen curves as cmprsk draws them (corners joined) and numbers at risk below.

    ``time_days`` gives, per curve label, the follow-up times of its group (for the at-risk row).
    """
    fig = _figure(5.5, 4.0 + 0.18 * len(curves))
    ax, risk = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [4.0, 0.6 + 0.25 * len(curves)]}
    )
    for i, (label, curve) in enumerate(curves.items()):
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        ax.plot(
            curve.time, curve.estimate, color=colour, linewidth=1.2, label=label, gid=f"cif:{label}"
        )
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(left=0.0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Days since infusion")
    ax.xaxis.set_tick_params(labelbottom=True)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
    _style(ax)
    labels = list(curves)
    missing = [label for label in labels if label not in time_days]
    if missing:
        raise InvalidValue(
            f"no follow-up times for curve(s) {missing}; `time_days` needs one entry per curve",
            field="time_days",
            value=missing,
            expected=", ".join(labels),
        )
    counts = [number_at_risk(time_days=time_days[label], times=risk_times) for label in labels]
    _risk_table(risk, labels, counts, risk_times)
    return fig


def max_grade_bars(
    cohort: pl.DataFrame,
    *,
    grade_columns: Mapping[str, str],
    title: str = "Maximum grade by scale",
) -> Figure:
    """Stacked bars of patients (%) by maximum grade under each scale; "not assessable" is its own
    hatched segment, never merged with grade 0. ``grade_columns`` maps bar label → column.
    """
    fig = _figure(1.2 + 0.8 * len(grade_columns), 3.6)
    ax = fig.add_subplot()
    labels = list(grade_columns)
    tables = [grade_distribution(cohort, grade_column=c) for c in grade_columns.values()]
    bottoms = np.zeros(len(labels))
    categories = [str(g) for g in range(MAX_GRADE + 1)] + [NOT_ASSESSABLE]
    for category in categories:
        heights = np.array(
            [
                float(
                    t.filter(pl.col("grade") == category)["percent_of_patients"].fill_null(0.0)[0]
                )
                for t in tables
            ]
        )
        is_na = category == NOT_ASSESSABLE
        ax.bar(
            labels,
            heights,
            bottom=bottoms,
            color=NOT_ASSESSABLE_COLOUR if is_na else GRADE_COLOURS[int(category)],
            edgecolor="#404040",
            linewidth=0.4,
            hatch="///" if is_na else None,
            label="Not assessable" if is_na else f"Grade {category}",
            gid=f"grade:{category}",
        )
        bottoms += heights
    ax.set_ylim(0, 100)
    ax.set_ylabel("Patients (%)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    _style(ax)
    return fig


def daily_grade_matrix(daily: pl.DataFrame) -> tuple[list[Any], list[int], np.ndarray[Any, Any]]:
    """Patients × days matrix of grades (NaN = no assessment that day) from rows ``patient_id``,
    ``day`` (integer day since infusion), ``grade`` (null = not assessable)."""
    require_columns(daily, ["patient_id", "day", "grade"], what="daily grades")
    patients = sorted(daily.get_column("patient_id").unique().to_list(), key=str)
    days = daily.get_column("day").cast(pl.Int64)
    first, last = int(days.min()), int(days.max())  # type: ignore[arg-type]
    day_range = list(range(first, last + 1))
    matrix = np.full((len(patients), len(day_range)), np.nan)
    row = {p: i for i, p in enumerate(patients)}
    for pid, day, grade in daily.select("patient_id", "day", "grade").iter_rows():
        if grade is None:
            continue
        i, j = row[pid], int(day) - first
        matrix[i, j] = grade if np.isnan(matrix[i, j]) else max(matrix[i, j], grade)
    return patients, day_range, matrix


def grade_heatmap(daily: pl.DataFrame, *, title: str = "Daily maximum grade") -> Figure:
    """Heatmap of each patient's daily maximum grade; days without a gradeable assessment white."""
    patients, days, matrix = daily_grade_matrix(daily)
    fig = _figure(6.5, max(2.0, 0.18 * len(patients) + 1.2))
    ax = fig.add_subplot()
    cmap = ListedColormap(list(GRADE_COLOURS)).with_extremes(bad=NOT_ASSESSABLE_COLOUR)
    norm = BoundaryNorm(np.arange(-0.5, MAX_GRADE + 1.5), cmap.N)
    image = ax.imshow(
        np.ma.masked_invalid(matrix),
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        norm=norm,
        extent=(days[0] - 0.5, days[-1] + 0.5, len(patients) - 0.5, -0.5),
        gid="grades",
    )
    ax.set_yticks(range(len(patients)), [str(p) for p in patients])
    ax.set_xlabel("Days since infusion")
    ax.set_ylabel("Patient")
    ax.set_title(title)
    bar = fig.colorbar(image, ax=ax, ticks=range(MAX_GRADE + 1), shrink=0.8)
    bar.set_label("Grade")
    return fig
