"""ICAHT: immune effector cell-associated haematotoxicity (``icaht_early``, ``icaht_late``).

Early ICAHT (day 0 to day +30) is graded by the longest period of neutropenia: the days with
ANC ≤500/µL and with ANC ≤100/µL, periods separated by fewer than 3 consecutive days of
ANC >500/µL (>100/µL for the ≤100 count) being one period. Late ICAHT (after day +30) is graded
by the ANC, which must be non-transient (at least two values at or below the threshold).

Inputs: either the pre-computed durations (``longest_days_anc_le_500``,
``longest_days_anc_le_100``) or a dated ANC series (``anc_series``, days relative to infusion);
``anc_after_day30`` (and any ``anc_series`` value after day 30) for late ICAHT.

How a series is read (option ``series_gaps``):

* Days are calendar days relative to infusion (``floor(day)``); several counts on one day → the
  lowest (as the reference implementation does).
* ``interpolate_up_to_7_days`` (default, the reference implementation): a run of at most 7
  unsampled days between two counts is filled by linear interpolation; at most 7 unsampled days
  before the first or after the last count take the nearest count. Longer runs stay unknown.
  Interpolated counts are compared unrounded (the reference code rounds them to the nearest 10).
* ``no_imputation``: every unsampled day is unknown.
* An unknown day could be anything: the grade is computed with every unknown day recovered
  (the floor) and every unknown day ≤100/µL (the ceiling). The grade only rises as days worsen,
  so these two completions give the exact floor and ceiling (clinical-spec C-4).
* The window ends on day 30, or on ``last_followup_day`` (death or last follow-up) when earlier.

References: [REJESKI2023] Rejeski K, Subklewe M, Aljurf M, et al. Blood 2023;142(10):865-877
(EHA/EBMT grading), read through [LIANG_ICAHT_CODE] (the Fred Hutch reference implementation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from cartwatch.assessment import AncValue, Assessment
from cartwatch.errors import ConflictingValues
from cartwatch.grading.registry import ScaleInfo, ScaleOption, register
from cartwatch.grading.result import GradeResult, Status, not_applicable
from cartwatch.references import cite

REFERENCE = cite("REJESKI2023", "LIANG_ICAHT_CODE")
EARLY_ID = "icaht_early"
LATE_ID = "icaht_late"

# Everything below: [REJESKI2023] ICAHT grading table as encoded by [LIANG_ICAHT_CODE] (index.Rmd).
# UNVERIFIED (spec §10 item 20): the table was reconstructed from the reference implementation
# and secondary summaries, not read from the Blood paper.
EARLY_FIRST_DAY = 0  # [REJESKI2023] early ICAHT: day 0 …
EARLY_LAST_DAY = 30  # [REJESKI2023] … to day +30
ANC_SEVERE_PER_UL = 500.0  # [REJESKI2023] ANC ≤500/µL (inclusive; code threshold 501)
ANC_PROFOUND_PER_UL = 100.0  # [REJESKI2023] ANC ≤100/µL (inclusive; code threshold 101)
# Periods separated by fewer than 3 consecutive days above the threshold are joined (CIBMTR
# engraftment: stable recovery is ≥3 consecutive days; the code joins gaps of ≤2 days).
STABLE_RECOVERY_DAYS = 3  # [LIANG_ICAHT_CODE] joinAcrossGaps = TRUE, maxGap = 2
# Early grade by the longest period: ≤500 for 1–6 d → 1; 7–13 d → 2; 14–30 d → 3; ≥31 d → 4;
# ≤100 for 7–13 d → 3; ≥14 d → 4.
EARLY_G1_MIN_DAYS_LE_500 = 1.0  # [REJESKI2023] early table, grade 1 row
EARLY_G2_MIN_DAYS_LE_500 = 7.0  # [REJESKI2023] early table, grade 2 row
EARLY_G3_MIN_DAYS_LE_500 = 14.0  # [REJESKI2023] early table, grade 3 row
EARLY_G4_MIN_DAYS_LE_500 = 31.0  # [REJESKI2023] early table, grade 4 row
EARLY_G3_MIN_DAYS_LE_100 = 7.0  # [REJESKI2023] early table, grade 3 row (ANC ≤100)
EARLY_G4_MIN_DAYS_LE_100 = 14.0  # [REJESKI2023] early table, grade 4 row (ANC ≤100)
# [LIANG_ICAHT_CODE] a period ≤500 starting by day +3 and lasting to the end of the window (no
# recovery before day +30, death or last follow-up) is grade 4. Interpretation (choice of the
# reference code, clinical-spec §4.2): on by default, option ``no_recovery_rule``.
EARLY_G4_ONSET_BY_DAY = 3  # [LIANG_ICAHT_CODE] "start between days 0-3"
# [LIANG_ICAHT_CODE] na.approx(maxgap = 7, rule = 2): up to 7 consecutive missing days filled.
INTERPOLATION_MAX_GAP_DAYS = 7  # [LIANG_ICAHT_CODE] zoo::na.approx(maxgap = 7, rule = 2)

# Late ICAHT: ANC ≤1500 → 1; ≤1000 → 2; ≤500 → 3; ≤100 → 4, after day +30.
LATE_AFTER_DAY = 30.0  # [REJESKI2023] late ICAHT: after day +30
LATE_G1_PER_UL = 1500.0  # [REJESKI2023] late table, grade 1
LATE_G2_PER_UL = 1000.0  # [REJESKI2023] late table, grade 2
LATE_G3_PER_UL = 500.0  # [REJESKI2023] late table, grade 3
LATE_G4_PER_UL = 100.0  # [REJESKI2023] late table, grade 4
# [REJESKI2023] non-transient: "two or more laboratory tests" below the threshold (D16).
# Interpretation: the two values are on different days (one value per day, the lowest).
NON_TRANSIENT_MIN_VALUES = 2  # [REJESKI2023] "two or more laboratory tests" (D16)
# [LIANG_ICAHT_CODE] late window day +31 to day +100 (censoring at relapse/new therapy is left to
# the caller: give only the counts before it).
LIANG_LATE_FIRST_DAY = 31.0  # [LIANG_ICAHT_CODE] time_post_inf >= 31
LIANG_LATE_LAST_DAY = 100.0  # [LIANG_ICAHT_CODE] cart_date + 100

GAPS_INTERPOLATE = "interpolate_up_to_7_days"
GAPS_NONE = "no_imputation"
SERIES_GAPS = ScaleOption(
    name="series_gaps",
    default=GAPS_INTERPOLATE,
    choices=(GAPS_INTERPOLATE, GAPS_NONE),
    meaning="unsampled days of an ANC series: linear interpolation across gaps of ≤7 days as the "
    "reference implementation does, or none (every unsampled day unknown)",
)
NO_RECOVERY_CODE = "liang_code"
NO_RECOVERY_TABLE = "table_only"
NO_RECOVERY_RULE = ScaleOption(
    name="no_recovery_rule",
    default=NO_RECOVERY_CODE,
    choices=(NO_RECOVERY_CODE, NO_RECOVERY_TABLE),
    meaning="grade 4 for ANC ≤500/µL from day ≤3 without recovery to the end of the window "
    "(reference implementation), or the duration table only",
)
LATE_NONTRANSIENT = "eha_ebmt_nontransient"
LATE_LIANG = "liang_code"
LATE_RULE = ScaleOption(
    name="late_single_value_rule",
    default=LATE_NONTRANSIENT,
    choices=(LATE_NONTRANSIENT, LATE_LIANG),
    meaning="late ICAHT: EHA/EBMT non-transient rule (≥2 values at or below the threshold) or "
    "the reference code (nadir graded when a second value ≤1500 exists or only one value; D16)",
)

# Level of one day: 0 recovered (>500), 1 ANC ≤500, 2 ANC ≤100.
RECOVERED, SEVERE, PROFOUND = 0, 1, 2


# --------------------------------------------------------------------------------------------
# Early ICAHT
# --------------------------------------------------------------------------------------------


def early_grade(days_anc_le_500: float, days_anc_le_100: float) -> int:
    """The early ICAHT grade from the longest periods of ANC ≤500 and ≤100/µL [REJESKI2023]."""
    if days_anc_le_500 >= EARLY_G4_MIN_DAYS_LE_500 or days_anc_le_100 >= EARLY_G4_MIN_DAYS_LE_100:
        return 4
    if days_anc_le_500 >= EARLY_G3_MIN_DAYS_LE_500 or days_anc_le_100 >= EARLY_G3_MIN_DAYS_LE_100:
        return 3
    if days_anc_le_500 >= EARLY_G2_MIN_DAYS_LE_500:
        return 2
    if days_anc_le_500 >= EARLY_G1_MIN_DAYS_LE_500:
        return 1
    return 0


def _days(n: float) -> str:
    shown = f"{int(n)}" if float(n).is_integer() else repr(float(n))
    return f"{shown} day" + ("" if n == 1 else "s")


def _band_500(d: float) -> str:
    if d >= EARLY_G4_MIN_DAYS_LE_500:
        return "≥31"
    if d >= EARLY_G3_MIN_DAYS_LE_500:
        return "14–30"
    if d >= EARLY_G2_MIN_DAYS_LE_500:
        return "7–13"
    if d >= EARLY_G1_MIN_DAYS_LE_500:
        return "1–6"
    return "0"


def _band_100(d: float) -> str:
    if d >= EARLY_G4_MIN_DAYS_LE_100:
        return "≥14"
    if d >= EARLY_G3_MIN_DAYS_LE_100:
        return "7–13"
    return "<7"


def _duration_words(d500: float, d100: float, grade: int) -> str:
    return (
        f"ANC ≤500/µL for {_days(d500)} ({_band_500(d500)}) and ≤100/µL for {_days(d100)} "
        f"({_band_100(d100)}) → grade {grade}"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """One period of neutropenia after joining across unstable recoveries (days inclusive)."""

    first_day: int
    last_day: int

    @property
    def days(self) -> int:
        return self.last_day - self.first_day + 1


def longest_periods(levels: Mapping[int, int], level: int) -> list[Period]:
    """Periods of days at ``level`` or worse, joined across gaps < STABLE_RECOVERY_DAYS days.

    ``levels`` maps every day of the window to its level; the joined period spans the gap days
    (as in [LIANG_ICAHT_CODE], heatwaveR ``exceedance(joinAcrossGaps = TRUE, maxGap = 2)``).
    """
    periods: list[Period] = []
    for day in sorted(levels):
        if levels[day] < level:
            continue
        if periods and day - periods[-1].last_day - 1 < STABLE_RECOVERY_DAYS:
            periods[-1] = Period(first_day=periods[-1].first_day, last_day=day)
        else:
            periods.append(Period(first_day=day, last_day=day))
    return periods


@dataclass(frozen=True, slots=True, kw_only=True)
class EarlyCourse:
    """The early-ICAHT reading of one completion of the series."""

    days_anc_le_500: int
    days_anc_le_100: int
    period_500: Period | None
    period_100: Period | None
    no_recovery: bool
    grade: int


def grade_course(
    levels: Mapping[int, int], last_day: int, *, no_recovery_rule: bool
) -> EarlyCourse:
    """Grade one day-by-day course (every day of the window has a level)."""
    p500 = longest_periods(levels, SEVERE)
    p100 = longest_periods(levels, PROFOUND)
    long500 = max(p500, key=lambda p: p.days, default=None)
    long100 = max(p100, key=lambda p: p.days, default=None)
    d500 = 0 if long500 is None else long500.days
    d100 = 0 if long100 is None else long100.days
    grade = early_grade(d500, d100)
    no_recovery = no_recovery_rule and any(
        p.first_day <= EARLY_G4_ONSET_BY_DAY and p.last_day == last_day for p in p500
    )
    if no_recovery:
        grade = 4
    return EarlyCourse(
        days_anc_le_500=d500,
        days_anc_le_100=d100,
        period_500=long500,
        period_100=long100,
        no_recovery=no_recovery,
        grade=grade,
    )


def level_of(anc_per_ul: float) -> int:
    """A day's level: ≤100/µL → 2, ≤500/µL → 1, else 0 (inclusive comparisons, unrounded)."""
    if anc_per_ul <= ANC_PROFOUND_PER_UL:
        return PROFOUND
    if anc_per_ul <= ANC_SEVERE_PER_UL:
        return SEVERE
    return RECOVERED


