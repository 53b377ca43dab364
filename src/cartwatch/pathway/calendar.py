"""The treatment calendar around day 0, and its export as iCalendar (RFC 5545) text.

From the planned infusion date (and apheresis date): lymphodepletion days per product, daily
monitoring, staying near the centre and not driving (date-versioned: 4/8 weeks under the pre-2025
REMS labels, 2/2 weeks under the June 2025 labels), ICE frequency, CRS/ICANS/IEC-HS risk windows,
IgG/B-cell follow-up with IVIG, and registry time points (day 100, 6 months, yearly). Dates are
arguments; nothing reads a clock. Product labels; ASCO 2021; seeds 001, 002, 004; CIBMTR.

The iCalendar text is written here rather than with the ``icalendar`` package so that the core
stays standard-library only (design §2); it follows RFC 5545 (CRLF, 75-octet folding, escaped
TEXT, all-day DATE events with exclusive DTEND).
"""

from __future__ import annotations

import calendar as _cal
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from cartwatch.errors import InvalidValue
from cartwatch.management.products import Product, product_facts
from cartwatch.references import cite


class EventKind(StrEnum):
    """Kinds of calendar entries."""

    APHERESIS = "apheresis"
    BASELINE = "baseline_assessment"
    LYMPHODEPLETION = "lymphodepletion"
    INFUSION = "infusion"
    DAILY_MONITORING = "daily_monitoring"
    ICE_ASSESSMENT = "ice_assessment"
    PROXIMITY = "stay_near_centre"
    NO_DRIVING = "no_driving"
    CRS_WINDOW = "crs_risk_window"
    ICANS_WINDOW = "icans_risk_window"
    IECHS_WINDOW = "iechs_risk_window"
    IGG_CHECK = "igg_b_cell_check"
    REGISTRY = "registry_follow_up"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelEra:
    """Post-infusion restrictions in force from ``effective_from`` (None = the earliest era)."""

    name: str
    effective_from: date | None
    proximity_days: int
    driving_restriction_days: int
    source: tuple[str, ...]


# [YESCARTA_LABEL] pre-June-2025 labels/REMS: stay within ≈2 h of the centre for 4 weeks, no
# driving for 8 weeks (spec §7, D15).
PRE_2025_PROXIMITY_DAYS = 28  # [YESCARTA_LABEL] 4 weeks
PRE_2025_DRIVING_DAYS = 56  # [YESCARTA_LABEL] 8 weeks
# [FDA_REMS2025] June 2025 labels: proximity >= 2 weeks, driving >= 2 weeks. UNVERIFIED (spec §10
# item 17). Interpretation: effective date taken as 26 June 2025 (FDA announcement); a centre may
# change it in CalendarConfig.
POST_2025_PROXIMITY_DAYS = 14  # [FDA_REMS2025] 2 weeks
POST_2025_DRIVING_DAYS = 14  # [FDA_REMS2025] 2 weeks
POST_2025_EFFECTIVE = date(2025, 6, 26)  # [FDA_REMS2025] June 2025; UNVERIFIED (spec §10 item 17)

LABEL_ERAS: tuple[LabelEra, ...] = (
    LabelEra(
        name="pre-2025 labels (REMS)",
        effective_from=None,
        proximity_days=PRE_2025_PROXIMITY_DAYS,
        driving_restriction_days=PRE_2025_DRIVING_DAYS,
        source=("YESCARTA_LABEL",),
    ),
    LabelEra(
        name="June 2025 labels",
        effective_from=POST_2025_EFFECTIVE,
        proximity_days=POST_2025_PROXIMITY_DAYS,
        driving_restriction_days=POST_2025_DRIVING_DAYS,
        source=("FDA_REMS2025",),
    ),
)

