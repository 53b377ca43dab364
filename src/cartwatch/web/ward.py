"""View models of the ward pages (the ward list, the patient page, the printable summary).

Pure builders over a :class:`~cartwatch.registry.repository.Registry`: each request reads every
table once (``Registry.charts``) and answers the clinical rules' own reads from that snapshot
(:class:`ChartRegistry`), so the recommendation, risk scores and alerts are those of
:mod:`cartwatch.api.clinical` without a query per assessment. Grades are the stored ones; the
episodes are derived from the stored grades by :func:`cartwatch.episodes.derive_episodes` (no
regrading on render). A value not recorded is shown as "not recorded", never as 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cartwatch
from cartwatch import episodes as ep
from cartwatch.api import clinical
from cartwatch.management.products import labelled_product
from cartwatch.pathway import EventKind, TreatmentCalendar, build_calendar
from cartwatch.pathway.calendar import CalendarConfig
from cartwatch.registry.repository import (
    AdministrationView,
    AssessmentView,
    InfusionView,
    PatientChart,
    PatientView,
    Registry,
)
from cartwatch.services.episodes import EPISODE_SCALES
from cartwatch.services.record import stored_scales
from cartwatch.web.timeline import ScaleRow, grade_label, ice_range, timeline_svg

NOT_RECORDED = "not recorded"
ACTIVE_ALERT_WINDOW = dt.timedelta(hours=24)
RECENT_ASSESSMENTS = 20
CALENDAR_UNTIL_DAY = 365
_FIRST_SCALES = ("astct_crs", "astct_icans")


class ChartRegistry(Registry):
    """The registry answering one patient's reads from a chart already read in this request."""

    def __init__(self, base: Registry, chart: PatientChart) -> None:
        super().__init__(base.engine, actor=base.actor)
        self.chart = chart

    def _mine(self, patient_ref: str) -> bool:
        return patient_ref == self.chart.patient.patient_ref

    def get_patient(self, patient_ref: str, *, audit_read: bool = True) -> PatientView:
        if self._mine(patient_ref):
            return self.chart.patient
        return super().get_patient(patient_ref, audit_read=audit_read)

    def infusions(self, patient_ref: str) -> list[InfusionView]:
        if self._mine(patient_ref):
            return list(self.chart.infusions)
        return super().infusions(patient_ref)

    def assessments(self, patient_ref: str) -> list[AssessmentView]:
        if self._mine(patient_ref):
            return list(self.chart.assessments)
        return super().assessments(patient_ref)

    def administrations(self, patient_ref: str) -> list[AdministrationView]:
        if self._mine(patient_ref):
            return list(self.chart.administrations)
        return super().administrations(patient_ref)

    def labs(self, patient_ref: str) -> list[tuple[dt.datetime, str, float]]:
        if self._mine(patient_ref):
            return list(self.chart.labs)
        return super().labs(patient_ref)


@dataclass(frozen=True, slots=True, kw_only=True)
class GradeCell:
    """A stored grade as shown: text ("2", "0–4", "not recorded"), CSS class, and when."""

    text: str
    css: str
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IceDue:
    """When the next ICE (or CAPD) score is due, as text, and whether it is overdue."""

    text: str
    overdue: bool = False
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WardRow:
    """One line of the ward list."""

    patient_ref: str
    href: str
    product: str
    infusion_date: dt.date | None
    day: int | None
    crs: GradeCell
    icans: GradeCell
    active_alerts: tuple[Mapping[str, Any], ...]
    alerts_total: int
    next_ice: IceDue
    last_assessed: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientPage:
    """Everything the patient page and the printable summary show."""

    patient: PatientView
    now: dt.datetime
    infusion: InfusionView | None
    day: int | None
    age_years: float | None
    weight_kg: float | None
    crs: GradeCell
    icans: GradeCell
    next_ice: IceDue
    timeline: str
    episodes: tuple[Mapping[str, Any], ...]
    treatments: tuple[Mapping[str, Any], ...]
    recommendation: Mapping[str, Any]
    scores: tuple[Mapping[str, Any], ...]
    alerts: tuple[Mapping[str, Any], ...]
    active_alerts: tuple[Mapping[str, Any], ...]
    calendar: TreatmentCalendar | None
    calendar_note: str | None
    calendar_events: tuple[Mapping[str, Any], ...]
    assessments: tuple[Mapping[str, Any], ...]
    assessment_count: int
    notes: tuple[str, ...] = field(default=())


