"""`cartwatch export … --pseudonymise`: no original reference, date of birth or free text in the
output; the same key gives the same pseudonyms; intervals survive the per-patient date shift."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cartwatch.interop.pseudonymise import Pseudonymiser
from cartwatch.registry.db import make_engine
from cartwatch.registry.demo import generate_cohort, write_cohort
from cartwatch.registry.repository import Registry

SECRET_NOTE = "wife Margaret visiting from Leeds"
DOB = dt.date(1961, 4, 17)
KEY = b"a-test-key-of-32-bytes-0123456789"


@pytest.fixture(scope="module")
def ward_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pseudo') / 'ward.db'}"
    registry = Registry(make_engine(url), actor="demo")
    write_cohort(registry, generate_cohort(patients=3, seed=3))
    registry.add_patient(
        patient_ref="MRN-4471",
        sex="female",
        date_of_birth=DOB,
        weight_kg=61.0,
        centre="St Elsewhere",
    )
    for hours, temperature in ((0, 38.6), (30, 39.2)):
        registry.record_assessment(
            "MRN-4471",
            assessed_at=dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC) + dt.timedelta(hours=hours),
            data={"temperature_c": temperature, "note": SECRET_NOTE},
        )
    refs = [p.patient_ref for p in registry.list_patients()]
    registry.engine.dispose()
    return url, refs


def export(url: str, tmp: Path, *args: str, key: bytes = KEY) -> subprocess.CompletedProcess[str]:
    key_file = tmp / "key"
    key_file.write_bytes(key)
    return subprocess.run(
        [
            *(sys.executable, "-m", "cartwatch", "export", *args, "--pseudonymise"),
            *("--key-file", str(key_file), "--database", url),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


KINDS = (
    ("patients",),
    ("assessments",),
    ("episodes", "--format", "csv"),
    ("episodes", "--format", "json"),
    ("episodes", "--format", "fhir"),
)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: "-".join(k))
def test_no_reference_date_of_birth_or_free_text_leaks(
    ward_db: tuple[str, list[str]], tmp_path: Path, kind: tuple[str, ...]
) -> None:
    url, refs = ward_db
    done = export(url, tmp_path, *kind)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for ref in refs:
        assert ref not in out
    assert DOB.isoformat() not in out and "1961" not in out
    assert SECRET_NOTE not in out and "St Elsewhere" not in out and "DEMO" not in out
    assert KEY.decode() not in out
    assert "PSN-" in out
    assert "HMAC-SHA256" in out
    if kind[-1] == "fhir":
        assert json.loads(out)["meta"]["security"][0]["code"] == "PSEUDED"
    again = export(url, tmp_path, *kind)
    assert again.stdout == out
    other = export(url, tmp_path, *kind, key=b"another-key-of-enough-length-42")
    assert other.returncode == 0 and other.stdout != out


def test_dates_shift_per_patient_and_intervals_survive(
    ward_db: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, _ = ward_db
    done = export(url, tmp_path, "assessments")
    lines = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    pseudonym = Pseudonymiser(KEY).ref("MRN-4471")
    mine = sorted(r["assessed_at"] for r in rows if r["patient_ref"] == pseudonym)
    assert len(mine) == 2
    first, second = (dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in mine)
    assert second - first == dt.timedelta(hours=30)
    shift = first - dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    assert shift == Pseudonymiser(KEY).shift("MRN-4471") and shift.days != 0
    assert "note" not in rows[0] and all(r["source_key"] == "" for r in rows)


def test_a_missing_or_short_key_is_a_clear_error(
    ward_db: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, _ = ward_db
    short = export(url, tmp_path, "patients", key=b"short")
    assert short.returncode == 2
    assert "at least 16 bytes" in short.stderr and "Traceback" not in short.stderr
    env = {k: v for k, v in os.environ.items() if k != "CARTWATCH_PSEUDONYM_KEY"}
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "cartwatch",
            "export",
            "patients",
            "--pseudonymise",
            f"--database={url}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert missing.returncode == 2
    assert "--key-file" in missing.stderr and "CARTWATCH_PSEUDONYM_KEY" in missing.stderr