@dataclass(frozen=True, slots=True, kw_only=True)
class DailySeries:
    """The window's days: measured, interpolated or unknown."""

    last_day: int
    measured: Mapping[int, float]
    interpolated: Mapping[int, float]
    unknown: tuple[int, ...]


def daily_series(values: Iterable[AncValue], *, last_day: int, interpolate: bool) -> DailySeries:
    """Day-by-day ANC for days 0…``last_day``: lowest count per day, gaps filled per the option."""
    measured: dict[int, float] = {}
    for v in values:
        day = math.floor(v.day)
        if EARLY_FIRST_DAY <= day <= last_day:
            measured[day] = min(v.anc_per_ul, measured.get(day, math.inf))
    interpolated: dict[int, float] = {}
    unknown: list[int] = []
    days = sorted(measured)
    for day in range(EARLY_FIRST_DAY, last_day + 1):
        if day in measured:
            continue
        before = max((d for d in days if d < day), default=None)
        after = min((d for d in days if d > day), default=None)
        if not interpolate or (before is None and after is None):
            unknown.append(day)
            continue
        if before is not None and after is not None:
            gap = after - before - 1
            if gap <= INTERPOLATION_MAX_GAP_DAYS:
                w = (day - before) / (after - before)
                interpolated[day] = measured[before] + w * (measured[after] - measured[before])
                continue
        elif before is None and after is not None:
            if after - EARLY_FIRST_DAY <= INTERPOLATION_MAX_GAP_DAYS:
                interpolated[day] = measured[after]
                continue
        elif before is not None and last_day - before <= INTERPOLATION_MAX_GAP_DAYS:
            interpolated[day] = measured[before]
            continue
        unknown.append(day)
    return DailySeries(
        last_day=last_day, measured=measured, interpolated=interpolated, unknown=tuple(unknown)
    )