@cache
def scale_rows() -> tuple[ScaleRow, ...]:
    """The timeline's band rows: ASTCT CRS and ICANS first, then every other stored scale."""
    titles = {s.id: s.title for s in cartwatch.scales()}
    order = [*_FIRST_SCALES, *(s for s in stored_scales() if s not in _FIRST_SCALES)]
    return tuple(
        ScaleRow(scale=s, label=s.replace("_", " ").upper(), title=titles.get(s, s)) for s in order
    )


def latest_infusion(infusions: Sequence[InfusionView]) -> InfusionView | None:
    """The latest infusion (day 0 of the current course), or None."""
    return max(infusions, key=lambda i: i.infused_at) if infusions else None


def day_after_infusion(infusion: InfusionView | None, now: dt.datetime) -> int | None:
    """Whole days from the infusion date (day 0) to ``now``'s date, in UTC; None without one."""
    if infusion is None:
        return None
    return (now.astimezone(dt.UTC).date() - infusion.infused_at.astimezone(dt.UTC).date()).days


def day_start(infusion: InfusionView | None) -> dt.datetime | None:
    """Midnight UTC of the infusion date: the start of day 0 (days are calendar dates)."""
    if infusion is None:
        return None
    day0 = infusion.infused_at.astimezone(dt.UTC).date()
    return dt.datetime.combine(day0, dt.time(), tzinfo=dt.UTC)


def grade_cell(view: AssessmentView | None, scale: str) -> GradeCell:
    """The stored grade of ``scale`` in ``view`` (not recorded when absent, never 0)."""
    if view is None:
        return GradeCell(text=NOT_RECORDED, css="nr")
    text, css = grade_label(view.grades.get(scale))
    return GradeCell(text=text, css=css, at=view.assessed_at)


def _calendar(
    infusion: InfusionView | None, diseases: tuple[str, ...] = ()
) -> tuple[TreatmentCalendar | None, str | None]:
    if infusion is None:
        return None, "no infusion recorded: no calendar"
    day0 = infusion.infused_at.astimezone(dt.UTC).date()
    product = labelled_product(infusion.product, diseases)
    if product is not None:
        return build_calendar(infusion_date=day0, product=product), None
    note = (
        f"product `{infusion.product}` is not a labelled product, or its indication does not "
        "say which label applies: calendar without product-specific lymphodepletion and "
        "monitoring days"
    )
    return build_calendar(infusion_date=day0), note


def next_ice_due(
    infusion: InfusionView | None,
    calendar: TreatmentCalendar | None,
    assessments: Sequence[AssessmentView],
    now: dt.datetime,
) -> IceDue:
    """When the next ICE (or CAPD) score is due under the calendar's ICE window.

    The pathway schedules ICE "at least N times a day" while the patient is monitored daily
    (ASCO 2021; :data:`cartwatch.pathway.calendar.ICE_ASSESSMENTS_PER_DAY`, days from the
    product label). Interpretation: at least N a day is read as no more than 24/N hours between
    two scores; before any score since day 0 it is due now. Outside the window none is scheduled.
    """
    if infusion is None or calendar is None:
        return IceDue(text="no infusion recorded")
    windows = calendar.of_kind(EventKind.ICE_ASSESSMENT)
    if not windows:
        return IceDue(text="not scheduled")
    window = windows[0]
    day0 = infusion.infused_at
    today = (now.date() - day0.date()).days
    if today < window.day_from:
        return IceDue(text=f"from day {window.day_from} ({window.start.isoformat()})")
    if today > window.day_to:
        return IceDue(text=f"not scheduled (ICE window days {window.day_from}–{window.day_to})")
    interval = dt.timedelta(hours=24 / CalendarConfig().ice_assessments_per_day)
    last = next(
        (
            a.assessed_at
            for a in reversed(assessments)
            if a.assessed_at >= day0
            and a.assessed_at <= now
            and (ice_range(a.data) is not None or a.data.get("capd_score") is not None)
        ),
        None,
    )
    if last is None:
        return IceDue(text="due now (no ICE since day 0)", overdue=True, at=now)
    due = last + interval
    stamp = due.strftime("%Y-%m-%d %H:%M")
    if due <= now:
        return IceDue(text=f"overdue since {stamp} UTC", overdue=True, at=due)
    return IceDue(text=f"by {stamp} UTC", at=due)


