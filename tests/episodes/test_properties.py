"""Invariants of the episode walk, over random records (hypothesis)."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cartwatch.episodes import Episode, EpisodeRule, Infusion, carry_crs_state, derive_episodes
from tests.episodes._build import astct_crs_grade, at, crs, drug, infusion

# Times on a 6-hour lattice (so ties and the exact 48 h boundary occur) over 60 days.
_hours = st.integers(min_value=-5 * 4, max_value=60 * 4).map(lambda q: q * 6.0)
_grade = st.one_of(st.none(), st.integers(min_value=0, max_value=4))
_points = st.lists(st.tuples(_hours, _grade), max_size=40)
_infusion_hours = st.lists(
    st.integers(min_value=0, max_value=50 * 4).map(lambda q: q * 6.0),
    min_size=1,
    max_size=3,
    unique=True,
)
_gap = st.sampled_from([0.0, 12.0, 48.0, 72.0])


def _infusions(hours: list[float]) -> list[Infusion]:
    return [Infusion(infusion_id=f"i{k}", at=at(hours=h)) for k, h in enumerate(hours)]


def _derive(
    points: list[tuple[float, int | None]], inf: list[float], gap: float
) -> tuple[Episode, ...]:
    return derive_episodes(
        scale="astct_crs",
        points=[(at(hours=h), g) for h, g in points],
        infusions=_infusions(inf),
        rule=EpisodeRule(gap_hours=gap),
    )


def _moment_grades(points: list[tuple[float, int | None]]) -> dict[datetime, int | None]:
    out: dict[datetime, int | None] = {}
    for h, g in points:
        t = at(hours=h)
        old = out.get(t)
        out[t] = g if old is None else (old if g is None else max(old, g))
    return out


@settings(max_examples=300, deadline=None)
@given(_points, _infusion_hours, _gap)
def test_episodes_never_overlap(
    points: list[tuple[float, int | None]], inf: list[float], gap: float
) -> None:
    found = _derive(points, inf, gap)
    for a, b in itertools.pairwise(found):
        assert a.resolved_at is not None
        assert a.resolved_at < b.onset_at
        assert b.onset_at - a.resolved_at >= timedelta(hours=gap)
    for e in found:
        assert e.onset_at <= e.max_grade_at
        if e.resolved_at is not None:
            assert e.max_grade_at < e.resolved_at


@settings(max_examples=300, deadline=None)
@given(_points, _infusion_hours, _gap)
def test_every_positive_grade_after_the_first_infusion_lies_in_exactly_one_episode(
    points: list[tuple[float, int | None]], inf: list[float], gap: float
) -> None:
    found = _derive(points, inf, gap)
    first = at(hours=min(inf))
    for t, g in _moment_grades(points).items():
        inside = sum(e.covers(t) for e in found)
        if g is not None and g >= 1 and t >= first:
            assert inside == 1
        else:
            assert inside <= 1


@settings(max_examples=300, deadline=None)
@given(_points, _infusion_hours, _gap)
def test_max_grade_is_the_highest_grade_inside(
    points: list[tuple[float, int | None]], inf: list[float], gap: float
) -> None:
    found = _derive(points, inf, gap)
    grades = _moment_grades(points)
    for e in found:
        inside = [g for t, g in grades.items() if g is not None and e.covers(t)]
        assert e.max_grade == max(inside)
        assert grades[e.max_grade_at] == e.max_grade
        assert (
            min(t for t, g in grades.items() if g == e.max_grade and e.covers(t)) == e.max_grade_at
        )
        if e.resolved_at is not None:
            assert grades[e.resolved_at] == 0


@settings(max_examples=300, deadline=None)
@given(_points, _infusion_hours, _gap, st.integers(min_value=1, max_value=400))
def test_a_grade_0_more_than_the_gap_after_resolution_changes_no_earlier_episode(
    points: list[tuple[float, int | None]], inf: list[float], gap: float, later_quarters: int
) -> None:
    before = _derive(points, inf, gap)
    resolved = [e for e in before if e.resolved_at is not None]
    if not resolved:
        return
    target = resolved[-1]
    assert target.resolved_at is not None
    new_time = target.resolved_at + timedelta(hours=gap) + timedelta(minutes=15 * later_quarters)
    new_hours = (new_time - at()).total_seconds() / 3600
    after = _derive([*points, (new_hours, 0)], inf, gap)
    earlier = [e for e in before if e.onset_at <= target.onset_at]
    assert len(after) >= len(earlier)
    for old, new in zip(earlier, after, strict=False):
        assert old.to_dict() | {"resolution_confirmed": None} == new.to_dict() | {
            "resolution_confirmed": None
        }
        assert new.resolution_confirmed or not old.resolution_confirmed


@settings(max_examples=200, deadline=None)
@given(_points, _infusion_hours, _gap, st.randoms(use_true_random=False))
def test_the_order_of_the_input_does_not_matter(
    points: list[tuple[float, int | None]], inf: list[float], gap: float, rnd: random.Random
) -> None:
    shuffled = list(points)
    rnd.shuffle(shuffled)
    assert _derive(shuffled, inf, gap) == _derive(points, inf, gap)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=20 * 4),
            st.sampled_from([36.8, 38.5, 39.5]),
            st.sampled_from(["none", "fluid_responsive", "vasopressor_single"]),
        ),
        max_size=12,
    ),
    st.lists(st.integers(min_value=0, max_value=20 * 4), max_size=4),
)
def test_carrying_the_record_is_idempotent_and_never_lowers_a_grade(
    rows: list[tuple[int, float, str]], toci_quarters: list[int]
) -> None:
    record = [(at(hours=q * 6.0), crs(t, hypotension=h)) for q, t, h in rows]
    drugs = [drug("tocilizumab", q * 0.25) for q in toci_quarters]
    carried = carry_crs_state(assessments=record, administrations=drugs, infusions=[infusion()])
    assert (
        carry_crs_state(assessments=carried, administrations=drugs, infusions=[infusion()])
        == carried
    )
    for (_, raw), (_, full) in zip(record, carried, strict=True):
        grade = astct_crs_grade(full)
        assert grade is not None
        bare = astct_crs_grade(
            raw.with_(crs_previously_established=False, antipyretic_or_anticytokine_given=False),
        )
        assert bare is not None and grade >= bare
