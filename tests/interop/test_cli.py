"""The CLI end to end in subprocesses, on real SQLite and PostgreSQL: exit codes and reports,
skip-bad-rows, exports, and a SIGKILL in the middle of a large import (nothing half-written; a
re-run completes it)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cartwatch.interop.csv_io import import_csv
from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from tests.interop.conftest import write

# Runs ``cartwatch`` with the interop commands registered (whether or not the lead has wired
# ``cartwatch.cli.interop`` into ``_COMMAND_MODULES`` yet).
BOOT = (
    "import sys\n"
    "from cartwatch.cli import _app\n"
    "if 'cartwatch.cli.interop' not in _app._COMMAND_MODULES:\n"
    "    _app._COMMAND_MODULES += ('cartwatch.cli.interop',)\n"
    "_app.main(sys.argv[1:])\n"
)
KILL_ROWS = 12_000
KILL_PATIENTS = 60


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CARTWATCH_DATABASE_URL"] = url
    env["COLUMNS"] = "200"
    return env


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BOOT, *args],
        capture_output=True,
        text=True,
        env=_env(url),
        timeout=120,
        check=False,
    )


PATIENTS = "patient_ref,sex,weight_kg\nP1,female,70\nP2,male,80\n"
INFUSIONS = "patient_ref,infusion_ref,infused_at\nP1,I1,2026-03-01T10:00:00Z\n"
DRUGS = "patient_ref,given_at,drug,dose_mg\nP1,2026-03-02T21:00:00Z,tocilizumab,560\n"
ASSESSMENTS = """patient_ref,assessed_at,temperature_c,hypotension,oxygen.device
P1,2026-03-02T08:00:00Z,39.1,none,none
P1,2026-03-02T20:00:00Z,38.2,fluid_responsive,none
P1,2026-03-04T08:00:00Z,36.8,none,none
P1,2026-03-07T08:00:00Z,36.9,none,none
"""
BAD = """patient_ref,assessed_at,temperature_c,hypotension
P1,2026-03-08T08:00:00Z,37.0,none
P1,2026-03-08T09:00:00,37.0,none
P2,2026-03-08T10:00:00Z,37.0,hypotensive
"""


def _setup(url: str, tmp_path: Path, *kinds: tuple[str, str]) -> None:
    """Earlier files imported in-process (the same code path; saves interpreter start-ups)."""
    engine = make_engine(url)
    registry = Registry(engine, actor="setup")
    for kind, text in kinds:
        assert import_csv(registry, kind, write(tmp_path / f"{kind}.csv", text)).written
    engine.dispose()


def test_import_then_export_episodes_through_the_cli(database_url: str, tmp_path: Path) -> None:
    _setup(
        database_url,
        tmp_path,
        ("patients", PATIENTS),
        ("infusions", INFUSIONS),
        ("administrations", DRUGS),
    )
    done = cli(
        database_url,
        "import",
        "assessments",
        str(write(tmp_path / "a.csv", ASSESSMENTS)),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows_read"], report["inserted"], report["rejected"]) == (4, 4, 0)
    out = cli(database_url, "export", "episodes", "--format", "csv", "--scale", "astct_crs")
    assert out.returncode == 0, out.stderr
    (episode,) = list(csv.DictReader(io.StringIO(out.stdout)))
    assert episode["patient_id"] == "P1"
    assert episode["onset_at"].startswith("2026-03-02T08:00:00")
    assert episode["max_grade"] == "2"
    assert episode["treatments"] == "tocilizumab"
    form = cli(
        database_url,
        "export",
        "registry-form",
        "--form",
        "ebmt-day100",
        "--period-start",
        "2026-03-01",
        "--period-end",
        "2026-06-08",
    )
    assert form.returncode == 0, form.stderr
    (record,) = json.loads(form.stdout)
    assert record["crs"]["max_grade"] == 2 and record["crs"]["therapies"] == ["tocilizumab"]


def test_rejected_rows_exit_2_with_the_report_and_write_nothing(
    database_url: str, tmp_path: Path
) -> None:
    _setup(database_url, tmp_path, ("patients", PATIENTS))
    bad = write(tmp_path / "bad.csv", BAD)
    done = cli(database_url, "import", "assessments", str(bad))
    assert done.returncode == 2
    assert "rejected rows" in done.stdout
    table = [line for line in done.stdout.splitlines() if "│" in line]
    assert any("3" in line and "assessed_at" in line and "no time zone" in line for line in table)
    assert any("4" in line and "hypotension" in line for line in table)
    engine = make_engine(database_url)
    assert Registry(engine).assessments("P1") == []
    skipped = cli(database_url, "import", "assessments", str(bad), "--skip-bad-rows", "--json")
    assert skipped.returncode == 0
    report = json.loads(skipped.stdout)
    assert (report["inserted"], report["rejected"]) == (1, 2)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "assessed_at"),
        (4, "hypotension"),
    ]
    assert len(Registry(engine).assessments("P1")) == 1
    engine.dispose()


def _big_file(path: Path) -> Path:
    lines = ["patient_ref,assessed_at,temperature_c"]
    per = KILL_ROWS // KILL_PATIENTS
    for p in range(KILL_PATIENTS):
        for k in range(per):
            lines.append(
                f"K{p:03d},2026-03-{1 + k // 24 % 28:02d}T{k % 24:02d}:{p % 60:02d}:00Z,"
                f"{36.5 + (k % 40) / 10:.1f}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sigkill_midway_leaves_nothing_and_a_rerun_completes(
    database_url: str, tmp_path: Path
) -> None:
    patients = "patient_ref\n" + "".join(f"K{p:03d}\n" for p in range(KILL_PATIENTS))
    _setup(database_url, tmp_path, ("patients", patients))
    engine = make_engine(database_url)
    before = Registry(engine).audit_count()
    big = _big_file(tmp_path / "big.csv")
    process = subprocess.Popen(
        [sys.executable, "-c", BOOT, "import", "assessments", str(big), "--no-derive"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(database_url),
    )
    assert process.stderr is not None
    started = False
    for line in process.stderr:
        if line.startswith("writing "):
            started = True
            break
    assert started, "the import never reached its write phase"
    time.sleep(0.4)
    assert process.poll() is None, "the import finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    registry = Registry(engine)
    assert registry.audit_count() == before
    assert all(registry.assessments(f"K{p:03d}") == [] for p in range(KILL_PATIENTS))
    rerun = import_csv(registry, "assessments", big)  # the same code the CLI runs
    assert rerun.written and (rerun.inserted, rerun.unchanged) == (KILL_ROWS, 0)
    assert sum(len(registry.assessments(f"K{p:03d}")) for p in range(KILL_PATIENTS)) == KILL_ROWS
    engine.dispose()