def _active(alerts: Sequence[Mapping[str, Any]], now: dt.datetime) -> tuple[Mapping[str, Any], ...]:
    """Alerts raised in the last 24 hours (or announced for later): the ward's "active" ones."""
    since = now - ACTIVE_ALERT_WINDOW
    return tuple(a for a in alerts if dt.datetime.fromisoformat(str(a["at"])) >= since)


def ward_rows(
    registry: Registry, *, now: dt.datetime, audit_note: str | None = None
) -> list[WardRow]:
    """One row per patient not deleted: day after infusion, current ASTCT grades, active
    alerts, next ICE due, last assessed. Reads each table once for the whole ward."""
    rows: list[WardRow] = []
    charts = registry.charts(
        latest_grades_only=True, audit_note=audit_note, lab_names=clinical.ALERT_LAB_NAMES
    )
    for chart in charts:
        view = ChartRegistry(registry, chart)
        infusion = latest_infusion(chart.infusions)
        latest = chart.assessments[-1] if chart.assessments else None
        alerts = clinical.patient_alerts(view, chart.patient, now=now)["alerts"]
        calendar, _ = _calendar(infusion, chart.diseases)
        ref = chart.patient.patient_ref
        rows.append(
            WardRow(
                patient_ref=ref,
                href=f"/patients/{ref}",
                product=(infusion.product or NOT_RECORDED) if infusion else "no infusion",
                infusion_date=infusion.infused_at.date() if infusion else None,
                day=day_after_infusion(infusion, now),
                crs=grade_cell(latest, "astct_crs"),
                icans=grade_cell(latest, "astct_icans"),
                active_alerts=_active(alerts, now),
                alerts_total=len(alerts),
                next_ice=next_ice_due(infusion, calendar, chart.assessments, now),
                last_assessed=latest.assessed_at if latest else None,
            )
        )
    return rows


def derive_episodes(chart: PatientChart) -> dict[str, tuple[ep.Episode, ...]]:
    """The episodes of each episode scale from the stored grades (ICANS scales paired with
    their CRS scale for biphasic courses, as ``services.episodes.grade_and_derive`` does)."""
    if not chart.infusions:
        return {}
    infusions = [ep.Infusion(infusion_id=i.infusion_ref, at=i.infused_at) for i in chart.infusions]
    given = [
        ep.Administration(at=a.given_at, drug=a.drug, dose_mg=a.dose_mg, route=a.route)
        for a in chart.administrations
    ]
    derived: dict[str, tuple[ep.Episode, ...]] = {}
    for scale in EPISODE_SCALES:
        pair = ep.ICANS_CRS_PAIRING.get(scale)
        for name in (pair, scale) if pair else (scale,):
            if name is None or name in derived:
                continue
            derived[name] = ep.derive_episodes(
                scale=name,
                points=[
                    (a.assessed_at, (a.grades.get(name) or {}).get("grade"))
                    for a in chart.assessments
                ],
                infusions=infusions,
                administrations=given,
                crs_episodes=derived[pair] if name == scale and pair else None,
            )
    return {scale: derived[scale] for scale in EPISODE_SCALES}


def _fmt_days(value: float | None) -> str:
    return NOT_RECORDED if value is None else f"{value:.1f}"


def _episode_rows(chart: PatientChart) -> tuple[Mapping[str, Any], ...]:
    titles = {r.scale: r.label for r in scale_rows()}
    out = []
    for scale, episodes in derive_episodes(chart).items():
        for e in episodes:
            out.append(
                {
                    "scale": titles.get(scale, scale),
                    "onset_day": e.onset_day,
                    "onset_at": e.onset_at,
                    "max_grade": e.max_grade,
                    "duration": _fmt_days(e.duration_days)
                    if e.resolved_at is not None
                    else "ongoing",
                    "treatments": ", ".join(
                        f"{t.drug} ×{t.count}"
                        + (f" ({t.total_dose_mg:g} mg)" if t.total_dose_mg is not None else "")
                        for t in e.treatments
                    )
                    or "none",
                    "biphasic": e.biphasic,
                }
            )
    return tuple(out)


def _treatment_rows(
    chart: PatientChart, origin: dt.datetime | None
) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        {
            "given_at": a.given_at,
            "day": None if origin is None else (a.given_at.date() - origin.date()).days,
            "drug": a.drug,
            "drug_class": ep.drug_class(a.drug).value,
            "dose": NOT_RECORDED if a.dose_mg is None else f"{a.dose_mg:g} mg",
            "route": a.route or NOT_RECORDED,
        }
        for a in chart.administrations
    )


