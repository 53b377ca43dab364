"""The care commands: dose, recommend, eligibility, calendar (Typer CliRunner on the real app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartwatch.cli import care
from cartwatch.cli._app import app

_registered = False


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    global _registered
    if not _registered:
        names = {c.name for c in app.registered_commands}
        if "recommend" not in names:
            care.register(app)
        _registered = True
    return CliRunner()


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_dose_tocilizumab_json(runner: CliRunner) -> None:
    out = _json(runner.invoke(app, ["dose", "tocilizumab", "--weight-kg", "72", "--json"]))
    assert out["dose"]["value"] == 576.0  # type: ignore[index]
    assert out["redose"] is None  # type: ignore[index]


def test_dose_tocilizumab_refused_redose(runner: CliRunner) -> None:
    out = _json(
        runner.invoke(
            app,
            [
                "dose",
                "tocilizumab",
                "--weight-kg",
                "72",
                "--prior-doses-h",
                "0,8,16,32",
                "--proposed-h",
                "48",
                "--json",
            ],
        )
    )
    assert out["redose"]["value"] is False  # type: ignore[index]
    assert out["redose"]["reason"] == "Maximum total of 4 doses already given"  # type: ignore[index]


def test_dose_tocilizumab_readable(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["dose", "tocilizumab", "--weight-kg", "29.9", "--prior-doses-h", "0", "--proposed-h", "4"],
    )
    assert result.exit_code == 0
    assert "358.8 mg" in result.stdout and "refused" in result.stdout


def test_implausible_weight_exits_2_with_one_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["dose", "tocilizumab", "--weight-kg", "-3"])
    assert result.exit_code == 2
    assert "weight_kg" in result.output and "Traceback" not in result.output


def test_centre_protocol_file(runner: CliRunner, tmp_path: Path) -> None:
    centre = tmp_path / "centre.toml"
    centre.write_text("[drugs.tocilizumab]\nmax_dose_mg = 600.0\n", encoding="utf-8")
    out = _json(
        runner.invoke(
            app, ["dose", "tocilizumab", "--weight-kg", "90", "--protocol", str(centre), "--json"]
        )
    )
    assert out["dose"]["value"] == 600.0  # type: ignore[index]
    assert out["dose"]["origin"] == str(centre)  # type: ignore[index]


def test_bad_centre_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    centre = tmp_path / "centre.toml"
    centre.write_text("[drugs.tocilizumab]\nmax_dose = 600.0\n", encoding="utf-8")
    result = runner.invoke(
        app, ["dose", "tocilizumab", "--weight-kg", "90", "--protocol", str(centre)]
    )
    assert result.exit_code == 2
    assert "max_dose_mg" in result.output


def test_dose_bsa_and_crcl(runner: CliRunner) -> None:
    bsa = _json(
        runner.invoke(app, ["dose", "bsa", "--height-cm", "170", "--weight-kg", "70", "--json"])
    )
    assert round(bsa[0]["value"], 4) == 1.8181  # type: ignore[index]
    crcl = _json(
        runner.invoke(
            app,
            [
                "dose",
                "crcl",
                "--age-years",
                "65",
                "--weight-kg",
                "80",
                "--creatinine-mg-dl",
                "1.0",
                "--sex",
                "male",
                "--json",
            ],
        )
    )
    assert round(crcl["value"], 2) == 83.33  # type: ignore[index]


def test_dose_lymphodepletion(runner: CliRunner) -> None:
    out = _json(
        runner.invoke(
            app,
            [
                "dose",
                "lymphodepletion",
                "--product",
                "axi-cel",
                "--height-cm",
                "170",
                "--weight-kg",
                "60",
                "--age-years",
                "72",
                "--sex",
                "female",
                "--creatinine-mg-dl",
                "1.1",
                "--renal-policy",
                "institutional_dfci",
                "--json",
            ],
        )
    )
    flu = out["agents"][0]  # type: ignore[index]
    assert flu["agent"] == "fludarabine" and flu["mg_per_m2"] == 18.0


def test_recommend_from_json_file(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"crs_grade": 0, "icans_grade": 2, "patient": {"weight_kg": 70}}))
    out = _json(runner.invoke(app, ["recommend", "--json", str(f), "--out-json"]))
    kinds = [a["kind"] for a in out["actions"]]  # type: ignore[index]
    assert "dexamethasone" in kinds and "tocilizumab" not in kinds


def test_recommend_rejects_unknown_fields(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"crs": 2}))
    result = runner.invoke(app, ["recommend", "--json", str(f)])
    assert result.exit_code == 2 and "crs" in result.output


def test_recommend_table(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["recommend", "--json", "-"],
        input=json.dumps({"crs_grade": 3, "patient": {"weight_kg": 80}}),
    )
    assert result.exit_code == 0 and "tocilizumab" in result.stdout


def test_eligibility(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "e.json"
    f.write_text(json.dumps({"candidate": {"lvef_percent": 45, "active_hepatitis_b": False}}))
    out = _json(runner.invoke(app, ["eligibility", "--json", str(f), "--out-json"]))
    assert out["overall"] == "not_eligible"  # type: ignore[index]
    assert out["failed"] == ["lvef_percent"]  # type: ignore[index]


def test_calendar_with_ics(runner: CliRunner, tmp_path: Path) -> None:
    ics = tmp_path / "cal.ics"
    out = _json(
        runner.invoke(
            app,
            [
                "calendar",
                "--infusion-date",
                "2025-09-10",
                "--product",
                "axi-cel",
                "--ics",
                str(ics),
                "--json",
            ],
        )
    )
    assert out["label_era"] == "June 2025 labels"  # type: ignore[index]
    text = ics.read_bytes().decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.count("BEGIN:VEVENT") == len(
        out["events"]  # type: ignore[index]
    )


def test_calendar_bad_date(runner: CliRunner) -> None:
    result = runner.invoke(app, ["calendar", "--infusion-date", "10/09/2025"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
