"""The real browser for the page tests: Debian's Chromium driven by Playwright, one per module,
and contexts that fail the test when a page asks anything of the internet."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = os.environ.get("CARTWATCH_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def require_chromium() -> None:
    """Skip the calling test module when Debian's Chromium is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` (.ci/run does) or "
            "set CARTWATCH_CHROMIUM",
            allow_module_level=True,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


@contextmanager
def offline_context(
    browser: Browser, base_url: str, *, allow_data_urls: bool = True, **options: Any
) -> Iterator[BrowserContext]:
    """A browser context whose pages may load only from ``base_url`` (and ``data:`` URLs when
    allowed); any other request fails the test once the context is closed."""
    context = browser.new_context(**options)
    external: list[str] = []

    def record(url: str) -> None:
        if not url.startswith(base_url) and not (allow_data_urls and url.startswith("data:")):
            external.append(url)

    context.on("request", lambda req: record(req.url))
    yield context
    context.close()
    assert external == [], f"the page asked the internet for {external}"
