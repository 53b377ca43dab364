"""BSA (Mosteller, DuBois) and Cockcroft–Gault: the worked values of spec §6.7 and the edges."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.errors import ImplausibleValue, InvalidValue, NotApplicable
from cartwatch.management import bsa_dubois, bsa_mosteller, creatinine_clearance_cockcroft_gault


def test_spec_6_7_mosteller_170_cm_70_kg() -> None:
    assert bsa_mosteller(height_cm=170, weight_kg=70).value == pytest.approx(1.8181, abs=5e-5)


def test_spec_6_7_dubois_170_cm_70_kg() -> None:
    assert bsa_dubois(height_cm=170, weight_kg=70).value == pytest.approx(1.8097, abs=5e-5)


def test_spec_6_7_cockcroft_gault_65_y_male() -> None:
    r = creatinine_clearance_cockcroft_gault(
        age_years=65, weight_kg=80, creatinine_mg_dl=1.0, sex="male"
    )
    assert r.value == pytest.approx(83.33, abs=5e-3)
    assert r.unit == "mL/min"


def test_spec_6_7_cockcroft_gault_72_y_female() -> None:
    r = creatinine_clearance_cockcroft_gault(
        age_years=72, weight_kg=60, creatinine_mg_dl=1.1, sex="female"
    )
    assert r.value == pytest.approx(43.79, abs=5e-3)
    assert "x 0.85 (female)" in r.reason


def test_female_factor_is_exactly_0_85() -> None:
    kw: dict[str, Any] = {"age_years": 50, "weight_kg": 70, "creatinine_mg_dl": 0.9}
    male = creatinine_clearance_cockcroft_gault(sex="male", **kw).value
    female = creatinine_clearance_cockcroft_gault(sex="female", **kw).value
    assert female == pytest.approx(male * 0.85, rel=1e-15)


def test_sex_is_case_insensitive_and_validated() -> None:
    kw: dict[str, Any] = {"age_years": 50, "weight_kg": 70, "creatinine_mg_dl": 0.9}
    assert creatinine_clearance_cockcroft_gault(sex="Female", **kw).value > 0
    with pytest.raises(InvalidValue) as err:
        creatinine_clearance_cockcroft_gault(sex="f", **kw)
    assert err.value.field == "sex"


@pytest.mark.parametrize(("age", "applies"), [(17.99, False), (18.0, True)])
def test_cockcroft_gault_is_for_adults(age: float, applies: bool) -> None:
    kw: dict[str, Any] = {"weight_kg": 60, "creatinine_mg_dl": 0.6, "sex": "male"}
    if applies:
        assert creatinine_clearance_cockcroft_gault(age_years=age, **kw).value > 0
    else:
        with pytest.raises(NotApplicable):
            creatinine_clearance_cockcroft_gault(age_years=age, **kw)


def test_creatinine_in_umol_l_is_caught_with_a_hint() -> None:
    with pytest.raises(ImplausibleValue) as err:
        creatinine_clearance_cockcroft_gault(
            age_years=60, weight_kg=70, creatinine_mg_dl=88.0, sex="male"
        )
    assert "88.4" in str(err.value)


def test_height_in_inches_is_caught() -> None:
    with pytest.raises(ImplausibleValue) as err:
        bsa_mosteller(height_cm=5.9, weight_kg=70)
    assert err.value.field == "height_cm"


@given(
    st.floats(min_value=30, max_value=250),
    st.floats(min_value=0.5, max_value=349),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_bsa_grows_with_weight(height_cm: float, weight_kg: float, more: float) -> None:
    heavier = min(weight_kg + more, 350.0)
    for f in (bsa_mosteller, bsa_dubois):
        assert (
            f(height_cm=height_cm, weight_kg=weight_kg).value
            <= f(height_cm=height_cm, weight_kg=heavier).value
        )


@given(st.floats(min_value=0.05, max_value=24.0), st.floats(min_value=0.0, max_value=1.0))
def test_higher_creatinine_never_raises_clearance(scr: float, more: float) -> None:
    kw: dict[str, Any] = {"age_years": 60, "weight_kg": 70, "sex": "male"}
    a = creatinine_clearance_cockcroft_gault(creatinine_mg_dl=scr, **kw).value
    b = creatinine_clearance_cockcroft_gault(creatinine_mg_dl=min(scr + more, 25.0), **kw).value
    assert b <= a
