"""The patient timeline as hand-written inline SVG over days since infusion (no JavaScript).

Rows: the temperature line (the fever line drawn at the alert rules' threshold), ICE (0–10) and
CAPD (0–32) points, vasopressor and oxygen support as step bands, one band row per scale with the
stored grade of each assessment (an open range floor–ceiling hatched, "not recorded" left blank
with a dashed outline, both distinct from grade 0), and markers for treatments given. Values are
read from the stored record and grades; nothing is graded here. Output depends only on the input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

from cartwatch.assessment import Assessment, Ice, ice_total_range
from cartwatch.episodes import drug_class
from cartwatch.pathway.alerts import CAPD_POSITIVE, FEVER_C
from cartwatch.registry.repository import AdministrationView, AssessmentView

WIDTH = 980
LEFT = 170
RIGHT = 12
ROW = 18
GAP = 6
PAD = 6
TEMP_HEIGHT = 110
SCORE_HEIGHT = 64
TEMP_RANGE_C = (35.0, 41.0)
ICE_MAX = 10
CAPD_MAX = 32
POINT_LIMIT = 200
_DAY = dt.timedelta(days=1)

VASOPRESSOR_LEVELS = {
    "none": (0, "no hypotension"),
    "fluid_responsive": (1, "hypotension, fluids only"),
    "vasopressor_single": (2, "one vasopressor"),
    "vasopressin_only": (2, "vasopressin only"),
    "vasopressor_count_unknown": (2, "vasopressor(s), number not recorded"),
    "vasopressor_multiple": (3, "several vasopressors"),
}
OXYGEN_LEVELS = {
    "none": 0,
    "blow_by": 1,
    "low_flow_nasal_cannula": 1,
    "high_flow_nasal_cannula": 2,
    "facemask": 2,
    "non_rebreather": 2,
    "venturi": 2,
    "cpap": 3,
    "bipap": 3,
    "mechanical_ventilation": 3,
}
DRUG_COLOURS = {
    "anticytokine": "#7b2cbf",
    "corticosteroid": "#c0392b",
    "antipyretic": "#6c757d",
    "antiseizure": "#1d6fa5",
    "other": "#495057",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleRow:
    """One scale shown as a band row: its id, short label and full title."""

    scale: str
    label: str
    title: str


@dataclass(frozen=True, slots=True)
class _Segment:
    start: float
    end: float
    key: str
    css: str
    text: str
    count: int


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def grade_label(summary: Mapping[str, Any] | None) -> tuple[str, str]:
    """The text and CSS class of a stored grade: a grade, an open range, not applicable, or
    not recorded (never shown as 0)."""
    if summary is None:
        return "not recorded", "nr"
    grade = summary.get("grade")
    if isinstance(grade, int) and not isinstance(grade, bool):
        return str(grade), f"g{min(max(grade, 0), 5)}"
    if summary.get("status") == "not_applicable":
        return "not applicable", "na"
    floor, ceiling = summary.get("floor"), summary.get("ceiling")
    if isinstance(floor, int) and isinstance(ceiling, int):
        return f"{floor}–{ceiling}", "open"
    return "not gradeable", "open"


def ice_range(data: Mapping[str, Any]) -> tuple[int, int] | None:
    """The recorded ICE total as (lowest, highest) — unassessed items widen it — or None."""
    items = data.get("ice")
    total = data.get("ice_total")
    if items is None and total is None:
        return None
    key = tuple(sorted(items.items())) if isinstance(items, Mapping) else None
    return _ice_range(key, total if isinstance(total, int) else None)


@lru_cache(maxsize=4096)
def _ice_range(
    items: tuple[tuple[str, Any], ...] | None, total: int | None
) -> tuple[int, int] | None:
    ice = Ice(**dict(items)) if items is not None else None
    found = ice_total_range(Assessment(ice=ice, ice_total=total))
    return None if found is None else (found[0], found[1])


class _Frame:
    def __init__(self, origin: dt.datetime, start: float, end: float) -> None:
        self.origin = origin
        self.start = start
        self.end = end
        self.span = max(end - start, 1e-9)

    def day(self, at: dt.datetime) -> float:
        return (at - self.origin) / _DAY

    def x(self, day: float) -> float:
        inner = WIDTH - LEFT - RIGHT
        return LEFT + (min(max(day, self.start), self.end) - self.start) / self.span * inner


def _segments(
    days: Sequence[float], keys: Sequence[tuple[str, str, str]], end: float
) -> list[_Segment]:
    """Runs of equal keys as one segment each (from the first assessment of the run to the
    next run's first, the last run to ``end``)."""
    out: list[_Segment] = []
    n = len(keys)
    first = 0
    for i in range(1, n + 1):
        if i < n and keys[i][0] == keys[first][0]:
            continue
        key, css, text = keys[first]
        out.append(_Segment(days[first], days[i] if i < n else end, key, css, text, i - first))
        first = i
    return out


def _band(
    parts: list[str], frame: _Frame, y: float, label: str, title: str, segments: list[_Segment]
) -> None:
    parts.append(
        f'<g class="tl-row" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text class="tl-label" x="{LEFT - 6}" y="{_fmt(y + ROW - 5)}" '
        f'text-anchor="end">{escape(label)}</text>'
    )
    for s in segments:
        x0, x1 = frame.x(s.start), frame.x(s.end)
        span = f"day {s.start:.1f}–{s.end:.1f}"
        n = f"{s.count} assessment{'s' if s.count != 1 else ''}"
        parts.append(
            f'<rect class="tl-band {s.css}" x="{_fmt(x0)}" y="{_fmt(y)}" '
            f'width="{_fmt(max(x1 - x0, 1.0))}" height="{ROW}">'
            f"<title>{escape(label)}: {escape(s.text)} ({span}, {n})</title></rect>"
        )
    parts.append("</g>")


def timeline_svg(
    *,
    origin: dt.datetime,
    assessments: Sequence[AssessmentView],
    administrations: Sequence[AdministrationView],
    scales: Sequence[ScaleRow],
    infused_at: dt.datetime | None = None,
    title: str = "Timeline",
) -> str:
    """The whole timeline as one ``<svg>`` element: ``origin`` is the start of day 0 (midnight
    UTC of the infusion date), ``infused_at`` is marked with a vertical line."""
    frame_days = [(a.assessed_at - origin) / _DAY for a in assessments]
    given_days = [(g.given_at - origin) / _DAY for g in administrations]
    every = frame_days + given_days
    start = min([0.0, *every]) if every else 0.0
    start = float(int(start) - (1 if start < int(start) else 0))
    end = max([1.0, *[d + 0.5 for d in every]])
    end = float(int(end) + (0 if end == int(end) else 1))
    frame = _Frame(origin, start, end)
    parts: list[str] = []
    y = 8.0

    # temperature
    lo, hi = TEMP_RANGE_C
    temps = [
        (d, t)
        for d, a in zip(frame_days, assessments, strict=True)
        if (t := _num(a.data.get("temperature_c"))) is not None
    ]
    if temps:
        lo = min(lo, min(t for _, t in temps))
        hi = max(hi, max(t for _, t in temps))

    def ty(t: float) -> float:
        return y + PAD + (TEMP_HEIGHT - 2 * PAD) * (1 - (t - lo) / (hi - lo))

    parts.append(
        f'<g class="tl-temp" aria-label="temperature, °C"><title>Temperature (°C); dashed line: '
        f"fever ≥ {FEVER_C:g} °C</title>"
        f'<rect class="tl-frame" x="{LEFT}" y="{_fmt(y)}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{TEMP_HEIGHT}"/>'
        f'<text class="tl-label" x="{LEFT - 26}" y="{_fmt(y + TEMP_HEIGHT / 2)}" '
        f'text-anchor="end">Temperature °C</text>'
        f'<text class="tl-tick" x="{LEFT - 6}" y="{_fmt(ty(hi) + 4)}" text-anchor="end">'
        f"{hi:g}</text>"
        f'<text class="tl-tick" x="{LEFT - 6}" y="{_fmt(ty(lo) + 4)}" text-anchor="end">{lo:g}'
        "</text>"
        f'<line class="tl-fever" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_fmt(ty(FEVER_C))}" '
        f'y2="{_fmt(ty(FEVER_C))}"/>'
    )
    if not temps:
        parts.append(
            f'<text class="tl-empty" x="{LEFT + 8}" y="{_fmt(y + TEMP_HEIGHT / 2)}">'
            "temperature not recorded</text>"
        )
    else:
        points = " ".join(f"{_fmt(frame.x(d))},{_fmt(ty(t))}" for d, t in temps)
        parts.append(f'<polyline class="tl-temp-line" points="{points}"/>')
        dense = len(temps) > POINT_LIMIT
        for d, t in temps:
            if dense and t < FEVER_C:
                continue
            css = "tl-dot fever" if t >= FEVER_C else "tl-dot"
            parts.append(
                f'<circle class="{css}" cx="{_fmt(frame.x(d))}" cy="{_fmt(ty(t))}" r="2.5">'
                f"<title>day {d:.1f}: {t:g} °C</title></circle>"
            )
    parts.append("</g>")
    y += TEMP_HEIGHT + GAP

    # ICE and CAPD
    ice = [
        (d, r)
        for d, a in zip(frame_days, assessments, strict=True)
        if (r := ice_range(a.data)) is not None
    ]
    capd = [
        (d, int(c))
        for d, a in zip(frame_days, assessments, strict=True)
        if (c := _num(a.data.get("capd_score"))) is not None
    ]
    for name, top, rows in (("ICE (0–10)", ICE_MAX, ice), ("CAPD (0–32)", CAPD_MAX, capd)):
        if name.startswith("CAPD") and not rows:
            continue

        def sy(v: float, top: int = top, base: float = y) -> float:
            return base + PAD + (SCORE_HEIGHT - 2 * PAD) * (1 - v / top)

        parts.append(
            f'<g class="tl-score" aria-label="{name}"><title>{name}</title>'
            f'<rect class="tl-frame" x="{LEFT}" y="{_fmt(y)}" width="{WIDTH - LEFT - RIGHT}" '
            f'height="{SCORE_HEIGHT}"/>'
            f'<text class="tl-label" x="{LEFT - 26}" y="{_fmt(y + SCORE_HEIGHT / 2)}" '
            f'text-anchor="end">{name}</text>'
            f'<text class="tl-tick" x="{LEFT - 6}" y="{_fmt(sy(top) + 4)}" text-anchor="end">'
            f"{top}</text>"
            f'<text class="tl-tick" x="{LEFT - 6}" y="{_fmt(sy(0) + 4)}" text-anchor="end">0</text>'
        )
        if name.startswith("CAPD"):
            parts.append(
                f'<line class="tl-fever" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                f'y1="{_fmt(sy(CAPD_POSITIVE))}" y2="{_fmt(sy(CAPD_POSITIVE))}"/>'
            )
        if not rows:
            parts.append(
                f'<text class="tl-empty" x="{LEFT + 8}" y="{_fmt(y + SCORE_HEIGHT / 2)}">'
                "not recorded</text>"
            )
        for d, value in rows:
            x = _fmt(frame.x(d))
            if isinstance(value, tuple):
                low, high = value
                text = f"{low}" if low == high else f"{low}–{high} (items not assessed)"
                css = "tl-ice" if low == high else "tl-ice open"
                parts.append(
                    f'<line class="{css}" x1="{x}" x2="{x}" y1="{_fmt(sy(low))}" '
                    f'y2="{_fmt(sy(high))}"/><circle class="{css}" cx="{x}" cy="{_fmt(sy(low))}" '
                    f'r="2.5"><title>day {d:.1f}: ICE {text}</title></circle>'
                )
            else:
                css = "tl-capd positive" if value >= CAPD_POSITIVE else "tl-capd"
                parts.append(
                    f'<circle class="{css}" cx="{x}" cy="{_fmt(sy(value))}" r="2.5">'
                    f"<title>day {d:.1f}: CAPD {value}</title></circle>"
                )
        parts.append("</g>")
        y += SCORE_HEIGHT + GAP

    # support bands
    vaso_keys: list[tuple[str, str, str]] = []
    oxygen_keys: list[tuple[str, str, str]] = []
    for a in assessments:
        hyp = a.data.get("hypotension")
        level = VASOPRESSOR_LEVELS.get(hyp) if isinstance(hyp, str) else None
        if level is None:
            vaso_keys.append(("nr", "nr", "not recorded"))
        else:
            vaso_keys.append((str(hyp), f"s{level[0]}", level[1]))
        oxygen = a.data.get("oxygen")
        device = oxygen.get("device") if isinstance(oxygen, Mapping) else None
        if not isinstance(device, str) or device not in OXYGEN_LEVELS:
            oxygen_keys.append(("nr", "nr", "not recorded"))
        else:
            flow = _num(oxygen.get("flow_l_min")) if isinstance(oxygen, Mapping) else None
            fio2 = _num(oxygen.get("fio2")) if isinstance(oxygen, Mapping) else None
            extra = "".join(
                (
                    f", {flow:g} L/min" if flow is not None else "",
                    f", FiO2 {fio2:g}" if fio2 is not None else "",
                )
            )
            text = device.replace("_", " ") + extra
            oxygen_keys.append((text, f"s{OXYGEN_LEVELS[device]}", text))
    if assessments:
        _band(
            parts,
            frame,
            y,
            "Blood pressure support",
            "Blood pressure support (hypotension by treatment)",
            _segments(frame_days, vaso_keys, end),
        )
        y += ROW + 2
        _band(parts, frame, y, "Oxygen", "Oxygen support", _segments(frame_days, oxygen_keys, end))
        y += ROW + GAP

    # one band per scale
    shown: dict[tuple[Any, ...] | None, tuple[str, str, str]] = {}
    for row in scales:
        keys = []
        for a in assessments:
            summary = a.grades.get(row.scale)
            memo = (
                None
                if summary is None
                else (
                    summary.get("grade"),
                    summary.get("floor"),
                    summary.get("ceiling"),
                    summary.get("status"),
                )
            )
            key = shown.get(memo)
            if key is None:
                text, css = grade_label(summary)
                key = shown[memo] = (
                    f"{css}:{text}",
                    css,
                    "grade " + text if css.startswith("g") else text,
                )
            keys.append(key)
        _band(
            parts,
            frame,
            y,
            row.label,
            f"{row.title}: stored grade of each assessment",
            _segments(frame_days, keys, end),
        )
        y += ROW + 2
    y += GAP

    # treatments
    parts.append(
        '<g class="tl-treatments" aria-label="treatments given"><title>Treatments given</title>'
        f'<text class="tl-label" x="{LEFT - 6}" y="{_fmt(y + 12)}" text-anchor="end">'
        "Treatments</text>"
    )
    for d, g in zip(given_days, administrations, strict=True):
        klass = drug_class(g.drug).value
        tip = frame.x(d)
        dose = f" {g.dose_mg:g} mg" if g.dose_mg is not None else " (dose not recorded)"
        parts.append(
            f'<path class="tl-drug {klass}" fill="{DRUG_COLOURS.get(klass, "#495057")}" '
            f'd="M{_fmt(tip)},{_fmt(y + 2)} l5,12 h-10 z"><title>day {d:.1f}: {escape(g.drug)}'
            f"{dose}{' ' + escape(g.route) if g.route else ''}</title></path>"
        )
    parts.append("</g>")
    y += ROW + GAP

    # axis
    step = 1 if frame.span <= 30 else 2 if frame.span <= 60 else 7 if frame.span <= 200 else 30
    ticks = []
    day = int(start)
    while day <= end:
        if day % step == 0:
            x = _fmt(frame.x(day))
            ticks.append(
                f'<line class="tl-grid" x1="{x}" x2="{x}" y1="8" y2="{_fmt(y)}"/>'
                f'<text class="tl-tick" x="{x}" y="{_fmt(y + 12)}" text-anchor="middle">{day}'
                "</text>"
            )
        day += 1
    height = y + 30
    if infused_at is not None:
        at = _fmt(frame.x(frame.day(infused_at)))
        ticks.append(
            f'<line class="tl-infusion" x1="{at}" x2="{at}" y1="8" y2="{_fmt(y)}">'
            f"<title>CAR-T infusion {infused_at.strftime('%Y-%m-%d %H:%M')} UTC</title></line>"
        )
    axis = (
        f'<text class="tl-label" x="{LEFT - 26}" y="{_fmt(y + 12)}" text-anchor="end">'
        "day after infusion</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'viewBox="0 0 {WIDTH} {_fmt(height)}" width="100%" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        '<defs><pattern id="tl-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eceff3"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9aa5b1" stroke-width="2"/></pattern></defs>'
        + "".join(ticks)
        + "".join(parts)
        + axis
        + "</svg>"
    )