def _score_rows(scores: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    titles = {s.id: s.title for s in cartwatch.scales()}
    out = []
    for scale, result in scores["scores"].items():
        status = str(result.get("status"))
        value = result.get("value")
        if status == "error":
            shown = str((result.get("error") or {}).get("message") or "not computable")
        elif value is None:
            missing = ", ".join(result.get("missing") or ())
            shown = NOT_RECORDED + (f" (needs {missing})" if missing else "")
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
        out.append(
            {
                "scale": scale,
                "title": titles.get(scale, scale),
                "value": shown,
                "unit": result.get("unit") or "",
                "risk": result.get("risk") or "",
                "status": status,
            }
        )
    return tuple(out)


def _assessment_rows(
    chart: PatientChart, origin: dt.datetime | None
) -> tuple[Mapping[str, Any], ...]:
    ref = chart.patient.patient_ref
    out = []
    for a in reversed(chart.assessments[-RECENT_ASSESSMENTS:]):
        temp = a.data.get("temperature_c")
        ice = ice_range(a.data)
        capd = a.data.get("capd_score")
        out.append(
            {
                "id": a.id,
                "assessed_at": a.assessed_at,
                "day": None if origin is None else (a.assessed_at.date() - origin.date()).days,
                "temperature": NOT_RECORDED if temp is None else f"{temp:g} °C",
                "ice": NOT_RECORDED
                if ice is None
                else (str(ice[0]) if ice[0] == ice[1] else f"{ice[0]}–{ice[1]}"),
                "capd": NOT_RECORDED if capd is None else str(capd),
                "crs": grade_cell(a, "astct_crs"),
                "icans": grade_cell(a, "astct_icans"),
                "recorded_by": a.recorded_by,
                "href": f"/patients/{ref}/assessments/{a.id}/scales",
            }
        )
    return tuple(out)


def patient_page(
    registry: Registry, patient_ref: str, *, now: dt.datetime, audit_note: str = "patient page"
) -> PatientPage:
    """The patient page's data (NotFound for an unknown patient); the read is audited."""
    (chart,) = registry.charts(patient_ref, audit_note=audit_note)
    view = ChartRegistry(registry, chart)
    infusion = latest_infusion(chart.infusions)
    origin = day_start(infusion)
    latest = chart.assessments[-1] if chart.assessments else None
    recommendation = clinical.current_recommendation(view, chart.patient, now=now)
    alerts = clinical.patient_alerts(view, chart.patient, now=now)
    scores = clinical.risk_scores(view, chart.patient, now=now)
    calendar, calendar_note = _calendar(infusion, chart.diseases)
    today = day_after_infusion(infusion, now)
    events: tuple[Mapping[str, Any], ...] = ()
    if calendar is not None:
        events = tuple(
            {
                "title": e.title,
                "start": e.start,
                "end": e.end,
                "days": f"{e.day_from}" if e.day_from == e.day_to else f"{e.day_from}–{e.day_to}",
                "description": e.description,
                "reference": e.reference,
                "current": today is not None and e.day_from <= today <= e.day_to,
            }
            for e in calendar.events
            if e.day_from <= CALENDAR_UNTIL_DAY
        )
    inputs = recommendation["patient_inputs"]
    timeline = (
        timeline_svg(
            origin=origin,
            infused_at=infusion.infused_at if infusion else None,
            assessments=chart.assessments,
            administrations=chart.administrations,
            scales=scale_rows(),
            title=f"Timeline of {chart.patient.patient_ref}, days since infusion",
        )
        if origin is not None
        else ""
    )
    return PatientPage(
        patient=chart.patient,
        now=now,
        infusion=infusion,
        day=today,
        age_years=inputs.get("age_years"),
        weight_kg=inputs.get("weight_kg"),
        crs=grade_cell(latest, "astct_crs"),
        icans=grade_cell(latest, "astct_icans"),
        next_ice=next_ice_due(infusion, calendar, chart.assessments, now),
        timeline=timeline,
        episodes=_episode_rows(chart),
        treatments=_treatment_rows(chart, origin),
        recommendation=recommendation,
        scores=_score_rows(scores),
        alerts=tuple(alerts["alerts"]),
        active_alerts=_active(alerts["alerts"], now),
        calendar=calendar,
        calendar_note=calendar_note,
        calendar_events=events,
        assessments=_assessment_rows(chart, origin),
        assessment_count=len(chart.assessments),
        notes=tuple(alerts.get("notes") or ()),
    )
