"""The assessment form and the side-by-side scales view in a real browser (Debian's Chromium
driven by Playwright): a nurse logs in, fills CRS findings and ICE items, sees the live grade,
the ICE total the core computes and what is missing, saves, sees the stored grade and the
recommendation with its dose, then opens the assessment under every scale."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from cartwatch.services.record import stored_scales
from tests.api.conftest import PASSWORD, Ward, start_ward, stop_ward
from tests.web.conftest import ARTIFACTS, offline_context, require_chromium

require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

ADULT = "ADULT-1"
CHILD = "CHILD-1"
UNKNOWN_AGE = "NOAGE-1"


def _seed(ward: Ward) -> None:
    h = ward.headers("physician")
    base = ward.url + "/api/v1"
    steps: list[tuple[str, dict[str, object]]] = [
        ("/products", {"name": "axicabtagene ciloleucel", "targets": ["CD19"]}),
        ("/patients", {"patient_ref": ADULT, "weight_kg": 70.0, "date_of_birth": "1970-03-01"}),
        ("/patients", {"patient_ref": CHILD, "weight_kg": 25.0, "date_of_birth": "2019-06-15"}),
        ("/patients", {"patient_ref": UNKNOWN_AGE, "weight_kg": 60.0}),
    ]
    for ref in (ADULT, CHILD, UNKNOWN_AGE):
        steps.append(
            (
                f"/patients/{ref}/infusions",
                {
                    "infusion_ref": "inf-1",
                    "infused_at": "2026-11-01T09:00:00Z",
                    "product": "axicabtagene ciloleucel",
                },
            )
        )
    for path, body in steps:
        r = httpx.post(base + path, json=body, headers=h)
        assert r.status_code == 201, (path, r.status_code, r.text)


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    tmp = tmp_path_factory.mktemp("assess")
    server = start_ward(tmp, f"sqlite:///{tmp / 'ward.db'}")
    _seed(server)
    yield server
    stop_ward(server)


@contextmanager
def _session(
    browser: Browser, ward: Ward, role: str, path: str, timezone: str = "UTC"
) -> Iterator[Page]:
    with offline_context(browser, ward.url, timezone_id=timezone) as context:
        page = context.new_page()
        page.goto(ward.url + path)
        expect(page.locator("#username")).to_be_visible()
        page.fill("#username", role)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("form#assessment")).to_be_visible()
        yield page


@pytest.fixture()
def nurse_adult(browser: Browser, ward: Ward) -> Iterator[Page]:
    with _session(browser, ward, "nurse", f"/patients/{ADULT}/assess", "Europe/Paris") as page:
        yield page


def _grade(page: Page, scale: str) -> str:
    return f'#result-rows tr[data-scale="{scale}"] td.grade'


def _missing(page: Page, scale: str) -> str:
    return f'#result-rows tr[data-scale="{scale}"] td.missing'


def test_nurse_records_an_assessment_with_ice_items_and_sees_grade_and_dose(
    nurse_adult: Page, ward: Ward
) -> None:
    page = nurse_adult
    expect(page.locator("#age-rule")).to_contain_text("ICE applies")
    expect(page.locator('input[name="capd_score"]')).to_be_hidden()
    page.fill('input[name="temperature_c"]', "39.2")
    expect(page.locator(_missing(page, "astct_crs"))).to_contain_text("hypotension")
    expect(page.locator(_grade(page, "astct_crs"))).to_have_text("1–4")
    page.select_option('select[name="hypotension"]', "fluid_responsive")
    page.select_option('select[name="oxygen.device"]', "none")
    page.select_option('select[name="ice.orientation"]', "3")
    page.select_option('select[name="ice.naming"]', "3")
    page.select_option('select[name="ice.commands"]', "1")
    page.select_option('select[name="ice.writing"]', "1")
    expect(page.locator("#ice-total")).to_have_text("8–9 / 10 (not assessed: ice.attention)")
    expect(page.locator(_missing(page, "astct_icans"))).to_contain_text("consciousness")
    page.select_option('select[name="ice.attention"]', "1")
    expect(page.locator("#ice-total")).to_have_text("9 / 10")
    for name in ("consciousness", "seizure", "motor", "icp_edema"):
        page.select_option(f'select[name="{name}"]', "alert" if name == "consciousness" else "none")
    expect(page.locator(_grade(page, "astct_icans"))).to_have_text("1")
    expect(page.locator('#result-rows tr[data-scale="astct_icans"] td.why')).to_contain_text(
        "ICE 9"
    )
    expect(page.locator(_grade(page, "astct_crs"))).to_have_text("2")
    page.fill("#assessed-at", "2026-11-03T09:30")
    page.click("#save")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#stored-grades")).to_contain_text("ASTCT")
    expect(page.locator("#recommendation")).to_contain_text("tocilizumab 560 mg")
    expect(page.locator("#patient-link")).to_have_attribute("href", f"/patients/{ADULT}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "assess.png"), full_page=True)

    stored = httpx.get(
        f"{ward.url}/api/v1/patients/{ADULT}/assessments", headers=ward.headers("viewer")
    ).json()
    latest = stored[-1]
    assert latest["assessed_at"].startswith("2026-11-03T08:30")  # 09:30 in Paris (UTC+1)
    assert latest["data"]["ice"] == {
        "orientation": 3,
        "naming": 3,
        "commands": 1,
        "writing": 1,
        "attention": 1,
    }
    assert latest["grades"]["astct_icans"]["grade"] == 1
    assert latest["grades"]["astct_crs"]["grade"] == 2

    page.click("#scales-link")
    expect(page.locator("table#scales")).to_be_visible()
    shown = page.locator("table#scales tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.scale)"
    )
    assert set(shown) == set(stored_scales())
    expect(page.locator('table#scales tr[data-scale="astct_crs"] td.grade')).to_have_text("2")
    expect(page.locator('table#scales tr[data-scale="astct_icans"] td.grade')).to_have_text("1")
    expect(page.locator('table#scales tr[data-scale="penn_crs"] td.reference')).to_contain_text(
        "Porter"
    )
    page.screenshot(path=str(ARTIFACTS / "scales.png"), full_page=True)


def test_an_error_from_the_api_is_shown_next_to_the_field(nurse_adult: Page) -> None:
    page = nurse_adult
    page.evaluate("document.querySelector('input[name=temperature_c]').removeAttribute('max')")
    page.fill('input[name="temperature_c"]', "101")
    expect(page.locator('[data-error-for="temperature_c"]')).to_contain_text("temperature_f")
    page.fill('input[name="temperature_c"]', "38.4")
    expect(page.locator('[data-error-for="temperature_c"]')).to_have_text("")


def test_a_child_under_12_is_asked_for_capd(browser: Browser, ward: Ward) -> None:
    with _session(browser, ward, "nurse", f"/patients/{CHILD}/assess") as page:
        expect(page.locator("#age-rule")).to_contain_text("CAPD applies")
        expect(page.locator('input[name="capd_score"]')).to_be_visible()
        expect(page.locator('select[name="ice.orientation"]')).to_be_hidden()
        page.fill('input[name="capd_score"]', "10")
        for name in ("consciousness", "seizure", "motor", "icp_edema"):
            value = "alert" if name == "consciousness" else "none"
            page.select_option(f'select[name="{name}"]', value)
        expect(page.locator(_grade(page, "astct_icans"))).to_have_text("3")


def test_unknown_age_shows_both_tools_and_says_so(browser: Browser, ward: Ward) -> None:
    with _session(browser, ward, "nurse", f"/patients/{UNKNOWN_AGE}/assess") as page:
        expect(page.locator("#age-rule")).to_contain_text("Age not recorded")
        expect(page.locator('input[name="capd_score"]')).to_be_visible()
        expect(page.locator('select[name="ice.orientation"]')).to_be_visible()
        expect(page.locator('input[name="age_years"]')).to_be_visible()


def test_a_viewer_sees_the_form_read_only(browser: Browser, ward: Ward) -> None:
    with _session(browser, ward, "viewer", f"/patients/{ADULT}/assess") as page:
        expect(page.locator("#read-only")).to_contain_text("nurse role")
        assert page.locator("#save").count() == 0
        page.fill('input[name="temperature_c"]', "38.6")
        expect(page.locator(_grade(page, "astct_crs"))).to_have_text("1–4")


def test_pages_need_a_login_and_an_existing_record(ward: Ward) -> None:
    anonymous = httpx.get(f"{ward.url}/patients/{ADULT}/assess", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    h = ward.headers("viewer")
    assert httpx.get(f"{ward.url}/patients/NOBODY/assess", headers=h).status_code == 404
    assert (
        httpx.get(f"{ward.url}/patients/{ADULT}/assessments/999999/scales", headers=h).status_code
        == 404
    )


def test_the_scales_view_grades_with_the_state_the_record_implies(ward: Ward) -> None:
    ref = "CARRY-1"
    h = ward.headers("physician")
    base = ward.url + "/api/v1"
    steps: list[tuple[str, dict[str, object]]] = [
        ("/patients", {"patient_ref": ref, "weight_kg": 80.0}),
        (
            f"/patients/{ref}/infusions",
            {"infusion_ref": "inf-1", "infused_at": "2026-11-01T09:00:00Z"},
        ),
        (
            f"/patients/{ref}/assessments",
            {
                "assessed_at": "2026-11-02T08:00:00Z",
                "data": {
                    "temperature_c": 39.0,
                    "hypotension": "none",
                    "oxygen": {"device": "none"},
                },
            },
        ),
        (
            f"/patients/{ref}/administrations",
            {"given_at": "2026-11-02T09:00:00Z", "drug": "tocilizumab", "dose_mg": 640},
        ),
        (
            f"/patients/{ref}/assessments",
            {
                "assessed_at": "2026-11-02T20:00:00Z",
                "data": {
                    "temperature_c": 37.0,
                    "hypotension": "fluid_responsive",
                    "oxygen": {"device": "none"},
                },
            },
        ),
    ]
    answers = []
    for path, body in steps:
        r = httpx.post(base + path, json=body, headers=h)
        assert r.status_code == 201, (path, r.text)
        answers.append(r.json())
    later = answers[-1]
    assert later["grades"]["astct_crs"]["grade"] == 2
    page = httpx.get(
        f"{ward.url}/patients/{ref}/assessments/{later['id']}/scales",
        headers=ward.headers("viewer"),
    )
    assert page.status_code == 200, page.text
    html = page.text
    assert "crs_previously_established = True" in html
    row = html[html.index('data-scale="astct_crs"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="grade g2">2</td>' in row
    assert "ASTCT-CRS-02" in row
