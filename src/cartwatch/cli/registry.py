"""``cartwatch db upgrade|backup|restore`` and ``cartwatch audit PATIENT``: the registry
from the command line.

The database is ``CARTWATCH_DATABASE_URL`` (or ``--database``), SQLite in the user's data
directory by default.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn
from rich.table import Table

from cartwatch.cli._app import fail
from cartwatch.errors import CartwatchError

console = Console(highlight=False)
db_app = typer.Typer(help="The registry database.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(
    database: str = typer.Option(None, "--database", help="database URL (default: env or SQLite)"),
) -> None:
    """Create the schema or upgrade it to the newest migration."""
    from cartwatch.registry.db import default_url, make_engine
    from cartwatch.registry.migrate import current_revision

    try:
        engine = make_engine(database or default_url())
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"schema at revision {current_revision(engine)} ({engine.url.render_as_string()})")


def _progress_bar(what: str) -> Progress:
    return Progress(
        f"[progress.description]{what}",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@db_app.command("backup")
def backup_command(
    file: Path = typer.Argument(..., help="the backup file to write"),
    database: str = typer.Option(None, "--database", help="database URL (default: env or SQLite)"),
) -> None:
    """Copy the database to FILE: SQLite online backup (safe while the app writes) or pg_dump."""
    from cartwatch.registry.backup import backup
    from cartwatch.registry.db import default_url

    try:
        with _progress_bar(f"backing up to {file}") as bar:
            task = bar.add_task("", total=None)
            report = backup(
                database or default_url(),
                file,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"backed up {report.database} (revision {report.revision}) to {report.file} "
        f"({report.bytes:,} bytes)"
    )


@db_app.command("restore")
def restore_command(
    file: Path = typer.Argument(..., help="a file written by `cartwatch db backup`"),
    force: bool = typer.Option(False, "--force", help="overwrite a database that holds rows"),
    database: str = typer.Option(None, "--database", help="database URL (default: env or SQLite)"),
) -> None:
    """Replace the database with a backup (refuses a non-empty database without --force)."""
    from cartwatch.registry.backup import restore
    from cartwatch.registry.db import default_url

    try:
        with _progress_bar(f"restoring {file}") as bar:
            task = bar.add_task("", total=None)
            report = restore(
                database or default_url(),
                file,
                force=force,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except CartwatchError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"restored {report.file} (revision {report.revision}) into {report.database}")


def register(app: typer.Typer) -> None:
    """Add ``db``, ``audit`` and ``regrade`` to the main app."""
    app.add_typer(db_app, name="db")

    @app.command("report")
    def report_command(
        kind: str = typer.Argument("cohort", help="what to report on (cohort)"),
        out: Path = typer.Option(
            Path("cartwatch-report"),
            "--out",
            help="a folder (CSV tables, PNG/SVG figures, report.html) or a file ending in .html",
        ),
        by: str = typer.Option(
            None, "--by", help="group rows by: product, disease, category, age_band …"
        ),
        disease: list[str] = typer.Option([], "--disease", help="keep these diseases"),
        category: str = typer.Option(None, "--category", help="haematological or autoimmune"),
        product: list[str] = typer.Option([], "--product", help="keep these products"),
        target: str = typer.Option(None, "--target", help="keep products with this target"),
        costim: str = typer.Option(None, "--costim", help="keep this costimulatory domain"),
        infused_from: str = typer.Option(
            None, "--from", help="first infusion on or after (YYYY-MM-DD)"
        ),
        infused_to: str = typer.Option(
            None, "--to", help="first infusion on or before (YYYY-MM-DD)"
        ),
        age_band: str = typer.Option(None, "--age-band", help="<12, 12–17, 18–39, 40–64, ≥65"),
        name: str = typer.Option("all patients", "--name", help="the cohort's name"),
        cohort: str = typer.Option(None, "--cohort", help="use a saved cohort's criteria"),
        save_as: str = typer.Option(None, "--save-as", help="save these criteria under a name"),
        database: str = typer.Option(None, "--database", help="database URL"),
    ) -> None:
        """The tables and figures of a CAR-T paper for one cohort of the registry.

        `cartwatch report cohort --cohort NAME --out report.html` writes one self-contained HTML
        file; `--out DIR` writes the CSV tables and PNG/SVG figures and report.html into DIR.
        """
        if kind != "cohort":
            raise fail(f"cannot report on `{kind}`; expected: cohort")
        import datetime as dt

        from cartwatch.registry.repository import Registry
        from cartwatch.services.cohort import CohortFilter, build_cohort, write_report

        try:
            chosen = CohortFilter(
                name=name,
                disease=tuple(disease),
                category=category,
                product=tuple(product),
                target=target,
                costimulatory_domain=costim,
                infused_from=dt.date.fromisoformat(infused_from) if infused_from else None,
                infused_to=dt.date.fromisoformat(infused_to) if infused_to else None,
                age_band=age_band,
            )
            registry = Registry.open(database, actor="report")
            if cohort is not None:
                chosen = CohortFilter.from_dict(
                    {**registry.cohort_definition(cohort), "name": cohort}
                )
            if save_as is not None:
                registry.save_cohort(save_as, {**chosen.to_dict(), "name": save_as})
            data = build_cohort(registry, chosen)
            if by is not None and by not in data.patients.columns:
                raise fail(
                    f"--by {by} is not a cohort column; try product, disease, category, age_band"
                )
            from cartwatch.web.pages import cohort_report_html

            html = cohort_report_html(data, group_by=by or "product", links=False)
            if out.suffix.lower() == ".html":
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(html, encoding="utf-8")
                written = [out]
            else:
                written = write_report(data, out, group_by=by)
                (out / "report.html").write_text(html, encoding="utf-8")
                written.append(out / "report.html")
        except ValueError as exc:
            raise fail(str(exc)) from None
        from cartwatch.analytics.incidence import format_table_one, table_one

        table = format_table_one(
            table_one(data.patients, group_by=by, response_column="best_response")
        )
        rich_table = Table(title=f"{chosen.name}: {data.patients.height} patients")
        for column in table.columns:
            rich_table.add_column(column)
        for row in table.iter_rows():
            rich_table.add_row(*(str(v) for v in row))
        console.print(rich_table)
        console.print(f"{len(written)} file(s) written: {out}")

    @app.command("cohorts")
    def cohorts_command(
        database: str = typer.Option(None, "--database", help="database URL"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """List the saved cohorts (save one with `cartwatch report … --save-as NAME`)."""
        from cartwatch.registry.repository import Registry

        saved = Registry.open(database, actor="cli").cohorts()
        if as_json:
            sys.stdout.write(json.dumps(saved, indent=2) + "\n")
            return
        table = Table(title="saved cohorts")
        for column in ("name", "criteria", "saved by", "updated"):
            table.add_column(column)
        for c in saved:
            criteria = ", ".join(
                f"{k}={v}" for k, v in c["definition"].items() if v and k != "name"
            )
            table.add_row(c["name"], criteria or "all patients", c["created_by"], c["updated_at"])
        console.print(table)

    @app.command("regrade")
    def regrade_command(
        database: str = typer.Option(None, "--database", help="database URL"),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
        engine: str = typer.Option(
            "auto",
            "--engine",
            help="auto (columnar from 10,000 assessments), columnar, or per-assessment",
        ),
    ) -> None:
        """Recompute every stored grade and episode after a rule or protocol change."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from cartwatch.analytics.registry_regrade import (
            COLUMNAR_MIN_ASSESSMENTS,
            count_assessments,
            regrade_columnar,
        )
        from cartwatch.registry.repository import Registry
        from cartwatch.services.episodes import regrade

        if engine not in ("auto", "columnar", "per-assessment"):
            raise fail(f"`--engine {engine}` is not one of: auto, columnar, per-assessment")
        try:
            registry = Registry.open(database, actor="regrade")
            columnar = engine == "columnar" or (
                engine == "auto" and count_assessments(registry) >= COLUMNAR_MIN_ASSESSMENTS
            )
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            ) as bar:
                task = bar.add_task("regrading patients", total=None)
                report = (regrade_columnar if columnar else regrade)(
                    registry,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        data = report.to_dict()
        if as_json:
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        console.print(
            f"regraded {data['assessments']} assessments of {data['patients']} patients; "
            f"grades changed: {data['grades_changed'] or 'none'}; "
            f"episodes changed for {len(data['patients_with_changed_episodes'])} patients"
        )

    @app.command("audit")
    def audit(
        patient: str = typer.Argument(..., help="pseudonymous patient id"),
        database: str = typer.Option(None, "--database", help="database URL"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Show every change to one patient's record: who, when, what, before and after."""
        from cartwatch.registry.repository import Registry

        try:
            trail = Registry.open(database, actor="cli").audit_trail(patient)
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        if as_json:
            sys.stdout.write(json.dumps([e.to_dict() for e in trail], indent=2) + "\n")
            return
        table = Table(title=f"audit trail of {patient}")
        for column in ("when (UTC)", "who", "action", "what", "changed"):
            table.add_column(column)
        for e in trail:
            changed = ""
            if e.before and e.after:
                diffs = [
                    k
                    for k in e.after
                    if k not in ("updated_at", "version") and e.before.get(k) != e.after.get(k)
                ]
                changed = ", ".join(f"{k}: {e.before.get(k)} → {e.after.get(k)}" for k in diffs)
            table.add_row(
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                f"{e.entity} {e.entity_id or ''}",
                changed,
            )
        console.print(table)
