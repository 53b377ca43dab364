"""``cartwatch import KIND FILE`` and ``cartwatch export …``: CSV and FHIR in, episodes,
registry-form records, patients and assessments out.

The database is ``--database`` or ``CARTWATCH_DATABASE_URL`` (SQLite in the user's data
directory by default). An import with rejected rows writes nothing and exits 2 with the report,
unless ``--skip-bad-rows`` is given.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cartwatch.cli._app import fail
from cartwatch.errors import CartwatchError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
export_app = typer.Typer(help="Export episodes, registry forms, patients, assessments, FHIR.")

PROGRESS_MIN_ROWS = 2000  # files with more lines than this show a progress bar
DERIVED_KINDS = ("assessments", "administrations", "infusions", "fhir")
IMPORT_KINDS = (
    "patients",
    "products",
    "infusions",
    "assessments",
    "administrations",
    "labs",
    "outcomes",
    "fhir",
)


class _Bar:
    """A Rich progress bar on stderr for the import's phases."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> _Bar:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, exc, tb)

    def start(self, phase: str, total: int) -> None:
        if phase == "writing":
            err_console.print(f"writing {total} rows in one transaction", markup=False)
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(phase, total=total)

    def advance(self, count: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, count)

    def step(self, done: int, total: int) -> None:
        if self._task is None or self._progress.tasks[-1].description != "deriving episodes":
            self.start("deriving episodes", total)
        self._progress.update(self._task, completed=done)


def _open(database: str | None, actor: str) -> Any:
    from cartwatch.registry.repository import Registry

    try:
        return Registry.open(database, actor=actor)
    except CartwatchError as exc:
        raise fail(str(exc)) from None


def _lines(path: Path) -> int:
    with path.open("rb") as raw:
        return sum(1 for _ in raw)


def _print_reports(reports: list[Any], as_json: bool) -> None:
    if as_json:
        payload = [r.to_dict() for r in reports]
        sys.stdout.write(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2) + "\n")
        return
    table = Table(title="import")
    for column in ("kind", "rows read", "inserted", "unchanged", "rejected", "written"):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.kind,
            str(r.rows_read),
            str(r.inserted),
            str(r.unchanged),
            str(r.rejected),
            "yes" if r.written else "no",
        )
    console.print(table)
    errors = [e for r in reports for e in r.errors]
    if errors:
        bad = Table(title="rejected rows")
        for column in ("line", "field", "reason"):
            bad.add_column(column, overflow="fold")
        for e in sorted(errors, key=lambda e: e.line):
            bad.add_row(str(e.line), e.field or "", e.reason)
        console.print(bad)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror}") from None
        err_console.print(f"wrote {out}", markup=False)


def _episodes(registry: Any, scales: list[str] | None) -> list[dict[str, Any]]:
    try:
        from cartwatch.services.episodes import cohort_episodes
    except ImportError:
        raise fail("episode derivation (cartwatch.services.episodes) is not installed") from None
    rows: list[dict[str, Any]] = cohort_episodes(registry, scales=scales or None)
    return rows


def _pseudonymiser(pseudonymise: bool, key_file: Path | None) -> Any:
    if not pseudonymise:
        if key_file is not None:
            raise fail("--key-file is only used with --pseudonymise")
        return None
    from cartwatch.interop.pseudonymise import Pseudonymiser, load_key

    try:
        return Pseudonymiser(load_key(key_file))
    except CartwatchError as exc:
        raise fail(str(exc)) from None


PSEUDONYMISE_HELP = (
    "replace patient references by keyed pseudonyms (HMAC-SHA256), drop date of birth, centre "
    "and free text, shift dates per patient"
)
KEY_FILE_HELP = "the pseudonymisation key (default: env CARTWATCH_PSEUDONYM_KEY)"