ICE_ASSESSMENTS_PER_DAY = 2  # [ASCO2021] ICE at least twice a day (ASH-SAP: every 8 h)
CRS_WINDOW_DAYS = 21  # [SEED002_FAQ] fever within 3 weeks of infusion: suspect CRS (spec §7)
ICANS_WINDOW_DAYS = 56  # [YESCARTA_LABEL] 98% of neurotoxicity within the first 8 weeks
IECHS_WINDOW_FROM_DAY = 4  # [SEED004_AUTOIMMUNE] IEC-HS day 4 to day 32 (Scherlinger Fig. 4)
IECHS_WINDOW_TO_DAY = 32  # [SEED004_AUTOIMMUNE]
# [SEED002_FAQ] IVIG "usually every 2–3 months" for hypogammaglobulinaemia. Interpretation: check
# IgG and B cells every 60 days (the shorter interval) through day 365.
IGG_CHECK_INTERVAL_DAYS = 60
IGG_CHECK_UNTIL_DAY = 365  # Interpretation: first year; continue while B-cell aplasia persists
REGISTRY_DAY_100 = 100  # [CIBMTR_TRACKS] 100-day form
REGISTRY_MONTHS_6 = 6  # [CIBMTR_TRACKS] 6-month form
REGISTRY_YEARS = 15  # [CIBMTR_TRACKS] annual forms, 15-year track


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarConfig:
    """A centre's calendar settings (defaults are the cited constants)."""

    label_eras: tuple[LabelEra, ...] = LABEL_ERAS
    ice_assessments_per_day: int = ICE_ASSESSMENTS_PER_DAY
    crs_window_days: int = CRS_WINDOW_DAYS
    icans_window_days: int = ICANS_WINDOW_DAYS
    iechs_window_days: tuple[int, int] = (IECHS_WINDOW_FROM_DAY, IECHS_WINDOW_TO_DAY)
    igg_check_interval_days: int = IGG_CHECK_INTERVAL_DAYS
    igg_check_until_day: int = IGG_CHECK_UNTIL_DAY
    registry_years: int = REGISTRY_YEARS


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarEvent:
    """One dated entry (``end`` inclusive), with day numbers relative to infusion."""

    kind: EventKind
    title: str
    start: date
    end: date
    day_from: int
    day_to: int
    description: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "kind": self.kind.value,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "day_from": self.day_from,
            "day_to": self.day_to,
            "description": self.description,
            "reference": self.reference,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TreatmentCalendar:
    """The calendar for one patient, events in date order."""

    infusion_date: date
    apheresis_date: date | None
    product: Product | None
    label_era: str
    events: tuple[CalendarEvent, ...]
    notes: tuple[str, ...] = field(default=())

    def of_kind(self, kind: EventKind | str) -> tuple[CalendarEvent, ...]:
        """The events of one kind."""
        k = EventKind(kind)
        return tuple(e for e in self.events if e.kind is k)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "infusion_date": self.infusion_date.isoformat(),
            "apheresis_date": None
            if self.apheresis_date is None
            else self.apheresis_date.isoformat(),
            "product": None if self.product is None else self.product.value,
            "label_era": self.label_era,
            "events": [e.to_dict() for e in self.events],
            "notes": list(self.notes),
        }


def add_months(d: date, months: int) -> date:
    """``d`` plus whole calendar months, clamped to the month's end (31 Aug + 6 → end of Feb)."""
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    return date(year, month, min(d.day, _cal.monthrange(year, month)[1]))


def label_era_for(on: date, eras: tuple[LabelEra, ...] = LABEL_ERAS) -> LabelEra:
    """The label era in force on ``on`` (the latest era whose start is on or before it)."""
    current = eras[0]
    for era in eras:
        if era.effective_from is None or era.effective_from <= on:
            current = era
    return current


