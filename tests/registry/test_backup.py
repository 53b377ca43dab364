"""`cartwatch db backup` / `restore` on real SQLite and PostgreSQL: a demo cohort round-trips with
every table's rows and the audit trail equal; a backup taken while another thread writes is
consistent; a file that is not a cartwatch backup and a non-empty target are refused clearly."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from cartwatch.errors import InvalidValue
from cartwatch.registry.backup import backup, restore
from cartwatch.registry.db import make_engine, normalise_url
from cartwatch.registry.demo import generate_cohort, write_cohort
from cartwatch.registry.repository import Registry
from tests.registry.conftest import POSTGRES

COHORT = generate_cohort(patients=4, seed=7)


def tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, as plain tuples."""
    engine = make_engine(url, upgrade=False)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as connection:
        found = {
            name: sorted(
                (tuple(str(v) for v in row) for row in connection.execute(select(table))),
            )
            for name, table in meta.tables.items()
        }
    engine.dispose()
    return found


def write_demo(url: str) -> Registry:
    registry = Registry(make_engine(url), actor="demo")
    write_cohort(registry, COHORT)
    return registry


@pytest.fixture()
def empty_target(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind: a new SQLite file, or a new PostgreSQL database with
    the same schema name (a pg_dump archive restores into the schema it was taken from)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    assert POSTGRES is not None
    name = f"cw_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    source = make_url(normalise_url(database_url))
    yield source.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_round_trip_keeps_every_row_and_the_audit_trail(
    database_url: str, empty_target: str, tmp_path: Path
) -> None:
    registry = write_demo(database_url)
    trail = [e.to_dict() for e in registry.audit_trail(COHORT.patients[0].patient_ref)]
    registry.engine.dispose()
    file = tmp_path / "cartwatch.backup"
    report = backup(database_url, file)
    assert file.stat().st_size == report.bytes > 0
    restore(empty_target, file)
    original, restored = tables(database_url), tables(empty_target)
    assert set(original) == set(restored)
    assert original == restored
    assert len(restored["audit_log"]) > 0 and len(restored["grades"]) > 0
    copy = Registry(make_engine(empty_target), actor="check")
    assert [e.to_dict() for e in copy.audit_trail(COHORT.patients[0].patient_ref)] == trail
    copy.engine.dispose()


def test_backup_while_another_thread_writes_is_consistent(
    database_url: str, empty_target: str, tmp_path: Path
) -> None:
    """Every patient in the copy has its audit row: the copy is one moment of the database."""
    registry = Registry(make_engine(database_url), actor="writer")
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        while not stop.is_set():
            ref = f"W-{len(written):05d}"
            registry.add_patient(patient_ref=ref, sex="female", weight_kg=70.0)
            registry.record_assessment(
                ref,
                assessed_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                data={"temperature_c": 38.5},
            )
            written.append(ref)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            stop.wait(0.05)
        file = tmp_path / "live.backup"
        backup(database_url, file)
        during = len(written)
    finally:
        stop.set()
        thread.join()
    registry.engine.dispose()
    restore(empty_target, file)
    engine = make_engine(empty_target, upgrade=False)
    with engine.connect() as connection:

        def count(sql: str) -> int:
            return int(connection.execute(text(sql)).scalar_one())

        patients = count("SELECT count(*) FROM patients WHERE patient_ref LIKE 'W-%'")
        audited = count(
            "SELECT count(*) FROM audit_log WHERE entity = 'patient' AND action = 'insert'"
        )
        assessments = count("SELECT count(*) FROM assessments")
        assessment_audit = count(
            "SELECT count(*) FROM audit_log WHERE entity = 'assessment' AND action = 'insert'"
        )
    engine.dispose()
    assert 20 <= patients <= during + 1
    assert audited == patients
    assert assessments == assessment_audit
    assert assessments in (patients, patients - 1)
    if empty_target.startswith("sqlite"):
        path = make_url(empty_target).database
        assert path is not None
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_restore_refuses_a_file_that_is_not_a_cartwatch_backup(
    database_url: str, tmp_path: Path
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n" * 100, encoding="utf-8")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    for file in (text_file, other, tmp_path / "missing.backup"):
        with pytest.raises(InvalidValue) as raised:
            restore(database_url, file)
        assert str(file) in str(raised.value)


def test_restore_refuses_a_non_empty_database_without_force(
    database_url: str, tmp_path: Path
) -> None:
    registry = write_demo(database_url)
    file = tmp_path / "before.backup"
    backup(database_url, file)
    before = tables(database_url)
    registry.add_patient(patient_ref="LATER-1", sex="male", weight_kg=80.0)
    registry.engine.dispose()
    with pytest.raises(InvalidValue, match="--force"):
        restore(database_url, file)
    assert tables(database_url) != before
    restore(database_url, file, force=True)
    assert tables(database_url) == before


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    """The commands a user types, in a subprocess: exit 0 and a report; a bad file exits 2."""
    source = f"sqlite:///{tmp_path / 'ward.db'}"
    write_demo(source).engine.dispose()
    file = tmp_path / "ward.backup"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cartwatch", "db", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = cli("backup", str(file), "--database", source)
    assert made.returncode == 0, made.stderr
    assert "backed up" in made.stdout
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    done = cli("restore", str(file), "--database", target)
    assert done.returncode == 0, done.stderr
    assert tables(source) == tables(target)
    again = cli("restore", str(file), "--database", target)
    assert again.returncode == 2 and "--force" in again.stderr
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"\x00" * 4096)
    refused = cli("restore", str(junk), "--database", f"sqlite:///{tmp_path / 'x.db'}")
    assert refused.returncode == 2
    assert "junk.backup" in refused.stderr and "Traceback" not in refused.stderr
    folder = cli("backup", str(tmp_path), "--database", source)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    assert "Traceback" not in folder.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    nowhere = cli("restore", str(file), "--database", f"sqlite:///{blocked / 'x.db'}")
    assert nowhere.returncode == 2 and "cannot create the folder" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
