"""The bedside grading page in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.conftest import ARTIFACTS, offline_context, require_chromium

require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture()
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    with offline_context(browser, base_url, allow_data_urls=False) as context:
        page = context.new_page()
        page.goto(base_url + "/")
        yield page


def _row(page: Page, scale: str) -> str:
    return f'#result-rows tr[data-scale="{scale}"] td.grade'


def test_grades_update_live_as_fields_are_filled(page: Page) -> None:
    expect(page.locator(_row(page, "astct_crs"))).to_have_text("0–4")
    page.fill('input[name="temperature_c"]', "38.5")
    page.select_option('select[name="hypotension"]', "none")
    page.select_option('select[name="oxygen.device"]', "cpap")
    page.fill('input[name="oxygen.fio2"]', "0.4")
    expect(page.locator(_row(page, "astct_crs"))).to_have_text("4")
    expect(page.locator(_row(page, "penn_crs"))).to_have_text("3")
    expect(page.locator(_row(page, "lee2014_crs"))).to_have_text("3")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grading-page.png"), full_page=True)


def test_neurological_fields_grade_icans(page: Page) -> None:
    page.fill('input[name="age_years"]', "55")
    page.fill('input[name="ice_total"]', "9")
    page.select_option('select[name="consciousness"]', "awakens_to_voice")
    page.select_option('select[name="seizure"]', "none")
    page.select_option('select[name="motor"]', "none")
    page.select_option('select[name="icp_edema"]', "none")
    expect(page.locator(_row(page, "astct_icans"))).to_have_text("2")


def test_an_implausible_value_shows_the_error(page: Page) -> None:
    page.evaluate("document.querySelector('input[name=temperature_c]').removeAttribute('max')")
    page.fill('input[name="temperature_c"]', "101")
    expect(page.locator("#error")).to_contain_text("temperature_f")