def _spans(days: Iterable[int]) -> str:
    out: list[str] = []
    ordered = sorted(days)
    start = prev = None
    for d in ordered:
        if start is None:
            start = prev = d
        elif prev is not None and d == prev + 1:
            prev = d
        else:
            out.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = d
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(out)


def _period_words(label: str, course: EarlyCourse, which: int) -> str | None:
    period = course.period_500 if which == SEVERE else course.period_100
    if period is None:
        return None
    return f"longest period of ANC {label}: days {period.first_day}–{period.last_day}"


def _window_last_day(a: Assessment) -> int:
    if a.last_followup_day is not None and a.last_followup_day < EARLY_LAST_DAY:
        return max(EARLY_FIRST_DAY, math.floor(a.last_followup_day))
    return EARLY_LAST_DAY


def _early_from_series(a: Assessment, options: Mapping[str, str]) -> GradeResult:
    assert a.anc_series is not None
    interpolate = options.get(SERIES_GAPS.name, SERIES_GAPS.default) == GAPS_INTERPOLATE
    rule = options.get(NO_RECOVERY_RULE.name, NO_RECOVERY_RULE.default) == NO_RECOVERY_CODE
    last_day = _window_last_day(a)
    series = daily_series(a.anc_series, last_day=last_day, interpolate=interpolate)
    known = {d: level_of(v) for d, v in {**series.measured, **series.interpolated}.items()}
    best = grade_course(
        {**known, **dict.fromkeys(series.unknown, RECOVERED)}, last_day, no_recovery_rule=rule
    )
    worst = grade_course(
        {**known, **dict.fromkeys(series.unknown, PROFOUND)}, last_day, no_recovery_rule=rule
    )
    for field, given, low, high in (
        (
            "longest_days_anc_le_500",
            a.longest_days_anc_le_500,
            best.days_anc_le_500,
            worst.days_anc_le_500,
        ),
        (
            "longest_days_anc_le_100",
            a.longest_days_anc_le_100,
            best.days_anc_le_100,
            worst.days_anc_le_100,
        ),
    ):
        if given is not None and not low <= given <= high:
            raise ConflictingValues(
                f"`{field}={given}` disagrees with anc_series, which gives "
                f"{low if low == high else f'{low}–{high}'} days",
                field=field,
                value=given,
                expected=f"{low}–{high} days or leave {field} out",
            )
    drivers: list[str] = []
    sampled = f"ANC counted on {len(series.measured)} of {last_day + 1} days (0–{last_day})"
    drivers.append(sampled)
    if series.interpolated:
        drivers.append(
            f"days {_spans(series.interpolated)} not sampled: filled by interpolation across a "
            f"gap of ≤{INTERPOLATION_MAX_GAP_DAYS} days (reference implementation)"
        )
    if series.unknown:
        drivers.append(
            f"days {_spans(series.unknown)} not sampled and not filled: counted both as "
            "recovered and as ANC ≤100/µL"
        )
    floor, ceiling = best.grade, worst.grade
    options_used = {
        SERIES_GAPS.name: SERIES_GAPS.default if interpolate else GAPS_NONE,
        NO_RECOVERY_RULE.name: NO_RECOVERY_CODE if rule else NO_RECOVERY_TABLE,
    }
    if floor == ceiling:
        course = best
        for words in (
            _period_words("≤500/µL", course, SEVERE),
            _period_words("≤100/µL", course, PROFOUND),
        ):
            if words:
                drivers.append(words)
        drivers.append(_duration_words(course.days_anc_le_500, course.days_anc_le_100, floor))
        if course.no_recovery and early_grade(course.days_anc_le_500, course.days_anc_le_100) < 4:
            drivers.append(
                f"ANC ≤500/µL from day {course.period_500.first_day if course.period_500 else 0} "
                f"(≤ day {EARLY_G4_ONSET_BY_DAY}) without recovery by day {last_day} → grade 4 "
                "(reference implementation)"
            )
        return GradeResult(
            scale=EARLY_ID,
            status=Status.GRADED if floor >= 1 else Status.CRITERIA_NOT_MET,
            grade=floor,
            floor=floor,
            ceiling=ceiling,
            drivers=tuple(drivers),
            reasons=("computed_from_series",),
            reference=REFERENCE,
            options=options_used,
        )
    best_words = _duration_words(best.days_anc_le_500, best.days_anc_le_100, floor)
    drivers.append(f"with the unknown days recovered: {best_words}")
    drivers.append(
        f"with the unknown days ≤100/µL: "
        f"{_duration_words(worst.days_anc_le_500, worst.days_anc_le_100, ceiling)}"
    )
    return GradeResult(
        scale=EARLY_ID,
        status=Status.NOT_GRADEABLE,
        grade=None,
        floor=floor,
        ceiling=ceiling,
        missing=("anc_series",),
        drivers=tuple(drivers),
        reasons=("computed_from_series", "unsampled_days"),
        reference=REFERENCE,
        options=options_used,
    )