def _date(name: str, value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(
            f"`{name}={value!r}` is not a date; expected YYYY-MM-DD",
            field=name,
            value=value,
            expected="YYYY-MM-DD",
        )
    return value


def build_calendar(
    *,
    infusion_date: date,
    apheresis_date: date | None = None,
    product: Product | str | None = None,
    labels_as_of: date | None = None,
    config: CalendarConfig | None = None,
) -> TreatmentCalendar:
    """The calendar around day 0 for a planned infusion.

    ``labels_as_of`` picks the label era (default: the infusion date). Without a product, no
    lymphodepletion days are scheduled and daily monitoring is the first week.
    Product labels; ASCO 2021; seeds 001, 002, 004; CIBMTR.
    """
    day0 = _date("infusion_date", infusion_date)
    cfg = config or CalendarConfig()
    apheresis = None if apheresis_date is None else _date("apheresis_date", apheresis_date)
    if apheresis is not None and apheresis >= day0:
        raise InvalidValue(
            f"`apheresis_date={apheresis.isoformat()}` is not before the infusion "
            f"({day0.isoformat()}); expected an earlier date",
            field="apheresis_date",
            value=apheresis.isoformat(),
            expected=f"before {day0.isoformat()}",
        )
    facts = None if product is None else product_facts(product)
    era = label_era_for(labels_as_of or day0, cfg.label_eras)
    notes: list[str] = []
    events: list[CalendarEvent] = []

    def add(kind: EventKind, title: str, d0: int, d1: int, desc: str, *refs: str) -> None:
        events.append(
            CalendarEvent(
                kind=kind,
                title=title,
                start=day0 + timedelta(days=d0),
                end=day0 + timedelta(days=d1),
                day_from=d0,
                day_to=d1,
                description=desc,
                reference=cite(*refs) if refs else "",
            )
        )

    if apheresis is not None:
        d = (apheresis - day0).days
        add(
            EventKind.APHERESIS,
            "Apheresis",
            d,
            d,
            "Leukapheresis (platelets >= 50/nL).",
            "SEED002_FAQ",
        )
    if facts is not None:
        ld_days = sorted({d for a in facts.agents for d in a.days})
        if ld_days:
            add(
                EventKind.BASELINE,
                "Baseline labs before lymphodepletion (CAR-HEMATOTOX, EASIX)",
                ld_days[0],
                ld_days[0],
                "Blood count, CRP, ferritin, LDH, creatinine before the first LD dose.",
                "REJESKI2021",
            )
            for d in ld_days:
                agents = ", ".join(
                    f"{a.agent} {a.mg_per_m2:g} mg/m2" for a in facts.agents if d in a.days
                )
                add(
                    EventKind.LYMPHODEPLETION,
                    f"Lymphodepletion day {d} ({facts.brand})",
                    d,
                    d,
                    agents,
                    *facts.source,
                )
            if facts.infusion_gap_days and facts.infusion_gap_days[1] > facts.infusion_gap_days[0]:
                lo, hi = facts.infusion_gap_days
                notes.append(
                    f"{facts.brand}: infusion {lo}-{hi} days after completing lymphodepletion; "
                    f"scheduled at the shortest interval."
                )
        else:
            notes.append(f"{facts.brand}: lymphodepletion days are set by the centre.")
        notes.extend(facts.notes)
        monitoring_days = facts.daily_monitoring_days
        monitoring_src: tuple[str, ...] = facts.source
    else:
        notes.append("No product given: lymphodepletion not scheduled; daily checks for 7 days.")
        monitoring_days = 7
        monitoring_src = ("YESCARTA_LABEL",)
    add(
        EventKind.INFUSION,
        "CAR-T infusion (day 0)",
        0,
        0,
        "Day 0. Have at least 2 doses of tocilizumab available on site (TOCI-07).",
        *monitoring_src,
    )
    add(
        EventKind.DAILY_MONITORING,
        f"Daily checks for CRS and neurotoxicity (days 1-{monitoring_days})",
        1,
        monitoring_days,
        "At least daily at the certified centre: vital signs, CRS and ICANS grading, labs.",
        *monitoring_src,
    )
    add(
        EventKind.ICE_ASSESSMENT,
        f"ICE score at least {cfg.ice_assessments_per_day} times a day",
        0,
        monitoring_days,
        "ICE (or CAPD under 12 y) while monitored daily and whenever ICANS is suspected.",
        "ASCO2021",
    )
    add(
        EventKind.PROXIMITY,
        f"Stay near the treating centre ({era.proximity_days} days)",
        0,
        era.proximity_days,
        f"Within about 2 hours of the centre ({era.name}).",
        *era.source,
    )
    add(
        EventKind.NO_DRIVING,
        f"No driving or heavy machinery ({era.driving_restriction_days} days)",
        0,
        era.driving_restriction_days,
        f"Driving restriction ({era.name}).",
        *era.source,
    )
    add(
        EventKind.CRS_WINDOW,
        "CRS risk window: new fever means suspect CRS",
        0,
        cfg.crs_window_days,
        "Usually within the first week; toxicity peaks at 1-2 weeks.",
        "SEED002_FAQ",
        "SEED001_TABLE2",
    )
    add(
        EventKind.ICANS_WINDOW,
        "ICANS risk window",
        0,
        cfg.icans_window_days,
        "Median onset 4-5 days; biphasic; about 10% late at 3-4 weeks (seizures, confusion).",
        "YESCARTA_LABEL",
        "SEED001_TABLE2",
    )
    lo, hi = cfg.iechs_window_days
    add(
        EventKind.IECHS_WINDOW,
        "IEC-HS risk window",
        lo,
        hi,
        "Typically at or after CRS resolution: ferritin, fibrinogen, transaminases.",
        "SEED004_AUTOIMMUNE",
        "HINES2023",
    )
    d = cfg.igg_check_interval_days
    while d <= cfg.igg_check_until_day:
        add(
            EventKind.IGG_CHECK,
            f"IgG and B-cell check; IVIG if hypogammaglobulinaemia (day {d})",
            d,
            d,
            "B-cell aplasia causes hypogammaglobulinaemia; IVIG usually every 2-3 months.",
            "SEED002_FAQ",
        )
        d += cfg.igg_check_interval_days
    add(
        EventKind.REGISTRY,
        "Registry follow-up: day 100",
        100,
        100,
        "100-day form.",
        "CIBMTR_TRACKS",
    )
    six = add_months(day0, REGISTRY_MONTHS_6)
    add(
        EventKind.REGISTRY,
        "Registry follow-up: 6 months",
        (six - day0).days,
        (six - day0).days,
        "6-month form.",
        "CIBMTR_TRACKS",
    )
    for year in range(1, cfg.registry_years + 1):
        anniversary = add_months(day0, 12 * year)
        offset = (anniversary - day0).days
        add(
            EventKind.REGISTRY,
            f"Registry follow-up: year {year}",
            offset,
            offset,
            "Annual form; life-long monitoring for secondary malignancy.",
            "CIBMTR_TRACKS",
        )
    events.sort(key=lambda e: (e.start, e.end, e.kind.value))
    return TreatmentCalendar(
        infusion_date=day0,
        apheresis_date=apheresis,
        product=None if facts is None else facts.product,
        label_era=era.name,
        events=tuple(events),
        notes=tuple(notes),
    )


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current = " "
            size = 1
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def to_ical(
    cal: TreatmentCalendar, *, dtstamp: datetime, uid_domain: str = "cartwatch.local"
) -> str:
    """The calendar as iCalendar text (RFC 5545): one all-day VEVENT per event.

    ``dtstamp`` (when the export was made) is an argument because the core reads no clock; UIDs
    are derived from the content so the same calendar exports identically.
    """
    if dtstamp.tzinfo is None:
        raise InvalidValue(
            "`dtstamp` has no time zone; expected an aware datetime (UTC)",
            field="dtstamp",
            value=dtstamp.isoformat(),
            expected="aware datetime",
        )
    stamp = dtstamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//cartwatch//treatment calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for index, ev in enumerate(cal.events):
        key = f"{cal.infusion_date.isoformat()}|{index}|{ev.kind.value}|{ev.start}|{ev.title}"
        uid = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        desc = ev.description
        if ev.reference:
            desc = f"{desc}\nSource: {ev.reference}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@{uid_domain}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{ev.start.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(ev.end + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{_escape(ev.title)}",
            f"DESCRIPTION:{_escape(desc)}",
            f"CATEGORIES:{_escape(ev.kind.value)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
