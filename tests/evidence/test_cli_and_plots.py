"""``cartwatch meta pool`` and the forest/funnel plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cartwatch.cli._app import app
from cartwatch.cli.meta import register
from cartwatch.errors import InvalidValue
from cartwatch.evidence import outcome_table, pool

_registered: list[typer.Typer] = []


def _app() -> typer.Typer:
    if not _registered:
        register(app)
        _registered.append(app)
    return app


def test_meta_pool_json_equals_the_library_result() -> None:
    res = CliRunner().invoke(
        _app(), ["meta", "pool", "--outcome", "crs_grade3plus", "--test", "knha", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    t = outcome_table(outcome="crs_grade3plus")
    r = pool(t.events, t.totals, test="knha")
    assert out["result"]["estimate"] == r.estimate
    assert out["result"]["proportion"]["pi_ub"] == r.proportion.pi_ub  # type: ignore[union-attr]
    assert any(x["label"] == "NCT03455972" for x in out["left_out"])


def test_meta_pool_by_disease_group_writes_the_forest_plot(tmp_path: Path) -> None:
    png = tmp_path / "forest.png"
    res = CliRunner().invoke(_app(), ["meta", "pool", "--by", "disease_group", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "Subgroup difference" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_meta_pool_reads_a_user_table(tmp_path: Path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text("study,events,total\nA,3,20\nB,5,25\nC,9,30\n", encoding="utf-8")
    res = CliRunner().invoke(_app(), ["meta", "pool", "--input", str(p), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["result"]["k"] == 3


def test_meta_pool_bad_option_exits_2_with_one_line() -> None:
    res = CliRunner().invoke(_app(), ["meta", "pool", "--method", "XYZ"])
    assert res.exit_code == 2
    assert "method" in res.output


def test_svg_plots_are_written(tmp_path: Path) -> None:
    r = pool([2, 15, 30, 5], [40, 30, 50, 60])
    forest = r.forest_plot(tmp_path / "f.svg")
    funnel = r.funnel_plot(tmp_path / "fu.svg")
    assert b"<svg" in forest.read_bytes()[:500]
    assert b"<svg" in funnel.read_bytes()[:500]


def test_plot_with_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match=r"\.png or \.svg"):
        pool([2, 15, 30], [40, 30, 50]).forest_plot(tmp_path / "f.jpg")
