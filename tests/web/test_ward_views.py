"""The ward pages' builders against a real SQLite registry, and the pages over real HTTP:
day after infusion, "not recorded" never shown as 0, open grades as ranges, 404 for an unknown
patient, the login redirect, a viewer reading, and every read audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import InfusionView, Registry
from cartwatch.services.record import record_assessment
from cartwatch.web.pages import render_page
from cartwatch.web.timeline import grade_label
from cartwatch.web.ward import day_after_infusion, patient_page, ward_rows
from tests.api.conftest import Ward, login, seed_patient, start_ward, stop_ward
from tests.registry.conftest import SKIP_PG, postgres_schema_url  # noqa: F401

UTC = dt.UTC
INFUSED = dt.datetime(2026, 11, 1, 23, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=SKIP_PG)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ward.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    engine = make_engine(url)
    yield Registry(engine, actor="nurse-a")
    engine.dispose()


def _patient(registry: Registry, ref: str = "P-1", *, weight: float | None = None) -> str:
    registry.add_patient(patient_ref=ref, weight_kg=weight)
    registry.ensure_product(name="axi-cel", targets=["CD19"])
    registry.add_infusion(ref, infusion_ref="inf-1", infused_at=INFUSED, product="axi-cel")
    return ref


def _at(hours: float) -> dt.datetime:
    return INFUSED + dt.timedelta(hours=hours)


def test_day_after_infusion_counts_dates_from_day_0(registry: Registry) -> None:
    ref = _patient(registry)
    cases = [
        (dt.datetime(2026, 11, 1, 23, 59, tzinfo=UTC), 0),
        (dt.datetime(2026, 11, 2, 0, 10, tzinfo=UTC), 1),
        (dt.datetime(2026, 11, 8, 12, 0, tzinfo=UTC), 7),
        (dt.datetime(2026, 10, 31, 12, 0, tzinfo=UTC), -1),
    ]
    for now, day in cases:
        (row,) = ward_rows(registry, now=now)
        assert (row.patient_ref, row.day) == (ref, day)
        assert patient_page(registry, ref, now=now).day == day
    (row,) = ward_rows(registry, now=cases[0][0])
    assert row.infusion_date == dt.date(2026, 11, 1)
    record_assessment(registry, ref, assessed_at=_at(0.25), data={"temperature_c": 37.1})
    record_assessment(registry, ref, assessed_at=_at(1), data={"temperature_c": 37.2})
    page = patient_page(registry, ref, now=_at(2))
    assert [a["day"] for a in page.assessments] == [1, 0]
    html = render_page("patient.html", p=page, user=None, csrf_token=None)
    assert "<td>0</td>" in html and "<td>1</td>" in html


@given(
    infused=st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    offset=st.timedeltas(min_value=dt.timedelta(days=-30), max_value=dt.timedelta(days=400)),
)
def test_day_is_the_difference_of_utc_dates(infused: dt.datetime, offset: dt.timedelta) -> None:
    infusion = InfusionView(
        infusion_ref="i",
        id=1,
        patient_ref="p",
        infused_at=infused,
        product=None,
        cell_dose=None,
        cell_dose_unit=None,
    )
    now = infused + offset
    day = day_after_infusion(infusion, now)
    assert day == (now.date() - infused.date()).days
    assert day_after_infusion(None, now) is None


@given(
    floor=st.integers(0, 5),
    width=st.integers(0, 5),
    status=st.sampled_from(["not_gradeable", "graded", "criteria_not_met"]),
)
def test_a_grade_without_a_value_is_never_shown_as_zero(
    floor: int, width: int, status: str
) -> None:
    ceiling = min(floor + width, 5)
    text, css = grade_label({"grade": None, "floor": floor, "ceiling": ceiling, "status": status})
    assert (text, css) == (f"{floor}–{ceiling}", "open")
    assert grade_label(None) == ("not recorded", "nr")
    assert grade_label({"grade": floor, "status": "graded"}) == (str(floor), f"g{floor}")


def test_missing_values_show_as_not_recorded(registry: Registry) -> None:
    ref = _patient(registry)
    now = _at(30)
    (row,) = ward_rows(registry, now=now)
    assert (row.crs.text, row.crs.css) == ("not recorded", "nr")
    assert row.last_assessed is None
    assert row.next_ice.overdue and "no ICE" in row.next_ice.text
    record_assessment(
        registry,
        ref,
        assessed_at=_at(20),
        data={"ice": {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}},
    )
    page = patient_page(registry, ref, now=now)
    (shown,) = page.assessments
    assert shown["temperature"] == "not recorded"
    assert shown["capd"] == "not recorded"
    assert shown["ice"] == "10"
    assert page.weight_kg is None
    assert "temperature not recorded" in page.timeline
    assert page.next_ice.text.startswith("by ")
    html = render_page("patient.html", p=page, user=None, csrf_token=None)
    assert "Weight</dt><dd>not recorded" in html
    assert "0 kg" not in html


def test_an_open_grade_is_shown_as_its_range(registry: Registry) -> None:
    ref = _patient(registry, weight=70.0)
    record_assessment(registry, ref, assessed_at=_at(10), data={"temperature_c": 39.0})
    page = patient_page(registry, ref, now=_at(12))
    assert page.crs.css == "open"
    low, high = page.crs.text.split("–")
    assert 1 <= int(low) < int(high) <= 4
    assert 'class="tl-band open"' in page.timeline
    assert f"ASTCT CRS: {page.crs.text}" in page.timeline
    assert page.assessments[0]["crs"].text == page.crs.text


def test_grades_bands_and_a_dose_from_the_stored_record(registry: Registry) -> None:
    ref = _patient(registry, weight=72.5)
    record_assessment(
        registry,
        ref,
        assessed_at=_at(10),
        data={
            "temperature_c": 39.4,
            "hypotension": "fluid_responsive",
            "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 2},
        },
    )
    page = patient_page(registry, ref, now=_at(12))
    assert (page.crs.text, page.crs.css) == ("2", "g2")
    assert 'class="tl-band g2"' in page.timeline
    doses = [
        a["dose"]
        for a in page.recommendation["recommendation"]["actions"]
        if a.get("dose") and a["dose"].get("value") is not None
    ]
    assert any(d["unit"] == "mg" and d["value"] == pytest.approx(580) for d in doses)
    assert [e["max_grade"] for e in page.episodes if e["scale"] == "ASTCT CRS"] == [2]
    assert page.calendar is not None and page.calendar_events


def test_a_patient_without_infusion_and_a_child_scored_with_capd(registry: Registry) -> None:
    registry.add_patient(patient_ref="P-0")
    now = _at(5)
    (row,) = ward_rows(registry, now=now)
    assert (row.day, row.product, row.next_ice.text) == (
        None,
        "no infusion",
        "no infusion recorded",
    )
    page = patient_page(registry, "P-0", now=now)
    assert page.timeline == "" and page.calendar is None and page.episodes == ()
    ref = _patient(registry, "P-child", weight=20.0)
    record_assessment(registry, ref, assessed_at=_at(3), data={"age_years": 6, "capd_score": 10})
    page = patient_page(registry, ref, now=now)
    assert page.assessments[0]["capd"] == "10" and page.assessments[0]["ice"] == "not recorded"
    assert "CAPD (0–32)" in page.timeline and "CAPD 10" in page.timeline
    assert page.age_years == 6


def test_timeline_is_deterministic(registry: Registry) -> None:
    ref = _patient(registry)
    for hours, temp in ((6, 37.0), (12, 38.6), (18, 39.1)):
        record_assessment(registry, ref, assessed_at=_at(hours), data={"temperature_c": temp})
    first = patient_page(registry, ref, now=_at(20)).timeline
    assert first == patient_page(registry, ref, now=_at(20)).timeline
    assert first.startswith("<svg") and "<title>" in first


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    tmp = tmp_path_factory.mktemp("ward-views")
    ward = start_ward(tmp, f"sqlite:///{tmp / 'ward.db'}")
    yield ward
    stop_ward(ward)


PAGE = {"Accept": "text/html"}


def test_anonymous_browser_is_sent_to_login(server: Ward) -> None:
    ref = seed_patient(server)
    for path in ("/ward", f"/patients/{ref}", f"/patients/{ref}/summary"):
        r = httpx.get(server.url + path, headers=PAGE)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={path}"
    assert httpx.get(server.url + "/ward").status_code == 401


def test_unknown_patient_is_a_404_page(server: Ward) -> None:
    client, _ = login(server, "viewer")
    try:
        for path in ("/patients/NOPE-1", "/patients/NOPE-1/summary"):
            r = client.get(path, headers=PAGE)
            assert r.status_code == 404
            assert r.headers["content-type"].startswith("text/html")
            assert "There is no patient `NOPE-1`" in r.text
    finally:
        client.close()


def test_a_viewer_reads_and_every_read_is_audited(server: Ward) -> None:
    ref = seed_patient(server)
    client, _ = login(server, "viewer")
    try:
        ward = client.get("/ward", headers=PAGE)
        assert ward.status_code == 200
        assert f'href="/patients/{ref}"' in ward.text
        page = client.get(f"/patients/{ref}", headers=PAGE)
        assert page.status_code == 200
        assert "<svg" in page.text and 'class="tl-band g2"' in page.text
        summary = client.get(f"/patients/{ref}/summary", headers=PAGE)
        assert summary.status_code == 200 and 'id="summary-title"' in summary.text
    finally:
        client.close()
    trail = httpx.get(
        f"{server.url}/api/v1/patients/{ref}/audit", headers=server.headers("admin")
    ).json()
    reads = [(e["actor"], e["note"]) for e in trail if e["action"] == "read"]
    for note in ("ward list", "patient", "summary"):
        assert ("viewer", note) in reads, reads


def test_the_calendar_follows_the_label_the_indication_chooses(registry: Registry) -> None:
    registry.add_patient(patient_ref="K-1")
    registry.ensure_product(name="Kymriah", targets=["CD19"])
    registry.add_infusion("K-1", infusion_ref="inf-k", infused_at=INFUSED, product="Kymriah")
    undecided = patient_page(registry, "K-1", now=_at(30))
    assert undecided.calendar_note is not None and "Kymriah" in undecided.calendar_note
    registry.add_indication("K-1", disease="B-ALL", category="haematological")
    decided = patient_page(registry, "K-1", now=_at(30))
    assert decided.calendar_note is None
    titles = " ".join(str(e["title"]).lower() for e in decided.calendar_events)
    assert "fludarabine" in titles or "lymphodepletion" in titles
