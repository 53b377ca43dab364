"""``cartwatch demo``: fill the registry with a reproducible synthetic CAR-T cohort.

The cohort is :func:`cartwatch.registry.demo.generate_cohort`; writing is idempotent (the same
seed twice changes nothing). ``--if-empty`` does nothing when the registry already holds patients
(``make run`` uses it).
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cartwatch.cli._app import fail
from cartwatch.errors import CartwatchError

console = Console(highlight=False, stderr=True)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the main app."""

    @app.command("demo")
    def demo(
        patients: int = typer.Option(200, "--patients", min=0, max=100_000, help="cohort size"),
        seed: int = typer.Option(1, "--seed", help="random seed (same seed → same cohort)"),
        database: str = typer.Option(
            None, "--database", help="database URL (default: CARTWATCH_DATABASE_URL or SQLite)"
        ),
        if_empty: bool = typer.Option(
            False, "--if-empty", help="do nothing when the registry already holds patients"
        ),
        as_json: bool = typer.Option(False, "--json", help="print a JSON summary"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
        workers: int = typer.Option(
            1, "--workers", min=0, max=16, help="grading processes beside the writer (0: none)"
        ),
    ) -> None:
        """Fill the registry with N synthetic patients (realistic CRS/ICANS courses by product)."""
        from cartwatch.registry.demo import generate_cohort, write_cohort
        from cartwatch.registry.repository import Registry

        try:
            registry = Registry.open(database, actor="demo")
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        if if_empty and registry.list_patients():
            message = "registry already holds patients; nothing written (--if-empty)"
            if as_json:
                sys.stdout.write(json.dumps({"written": False, "reason": message}) + "\n")
            else:
                console.print(message)
            return
        cohort = generate_cohort(patients=patients, seed=seed)
        try:
            if quiet or as_json:
                report = write_cohort(registry, cohort, workers=workers)
            else:
                with Progress(
                    TextColumn("[bold]demo cohort[/bold] {task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                    transient=False,
                ) as bar:
                    task = bar.add_task("", total=len(cohort.patients))

                    def tick(done: int, total: int, ref: str) -> None:
                        bar.update(task, completed=done, description=ref)

                    report = write_cohort(registry, cohort, progress=tick, workers=workers)
        except CartwatchError as exc:
            raise fail(
                f"{exc} (the database may hold another cohort; use a new database or --if-empty)"
            ) from None
        summary = {
            "written": True,
            "seed": seed,
            "reference_date": cohort.reference_date.isoformat(),
            **cohort.counts(),
            **report.to_dict(),
        }
        if as_json:
            sys.stdout.write(json.dumps(summary, indent=2) + "\n")
            return
        counts = cohort.counts()
        console.print(
            f"{counts['patients']} patients (seed {seed}): {counts['assessments']} assessments, "
            f"{counts['administrations']} administrations, {counts['labs']} labs, "
            f"{counts['outcomes']} outcomes in {report.seconds:.1f} s; graded by "
            f"{report.graded_by}"
        )
