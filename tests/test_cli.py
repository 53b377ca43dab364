"""The ``cartwatch`` command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cartwatch", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scales_lists_every_grading_scale() -> None:
    out = run("scales", "--json")
    assert out.returncode == 0, out.stderr
    ids = {s["id"] for s in json.loads(out.stdout)}
    assert {
        "astct_crs",
        "astct_icans",
        "lee2014_crs",
        "cartox_crs",
        "cartox_cres",
        "penn_crs",
        "mskcc_crs",
        "ctcae5_crs",
    } <= ids


def test_grade_from_a_json_file_prints_the_result(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"temperature_c": 39.4, "hypotension": "vasopressor_multiple"}))
    out = run("grade", "astct_crs", "--json", str(path))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["grade"] == 4 and result["status"] == "graded"


def test_grade_from_stdin() -> None:
    out = run(
        "grade",
        "astct_icans",
        "--json",
        "-",
        stdin=json.dumps(
            {
                "age_years": 55,
                "ice_total": 9,
                "consciousness": "alert",
                "seizure": "none",
                "motor": "none",
                "icp_edema": "none",
            }
        ),
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["grade"] == 1


def test_bedside_options_print_grade_why_and_missing() -> None:
    out = run(
        "grade",
        "astct_crs",
        "--temperature-c",
        "39.1",
        "--hypotension",
        "vasopressor_single",
        "--oxygen-device",
        "low_flow_nasal_cannula",
        "--oxygen-flow-l-min",
        "4",
    )
    assert out.returncode == 0, out.stderr
    assert "grade 3" in out.stdout and "vasopressor" in out.stdout


def test_open_grade_shows_range_and_missing_fields() -> None:
    out = run(
        "grade", "astct_crs", "--temperature-c", "39.1", "--hypotension", "vasopressor_single"
    )
    assert out.returncode == 0
    assert "3–4" in out.stdout and "oxygen.device" in out.stdout


def test_all_scales_side_by_side() -> None:
    out = run(
        "grade",
        "--all",
        "--format",
        "json",
        "--temperature-c",
        "38.5",
        "--hypotension",
        "none",
        "--oxygen-device",
        "cpap",
        "--oxygen-fio2",
        "0.4",
    )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert results["astct_crs"]["grade"] == 4
    assert results["penn_crs"]["grade"] == 3
    assert results["lee2014_crs"]["grade"] == 3


def test_scale_option_is_passed_through() -> None:
    out = run(
        "grade",
        "astct_icans",
        "--format",
        "json",
        "--option",
        "pediatric_age_rule=ncit_le12",
        "--age-years",
        "12",
        "--capd-score",
        "9",
        "--consciousness",
        "alert",
        "--seizure",
        "none",
        "--motor",
        "none",
        "--icp-edema",
        "none",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["grade"] == 3


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("grade", "astct_crz", "--temperature-c", "39"), "did you mean astct_crs"),
        (("grade", "astct_crs", "--temprature-c", "39"), "did you mean --temperature-c"),
        (("grade", "astct_crs", "--temperature-c", "101"), "temperature_f"),
        (("grade", "astct_crs", "--hypotension", "pressor"), "vasopressor_single"),
        (("grade", "astct_crs", "--json", "/nonexistent.json"), "cannot read"),
        (("grade",), "name a scale"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    args: tuple[str, ...], fragment: str
) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_malformed_json_is_reported() -> None:
    out = run("grade", "astct_crs", "--json", "-", stdin="{not json")
    assert out.returncode == 2 and "not valid JSON" in out.stderr