def _duration_candidates(low: float, high: float) -> tuple[float, ...]:
    cuts = (
        EARLY_G1_MIN_DAYS_LE_500,
        EARLY_G2_MIN_DAYS_LE_500,
        EARLY_G3_MIN_DAYS_LE_500,
        EARLY_G4_MIN_DAYS_LE_500,
        EARLY_G3_MIN_DAYS_LE_100,
        EARLY_G4_MIN_DAYS_LE_100,
    )
    return tuple(sorted({low, high, *(c for c in cuts if low <= c <= high)}))


def _early_from_durations(a: Assessment, options: Mapping[str, str]) -> GradeResult:
    d500 = a.longest_days_anc_le_500
    d100 = a.longest_days_anc_le_100
    if d500 is not None and d100 is not None and d100 > d500:
        raise ConflictingValues(
            f"`longest_days_anc_le_100={d100}` exceeds `longest_days_anc_le_500={d500}`; every "
            "day with ANC ≤100/µL is also a day with ANC ≤500/µL",
            field="longest_days_anc_le_100",
            value=d100,
            expected=f"0–{d500} days",
        )
    ignored: tuple[str, ...] = ()
    if d500 is not None and d100 is not None:
        grade = early_grade(d500, d100)
        return GradeResult(
            scale=EARLY_ID,
            status=Status.GRADED if grade >= 1 else Status.CRITERIA_NOT_MET,
            grade=grade,
            floor=grade,
            ceiling=grade,
            drivers=(_duration_words(d500, d100, grade),),
            ignored=ignored,
            reference=REFERENCE,
            options=dict(options),
        )
    ceiling_days = EARLY_G4_MIN_DAYS_LE_500 + 1
    if d500 is not None:
        pairs = [(d500, c) for c in _duration_candidates(0.0, d500)]
        missing: tuple[str, ...] = ("longest_days_anc_le_100", "anc_series")
    elif d100 is not None:
        pairs = [(c, d100) for c in _duration_candidates(d100, max(d100, ceiling_days))]
        missing = ("longest_days_anc_le_500", "anc_series")
    else:
        pairs = [
            (x, y)
            for x in _duration_candidates(0.0, ceiling_days)
            for y in _duration_candidates(0.0, x)
        ]
        missing = ("anc_series", "longest_days_anc_le_500", "longest_days_anc_le_100")
    grades = {early_grade(x, y) for x, y in pairs}
    floor, ceiling = min(grades), max(grades)
    if floor == ceiling:
        known = (
            f"ANC ≤500/µL for {_days(d500)} ({_band_500(d500)}) → grade {floor} whatever the "
            "days ≤100/µL (at most as many)"
            if d500 is not None
            else f"ANC ≤100/µL for {_days(d100 or 0)} → grade {floor}"
        )
        return GradeResult(
            scale=EARLY_ID,
            status=Status.GRADED if floor >= 1 else Status.CRITERIA_NOT_MET,
            grade=floor,
            floor=floor,
            ceiling=ceiling,
            drivers=(known,),
            reference=REFERENCE,
            options=dict(options),
        )
    drivers: list[str] = []
    if d500 is not None:
        drivers.append(f"ANC ≤500/µL for {_days(d500)} ({_band_500(d500)})")
    if d100 is not None:
        drivers.append(f"ANC ≤100/µL for {_days(d100)} ({_band_100(d100)})")
    return GradeResult(
        scale=EARLY_ID,
        status=Status.NOT_GRADEABLE,
        grade=None,
        floor=floor,
        ceiling=ceiling,
        missing=missing,
        drivers=tuple(drivers),
        reference=REFERENCE,
        options=dict(options),
    )


