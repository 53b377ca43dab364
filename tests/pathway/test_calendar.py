"""The calendar around day 0 and its iCalendar export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cartwatch.errors import InvalidValue
from cartwatch.pathway import (
    CalendarConfig,
    EventKind,
    build_calendar,
    label_era_for,
    to_ical,
)
from cartwatch.pathway.calendar import add_months

DAY0 = date(2025, 9, 10)


def _one(cal, kind: EventKind):  # type: ignore[no-untyped-def]
    (event,) = cal.of_kind(kind)
    return event


def test_axi_cel_lymphodepletion_days_minus_5_to_minus_3() -> None:
    cal = build_calendar(infusion_date=DAY0, product="axi-cel")
    ld = cal.of_kind(EventKind.LYMPHODEPLETION)
    assert [e.start for e in ld] == [DAY0 - timedelta(days=d) for d in (5, 4, 3)]
    assert "fludarabine 30 mg/m2" in ld[0].description
    assert _one(cal, EventKind.INFUSION).start == DAY0


def test_brexu_cel_all_lymphodepletion_and_14_days_of_daily_checks() -> None:
    cal = build_calendar(infusion_date=DAY0, product="brexu-cel-all")
    assert [e.day_from for e in cal.of_kind(EventKind.LYMPHODEPLETION)] == [-4, -3, -2]
    assert "cyclophosphamide 900" in cal.of_kind(EventKind.LYMPHODEPLETION)[-1].description
    assert _one(cal, EventKind.DAILY_MONITORING).day_to == 14


@pytest.mark.parametrize(("product", "days"), [("axi-cel", 7), ("ide-cel", 7), ("cilta-cel", 10)])
def test_daily_monitoring_per_label(product: str, days: int) -> None:
    cal = build_calendar(infusion_date=DAY0, product=product)
    ev = _one(cal, EventKind.DAILY_MONITORING)
    assert (ev.day_from, ev.day_to) == (1, days)


@pytest.mark.parametrize(
    ("infusion", "proximity", "driving"),
    [
        (date(2025, 6, 25), 28, 56),  # pre-2025 labels: 4 weeks near the centre, 8 no driving
        (date(2025, 6, 26), 14, 14),  # June 2025 labels: 2 and 2 weeks
        (date(2024, 1, 1), 28, 56),
    ],
)
def test_proximity_and_driving_are_date_versioned(
    infusion: date, proximity: int, driving: int
) -> None:
    cal = build_calendar(infusion_date=infusion)
    assert _one(cal, EventKind.PROXIMITY).day_to == proximity
    assert _one(cal, EventKind.NO_DRIVING).day_to == driving


def test_labels_as_of_overrides_the_era() -> None:
    cal = build_calendar(infusion_date=date(2025, 9, 1), labels_as_of=date(2025, 1, 1))
    assert _one(cal, EventKind.PROXIMITY).day_to == 28
    assert label_era_for(date(2030, 1, 1)).proximity_days == 14


def test_risk_windows() -> None:
    cal = build_calendar(infusion_date=DAY0)
    crs, icans, iechs = (
        _one(cal, EventKind.CRS_WINDOW),
        _one(cal, EventKind.ICANS_WINDOW),
        _one(cal, EventKind.IECHS_WINDOW),
    )
    assert (crs.day_from, crs.day_to) == (0, 21)
    assert (icans.day_from, icans.day_to) == (0, 56)
    assert (iechs.day_from, iechs.day_to) == (4, 32)
    assert "2 times a day" in _one(cal, EventKind.ICE_ASSESSMENT).title


def test_registry_time_points_day_100_six_months_and_yearly() -> None:
    cal = build_calendar(infusion_date=date(2024, 2, 29))
    reg = cal.of_kind(EventKind.REGISTRY)
    starts = [e.start for e in reg]
    assert starts[0] == date(2024, 2, 29) + timedelta(days=100)
    assert starts[1] == date(2024, 8, 29)
    assert starts[2] == date(2025, 2, 28)  # leap day anniversary falls back to 28 Feb
    assert starts[-1] == date(2039, 2, 28)
    assert len(reg) == 2 + 15


def test_igg_checks_every_60_days_through_the_first_year() -> None:
    cal = build_calendar(infusion_date=DAY0)
    assert [e.day_from for e in cal.of_kind(EventKind.IGG_CHECK)] == [60, 120, 180, 240, 300, 360]
    cfg = CalendarConfig(igg_check_interval_days=90)
    cal = build_calendar(infusion_date=DAY0, config=cfg)
    assert [e.day_from for e in cal.of_kind(EventKind.IGG_CHECK)] == [90, 180, 270, 360]


def test_apheresis_must_precede_infusion() -> None:
    cal = build_calendar(infusion_date=DAY0, apheresis_date=date(2025, 8, 10))
    assert _one(cal, EventKind.APHERESIS).day_from == -31
    with pytest.raises(InvalidValue) as err:
        build_calendar(infusion_date=DAY0, apheresis_date=DAY0)
    assert err.value.field == "apheresis_date"


def test_no_product_means_no_lymphodepletion_days_and_a_note() -> None:
    cal = build_calendar(infusion_date=DAY0)
    assert cal.of_kind(EventKind.LYMPHODEPLETION) == ()
    assert any("No product" in n for n in cal.notes)


def test_autoimmune_regimen_days_are_left_to_the_centre() -> None:
    cal = build_calendar(infusion_date=DAY0, product="autoimmune-cy-only")
    assert cal.of_kind(EventKind.LYMPHODEPLETION) == ()
    assert any("set by the centre" in n for n in cal.notes)


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(InvalidValue):
        build_calendar(infusion_date=datetime(2025, 1, 1))


def test_events_are_in_date_order_and_json_ready() -> None:
    cal = build_calendar(infusion_date=DAY0, product="liso-cel", apheresis_date=date(2025, 8, 1))
    starts = [e.start for e in cal.events]
    assert starts == sorted(starts)
    d = cal.to_dict()
    assert d["events"][0]["kind"] == "apheresis"


def test_add_months_clamps() -> None:
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 15), 14) == date(2027, 1, 15)


# --- iCalendar -----------------------------------------------------------------------------

STAMP = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)


def test_ical_follows_rfc_5545_framing() -> None:
    cal = build_calendar(infusion_date=DAY0, product="axi-cel")
    text = to_ical(cal, dtstamp=STAMP)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert text.count("BEGIN:VEVENT") == len(cal.events)
    assert "DTSTAMP:20250901T120000Z" in text


def test_ical_is_deterministic() -> None:
    cal = build_calendar(infusion_date=DAY0, product="axi-cel")
    assert to_ical(cal, dtstamp=STAMP) == to_ical(cal, dtstamp=STAMP)


def test_ical_needs_an_aware_timestamp() -> None:
    with pytest.raises(InvalidValue):
        to_ical(build_calendar(infusion_date=DAY0), dtstamp=datetime(2025, 1, 1))


def test_ical_round_trips_through_the_icalendar_parser() -> None:
    icalendar = pytest.importorskip("icalendar")
    cal = build_calendar(infusion_date=DAY0, product="cilta-cel", apheresis_date=date(2025, 8, 1))
    parsed = icalendar.Calendar.from_ical(to_ical(cal, dtstamp=STAMP))
    events = [c for c in parsed.walk() if c.name == "VEVENT"]
    assert len(events) == len(cal.events)
    uids = {str(e["UID"]) for e in events}
    assert len(uids) == len(events)
    for ours, theirs in zip(cal.events, events, strict=True):
        assert theirs.decoded("DTSTART") == ours.start
        assert theirs.decoded("DTEND") == ours.end + timedelta(days=1)
        assert str(theirs["SUMMARY"]) == ours.title
        assert str(theirs["DESCRIPTION"]).startswith(ours.description)
