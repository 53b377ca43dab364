"""Server-rendered pages. Everything they need ships in the package: no external requests."""

from __future__ import annotations

from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape

import cartwatch


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("cartwatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def _static(name: str) -> str:
    return resources.files("cartwatch.web").joinpath("static", name).read_text(encoding="utf-8")


def index_page() -> str:
    """The bedside grading page: an assessment in, every scale's grade out."""
    return (
        _env()
        .get_template("index.html")
        .render(
            scales=[s for s in cartwatch.scales() if s.syndrome in ("crs", "icans")],
            version=cartwatch.__version__,
            css=_static("cartwatch.css"),
            js=_static("grade.js"),
        )
    )
