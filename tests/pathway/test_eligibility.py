"""Eligibility checklist: pass, fail or unknown per item, never a silent pass (seed 002, labels)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.errors import InvalidValue
from cartwatch.pathway import (
    CheckStatus,
    EligibilityCriteria,
    EligibilityInput,
    EligibilityResult,
    Overall,
    check_eligibility,
)

FIT = EligibilityInput(
    history_of_epilepsy_or_cns_disease=False,
    gvhd_requiring_immunosuppression=False,
    qt_prolongation_or_severe_heart_disease=False,
    pregnant_or_lactating=False,
    active_uncontrolled_infection=False,
    active_hepatitis_b=False,
    active_hepatitis_c=False,
    hbv_hcv_hiv_screening_done=True,
    systemic_corticosteroids_within_2_weeks=False,
    lvef_percent=60.0,
    lung_function_normal_without_mass=True,
    liver_function_normal=True,
    renal_function_normal=True,
    platelets_per_ul=150_000.0,
    unresolved_serious_toxicity_from_prior_therapy=False,
)


def _status(result: EligibilityResult, item_id: str) -> CheckStatus:
    return next(i.status for i in result.items if i.id == item_id)


def test_fit_candidate_is_eligible() -> None:
    r = check_eligibility(candidate=FIT)
    assert r.overall is Overall.ELIGIBLE
    assert all(i.status is CheckStatus.PASS for i in r.items)
    assert all(i.reference for i in r.items)


def test_nothing_recorded_is_incomplete_not_a_pass() -> None:
    r = check_eligibility(candidate=EligibilityInput())
    assert r.overall is Overall.INCOMPLETE
    assert all(i.status is CheckStatus.UNKNOWN for i in r.items)
    assert set(r.unknown) == {i.id for i in r.items}


@pytest.mark.parametrize(
    "field",
    [
        "history_of_epilepsy_or_cns_disease",
        "gvhd_requiring_immunosuppression",
        "qt_prolongation_or_severe_heart_disease",
        "pregnant_or_lactating",
        "active_uncontrolled_infection",
        "active_hepatitis_b",
        "active_hepatitis_c",
        "unresolved_serious_toxicity_from_prior_therapy",
    ],
)
def test_each_contraindication_fails(field: str) -> None:
    change: dict[str, Any] = {field: True}
    r = check_eligibility(candidate=replace(FIT, **change))
    assert r.overall is Overall.NOT_ELIGIBLE
    assert r.failed == (field,)


@pytest.mark.parametrize(
    ("lvef", "status"),
    [(49.9, CheckStatus.FAIL), (50.0, CheckStatus.PASS), (50.1, CheckStatus.PASS)],
)
def test_lvef_boundary(lvef: float, status: CheckStatus) -> None:
    assert (
        _status(check_eligibility(candidate=replace(FIT, lvef_percent=lvef)), "lvef_percent")
        is status
    )


@pytest.mark.parametrize(
    ("plt", "status"), [(49_999.0, CheckStatus.FAIL), (50_000.0, CheckStatus.PASS)]
)
def test_apheresis_platelet_boundary(plt: float, status: CheckStatus) -> None:
    r = check_eligibility(candidate=replace(FIT, platelets_per_ul=plt))
    assert _status(r, "platelets_per_ul") is status


@pytest.mark.parametrize(
    ("last", "status"),
    [
        (date(2025, 3, 1), CheckStatus.PASS),  # 15 days before
        (date(2025, 3, 2), CheckStatus.FAIL),  # 14 days before: within 2 weeks
        (date(2025, 3, 15), CheckStatus.FAIL),
    ],
)
def test_systemic_steroid_washout_from_dates(last: date, status: CheckStatus) -> None:
    cand = replace(
        FIT,
        systemic_corticosteroids_within_2_weeks=None,
        last_systemic_corticosteroid_date=last,
        planned_infusion_date=date(2025, 3, 16),
    )
    assert _status(check_eligibility(candidate=cand), "systemic_corticosteroids") is status


def test_steroid_date_without_infusion_date_is_unknown() -> None:
    cand = replace(
        FIT,
        systemic_corticosteroids_within_2_weeks=None,
        last_systemic_corticosteroid_date=date(2025, 1, 1),
    )
    assert (
        _status(check_eligibility(candidate=cand), "systemic_corticosteroids")
        is CheckStatus.UNKNOWN
    )


def test_site_thresholds_and_disabled_items() -> None:
    crit = EligibilityCriteria(lvef_min_percent=45.0, disabled_items=("pregnant_or_lactating",))
    r = check_eligibility(
        candidate=replace(FIT, lvef_percent=47.0, pregnant_or_lactating=None), criteria=crit
    )
    assert r.overall is Overall.ELIGIBLE
    assert "pregnant_or_lactating" not in {i.id for i in r.items}


def test_unknown_disabled_item_is_an_error() -> None:
    with pytest.raises(InvalidValue):
        check_eligibility(candidate=FIT, criteria=EligibilityCriteria(disabled_items=("epilepsy",)))


def test_non_boolean_fact_is_an_error() -> None:
    with pytest.raises(InvalidValue) as err:
        check_eligibility(candidate=replace(FIT, active_hepatitis_b="no"))  # type: ignore[arg-type]
    assert err.value.field == "active_hepatitis_b"


_BOOL_FIELDS = [
    f.name
    for f in fields(EligibilityInput)
    if f.name
    not in {
        "lvef_percent",
        "platelets_per_ul",
        "last_systemic_corticosteroid_date",
        "planned_infusion_date",
    }
]


@given(st.sampled_from(_BOOL_FIELDS))
def test_forgetting_any_item_never_yields_eligible(field: str) -> None:
    change: dict[str, Any] = {field: None}
    r = check_eligibility(candidate=replace(FIT, **change))
    assert r.overall is Overall.INCOMPLETE