def grade_icaht_early(
    assessment: Assessment,
    *,
    series_gaps: str = GAPS_INTERPOLATE,
    no_recovery_rule: str = NO_RECOVERY_CODE,
) -> GradeResult:
    """Early ICAHT (day 0–30) from the durations or the ANC series [REJESKI2023]."""
    options = {SERIES_GAPS.name: series_gaps, NO_RECOVERY_RULE.name: no_recovery_rule}
    a = assessment
    if a.day_post_infusion is not None and a.day_post_infusion < EARLY_FIRST_DAY:
        return not_applicable(
            EARLY_ID,
            reason=f"early ICAHT is graded from day {EARLY_FIRST_DAY}; this assessment is on day "
            f"{a.day_post_infusion:g}",
            reference=REFERENCE,
            options=options,
        )
    both_given = a.longest_days_anc_le_500 is not None and a.longest_days_anc_le_100 is not None
    if a.anc_series is not None and not both_given:
        return _early_from_series(a, options)
    result = _early_from_durations(a, options)
    if a.anc_series is not None:
        note = "anc_series: not used, the recorded durations were graded"
        return GradeResult(
            scale=result.scale,
            status=result.status,
            grade=result.grade,
            floor=result.floor,
            ceiling=result.ceiling,
            missing=result.missing,
            drivers=result.drivers,
            ignored=(note,),
            reasons=result.reasons,
            reference=result.reference,
            options=result.options,
        )
    return result


