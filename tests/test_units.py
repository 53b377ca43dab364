"""Unit conversions: exact, and each round-trips (clinical-spec C-2)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch import units

PAIRS = [
    (units.fahrenheit_to_celsius, units.celsius_to_fahrenheit),
    (units.crp_mg_l_to_mg_dl, units.crp_mg_dl_to_mg_l),
    (units.creatinine_umol_l_to_mg_dl, units.creatinine_mg_dl_to_umol_l),
    (units.count_10e9_l_to_per_ul, units.count_per_ul_to_10e9_l),
    (units.hemoglobin_g_l_to_g_dl, units.hemoglobin_g_dl_to_g_l),
    (units.fibrinogen_g_l_to_mg_dl, units.fibrinogen_mg_dl_to_g_l),
]


@pytest.mark.parametrize(
    ("convert", "given_value", "expected"),
    [
        (units.fahrenheit_to_celsius, 100.4, 38.0),
        (units.fahrenheit_to_celsius, 32.0, 0.0),
        (units.celsius_to_fahrenheit, 38.9, 102.02),
        (units.crp_mg_l_to_mg_dl, 30.0, 3.0),
        (units.creatinine_umol_l_to_mg_dl, 88.4, 1.0),
        (units.creatinine_umol_l_to_mg_dl, 176.8, 2.0),
        (units.count_10e9_l_to_per_ul, 0.5, 500.0),
        (units.count_10e9_l_to_per_ul, 175.0, 175_000.0),
        (units.hemoglobin_g_l_to_g_dl, 90.0, 9.0),
        (units.fibrinogen_g_l_to_mg_dl, 1.5, 150.0),
    ],
)
def test_known_conversions(convert, given_value, expected) -> None:  # type: ignore[no-untyped-def]
    assert math.isclose(convert(given_value), expected, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize(("forward", "back"), PAIRS)
@given(value=st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_round_trip(forward, back, value: float) -> None:  # type: ignore[no-untyped-def]
    assert math.isclose(back(forward(value)), value, rel_tol=1e-12, abs_tol=1e-9)