def register(app: typer.Typer) -> None:
    """Add ``import`` and ``export`` to the main app (once, however often it is called)."""
    if any(c.name == "import" for c in app.registered_commands):
        return

    @app.command("import")
    def import_command(
        kind: str = typer.Argument(..., help="one of: " + ", ".join(IMPORT_KINDS)),
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or FHIR JSON"),
        skip_bad_rows: bool = typer.Option(
            False, "--skip-bad-rows", help="write the good rows; still report the bad ones"
        ),
        database: str = typer.Option(None, "--database", help="database URL"),
        actor: str = typer.Option("import", "--actor", help="who imports (audit trail)"),
        derive: bool = typer.Option(
            True, "--derive/--no-derive", help="grade and re-derive episodes afterwards"
        ),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    ) -> None:
        """Import a CSV file (header = contract names) or a FHIR R4 Bundle; all rows or none."""
        from cartwatch.interop.csv_io import import_csv
        from cartwatch.interop.derive import rederive
        from cartwatch.interop.fhir import import_bundle

        if kind not in IMPORT_KINDS:
            raise fail(
                f"`{kind}` is not something cartwatch imports; expected one of: "
                + ", ".join(IMPORT_KINDS)
            )
        registry = _open(database, actor)
        big = _lines(file) > PROGRESS_MIN_ROWS
        try:
            with _Bar() as bar:
                if kind == "fhir":
                    reports = import_bundle(registry, file, skip_bad_rows=skip_bad_rows)
                else:
                    reports = [
                        import_csv(
                            registry,
                            kind,
                            file,
                            skip_bad_rows=skip_bad_rows,
                            progress=bar if big else None,
                        )
                    ]
                touched = {p for r in reports if r.written for p in r.patients}
                derive_error: str | None = None
                if derive and kind in DERIVED_KINDS and touched:
                    try:
                        rederive(registry, touched, progress=bar.step if big else None)
                    except (CartwatchError, ImportError) as exc:
                        derive_error = str(exc)
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        _print_reports(reports, as_json)
        if any(r.errors for r in reports) and not skip_bad_rows:
            raise typer.Exit(code=2)
        if derive_error is not None:
            err_console.print(
                f"warning: the rows were imported, but grading and deriving episodes failed "
                f"({derive_error}); run `cartwatch regrade`",
                markup=False,
            )
            raise typer.Exit(code=1)

    @export_app.command("episodes")
    def export_episodes(
        fmt: str = typer.Option("csv", "--format", help="csv, json or fhir (AdverseEvent)"),
        scale: list[str] = typer.Option(None, "--scale", help="only these scales (repeatable)"),
        out: Path = typer.Option(None, "--out", help="file to write (default: stdout)"),
        database: str = typer.Option(None, "--database", help="database URL"),
        pseudonymise: bool = typer.Option(False, "--pseudonymise", help=PSEUDONYMISE_HELP),
        key_file: Path = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    ) -> None:
        """Toxicity episodes: patient_id, scale, onset, maximum grade, resolution, treatments.

        These are the stored episodes, derived after each import (unless --no-derive) and by
        `cartwatch regrade`.
        """
        from cartwatch.interop.export import episodes_text

        if fmt not in ("csv", "json", "fhir"):
            raise fail(f"`--format {fmt}` is not csv, json or fhir")
        pseudonymiser = _pseudonymiser(pseudonymise, key_file)
        registry = _open(database, "export")
        try:
            text = episodes_text(
                _episodes(registry, scale),
                fmt=fmt,  # type: ignore[arg-type]
                pseudonymiser=pseudonymiser,
            )
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        _write(text, out)

    @export_app.command("registry-form")
    def export_registry_form(
        form: str = typer.Option(..., "--form", help="cibmtr-f4100 or ebmt-day100"),
        period_start: str = typer.Option(..., "--period-start", help="YYYY-MM-DD"),
        period_end: str = typer.Option(..., "--period-end", help="YYYY-MM-DD (inclusive)"),
        fmt: str = typer.Option("json", "--format", help="json or csv"),
        tz: str = typer.Option("UTC", "--tz", help="time zone of the reported dates"),
        out: Path = typer.Option(None, "--out", help="file to write (default: stdout)"),
        database: str = typer.Option(None, "--database", help="database URL"),
    ) -> None:
        """CRS/ICANS per patient and reporting period, shaped as CIBMTR F4100 or EBMT Day-100."""
        from cartwatch.interop.export import FORMS, registry_form, registry_form_text

        if form not in FORMS:
            raise fail(f"`--form {form}` is not one of: {', '.join(FORMS)}")
        if fmt not in ("json", "csv"):
            raise fail(f"`--format {fmt}` is not json or csv")
        try:
            start = dt.date.fromisoformat(period_start)
            end = dt.date.fromisoformat(period_end)
        except ValueError:
            raise fail("`--period-start`/`--period-end` must be dates YYYY-MM-DD") from None
        registry = _open(database, "export")
        try:
            records = registry_form(
                registry,
                form=form,
                period_start=start,
                period_end=end,
                episodes=_episodes(registry, None),
                tz=tz,
            )
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        except (KeyError, ValueError) as exc:
            raise fail(f"`--tz {tz}` is not a time zone ({exc})") from None
        _write(registry_form_text(records, fmt=fmt), out)  # type: ignore[arg-type]

    @export_app.command("patients")
    def export_patients(
        fmt: str = typer.Option("csv", "--format", help="csv"),
        out: Path = typer.Option(None, "--out", help="file to write (default: stdout)"),
        database: str = typer.Option(None, "--database", help="database URL"),
        pseudonymise: bool = typer.Option(False, "--pseudonymise", help=PSEUDONYMISE_HELP),
        key_file: Path = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    ) -> None:
        """Every patient, in the columns ``cartwatch import patients`` reads."""
        from cartwatch.interop.export import patients_csv

        if fmt != "csv":
            raise fail(f"`--format {fmt}` is not csv")
        pseudonymiser = _pseudonymiser(pseudonymise, key_file)
        _write(patients_csv(_open(database, "export"), pseudonymiser=pseudonymiser), out)

    @export_app.command("assessments")
    def export_assessments(
        fmt: str = typer.Option("csv", "--format", help="csv"),
        out: Path = typer.Option(None, "--out", help="file to write (default: stdout)"),
        database: str = typer.Option(None, "--database", help="database URL"),
        pseudonymise: bool = typer.Option(False, "--pseudonymise", help=PSEUDONYMISE_HELP),
        key_file: Path = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    ) -> None:
        """Every assessment as contract columns (nested fields dotted), re-importable."""
        from cartwatch.interop.export import assessments_csv

        if fmt != "csv":
            raise fail(f"`--format {fmt}` is not csv")
        pseudonymiser = _pseudonymiser(pseudonymise, key_file)
        _write(assessments_csv(_open(database, "export"), pseudonymiser=pseudonymiser), out)

    @export_app.command("fhir")
    def export_fhir(
        out: Path = typer.Option(None, "--out", help="file to write (default: stdout)"),
        patient: list[str] = typer.Option(None, "--patient", help="only these patients"),
        database: str = typer.Option(None, "--database", help="database URL"),
    ) -> None:
        """The registry as a FHIR R4 Bundle (Patient, Observation, MedicationAdministration)."""
        from cartwatch.interop.fhir import export_bundle

        try:
            bundle = export_bundle(_open(database, "export"), patient_refs=patient or None)
        except CartwatchError as exc:
            raise fail(str(exc)) from None
        _write(json.dumps(bundle, indent=2) + "\n", out)

    app.add_typer(export_app, name="export")
