"""Server-rendered pages. Everything they need ships in the package: no external requests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

import cartwatch
from cartwatch.services.cohort import CohortData, literature_comparison, write_report
from cartwatch.web.assess import form_groups, live_scales


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("cartwatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )


@cache
def _static(name: str) -> str:
    return resources.files("cartwatch.web").joinpath("static", name).read_text(encoding="utf-8")


REPORT_FIGURES = (
    ("overall_survival.svg", "Overall survival (Kaplan–Meier, numbers at risk)"),
    ("crs_cumulative_incidence.svg", "Cumulative incidence of CRS (death as a competing risk)"),
    ("icans_cumulative_incidence.svg", "Cumulative incidence of ICANS (death as a competing risk)"),
    ("max_grade_by_scale.svg", "Maximum grade under each scale"),
    ("swimmer.svg", "Toxicity episodes and treatments, days 0–30"),
    ("daily_grade_heatmap.svg", "Daily maximum ASTCT CRS grade"),
)
REPORT_TABLES = (
    ("max_grade_distribution.csv", "Maximum grade distribution (not assessable kept apart)"),
    ("onset_duration.csv", "Onset day and duration, median (IQR)"),
    ("treatments.csv", "Treatments"),
    ("crs_scale_concordance.csv", "Concordance of CRS scales (pairwise kappa)"),
    ("scale_agreement.csv", "Same grade under every scale"),
    ("icaht_distribution.csv", "ICAHT grades"),
    ("neutrophil_recovery.csv", "Time to stable neutrophil recovery (days)"),
    ("platelet_recovery.csv", "Time to platelet recovery (days)"),
    ("survival.csv", "Survival and follow-up"),
    ("kinetics_car_transgene_copies_per_ug_dna.csv", "CAR transgene kinetics"),
    ("kinetics_car_t_cells_per_ul.csv", "CAR+ T-cell kinetics"),
)


def cohort_report_html(
    data: CohortData,
    *,
    group_by: str | None = "product",
    cohorts: Sequence[str] = (),
    links: bool = True,
) -> str:
    """The whole cohort report as one self-contained HTML document (figures inline as SVG)."""
    from cartwatch.analytics.incidence import format_table_one, table_one

    title = f"{data.cohort_filter.name}: {data.patients.height} patients"
    if data.patients.height == 0:
        return _render_report(
            title=f"{data.cohort_filter.name}: no infused patients",
            data=data,
            table=None,
            figures=[],
            tables=[],
            literature=[],
            cohorts=cohorts,
            links=links,
        )
    table = format_table_one(
        table_one(data.patients, group_by=group_by, response_column="best_response")
    )
    figures: list[tuple[str, str]] = []
    tables: list[tuple[str, list[str], list[dict[str, object]]]] = []
    with TemporaryDirectory() as folder:
        out = Path(folder)
        write_report(data, out, group_by=None)
        for file, caption in REPORT_FIGURES:
            path = out / file
            if path.exists():
                svg = path.read_text(encoding="utf-8")
                figures.append((caption, svg[svg.index("<svg") :]))
        for file, caption in REPORT_TABLES:
            path = out / file
            if path.exists():
                frame = pl.read_csv(path)
                tables.append((caption, frame.columns, frame.to_dicts()))
    literature = literature_comparison(data.patients).to_dicts()
    return _render_report(
        title=title,
        data=data,
        table=table,
        figures=figures,
        tables=tables,
        literature=literature,
        cohorts=cohorts,
        links=links,
    )


def _render_report(
    *,
    title: str,
    data: CohortData,
    table: pl.DataFrame | None,
    figures: list[tuple[str, str]],
    tables: list[tuple[str, list[str], list[dict[str, object]]]],
    literature: list[dict[str, object]],
    cohorts: Sequence[str],
    links: bool,
) -> str:
    criteria = {k: v for k, v in data.cohort_filter.to_dict().items() if v and k != "name"}
    return (
        _env()
        .get_template("report.html")
        .render(
            title=title,
            table=[] if table is None else table.to_dicts(),
            columns=[] if table is None else table.columns,
            figures=figures,
            tables=tables,
            literature=literature,
            cohorts=list(cohorts),
            links=links,
            criteria=criteria or {"selection": "all infused patients"},
            data_cut=data.data_cut.isoformat() if data.data_cut else "no records",
            version=cartwatch.__version__,
            css=_static("cartwatch.css"),
        )
    )


def render_page(template: str, **context: object) -> str:
    """Render a page template that extends ``base.html`` (the shared header, CSS and footer)."""
    return (
        _env()
        .get_template(template)
        .render(version=cartwatch.__version__, css=_static("cartwatch.css"), **context)
    )


def index_page() -> str:
    """The bedside grading calculator: an assessment in, every CRS and ICANS grade out (the
    same form definition and script as the patient's assessment page)."""
    return render_page(
        "index.html",
        groups=form_groups(ice_total=True, ask_age=True),
        scales=live_scales(),
        assess_css=_static("assess.css"),
        js=_static("grade.js"),
    )
