"""Forest and funnel plots of a pooled result, written to PNG or SVG (matplotlib, no display).

The forest plot shows each study's proportion with its exact (Clopper–Pearson) interval and its
weight, the pooled estimate as a diamond and the prediction interval as a line beneath it — on
the proportion scale when the result came from counts, on the measure's scale otherwise. The
funnel plot shows each effect size against its standard error with the pseudo-confidence region
around the pooled value. [VIECHTBAUER2010] [CLOPPER1934]
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import stats

from cartwatch.errors import InvalidValue
from cartwatch.evidence.effect_sizes import clopper_pearson

if TYPE_CHECKING:
    from cartwatch.evidence.meta import MetaResult

FORMATS = frozenset({".png", ".svg"})
ROW_HEIGHT_IN = 0.32
MIN_HEIGHT_IN = 3.0
FIG_WIDTH_IN = 10.0


def _target(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise InvalidValue(
            f"`plot={p}` has suffix {p.suffix!r}; expected .png or .svg",
            field="plot",
            value=str(p),
            expected=".png or .svg",
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, format=path.suffix.lower().lstrip("."), bbox_inches="tight", dpi=150)
    return path


def _fmt(v: float, pct: bool) -> str:
    if math.isnan(v):
        return "–"
    return f"{100 * v:.1f}" if pct else f"{v:.3f}"


def forest_plot(result: MetaResult, *, path: str | Path, title: str | None = None) -> Path:
    """Write the forest plot of ``result`` to ``path`` (.png or .svg) and return the path."""
    target = _target(path)
    k = result.k
    on_proportion = result.events is not None and result.totals is not None
    if on_proportion:
        assert result.events is not None and result.totals is not None
        cis = clopper_pearson(events=result.events, totals=result.totals, level=result.level)
        pts = np.array([c.proportion for c in cis])
        lo = np.array([c.ci_lb for c in cis])
        hi = np.array([c.ci_ub for c in cis])
        assert result.proportion is not None
        pooled = result.proportion
        est, c_lb, c_ub = pooled.estimate, pooled.ci_lb, pooled.ci_ub
        p_lb, p_ub = pooled.pi_lb, pooled.pi_ub
        xlabel = "Proportion (%)"
    else:
        y = np.asarray(result.yi)
        se = np.sqrt(np.asarray(result.vi))
        z = float(stats.norm.isf((1.0 - result.level) / 2.0))
        pts, lo, hi = y, y - z * se, y + z * se
        est, c_lb, c_ub = result.estimate, result.ci_lb, result.ci_ub
        p_lb, p_ub = result.pi_lb, result.pi_ub
        xlabel = f"Effect size ({result.measure.value if result.measure else 'yi'})"
    height = max(MIN_HEIGHT_IN, ROW_HEIGHT_IN * (k + 5))
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    ax = fig.add_axes((0.42, 0.08, 0.36, 0.84))
    rows = np.arange(k, 0, -1) + 2.0
    weights = np.asarray(result.weights)
    sizes = 20.0 + 180.0 * weights / max(float(weights.max()), 1e-12)
    ax.hlines(rows, lo, hi, color="black", linewidth=1)
    ax.scatter(pts, rows, s=sizes, marker="s", color="#1f4e79", zorder=3)
    diamond = Polygon(
        [(c_lb, 1.0), (est, 1.3), (c_ub, 1.0), (est, 0.7)],
        closed=True,
        color="#8b0000",
        zorder=3,
    )
    ax.add_patch(diamond)
    if not (math.isnan(p_lb) or math.isnan(p_ub)):
        ax.hlines([0.3], p_lb, p_ub, color="#8b0000", linewidth=2)
        ax.vlines([p_lb, p_ub], 0.2, 0.4, color="#8b0000", linewidth=2)
    ax.axvline(est, color="grey", linestyle=":", linewidth=1)
    ax.set_ylim(-0.3, k + 3.0)
    ax.set_yticks([])
    if on_proportion:
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}")
    ax.set_xlabel(xlabel)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    trans = ax.get_yaxis_transform()
    header_y = k + 2.6
    ax.text(-0.95, header_y, "Study", transform=trans, fontweight="bold", va="center")
    ax.text(1.05, header_y, "Weight", transform=trans, fontweight="bold", va="center")
    ax.text(
        1.30,
        header_y,
        f"Estimate [{100 * result.level:g}% CI]",
        transform=trans,
        fontweight="bold",
        va="center",
    )
    for i in range(k):
        label = result.labels[i]
        if len(label) > 38:
            label = label[:37] + "…"
        if on_proportion:
            assert result.events is not None and result.totals is not None
            label = f"{label}  {result.events[i]:g}/{result.totals[i]:g}"
        ax.text(-0.95, rows[i], label, transform=trans, va="center", fontsize=8)
        ax.text(1.05, rows[i], f"{weights[i]:.1f}%", transform=trans, va="center", fontsize=8)
        ax.text(
            1.30,
            rows[i],
            f"{_fmt(pts[i], on_proportion)} [{_fmt(lo[i], on_proportion)}, "
            f"{_fmt(hi[i], on_proportion)}]",
            transform=trans,
            va="center",
            fontsize=8,
        )
    model = f"{result.method.value}, test={result.test.value}"
    ax.text(-0.95, 1.0, f"Pooled ({model})", transform=trans, va="center", fontweight="bold")
    ax.text(
        1.30,
        1.0,
        f"{_fmt(est, on_proportion)} [{_fmt(c_lb, on_proportion)}, {_fmt(c_ub, on_proportion)}]",
        transform=trans,
        va="center",
        fontweight="bold",
    )
    if not (math.isnan(p_lb) or math.isnan(p_ub)):
        ax.text(-0.95, 0.3, "Prediction interval", transform=trans, va="center", fontsize=8)
        ax.text(
            1.30,
            0.3,
            f"[{_fmt(p_lb, on_proportion)}, {_fmt(p_ub, on_proportion)}]",
            transform=trans,
            va="center",
            fontsize=8,
        )
    het = (
        f"τ² = {result.tau2:.3g}; I² = {result.i2:.1f}%; Q = {result.qe:.2f} (df = {result.qe_df})"
    )
    ax.text(-0.95, -0.2, het, transform=trans, va="center", fontsize=8, style="italic")
    if title:
        fig.suptitle(title)
    return _save(fig, target)


def funnel_plot(result: MetaResult, *, path: str | Path, title: str | None = None) -> Path:
    """Write the funnel plot of ``result`` (effect size against standard error) to ``path``."""
    target = _target(path)
    y = np.asarray(result.yi)
    se = np.sqrt(np.asarray(result.vi))
    fig = Figure(figsize=(6.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    top = float(se.max()) * 1.05 if se.size else 1.0
    z = float(stats.norm.isf((1.0 - result.level) / 2.0))
    grid = np.linspace(0.0, top, 50)
    ax.fill_betweenx(
        grid, result.estimate - z * grid, result.estimate + z * grid, color="#eeeeee", zorder=0
    )
    ax.plot(result.estimate - z * grid, grid, color="grey", linestyle="--", linewidth=0.8)
    ax.plot(result.estimate + z * grid, grid, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(result.estimate, color="black", linewidth=1)
    ax.scatter(y, se, color="#1f4e79", zorder=3, s=18)
    ax.set_ylim(top, 0.0)
    ax.set_xlabel(f"Effect size ({result.measure.value if result.measure else 'yi'})")
    ax.set_ylabel("Standard error")
    if title:
        ax.set_title(title)
    return _save(fig, target)
