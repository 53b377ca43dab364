"""Figures: files are valid PNG/SVG and the plotted data are the computed estimates."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from cartwatch.analytics.incidence import grade_distribution
from cartwatch.analytics.plots import (
    cumulative_incidence_plot,
    daily_grade_matrix,
    grade_heatmap,
    km_plot,
    max_grade_bars,
    save_figure,
    segments_from_daily,
    swimmer_plot,
)
from cartwatch.analytics.survival import cumulative_incidence, kaplan_meier, number_at_risk
from tests.analytics._fixtures import reference

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_files(fig: Figure, stem: Path) -> None:
    png, svg = save_figure(fig, stem=stem)
    assert png.read_bytes()[:8] == PNG_MAGIC
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")


def _at_risk_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "at_risk"]


def test_km_plot_draws_the_estimate_and_numbers_at_risk(tmp_path: Path) -> None:
    d = reference()["survival"]["random80"]
    km = kaplan_meier(time_days=d["time"], event=d["status"])
    times = [0, 7, 14, 28]
    fig = km_plot({"All": km}, risk_times=times)
    line = next(ln for ln in fig.axes[0].lines if ln.get_gid() == "km:All")
    assert np.array_equal(line.get_xdata(), np.concatenate(([0.0], km.time)))
    assert np.array_equal(line.get_ydata(), np.concatenate(([1.0], km.survival)))
    assert _at_risk_texts(fig) == [str(n) for n in km.at(times)["n_risk"]]
    _check_files(fig, tmp_path / "km")


def test_cumulative_incidence_plot_draws_cmprsk_corners(tmp_path: Path) -> None:
    d = reference()["survival"]["ties_censoring"]
    curves = cumulative_incidence(time_days=d["time"], cause=np.array(d["cause"]))
    times = [0, 5, 10, 20]
    fig = cumulative_incidence_plot(
        {"CRS": curves[1], "Death": curves[2]},
        time_days={"CRS": d["time"], "Death": d["time"]},
        risk_times=times,
    )
    line = next(ln for ln in fig.axes[0].lines if ln.get_gid() == "cif:CRS")
    assert np.array_equal(line.get_ydata(), curves[1].estimate)
    assert np.allclose(line.get_ydata(), np.array(d["cuminc"]["1"]["est"]), rtol=0, atol=1e-6)
    expected = [str(n) for n in number_at_risk(time_days=d["time"], times=times)] * 2
    assert _at_risk_texts(fig) == expected
    _check_files(fig, tmp_path / "cif")


def test_max_grade_bars_stack_the_distribution_with_not_assessable_apart(tmp_path: Path) -> None:
    cohort = pl.DataFrame({"a": [0, 1, 1, 3, None], "b": [1, 1, 2, 4, 4]})
    fig = max_grade_bars(cohort, grade_columns={"ASTCT": "a", "Penn": "b"})
    ax = fig.axes[0]
    heights: dict[str, list[float]] = {}
    for container in ax.containers:
        assert isinstance(container, BarContainer)
        heights[str(container.get_label())] = [p.get_height() for p in container.patches]
    expected_a = grade_distribution(cohort, grade_column="a")
    assert heights["Not assessable"] == [20.0, 0.0]
    assert (
        heights["Grade 0"][0] == expected_a.filter(pl.col("grade") == "0")["percent_of_patients"][0]
    )
    assert heights["Grade 4"] == [0.0, 40.0]
    totals = np.sum([h for h in heights.values()], axis=0)
    assert totals == pytest.approx([100.0, 100.0])
    _check_files(fig, tmp_path / "bars")


def test_heatmap_shows_each_patients_daily_maximum(tmp_path: Path) -> None:
    daily = pl.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b", "b"],
            "day": [0, 0, 2, 1, 3],
            "grade": [1, 2, None, 3, 0],
        }
    )
    patients, days, matrix = daily_grade_matrix(daily)
    assert patients == ["a", "b"] and days == [0, 1, 2, 3]
    assert matrix[0, 0] == 2 and np.isnan(matrix[0, 2]) and matrix[1, 1] == 3
    fig = grade_heatmap(daily)
    image = fig.axes[0].get_images()[0]
    array = image.get_array()
    assert array is not None
    shown = np.ma.getdata(array).astype(float)
    mask = np.ma.getmaskarray(array)
    assert np.array_equal(mask, np.isnan(matrix))
    assert np.array_equal(shown[~mask], matrix[~mask])
    _check_files(fig, tmp_path / "heat")


def test_swimmer_plot_draws_episode_segments_and_treatments(tmp_path: Path) -> None:
    segments = pl.DataFrame(
        {
            "patient_id": ["p1", "p1", "p2"],
            "start_day": [1, 3, 2],
            "end_day": [3, 6, 4],
            "grade": [1, 2, 3],
        }
    )
    treatments = pl.DataFrame(
        {"patient_id": ["p1", "p2"], "day": [3.5, 2.0], "treatment": ["tocilizumab", "steroids"]}
    )
    follow_up = pl.DataFrame({"patient_id": ["p1", "p2", "p3"], "last_day": [30, 12, 8]})
    fig = swimmer_plot(segments, treatments=treatments, follow_up=follow_up)
    ax = fig.axes[0]
    bars = {
        c.get_gid(): c.get_paths()[0].get_extents()
        for c in ax.collections
        if str(c.get_gid()).startswith("segment:")
    }
    assert set(bars) == {"segment:p1:1", "segment:p1:2", "segment:p2:3"}
    assert (bars["segment:p1:2"].x0, bars["segment:p1:2"].x1) == (3.0, 6.0)
    marks = {c.get_gid(): c for c in ax.collections if isinstance(c, PathCollection)}
    assert np.asarray(marks["treatment:tocilizumab"].get_offsets())[0, 0] == 3.5
    assert np.asarray(marks["treatment:steroids"].get_offsets())[0, 0] == 2.0
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["p1", "p2", "p3"]
    _check_files(fig, tmp_path / "swimmer")


def test_daily_grades_become_runs_for_the_swimmer_plot() -> None:
    daily = pl.DataFrame(
        {
            "patient_id": ["a"] * 7 + ["b"] * 2,
            "day": [0, 1, 2, 3, 4, 5, 6, 1, 2],
            "grade": [0, 1, 1, 2, None, 2, 0, 3, 3],
        }
    )
    runs = segments_from_daily(daily)
    assert runs.rows() == [("a", 1, 3, 1), ("a", 3, 4, 2), ("a", 5, 6, 2), ("b", 1, 3, 3)]
