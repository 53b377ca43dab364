"""Cohort episodes from one frame equal the per-patient derivation (issue 9 part 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartwatch.analytics.cohort_episodes import derive_cohort_episodes
from cartwatch.episodes import Administration, Infusion, derive_episodes
from cartwatch.errors import InvalidValue

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)

patient_records = st.lists(
    st.tuples(st.integers(-24, 24 * 30), st.one_of(st.none(), st.integers(0, 5))),
    min_size=1,
    max_size=30,
)


def _frame(cohort: dict[str, list[tuple[int, int | None]]]) -> pl.DataFrame:
    rows = [
        (patient, DAY0 + timedelta(hours=h), g)
        for patient, points in cohort.items()
        for h, g in sorted(points, key=lambda p: p[0])
    ]
    return pl.DataFrame(
        {
            "patient_id": [r[0] for r in rows],
            "assessed_at": [r[1] for r in rows],
            "astct_crs.grade": [r[2] for r in rows],
        },
        schema={
            "patient_id": pl.String,
            "assessed_at": pl.Datetime("us", "UTC"),
            "astct_crs.grade": pl.Int8,
        },
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cohort=st.dictionaries(st.text("abcdef", min_size=1, max_size=4), patient_records, max_size=8),
    infused=st.lists(st.booleans(), min_size=8, max_size=8),
    processes=st.sampled_from([1, 2]),
)
def test_cohort_equals_per_patient_derivation(
    cohort: dict[str, list[tuple[int, int | None]]], infused: list[bool], processes: int
) -> None:
    infusions = {
        p: [Infusion(infusion_id=f"{p}-1", at=DAY0)]
        for p, on in zip(sorted(cohort), infused, strict=False)
        if on
    }
    drugs = {p: [Administration(at=DAY0 + timedelta(days=2), drug="tocilizumab")] for p in cohort}
    frame = _frame(cohort)
    got = derive_cohort_episodes(
        frame,
        scale="astct_crs",
        infusions=infusions,
        administrations=drugs,
        processes=processes,
        block_rows=7,
    )
    assert list(got) == list(cohort)
    for patient, points in cohort.items():
        expected = derive_episodes(
            scale="astct_crs",
            points=[(DAY0 + timedelta(hours=h), g) for h, g in points],
            infusions=infusions.get(patient, ()),
            administrations=drugs[patient],
        )
        assert got[patient] == expected


def test_rows_must_be_grouped_by_patient() -> None:
    frame = _frame({"a": [(1, 1)], "b": [(1, 1)]})
    split = pl.concat([frame, frame.head(1)])
    with pytest.raises(InvalidValue, match="not grouped by `patient_id`"):
        derive_cohort_episodes(split, scale="astct_crs", infusions={})


def test_naive_times_are_refused() -> None:
    frame = _frame({"a": [(1, 1)]}).with_columns(pl.col("assessed_at").dt.replace_time_zone(None))
    with pytest.raises(InvalidValue, match="time-zone-aware"):
        derive_cohort_episodes(frame, scale="astct_crs", infusions={})
