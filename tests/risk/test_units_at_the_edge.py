"""Labs in the units clinics use give the same scores: converted once at the edge, both ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch import units
from cartwatch.risk.result import ScoreResult


def value(scale: str, data: dict[str, float]) -> float:
    result = cartwatch.grade(scale, data)
    assert isinstance(result, ScoreResult) and result.value is not None
    return result.value


@given(st.floats(0, 1000, allow_nan=False))
def test_crp_round_trips_between_mg_l_and_mg_dl(crp_mg_l: float) -> None:
    back = units.crp_mg_dl_to_mg_l(units.crp_mg_l_to_mg_dl(crp_mg_l))
    assert back == pytest.approx(crp_mg_l, rel=1e-12, abs=1e-12)


@given(st.floats(4.42, 2652, allow_nan=False))
def test_creatinine_round_trips_between_umol_l_and_mg_dl(umol_l: float) -> None:
    back = units.creatinine_mg_dl_to_umol_l(units.creatinine_umol_l_to_mg_dl(umol_l))
    assert back == pytest.approx(umol_l, rel=1e-12)


@given(st.floats(0, 3000, allow_nan=False))
def test_counts_round_trip_between_10e9_l_and_per_ul(count_10e9_l: float) -> None:
    back = units.count_per_ul_to_10e9_l(units.count_10e9_l_to_per_ul(count_10e9_l))
    assert back == pytest.approx(count_10e9_l, rel=1e-12, abs=1e-12)


@given(
    st.floats(50, 5000, allow_nan=False),
    st.floats(0.1, 100, allow_nan=False),
    st.floats(5, 1000, allow_nan=False),
)
def test_m_easix_is_the_same_from_mg_l_and_mg_dl(ldh: float, crp_mg_dl: float, plt: float) -> None:
    conventional = value(
        "m_easix", {"ldh_u_l": ldh, "crp_mg_dl": crp_mg_dl, "platelets_per_ul": plt * 1000}
    )
    si = value(
        "m_easix",
        {"ldh_u_l": ldh, "crp_mg_l": units.crp_mg_dl_to_mg_l(crp_mg_dl), "platelets_10e9_l": plt},
    )
    assert si == pytest.approx(conventional, rel=1e-9)


@given(
    st.floats(50, 5000, allow_nan=False),
    st.floats(0.1, 29, allow_nan=False),
    st.floats(5, 1000, allow_nan=False),
)
def test_easix_is_the_same_from_umol_l_and_mg_dl(ldh: float, creat: float, plt: float) -> None:
    conventional = value(
        "easix", {"ldh_u_l": ldh, "creatinine_mg_dl": creat, "platelets_per_ul": plt * 1000}
    )
    si = value(
        "easix",
        {
            "ldh_u_l": ldh,
            "creatinine_umol_l": units.creatinine_mg_dl_to_umol_l(creat),
            "platelets_10e9_l": plt,
        },
    )
    assert si == pytest.approx(conventional, rel=1e-9)


def test_crp_of_30_mg_l_is_exactly_the_hematotox_cut_off() -> None:
    at = cartwatch.grade("car_hematotox", {"crp_mg_l": 30})
    above = cartwatch.grade("car_hematotox", {"crp_mg_l": 30.1})
    assert isinstance(at, ScoreResult) and isinstance(above, ScoreResult)
    assert next(c.points for c in at.components if c.name == "crp_mg_dl") == 0
    assert next(c.points for c in above.components if c.name == "crp_mg_dl") == 1