# --------------------------------------------------------------------------------------------
# Late ICAHT
# --------------------------------------------------------------------------------------------


def late_grade_of(anc_per_ul: float) -> int:
    """Late ICAHT grade a single ANC would give: ≤100 → 4, ≤500 → 3, ≤1000 → 2, ≤1500 → 1."""
    if anc_per_ul <= LATE_G4_PER_UL:
        return 4
    if anc_per_ul <= LATE_G3_PER_UL:
        return 3
    if anc_per_ul <= LATE_G2_PER_UL:
        return 2
    if anc_per_ul <= LATE_G1_PER_UL:
        return 1
    return 0


_LATE_LIMIT = {1: LATE_G1_PER_UL, 2: LATE_G2_PER_UL, 3: LATE_G3_PER_UL, 4: LATE_G4_PER_UL}


def _anc(v: float) -> str:
    return f"{int(v):,}/µL" if float(v).is_integer() else f"{v!r}/µL"


def _day(d: float) -> str:
    return f"day {int(d)}" if float(d).is_integer() else f"day {d!r}"


def grade_icaht_late(
    assessment: Assessment, *, late_single_value_rule: str = LATE_NONTRANSIENT
) -> GradeResult:
    """Late ICAHT (after day +30) from the counts after day 30 [REJESKI2023], D16 selectable."""
    a = assessment
    liang = late_single_value_rule == LATE_LIANG
    options = {LATE_RULE.name: late_single_value_rule}
    if a.day_post_infusion is not None and a.day_post_infusion <= LATE_AFTER_DAY:
        return not_applicable(
            LATE_ID,
            reason=f"late ICAHT is graded after day {LATE_AFTER_DAY:g}; this assessment is on "
            f"day {a.day_post_infusion:g}",
            reference=REFERENCE,
            options=options,
        )
    pool = [*(a.anc_after_day30 or ()), *(v for v in a.anc_series or () if v.day > LATE_AFTER_DAY)]
    ignored: list[str] = []
    per_day: dict[int, AncValue] = {}
    for v in pool:
        inside = (
            LIANG_LATE_FIRST_DAY <= v.day <= LIANG_LATE_LAST_DAY
            if liang
            else v.day > LATE_AFTER_DAY
        )
        if not inside:
            window = "days 31–100 (reference code)" if liang else f"after day {LATE_AFTER_DAY:g}"
            ignored.append(f"ANC {_anc(v.anc_per_ul)} on {_day(v.day)}: outside {window}")
            continue
        key = math.floor(v.day)
        if key not in per_day or v.anc_per_ul < per_day[key].anc_per_ul:
            per_day[key] = v
    values = sorted(per_day.values(), key=lambda v: (v.anc_per_ul, v.day))
    if not values:
        return GradeResult(
            scale=LATE_ID,
            status=Status.NOT_GRADEABLE,
            grade=None,
            floor=0,
            ceiling=4,
            missing=("anc_after_day30",),
            drivers=("no ANC recorded after day 30",),
            ignored=tuple(ignored),
            reference=REFERENCE,
            options=options,
        )
    nadir = values[0]
    second = values[1] if len(values) >= NON_TRANSIENT_MIN_VALUES else None
    nadir_grade = late_grade_of(nadir.anc_per_ul)
    drivers: list[str] = []
    reasons: list[str] = []
    missing: tuple[str, ...] = ()
    if liang:
        if second is None or second.anc_per_ul <= LATE_G1_PER_UL:
            floor = ceiling = nadir_grade
            if second is None:
                reasons.append("single_value_graded")
                drivers.append(
                    f"only one ANC after day 30 ({_anc(nadir.anc_per_ul)} on "
                    f"{_day(nadir.day)}): graded on it (reference code, D16) → grade {floor}"
                )
            else:
                drivers.append(
                    f"nadir ANC {_anc(nadir.anc_per_ul)} on {_day(nadir.day)} with a second "
                    f"value ≤{_anc(LATE_G1_PER_UL)} ({_anc(second.anc_per_ul)} on "
                    f"{_day(second.day)}) → grade {floor} (reference code)"
                )
        else:
            floor = ceiling = 0
            drivers.append(
                f"second-lowest ANC {_anc(second.anc_per_ul)} >{_anc(LATE_G1_PER_UL)}: no "
                "non-transient value ≤1500/µL → grade 0 (reference code)"
            )
    else:
        confirmed = 0 if second is None else late_grade_of(second.anc_per_ul)
        latest = max(values, key=lambda v: v.day)
        latest_grade = late_grade_of(latest.anc_per_ul)
        floor = confirmed
        ceiling = max(confirmed, latest_grade)
        if confirmed > 0:
            assert second is not None
            drivers.append(
                f"two ANC values ≤{_anc(_LATE_LIMIT[confirmed])} ({_anc(nadir.anc_per_ul)} on "
                f"{_day(nadir.day)}, {_anc(second.anc_per_ul)} on {_day(second.day)}): "
                f"non-transient → grade {confirmed}"
            )
        if nadir_grade > confirmed and ceiling == confirmed:
            drivers.append(
                f"nadir ANC {_anc(nadir.anc_per_ul)} on {_day(nadir.day)} is a single value "
                f"(transient for grade {nadir_grade}): not counted"
            )
        if ceiling > floor:
            reasons.append("latest_value_unconfirmed")
            missing = ("anc_after_day30",)
            drivers.append(
                f"latest ANC {_anc(latest.anc_per_ul)} on {_day(latest.day)} would give grade "
                f"{latest_grade} once confirmed by a second value (non-transient rule, D16)"
            )
        if confirmed == 0 and ceiling == 0:
            drivers.append(
                f"no two ANC values ≤{_anc(LATE_G1_PER_UL)} after day 30 (lowest "
                f"{_anc(nadir.anc_per_ul)}) → no late ICAHT"
            )
    grade = floor if floor == ceiling else None
    if grade is None:
        status = Status.NOT_GRADEABLE
    else:
        status = Status.GRADED if grade >= 1 else Status.CRITERIA_NOT_MET
    return GradeResult(
        scale=LATE_ID,
        status=status,
        grade=grade,
        floor=floor,
        ceiling=ceiling,
        missing=missing,
        drivers=tuple(drivers),
        ignored=tuple(ignored),
        reasons=tuple(reasons),
        reference=REFERENCE,
        options=options,
    )


