"""Corticosteroids by grade, siltuximab, levetiracetam and the anakinra order set."""

from __future__ import annotations

import pytest

from cartwatch.errors import NotApplicable
from cartwatch.management import (
    anakinra_order_set,
    dexamethasone_dose,
    levetiracetam_dose,
    methylprednisolone_dose,
    siltuximab_dose,
)


@pytest.mark.parametrize(
    ("syndrome", "grade", "mg", "interval_h"),
    [
        ("crs", 2, 10.0, 12.0),
        ("crs", 3, 10.0, 6.0),
        ("icans", 2, 10.0, 6.0),
        ("icans", 3, 10.0, 6.0),
    ],
)
def test_dexamethasone_by_grade(syndrome: str, grade: int, mg: float, interval_h: float) -> None:
    r = dexamethasone_dose(syndrome=syndrome, grade=grade)
    assert (r.value, r.interval_h, r.unit) == (mg, interval_h, "mg")
    assert r.reference


def test_no_dexamethasone_for_crs_1() -> None:
    with pytest.raises(NotApplicable) as err:
        dexamethasone_dose(syndrome="crs", grade=1)
    assert "crs grade 2" in str(err.value.expected)


def test_methylprednisolone_crs_4_and_icans_4() -> None:
    assert methylprednisolone_dose(syndrome="crs", grade=4).value == 500.0
    assert methylprednisolone_dose(syndrome="icans", grade=4).value == 1000.0


def test_methylprednisolone_1_mg_kg_needs_weight() -> None:
    r = methylprednisolone_dose(syndrome="icans", grade=3, weight_kg=64.5)
    assert (r.value, r.mg_per_kg) == (64.5, 1.0)
    missing = methylprednisolone_dose(syndrome="icans", grade=3)
    assert missing.value is None and missing.missing == ("weight_kg",)


def test_siltuximab_11_mg_kg_unrounded() -> None:
    r = siltuximab_dose(weight_kg=73.3)
    assert r.value == 806.3 and r.mg_per_kg == 11.0


@pytest.mark.parametrize(
    ("use", "mg", "interval"),
    [
        ("prophylaxis", 750.0, 12.0),
        ("status_load", 500.0, None),
        ("status_maintenance", 1000.0, 12.0),
    ],
)
def test_levetiracetam(use: str, mg: float, interval: float | None) -> None:
    r = levetiracetam_dose(use=use, age_years=40)
    assert (r.value, r.interval_h) == (mg, interval)


def test_levetiracetam_adult_only() -> None:
    with pytest.raises(NotApplicable):
        levetiracetam_dose(age_years=12)


def test_anakinra_is_an_order_set() -> None:
    order = anakinra_order_set()
    assert order.status == "order_set"
    assert any("100 mg/dose" in line for line in order.lines)
    assert "Diorio" in order.reference
