"""Non-compartmental CAR-T kinetics, checked against hand computation."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.analytics.kinetics import (
    association_with_grade,
    kinetics_table,
    patient_kinetics,
    trapezoid_auc,
)
from cartwatch.errors import InvalidValue


def test_hand_computed_series_with_a_day_28_sample() -> None:
    # Days 0, 7, 14, 28 at 0, 1000, 400, 50 copies/µg DNA.
    # AUC = 7·(0+1000)/2 + 7·(1000+400)/2 + 14·(400+50)/2 = 3500 + 4900 + 3150 = 11550.
    p = patient_kinetics(patient_id="a", day=[0, 7, 14, 28], value=[0, 1000, 400, 50])
    assert (p.cmax, p.tmax_day) == (1000.0, 7.0)
    assert p.auc_0_28 == pytest.approx(11550.0)
    assert p.auc_covers_0_28 and p.last_detectable_day == 28.0


def test_day_28_is_interpolated_between_straddling_samples() -> None:
    # Days 0, 21, 35 at 0, 700, 0: value at 28 = 700 − 700·7/14 = 350.
    # AUC = 21·700/2 + 7·(700+350)/2 = 7350 + 3675 = 11025.
    p = patient_kinetics(patient_id="b", day=[35, 0, 21], value=[0, 0, 700])
    assert p.auc_0_28 == pytest.approx(11025.0)
    assert (p.auc_start_day, p.auc_end_day) == (0.0, 28.0)
    assert p.last_detectable_day == 21.0


def test_window_not_covered_is_reported_not_extrapolated() -> None:
    p = patient_kinetics(patient_id="c", day=[3, 10], value=[100, 300])
    assert p.auc_0_28 == pytest.approx(1400.0)
    assert (p.auc_start_day, p.auc_end_day, p.auc_covers_0_28) == (3.0, 10.0, False)
    single = patient_kinetics(patient_id="d", day=[7], value=[5])
    assert single.auc_0_28 is None


def test_tmax_is_the_first_day_the_peak_is_seen() -> None:
    assert patient_kinetics(patient_id="e", day=[1, 2, 3], value=[5, 9, 9]).tmax_day == 2.0


def test_persistence_uses_the_quantification_limit() -> None:
    p = patient_kinetics(
        patient_id="f",
        day=[0, 7, 28, 90],
        value=[0, 500, 20, 4],
        lower_limit_of_quantification=10,
    )
    assert p.last_detectable_day == 28.0
    never = patient_kinetics(patient_id="g", day=[0, 7], value=[0, 0])
    assert never.last_detectable_day is None


@pytest.mark.parametrize(
    ("day", "value", "field"),
    [([0, 7], [1, -1], "value"), ([-1, 7], [1, 1], "day"), ([7, 7], [1, 2], "day")],
)
def test_impossible_series_are_refused(day: list[float], value: list[float], field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        patient_kinetics(patient_id="x", day=day, value=value)
    assert err.value.field == field


def test_table_and_association_with_crs_grade() -> None:
    samples = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "day": [0, 7] * 4,
            "value": [0, 100, 0, 400, 0, 900, 0, 1600],
        }
    )
    table = kinetics_table(samples)
    assert table.get_column("cmax").to_list() == [100.0, 400.0, 900.0, 1600.0]
    assert table.get_column("auc_0_28").to_list() == [350.0, 1400.0, 3150.0, 5600.0]
    grades = table.with_columns(max_grade__astct_crs=pl.Series([0, 1, 2, 3]))
    result = association_with_grade(grades, parameter="cmax")
    assert result.spearman_rho == pytest.approx(1.0)
    assert result.n == 4 and result.groups == {0: 1, 1: 1, 2: 1, 3: 1}
    # Kruskal–Wallis on four singleton groups: ranks 1..4, H = 12/(4·5)·Σ r² − 3·5 = 3.
    assert result.kruskal_h == pytest.approx(3.0)


def test_association_is_undefined_without_variation() -> None:
    table = pl.DataFrame({"cmax": [1.0, 2.0, 3.0], "max_grade__astct_crs": [1, 1, 1]})
    result = association_with_grade(table)
    assert result.spearman_rho is None and result.kruskal_h is None


@given(
    values=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=20),
    scale=st.floats(0.1, 10),
)
def test_auc_scales_with_the_level(values: list[float], scale: float) -> None:
    days = [float(4 * i) for i in range(len(values))]
    base, _, _ = trapezoid_auc(day=days, value=values, end_day=28)
    scaled, _, _ = trapezoid_auc(day=days, value=[v * scale for v in values], end_day=28)
    assert base is not None and scaled is not None
    assert scaled == pytest.approx(base * scale, rel=1e-9, abs=1e-6)
