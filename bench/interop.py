"""CSV import speed: rows/s of ``import_csv`` (assessments) into SQLite and PostgreSQL against a
bare ``executemany`` insert of the same rows (already serialised) in the same database and run.

The import validates every row through the contract, checks natural keys against the record,
and writes an audit row per insert in one transaction; the baseline does none of that. The ratio
is what those guarantees cost. Rerun: ``.venv/bin/python -m bench interop``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from cartwatch.interop.csv_io import import_csv
from cartwatch.interop.records import AssessmentRow, parse_row
from cartwatch.registry.db import make_engine, normalise_url
from cartwatch.registry.repository import Registry

ROWS = 20_000
PATIENTS = 200
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
HEADER = (
    "patient_ref,assessed_at,source_key,temperature_c,hypotension,oxygen.device,"
    "oxygen.flow_l_min,ice.orientation,ice.naming,ice.commands,ice.writing,ice.attention,"
    "consciousness,crp_mg_l"
)
DEVICES = ("none", "low_flow_nasal_cannula", "high_flow_nasal_cannula")
HYPO = ("none", "fluid_responsive", "vasopressor_count_unknown")


def make_csv(path: Path, *, rows: int = ROWS, patients: int = PATIENTS, seed: int = 7) -> Path:
    """A synthetic assessments file: ``rows`` rows spread over ``patients`` patients."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    per = rows // patients
    lines = [HEADER]
    for p in range(patients):
        for k in range(per):
            at = (start + dt.timedelta(hours=6 * k, minutes=p)).isoformat().replace("+00:00", "Z")
            device = rng.choice(DEVICES)
            flow = "" if device == "none" else str(rng.choice((2, 4, 30)))
            lines.append(
                f"P{p:05d},{at},bench,{rng.uniform(36.0, 40.5):.1f},{rng.choice(HYPO)},{device},"
                f"{flow},{rng.randint(0, 4)},{rng.randint(0, 3)},1,1,1,alert,"
                f"{rng.uniform(1, 300):.1f}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_patients(path: Path, *, patients: int = PATIENTS) -> Path:
    path.write_text(
        "patient_ref\n" + "".join(f"P{p:05d}\n" for p in range(patients)), encoding="utf-8"
    )
    return path


def _baseline(engine: Engine, csv_path: Path) -> float:
    """Seconds for a bare executemany of the same rows (serialised up front, not timed)."""
    import csv

    with csv_path.open(newline="") as stream:
        reader = csv.DictReader(stream)
        params = []
        for line, cells in enumerate(reader, start=2):
            row, _ = parse_row("assessments", line, cells)
            assert isinstance(row, AssessmentRow)
            params.append(
                {
                    "patient": row.patient_ref,
                    "at": row.assessed_at.isoformat(),
                    "key": "bench",
                    "data": json.dumps(row.data),
                }
            )
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE bench_bare (patient VARCHAR(64), at VARCHAR(40), "
                "key VARCHAR(64), data TEXT)"
            )
        )
    begin = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bench_bare VALUES (:patient, :at, :key, :data)"), params
        )
    return time.perf_counter() - begin


def _measure(url: str, folder: Path, csv_path: Path) -> dict[str, Any]:
    engine = make_engine(url)
    registry = Registry(engine, actor="bench")
    import_csv(registry, "patients", make_patients(folder / "patients.csv"))
    begin = time.perf_counter()
    report = import_csv(registry, "assessments", csv_path)
    seconds = time.perf_counter() - begin
    assert report.ok and report.inserted == ROWS, report.to_dict()
    begin = time.perf_counter()
    again = import_csv(registry, "assessments", csv_path)
    reimport = time.perf_counter() - begin
    assert again.unchanged == ROWS
    bare = _baseline(engine, csv_path)
    engine.dispose()
    return {
        "rows": ROWS,
        "import_rows_per_s": round(ROWS / seconds),
        "reimport_unchanged_rows_per_s": round(ROWS / reimport),
        "bare_executemany_rows_per_s": round(ROWS / bare),
        "import_vs_bare_ratio": round(seconds / bare, 1),
    }


def _postgres_schema() -> tuple[str, Engine, str] | None:
    try:
        admin = create_engine(
            normalise_url(POSTGRES),
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3},
        )
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:
        return None
    return f"{POSTGRES}?options=-csearch_path%3D{schema}", admin, schema


def run() -> dict[str, Any]:
    """Import throughput on SQLite and PostgreSQL, each with its executemany baseline."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = make_csv(folder / "assessments.csv")
        out["sqlite"] = _measure(f"sqlite:///{folder / 'bench.db'}", folder, csv_path)
        pg = _postgres_schema()
        if pg is None:
            out["postgresql"] = "skipped: no server at 127.0.0.1:5432"
        else:
            url, admin, schema = pg
            try:
                out["postgresql"] = _measure(url, folder, csv_path)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
