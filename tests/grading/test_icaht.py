"""EHA/EBMT ICAHT: the early duration table, the ANC-series reading, and the late non-transient
rule with the reference-code alternative (D16)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cartwatch
from cartwatch.errors import ConflictingValues
from cartwatch.grading.icaht import early_grade
from cartwatch.grading.result import GradeResult, Status
from tests.conftest import load_examples


def grade(scale: str, data: dict[str, Any], **options: str) -> GradeResult:
    result = cartwatch.grade(scale, data, options=options or None)
    assert isinstance(result, GradeResult)
    return result


def example(example_id: str) -> dict[str, Any]:
    return next(e for e in load_examples() if e["id"] == example_id)


def series(counts: Mapping[int, float]) -> list[dict[str, float]]:
    return [{"day": d, "anc_per_ul": v} for d, v in sorted(counts.items())]


def daily(
    low_days: Mapping[int, float], *, baseline: float = 2000, last: int = 30
) -> dict[int, float]:
    """A count on every day 0..last: ``baseline`` except the given days."""
    return {d: low_days.get(d, baseline) for d in range(last + 1)}


# --------------------------------------------------------------------------------------------
# Early ICAHT: the table
# --------------------------------------------------------------------------------------------


def test_V092_anc_le_500_for_14_days_is_grade_3() -> None:
    ex = example("V092")
    result = grade("icaht_early", ex["input"])
    assert result.status is Status.GRADED
    assert result.grade == ex["expected"]["ICAHT_EARLY"]["grade"] == 3
    assert "14 days" in result.drivers[0]


@pytest.mark.parametrize(
    ("d500", "d100", "expected"),
    [
        (0, 0, 0),
        (0.5, 0, 0),
        (1, 0, 1),
        (6, 6, 1),
        (6.99, 0, 1),
        (7, 0, 2),
        (13, 6, 2),
        (13, 6.99, 2),
        (13, 7, 3),
        (14, 0, 3),
        (30, 6, 3),
        (30, 13, 3),
        (30, 13.99, 3),
        (30, 14, 4),
        (31, 0, 4),
        (31, 13, 4),
    ],
)
def test_early_table_cut_offs(d500: float, d100: float, expected: int) -> None:
    result = grade(
        "icaht_early", {"longest_days_anc_le_500": d500, "longest_days_anc_le_100": d100}
    )
    assert result.grade == expected
    assert early_grade(d500, d100) == expected


def test_more_days_at_or_below_100_than_at_or_below_500_is_an_error() -> None:
    with pytest.raises(ConflictingValues, match="longest_days_anc_le_100"):
        grade("icaht_early", {"longest_days_anc_le_500": 5, "longest_days_anc_le_100": 6})


def test_a_short_period_le_500_decides_without_the_le_100_duration() -> None:
    result = grade("icaht_early", {"longest_days_anc_le_500": 5})
    assert result.grade == 1
    assert result.missing == ()


def test_14_days_le_500_without_the_le_100_duration_is_grade_3_or_4() -> None:
    result = grade("icaht_early", {"longest_days_anc_le_500": 14})
    assert result.status is Status.NOT_GRADEABLE
    assert (result.floor, result.ceiling) == (3, 4)
    assert "longest_days_anc_le_100" in result.missing


def test_nothing_recorded_spans_every_grade() -> None:
    result = grade("icaht_early", {})
    assert (result.floor, result.ceiling) == (0, 4)
    assert "anc_series" in result.missing


def test_early_icaht_does_not_apply_before_infusion() -> None:
    result = grade("icaht_early", {"day_post_infusion": -3, "longest_days_anc_le_500": 3})
    assert result.status is Status.NOT_APPLICABLE


# --------------------------------------------------------------------------------------------
# Early ICAHT from a dated series
# --------------------------------------------------------------------------------------------


def test_daily_series_counts_the_longest_period_inclusively() -> None:
    counts = daily({d: 400 for d in range(5, 19)})  # days 5..18 = 14 days
    result = grade("icaht_early", {"anc_series": series(counts)})
    assert result.grade == 3
    assert any("days 5–18" in d for d in result.drivers)


def test_500_exactly_is_neutropenic_and_501_is_not() -> None:
    at = daily({d: 500 for d in range(5, 12)})  # 7 days at 500
    above = daily({**{d: 500 for d in range(5, 11)}, 11: 501})  # 6 days
    assert grade("icaht_early", {"anc_series": series(at)}).grade == 2
    assert grade("icaht_early", {"anc_series": series(above)}).grade == 1


def test_recovery_of_fewer_than_3_days_joins_the_periods() -> None:
    low = {d: 300 for d in (*range(5, 10), *range(12, 17))}  # 5 low, 2 recovered, 5 low
    result = grade("icaht_early", {"anc_series": series(daily(low))})
    assert result.grade == 2  # days 5–16: 12 days
    assert any("days 5–16" in d for d in result.drivers)


def test_stable_recovery_of_3_days_separates_the_periods() -> None:
    low = {d: 300 for d in (*range(5, 10), *range(13, 18))}  # 5 low, 3 recovered, 5 low
    result = grade("icaht_early", {"anc_series": series(daily(low))})
    assert result.grade == 1


def test_le_100_periods_are_joined_across_short_gaps_too() -> None:
    low = {**{d: 50 for d in (*range(3, 7), *range(9, 12))}, 7: 300, 8: 300}
    # ≤100 on days 3–6 and 9–11, joined across 2 days >100: 9 days ≤100 → grade 3
    result = grade("icaht_early", {"anc_series": series(daily(low))})
    assert result.grade == 3


def test_several_counts_on_one_day_use_the_lowest() -> None:
    counts = series(daily({d: 300 for d in range(5, 12)}))
    counts.append({"day": 11.5, "anc_per_ul": 5000})
    assert grade("icaht_early", {"anc_series": counts}).grade == 2


def test_a_gap_of_7_days_is_interpolated_like_the_reference_code() -> None:
    counts = {0: 2000, 4: 300, 12: 300, 16: 2000, 23: 2000, 30: 2000}  # days 5–11 filled
    result = grade("icaht_early", {"anc_series": series(counts)})
    assert result.status is Status.GRADED
    # days 4..12 ≤500 (9 days) plus interpolated edges: 13 = 300+(1700/4) = 725 > 500
    assert result.grade == 2
    assert any("interpolation" in d for d in result.drivers)


def test_a_gap_longer_than_7_days_leaves_the_grade_open() -> None:
    counts = {0: 2000, 4: 300, 13: 300, 20: 2000, 27: 2000, 30: 2000}  # 8-day gap 5–12
    result = grade("icaht_early", {"anc_series": series(counts)})
    assert result.status is Status.NOT_GRADEABLE
    assert result.missing == ("anc_series",)
    assert result.floor is not None and result.ceiling is not None
    assert result.floor < result.ceiling
    assert any("5–12" in d for d in result.drivers)


def test_no_imputation_option_leaves_every_unsampled_day_open() -> None:
    counts = {d: 2000 for d in range(0, 31, 2)}
    interpolated = grade("icaht_early", {"anc_series": series(counts)})
    strict = grade("icaht_early", {"anc_series": series(counts)}, series_gaps="no_imputation")
    assert interpolated.grade == 0
    assert strict.status is Status.NOT_GRADEABLE
    assert (strict.floor, strict.ceiling) == (0, 4)


def test_interpolated_values_are_compared_unrounded() -> None:
    # Day 6 interpolates to 502.5 (reference code would round to 500 and count it).
    counts = daily({5: 300, 6: 0, 7: 705}, last=30)
    del counts[6]
    result = grade("icaht_early", {"anc_series": series(counts)})
    assert result.grade == 1  # only day 5 ≤500


def test_no_recovery_from_day_3_to_day_30_is_grade_4_by_the_reference_rule() -> None:
    counts = daily({d: 300 for d in range(3, 31)})  # 28 days ≤500, never recovers
    assert grade("icaht_early", {"anc_series": series(counts)}).grade == 4
    table = grade("icaht_early", {"anc_series": series(counts)}, no_recovery_rule="table_only")
    assert table.grade == 3


def test_no_recovery_rule_needs_onset_by_day_3() -> None:
    counts = daily({d: 300 for d in range(4, 31)})
    assert grade("icaht_early", {"anc_series": series(counts)}).grade == 3


def test_death_before_day_30_without_recovery_ends_the_window() -> None:
    counts = daily({d: 300 for d in range(1, 17)}, last=16)
    open_window = grade("icaht_early", {"anc_series": series(counts)})
    assert open_window.status is Status.NOT_GRADEABLE
    ended = grade("icaht_early", {"anc_series": series(counts), "last_followup_day": 16})
    assert ended.grade == 4


def test_series_and_a_consistent_duration_agree() -> None:
    counts = daily({d: 300 for d in range(5, 19)})
    result = grade("icaht_early", {"anc_series": series(counts), "longest_days_anc_le_500": 14})
    assert result.grade == 3


def test_series_and_a_contradicting_duration_are_an_error() -> None:
    counts = daily({d: 300 for d in range(5, 19)})
    with pytest.raises(ConflictingValues, match="anc_series"):
        grade("icaht_early", {"anc_series": series(counts), "longest_days_anc_le_500": 3})


def test_both_durations_take_precedence_and_the_series_is_listed_as_ignored() -> None:
    counts = daily({d: 300 for d in range(5, 19)})
    result = grade(
        "icaht_early",
        {
            "anc_series": series(counts),
            "longest_days_anc_le_500": 14,
            "longest_days_anc_le_100": 0,
        },
    )
    assert result.grade == 3
    assert result.ignored


anc_values = st.floats(min_value=0, max_value=5000, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(anc_values, min_size=31, max_size=31), st.integers(0, 30), anc_values)
def test_a_lower_count_on_any_day_never_lowers_the_early_grade(
    counts: list[float], day: int, lower: float
) -> None:
    base = dict(enumerate(counts))
    worse = {**base, day: min(base[day], lower)}
    g_base = grade("icaht_early", {"anc_series": series(base)}).grade
    g_worse = grade("icaht_early", {"anc_series": series(worse)}).grade
    assert g_base is not None and g_worse is not None
    assert g_worse >= g_base


@settings(max_examples=60, deadline=None)
@given(
    st.lists(anc_values, min_size=31, max_size=31),
    st.sets(st.integers(0, 30), min_size=1, max_size=25),
)
def test_recording_unsampled_days_keeps_the_grade_within_floor_and_ceiling(
    counts: list[float], dropped: set[int]
) -> None:
    full = dict(enumerate(counts))
    sparse = {d: v for d, v in full.items() if d not in dropped}
    known = grade("icaht_early", {"anc_series": series(full)}, series_gaps="no_imputation")
    data: dict[str, Any] = {"anc_series": series(sparse)} if sparse else {}
    partial = grade("icaht_early", data, series_gaps="no_imputation")
    assert known.grade is not None and partial.floor is not None
    assert partial.floor <= known.grade <= (partial.ceiling or 0)


# --------------------------------------------------------------------------------------------
# Late ICAHT
# --------------------------------------------------------------------------------------------


def late(values: Sequence[tuple[float, float]], **options: str) -> GradeResult:
    data = {"anc_after_day30": [{"day": d, "anc_per_ul": v} for d, v in values]}
    return grade("icaht_late", data, **options)


def test_V099_values_1600_and_1700_are_no_late_icaht() -> None:
    ex = example("V099")
    result = grade("icaht_late", ex["input"])
    assert result.status is Status.CRITERIA_NOT_MET
    assert result.grade == ex["expected"]["ICAHT_LATE"]["grade"] == 0


@pytest.mark.parametrize(
    ("anc", "expected"),
    [
        (1501, 0),
        (1500, 1),
        (1001, 1),
        (1000, 2),
        (501, 2),
        (500, 3),
        (101, 3),
        (100, 4),
        (0, 4),
    ],
)
def test_late_thresholds_with_two_values(anc: float, expected: int) -> None:
    assert late([(35, anc), (42, anc)]).grade == expected
    assert late([(35, anc), (42, anc)], late_single_value_rule="liang_code").grade == expected


def test_non_transient_rule_grades_the_second_lowest_value() -> None:
    result = late([(35, 400), (42, 1300), (49, 2000)])
    assert result.grade == 1
    assert any("transient" in d for d in result.drivers)


def test_reference_code_grades_the_nadir_when_a_second_value_le_1500_exists() -> None:
    assert late([(35, 400), (42, 1300)], late_single_value_rule="liang_code").grade == 3


def test_reference_code_is_grade_0_when_the_second_value_is_above_1500() -> None:
    assert late([(35, 400), (42, 1600)], late_single_value_rule="liang_code").grade == 0
    assert late([(35, 400), (42, 1600)]).grade == 0


def test_D16_single_value_is_open_by_default_and_graded_by_the_reference_code() -> None:
    consensus = late([(35, 400)])
    assert consensus.status is Status.NOT_GRADEABLE
    assert (consensus.floor, consensus.ceiling) == (0, 3)
    assert consensus.missing == ("anc_after_day30",)
    assert late([(35, 400)], late_single_value_rule="liang_code").grade == 3


def test_a_fall_on_the_latest_value_awaits_confirmation() -> None:
    result = late([(35, 1200), (42, 1300), (49, 300)])
    assert result.status is Status.NOT_GRADEABLE
    assert (result.floor, result.ceiling) == (1, 3)


def test_values_on_or_before_day_30_are_ignored_and_listed() -> None:
    result = late([(30, 50), (35, 1600), (40, 1700)])
    assert result.grade == 0
    assert any("day 30" in i for i in result.ignored)


def test_reference_code_window_ends_on_day_100() -> None:
    values = [(35, 1600), (110, 300), (120, 300)]
    assert late(values).grade == 3
    assert late(values, late_single_value_rule="liang_code").grade == 0


def test_series_values_after_day_30_count_for_late_icaht() -> None:
    result = grade(
        "icaht_late",
        {"anc_series": series({10: 2000, 40: 900, 47: 800})},
    )
    assert result.grade == 2


def test_late_icaht_without_counts_after_day_30_is_open() -> None:
    result = grade("icaht_late", {})
    assert result.status is Status.NOT_GRADEABLE
    assert result.missing == ("anc_after_day30",)


def test_late_icaht_does_not_apply_before_day_31() -> None:
    result = grade("icaht_late", {"day_post_infusion": 20})
    assert result.status is Status.NOT_APPLICABLE


def test_counts_in_10e9_per_l_are_converted() -> None:
    data = {"anc_after_day30": [{"day": 35, "anc_10e9_l": 0.5}, {"day": 42, "anc_10e9_l": 0.5}]}
    assert grade("icaht_late", data).grade == 3


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(31, 100), anc_values), min_size=1, max_size=6),
    st.integers(0, 5),
    anc_values,
)
def test_a_lower_late_count_never_lowers_floor_or_ceiling(
    values: list[tuple[int, float]], index: int, lower: float
) -> None:
    i = index % len(values)
    worse = list(values)
    worse[i] = (values[i][0], min(values[i][1], lower))
    for rule in ("eha_ebmt_nontransient", "liang_code"):
        a = late([(float(d), v) for d, v in values], late_single_value_rule=rule)
        b = late([(float(d), v) for d, v in worse], late_single_value_rule=rule)
        assert a.floor is not None and b.floor is not None
        assert b.floor >= a.floor
        assert (b.ceiling or 0) >= (a.ceiling or 0)


def test_reference_code_late_rule_is_also_registered_under_its_own_id() -> None:
    data = {"anc_after_day30": [{"day": 35, "anc_per_ul": 400}]}
    result = grade("icaht_late_liang_impl", data)
    assert result.scale == "icaht_late_liang_impl"
    assert result.grade == 3


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.integers(0, 30), anc_values, min_size=1, max_size=12),
    st.data(),
    anc_values,
)
def test_with_sparse_counts_a_lower_count_never_lowers_floor_or_ceiling(
    counts: dict[int, float], data: st.DataObject, lower: float
) -> None:
    day = data.draw(st.sampled_from(sorted(counts)))
    worse = {**counts, day: min(counts[day], lower)}
    for gaps in ("interpolate_up_to_7_days", "no_imputation"):
        a = grade("icaht_early", {"anc_series": series(counts)}, series_gaps=gaps)
        b = grade("icaht_early", {"anc_series": series(worse)}, series_gaps=gaps)
        assert a.floor is not None and b.floor is not None
        assert b.floor >= a.floor
        assert (b.ceiling or 0) >= (a.ceiling or 0)
