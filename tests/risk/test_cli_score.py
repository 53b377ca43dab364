"""``cartwatch score``: JSON and the readable table with every component's contribution."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cartwatch.cli import grade, score
from cartwatch.cli._app import app

grade.register(app)  # with a single command Typer would run it as the root
score.register(app)
runner = CliRunner()

V112 = {
    "timepoint": "pre-lymphodepletion",
    "platelets_per_ul": 60000,
    "anc_per_ul": 2000,
    "hemoglobin_g_dl": 11.0,
    "crp_mg_dl": 1.0,
}


def test_json_from_stdin_prints_the_result() -> None:
    out = runner.invoke(app, ["score", "car_hematotox", "--json", "-"], input=json.dumps(V112))
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["status"] == "computed"
    assert data["value_range"] == [2, 4]
    assert data["risk"] == "high"
    assert data["components"][0]["points"] == 2


def test_json_file_input(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({**V112, "ferritin_ng_ml": 700}), encoding="utf-8")
    out = runner.invoke(app, ["score", "car_hematotox", "--json", str(path)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["value"] == 3


def test_table_shows_each_component_and_its_points() -> None:
    out = runner.invoke(
        app,
        [
            "score",
            "car_hematotox",
            "--platelets-per-ul",
            "60000",
            "--anc-per-ul",
            "2000",
            "--hemoglobin-g-dl",
            "11",
            "--crp-mg-l",
            "10",
            "--ferritin-ng-ml",
            "2500",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "platelets_per_ul" in out.stdout and "ferritin_ng_ml" in out.stdout
    assert "4 points; risk high" in out.stdout


def test_options_are_passed_to_the_score() -> None:
    data = {**V112, "platelets_per_ul": 175000, "ferritin_ng_ml": 100}
    out = runner.invoke(
        app,
        [
            "score",
            "car_hematotox",
            "--json",
            "-",
            "--option",
            "boundary_rule=cutoff_to_lower_points",
        ],
        input=json.dumps(data),
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["value"] == 0


def test_a_grading_scale_is_refused_with_a_pointer_to_grade() -> None:
    out = runner.invoke(app, ["score", "icaht_early", "--json", "-"], input="{}")
    assert out.exit_code == 2
    assert "cartwatch grade" in out.output


def test_bad_input_exits_2_with_the_field_named() -> None:
    out = runner.invoke(
        app, ["score", "easix", "--json", "-"], input=json.dumps({"platelets_per_ul": -5})
    )
    assert out.exit_code == 2
    assert "platelets_per_ul" in out.output


def test_missing_name_lists_the_scores() -> None:
    out = runner.invoke(app, ["score"])
    assert out.exit_code == 2
    assert "gust2017_tree" in out.output