def _evaluate_early(assessment: Assessment, options: Mapping[str, str]) -> GradeResult:
    return grade_icaht_early(
        assessment,
        series_gaps=options.get(SERIES_GAPS.name, SERIES_GAPS.default),
        no_recovery_rule=options.get(NO_RECOVERY_RULE.name, NO_RECOVERY_RULE.default),
    )


def _evaluate_late(assessment: Assessment, options: Mapping[str, str]) -> GradeResult:
    return grade_icaht_late(
        assessment,
        late_single_value_rule=options.get(LATE_RULE.name, LATE_RULE.default),
    )


EARLY_INFO = register(
    ScaleInfo(
        id=EARLY_ID,
        title="Early ICAHT (EHA/EBMT 2023), day 0 to +30",
        syndrome="hematotoxicity",
        kind="grade",
        reference_keys=("REJESKI2023", "LIANG_ICAHT_CODE"),
        evaluate=_evaluate_early,
        options=(SERIES_GAPS, NO_RECOVERY_RULE),
        inputs=(
            "longest_days_anc_le_500",
            "longest_days_anc_le_100",
            "anc_series",
            "last_followup_day",
            "day_post_infusion",
        ),
    )
)
LIANG_LATE_ID = "icaht_late_liang_impl"


def _evaluate_late_liang(assessment: Assessment, options: Mapping[str, str]) -> GradeResult:
    result = grade_icaht_late(assessment, late_single_value_rule=LATE_LIANG)
    return replace(result, scale=LIANG_LATE_ID)


LATE_INFO = register(
    ScaleInfo(
        id=LATE_ID,
        title="Late ICAHT (EHA/EBMT 2023), after day +30",
        syndrome="hematotoxicity",
        kind="grade",
        reference_keys=("REJESKI2023", "LIANG_ICAHT_CODE"),
        evaluate=_evaluate_late,
        options=(LATE_RULE,),
        inputs=("anc_after_day30", "anc_series", "day_post_infusion"),
    )
)
# The reference code's late-ICAHT behaviour under its own id (examples.json key
# ICAHT_LATE_LIANG_IMPL, D16), for side-by-side comparison with the consensus rule.
LIANG_LATE_INFO = register(
    ScaleInfo(
        id=LIANG_LATE_ID,
        title="Late ICAHT, reference-code rules (nadir; single value graded; days 31–100; D16)",
        syndrome="hematotoxicity",
        kind="grade",
        reference_keys=("LIANG_ICAHT_CODE", "REJESKI2023"),
        evaluate=_evaluate_late_liang,
        inputs=("anc_after_day30", "anc_series", "day_post_infusion"),
    )
)
