"""The assessment contract: parsing, unknown names, plausible ranges, units converted once."""

from __future__ import annotations

import datetime as dt

import pytest

from cartwatch.assessment import (
    Hypotension,
    OxygenDevice,
    exact_age_years,
    ice_total_range,
    parse_assessment,
)
from cartwatch.errors import (
    ConflictingValues,
    ImplausibleValue,
    InvalidInput,
    InvalidValue,
    UnknownField,
)


def test_absent_and_null_mean_not_recorded() -> None:
    a = parse_assessment({"temperature_c": None, "hypotension": "none"})
    assert a.temperature_c is None
    assert a.oxygen is None
    assert a.hypotension is Hypotension.NONE


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("temprature_c", "temperature_c"),
        ("hypotention", "hypotension"),
        ("ferritin_ng_mL", "ferritin_ng_ml"),
        ("consiousness", "consciousness"),
    ],
)
def test_unknown_field_names_the_closest_valid_one(name: str, suggestion: str) -> None:
    with pytest.raises(UnknownField) as err:
        parse_assessment({name: 1})
    assert err.value.suggestion == suggestion
    assert name in str(err.value) and suggestion in str(err.value)


def test_unknown_nested_field_is_rejected_with_its_path() -> None:
    with pytest.raises(UnknownField) as err:
        parse_assessment({"oxygen": {"devise": "none"}})
    assert err.value.suggestion == "oxygen.device"


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"temperature_c": 101.3}, "temperature_c", "did you mean temperature_f"),
        ({"temperature_c": 24.9}, "temperature_c", "25–45"),
        ({"age_years": 121}, "age_years", "0–120"),
        ({"weight_kg": 0.4}, "weight_kg", "0.5–350"),
        ({"oxygen": {"flow_l_min": 81}}, "oxygen.flow_l_min", "0–80"),
        ({"oxygen": {"fio2": 40}}, "oxygen.fio2", "did you mean 0.4"),
        ({"oxygen": {"fio2": 0.2}}, "oxygen.fio2", "0.21–1"),
        ({"ice": {"naming": 4}}, "ice.naming", "0–3"),
        ({"capd_score": 33}, "capd_score", "0–32"),
    ],
)
def test_implausible_values_name_field_value_and_range(data, field, fragment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImplausibleValue) as err:
        parse_assessment(data)
    assert err.value.field == field
    assert fragment in str(err.value)


def test_values_at_the_plausible_limits_are_accepted() -> None:
    a = parse_assessment({"temperature_c": 45, "age_years": 0, "oxygen": {"fio2": 0.21}})
    assert a.temperature_c == 45.0 and a.age_years == 0.0
    assert a.oxygen is not None and a.oxygen.fio2 == 0.21


def test_errors_are_value_errors_for_callers_that_do_not_know_cartwatch() -> None:
    with pytest.raises(ValueError):
        parse_assessment({"temperature_c": "hot"})


def test_enum_value_suggests_the_closest_member() -> None:
    with pytest.raises(InvalidValue, match="did you mean vasopressor_single"):
        parse_assessment({"hypotension": "vasopresor_single"})


def test_booleans_do_not_pass_as_numbers() -> None:
    with pytest.raises(InvalidValue):
        parse_assessment({"temperature_c": True})


@pytest.mark.parametrize(
    ("alternative", "value", "canonical", "expected"),
    [
        ("temperature_f", 100.4, "temperature_c", 38.0),
        ("crp_mg_l", 30.0, "crp_mg_dl", 3.0),
        ("creatinine_umol_l", 88.4, "creatinine_mg_dl", 1.0),
        ("platelets_10e9_l", 75.0, "platelets_per_ul", 75_000.0),
        ("anc_10e9_l", 0.5, "anc_per_ul", 500.0),
        ("hemoglobin_g_l", 90.0, "hemoglobin_g_dl", 9.0),
        ("fibrinogen_g_l", 1.5, "fibrinogen_mg_dl", 150.0),
    ],
)
def test_alternative_units_are_converted_once(alternative, value, canonical, expected) -> None:  # type: ignore[no-untyped-def]
    a = parse_assessment({alternative: value})
    assert getattr(a, canonical) == pytest.approx(expected, rel=1e-12)
    assert a.to_dict() == {canonical: getattr(a, canonical)}


