"""The ward list, the patient page and the printable summary in a real browser (Debian's
Chromium driven by Playwright): log in, find the patient, read the timeline, the episodes, the
recommended dose and the calendar; nothing is fetched from outside the server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from cartwatch.registry.db import make_engine
from cartwatch.registry.demo import generate_cohort, write_cohort
from cartwatch.registry.repository import Registry
from tests.api.conftest import PASSWORD, Ward, seed_patient, start_ward, stop_ward
from tests.web.conftest import ARTIFACTS, offline_context, require_chromium

require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    tmp = tmp_path_factory.mktemp("ward-pages")
    url = f"sqlite:///{tmp / 'ward.db'}"
    engine = make_engine(url)
    write_cohort(Registry(engine, actor="test"), generate_cohort(patients=6, seed=1))
    engine.dispose()
    ward = start_ward(tmp, url)
    yield ward
    stop_ward(ward)


@pytest.fixture()
def page(browser: Browser, server: Ward) -> Iterator[Page]:
    with offline_context(browser, server.url, viewport={"width": 1280, "height": 900}) as context:
        yield context.new_page()


def _log_in(page: Page, server: Ward, path: str) -> None:
    page.goto(server.url + path)
    expect(page.locator("#username")).to_be_visible()
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_ward_list_patient_page_and_summary(page: Page, server: Ward) -> None:
    ref = seed_patient(server)
    _log_in(page, server, "/ward")
    expect(page.locator("#ward-title")).to_be_visible(timeout=30_000)
    row = page.locator(f'#ward-table tr[data-patient="{ref}"]')
    expect(row).to_be_visible()
    expect(row.locator('td[data-scale="astct_crs"]')).to_have_text("2")
    expect(page.locator("#ward-table tbody tr")).to_have_count(7)
    expect(page.locator('#ward-table tr[data-patient="DEMO-0001"] .ward-day')).to_have_text(
        re.compile(r"^[0-9]+$")
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ward.png"), full_page=True)

    row.get_by_role("link", name=ref).click()
    expect(page.locator("#patient-title")).to_have_text(ref)
    expect(page.locator("#patient-facts")).to_contain_text("72.5 kg")
    timeline = page.locator("#timeline svg.timeline")
    expect(timeline).to_be_visible()
    assert timeline.locator("rect.tl-band.g2").count() >= 1
    assert timeline.locator("path.tl-drug.anticytokine").count() == 1
    expect(timeline.get_by_text("ASTCT CRS", exact=True)).to_have_count(1)
    expect(page.locator("#episodes-table tbody tr").first).to_contain_text("ASTCT CRS")
    dose = page.locator("#recommendation .dose-value").first
    expect(dose).to_contain_text("mg")
    expect(page.locator("#calendar-table")).to_contain_text("CAR-T infusion (day 0)")
    expect(page.locator("#assessments-table a").first).to_have_attribute(
        "href", re.compile(rf"^/patients/{ref}/assessments/[0-9]+/scales$")
    )
    expect(page.get_by_role("link", name="New assessment")).to_have_attribute(
        "href", f"/patients/{ref}/assess"
    )
    page.screenshot(path=str(ARTIFACTS / "patient.png"), full_page=True)

    page.click("text=Printable summary")
    expect(page.locator("#summary-title")).to_contain_text(ref)
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("main .dose-value").first).to_contain_text("mg")
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "summary.png"), full_page=True)


def test_unknown_patient_page_in_the_browser(page: Page, server: Ward) -> None:
    _log_in(page, server, "/patients/NOBODY-1")
    expect(page.locator("#error-title")).to_have_text("Patient not found", timeout=30_000)
