"""CSV import: every row validated, each bad row reported with line, field and reason; the file
written in one transaction (all or nothing) unless bad rows are explicitly skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from cartwatch.errors import InvalidValue
from cartwatch.interop.records import KINDS, Kind, Row, check_header, parse_row
from cartwatch.interop.report import ImportReport, RowError
from cartwatch.interop.store import Progress, write_rows
from cartwatch.registry.repository import Registry

PROGRESS_EVERY = 500  # rows validated between progress updates


def check_kind(kind: str) -> Kind:
    """``kind`` as one of :data:`~cartwatch.interop.records.KINDS`."""
    for known in KINDS:
        if kind == known:
            return known
    raise InvalidValue(
        f"`{kind}` is not something cartwatch imports; expected one of: {', '.join(KINDS)}",
        field="kind",
        value=kind,
        expected=", ".join(KINDS),
    )


def read_csv(
    kind: Kind, stream: IO[str], *, report: ImportReport, progress: Progress | None = None
) -> list[Row]:
    """Validate every row of a CSV stream; faults go to ``report.errors``."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        report.errors.append(
            RowError(line=1, field=None, value=None, reason="the file is empty (no header)")
        )
        return []
    reader.fieldnames = header
    header_errors = check_header(kind, header)
    if header_errors:
        report.errors.extend(header_errors)
        return []
    rows: list[Row] = []
    end = reader.line_num
    for cells in reader:
        line = end + 1
        end = reader.line_num
        report.rows_read += 1
        if None in cells:
            report.errors.append(
                RowError(
                    line=line,
                    field=None,
                    value=None,
                    reason=f"the row has more cells than the header's {len(header)} columns",
                    expected=f"{len(header)} cells",
                )
            )
            continue
        if progress is not None and report.rows_read % PROGRESS_EVERY == 0:
            progress.advance(PROGRESS_EVERY)
        row, errors = parse_row(kind, line, cells)
        if row is not None:
            rows.append(row)
        report.errors.extend(errors)
    return rows


def import_csv(
    registry: Registry,
    kind: str,
    path: str | Path,
    *,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV file of ``kind`` (patients, products, infusions, assessments,
    administrations, labs, outcomes) into ``registry``.

    Without ``skip_bad_rows`` one bad row means nothing of the file is written; either way the
    report lists every bad row. Importing the same file again changes nothing.
    """
    checked = check_kind(kind)
    file = Path(path)
    report = ImportReport(kind=checked, source=str(file))
    if progress is not None:
        with file.open("rb") as raw:
            lines = sum(1 for _ in raw)
        progress.start("validating", max(lines - 1, 0))
    try:
        with file.open(newline="", encoding="utf-8-sig") as stream:
            rows = read_csv(checked, stream, report=report, progress=progress)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidValue(
            f"`{file.name}` cannot be read as CSV in UTF-8 ({exc})",
            field="file",
            value=str(file),
            expected="a UTF-8 CSV file with a header row",
        ) from None
    if any(e.line == 1 for e in report.errors):
        return report
    write_rows(
        registry,
        checked,
        rows,
        report=report,
        skip_bad_rows=skip_bad_rows,
        progress=progress,
        note=f"import {file.name}",
    )
    return report


def write_csv(stream: IO[str], columns: Iterable[str], rows: Iterable[dict[str, str]]) -> None:
    """Rows as CSV under ``columns`` (missing cells blank)."""
    writer = csv.DictWriter(stream, fieldnames=list(columns), extrasaction="raise", restval="")
    writer.writeheader()
    writer.writerows(rows)