def test_both_unit_forms_agreeing_are_accepted_and_disagreeing_rejected() -> None:
    assert parse_assessment({"temperature_c": 38.0, "temperature_f": 100.4}).temperature_c == (
        pytest.approx(38.0)
    )
    with pytest.raises(ConflictingValues):
        parse_assessment({"temperature_c": 38.0, "temperature_f": 100.5})
    with pytest.raises(ConflictingValues):
        parse_assessment({"temperature_f": 100.5, "temperature_c": 38.0})


def test_alternative_units_have_their_own_plausible_range() -> None:
    with pytest.raises(ImplausibleValue, match="°F"):
        parse_assessment({"temperature_f": 38.5})


def test_age_from_date_of_birth_is_exact_at_the_twelfth_birthday() -> None:
    dob = dt.date(2014, 5, 1)
    assert exact_age_years(dob, dt.date(2026, 5, 1)) == 12.0
    assert exact_age_years(dob, dt.date(2026, 4, 30)) < 12.0
    a = parse_assessment({"date_of_birth": "2014-05-01", "assessed_at": "2026-04-30T23:00:00"})
    assert a.age_years is not None and 11.99 < a.age_years < 12.0


def test_leap_day_birthday() -> None:
    assert exact_age_years(dt.date(2012, 2, 29), dt.date(2024, 2, 29)) == 12.0
    assert exact_age_years(dt.date(2012, 2, 29), dt.date(2023, 3, 1)) == 11.0


def test_age_and_date_of_birth_must_agree() -> None:
    with pytest.raises(ConflictingValues):
        parse_assessment(
            {"age_years": 30, "date_of_birth": "2014-05-01", "assessed_at": "2026-05-01"}
        )


def test_ice_items_and_total_must_agree() -> None:
    items = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0}
    assert parse_assessment({"ice": items, "ice_total": 9}).ice_total == 9
    with pytest.raises(ConflictingValues):
        parse_assessment({"ice": items, "ice_total": 8})


def test_partial_ice_gives_a_range_and_names_the_unassessed_items() -> None:
    a = parse_assessment({"ice": {"orientation": 4, "naming": 3, "commands": 1}})
    assert ice_total_range(a) == (8, 10, ("ice.writing", "ice.attention"))


def test_capd_items_set_the_total() -> None:
    a = parse_assessment({"capd_items": [1, 1, 1, 1, 2, 1, 1, 1]})
    assert a.capd_score == 9
    with pytest.raises(InvalidValue):
        parse_assessment({"capd_items": [1, 1, 1]})


def test_vasopressor_list_must_agree_with_hypotension_and_vasopressin() -> None:
    ne = {"agent": "norepinephrine", "dose": 10, "unit": "mcg/min", "duration_h": 2}
    assert parse_assessment({"hypotension": "vasopressor_single", "vasopressors": [ne]})
    with pytest.raises(ConflictingValues):
        parse_assessment({"hypotension": "none", "vasopressors": [ne]})
    with pytest.raises(ConflictingValues):
        parse_assessment({"vasopressin": True, "vasopressors": [ne]})
    with pytest.raises(InvalidInput):
        parse_assessment({"vasopressors": [{**ne, "unit": "U/min"}]})


def test_round_trip_through_json() -> None:
    data = {
        "age_years": 58,
        "temperature_c": 38.5,
        "hypotension": "vasopressor_single",
        "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 4, "fio2": None},
        "organ_toxicity_ctcae": {"ast_increased": 3},
    }
    a = parse_assessment(data)
    assert a.oxygen is not None and a.oxygen.device is OxygenDevice.LOW_FLOW_NASAL_CANNULA
    assert parse_assessment(a.to_dict()) == a


def test_an_assessment_must_be_an_object() -> None:
    with pytest.raises(InvalidValue):
        parse_assessment([1, 2])  # type: ignore[arg-type]
