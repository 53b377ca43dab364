"""Small builders for episode tests: times relative to a day 0, and bedside assessments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cartwatch
from cartwatch.assessment import Assessment, parse_assessment
from cartwatch.episodes import Administration, Infusion
from cartwatch.grading.result import GradeResult

DAY0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(days: float = 0.0, hours: float = 0.0) -> datetime:
    """A time ``days`` and ``hours`` after the default day 0."""
    return DAY0 + timedelta(days=days, hours=hours)


def infusion(infusion_id: str = "inf1", days: float = 0.0) -> Infusion:
    return Infusion(infusion_id=infusion_id, at=at(days))


def drug(name: str, days: float, dose_mg: float | None = None) -> Administration:
    return Administration(at=at(days), drug=name, dose_mg=dose_mg, route="iv")


def crs(
    temperature_c: float, hypotension: str = "none", device: str = "none", **extra: Any
) -> Assessment:
    """A CRS assessment with everything ASTCT needs except the carried flags."""
    return parse_assessment(
        {
            "temperature_c": temperature_c,
            "hypotension": hypotension,
            "oxygen": {"device": device},
            **extra,
        }
    )


def neuro(ice_total: int, temperature_c: float = 37.0, **extra: Any) -> Assessment:
    """An adult assessment graded by ASTCT ICANS (ICE total) and, afebrile, by ASTCT CRS."""
    return parse_assessment(
        {
            "age_years": 55,
            "ice_total": ice_total,
            "consciousness": "alert",
            "seizure": "none",
            "motor": "none",
            "icp_edema": "none",
            "temperature_c": temperature_c,
            "hypotension": "none",
            "oxygen": {"device": "none"},
            **extra,
        }
    )


def astct_crs_grade(assessment: Assessment) -> int | None:
    """The ASTCT CRS grade of one assessment as the bedside would see it."""
    result = cartwatch.grade("astct_crs", assessment)
    assert isinstance(result, GradeResult)
    return result.grade
