"""The cohort report page in a real browser: log in, open the report, see Table 1 and figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cartwatch.registry.db import make_engine
from cartwatch.registry.demo import generate_cohort, write_cohort
from cartwatch.registry.repository import Registry
from tests.api.conftest import PASSWORD, Ward, start_ward, stop_ward
from tests.web.conftest import ARTIFACTS, offline_context, require_chromium

require_chromium()

from playwright.sync_api import Browser, expect  # noqa: E402


@pytest.fixture(scope="module")
def ward_with_cohort(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    tmp = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{tmp / 'ward.db'}"
    engine = make_engine(url)
    registry = Registry(engine, actor="test")
    write_cohort(registry, generate_cohort(patients=12, seed=3))
    registry.save_cohort("CD19", {"name": "CD19", "target": "CD19"})
    engine.dispose()
    ward = start_ward(tmp, url)
    yield ward
    stop_ward(ward)


def test_report_page_after_login(browser: Browser, ward_with_cohort: Ward) -> None:
    with offline_context(browser, ward_with_cohort.url) as context:
        page = context.new_page()
        page.goto(ward_with_cohort.url + "/reports/all")
        expect(page.locator("#username")).to_be_visible()  # redirected to the login form
        page.fill("#username", "viewer")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#report-title")).to_contain_text("12 patients", timeout=60_000)
        expect(page.locator("#table-one tbody tr").first).to_contain_text("All")
        assert page.locator("figure svg").count() >= 3
        page.click("text=CD19")
        expect(page.locator("#report-title")).to_contain_text("CD19", timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-page.png"), full_page=True)


def test_report_file_opens_offline_with_every_figure(
    browser: Browser, ward_with_cohort: Ward, tmp_path: Path
) -> None:
    import subprocess
    import sys

    target = tmp_path / "report.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cartwatch",
            "report",
            "cohort",
            "--cohort",
            "CD19",
            "--out",
            str(target),
            "--database",
            ward_with_cohort.database_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    html = target.read_text(encoding="utf-8")
    assert "data cut" in html and "target = CD19" in html and "cartwatch 0." in html
    context = browser.new_context()
    context.set_offline(True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto(target.as_uri())
    figures = page.locator("figure svg")
    assert figures.count() >= 4
    for i in range(figures.count()):
        box = figures.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-file.png"), full_page=True)
    context.close()
    assert [r for r in requests if not r.startswith("file:")] == []
