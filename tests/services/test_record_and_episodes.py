"""Recording with grades, carried CRS state, stored episodes and regrade, on real databases."""

from __future__ import annotations

import datetime as dt

import pytest

from cartwatch.registry.repository import Registry
from cartwatch.services.episodes import cohort_episodes, derive_patient_episodes, regrade
from cartwatch.services.record import record_assessment

DAY0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
CALM = {
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_edema": "none",
    "age_years": 61,
}


def h(hours: float) -> dt.datetime:
    return DAY0 + dt.timedelta(hours=hours)


def _chart(registry: Registry) -> None:
    registry.add_patient(patient_ref="P-1", weight_kg=70, age_years_at_registration=61)
    registry.add_infusion("P-1", infusion_ref="I1", infused_at=DAY0)
    air = {"oxygen": {"device": "none"}, "hypotension": "none"}
    record_assessment(
        registry,
        "P-1",
        assessed_at=h(30),
        data={"temperature_c": 38.9, **air, "ice_total": 10, **CALM},
    )
    registry.add_administration("P-1", given_at=h(36), drug="tocilizumab", dose_mg=560)
    record_assessment(
        registry,
        "P-1",
        assessed_at=h(48),
        data={
            "temperature_c": 37.1,
            "hypotension": "fluid_responsive",
            "oxygen": {"device": "none"},
            "ice_total": 10,
            **CALM,
        },
    )
    record_assessment(
        registry,
        "P-1",
        assessed_at=h(72),
        data={"temperature_c": 36.8, **air, "ice_total": 10, **CALM},
    )
    record_assessment(
        registry,
        "P-1",
        assessed_at=h(130),
        data={"temperature_c": 36.7, **air, "ice_total": 10, **CALM},
    )


def test_masked_fever_is_carried_from_the_record_when_grading(registry: Registry) -> None:
    _chart(registry)
    stored = registry.assessments("P-1")
    assert [a.grades["astct_crs"]["grade"] for a in stored] == [1, 2, 0, 0]
    assert "crs_previously_established" not in stored[1].data  # what was charted stays as charted


def test_episodes_are_derived_and_stored(registry: Registry) -> None:
    _chart(registry)
    episodes = derive_patient_episodes(registry, "P-1")
    (crs,) = episodes["astct_crs"]
    assert crs["max_grade"] == 2 and crs["onset_day"] == 1
    assert any(t["drug"] == "tocilizumab" for t in crs["treatments"])
    assert episodes["astct_icans"] == []
    exported = cohort_episodes(registry, scales=["astct_crs"])
    assert [(e["patient_id"], e["max_grade"]) for e in exported] == [("P-1", 2)]


def test_regrade_reports_what_changed(registry: Registry) -> None:
    _chart(registry)
    derive_patient_episodes(registry, "P-1")
    first = regrade(registry)
    assert first.patients == 1 and first.assessments == 4
    assert sum(first.grades_changed.values()) == 0
    assert first.episodes_changed == []


@pytest.mark.parametrize("scale", ["astct_crs", "lee2014_crs"])
def test_cohort_export_rows_have_the_registry_columns(registry: Registry, scale: str) -> None:
    _chart(registry)
    derive_patient_episodes(registry, "P-1")
    for row in cohort_episodes(registry, scales=[scale]):
        assert {
            "patient_id",
            "scale",
            "onset_at",
            "onset_day",
            "max_grade",
            "max_grade_at",
            "resolved_at",
            "duration_days",
            "treatments",
        } <= set(row)
