"""A patient's time-stamped record → toxicity episodes per scale, and the CRS state it implies.

An assessment is a moment; toxicity is an episode (design.md §4). This module is pure: no I/O, no
clock. It does three things, each usable alone:

* :func:`derive_episodes` walks one scale's graded points (``(time, grade)`` pairs, grades computed
  elsewhere) in time order and returns the episodes: onset, maximum grade and when, resolution,
  duration, the drugs given inside, and for ICANS whether the course was biphasic. The walk is O(n)
  after sorting, so the registry and the columnar engine can pass pre-computed grades.
* :func:`carry_crs_state` fills ``crs_previously_established`` and
  ``antipyretic_or_anticytokine_given`` from the record where the bedside left them blank, grading
  incrementally (each grade may depend on state carried from earlier grades).
* :func:`patient_episodes` does both for several scales at once.

Conventions (each a decision, documented once here):

* **Times** must carry a time zone; naive datetimes are rejected. ``to_dict()`` reports UTC.
* **Order.** Input need not be sorted; it is sorted by time (stable). Assessments that share
  the same instant form one *moment* whose grade is the highest grade among them (a grade 0 and
  a grade 2 charted at the same instant cannot both describe the patient; the worse one is
  kept), so the result never depends on the order of ties. Not-gradeable points (grade
  ``None``) are counted but neither start nor end an episode.
* **Episode rule** (:class:`EpisodeRule`, default 48 h): an episode begins at the first moment
  graded ≥ 1 at or after an infusion; it ends at the first moment graded 0 after which no
  moment graded ≥ 1 follows within ``gap_hours``. The window is half-open: a grade ≥ 1 at
  47.99 h continues the episode, a grade ≥ 1 at exactly 48.0 h starts a new one.
* **Infusions.** An episode belongs to the latest infusion at or before its onset. A later infusion
  does *not* close an open episode (one toxicity is not split by a second bag — split doses, or a
  re-infusion during CRS); such infusions are listed in ``infusions_during``. Points before the
  first infusion never start an episode; a patient without infusions has no episodes.
* **Resolution while the record is short.** When the record ends less than ``gap_hours`` after the
  resolving grade 0, ``resolved_at`` is that grade-0 time (the rule applied to the record as it
  stands) and ``resolution_confirmed`` is False until a graded moment at or beyond the window
  exists.

References: design.md §4; issue 5 item 3; the masked-fever rule of [LEE2019] Table 1 footnote;
the biphasic course of ICANS/CRES after [NEELAPU2018] as summarised in [SEED000_MGMT] §5 and
[SEED001_TABLE2] §2.4.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from typing import Any

from cartwatch.assessment import Assessment
from cartwatch.errors import ConfigError, ImplausibleValue, InvalidValue
from cartwatch.grading.registry import get_scale
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

# Interpretation: cartwatch's default episode rule (issue 5 item 3); no published registry rule
# fixes how long a grade 0 must last before CRS/ICANS counts as resolved.
DEFAULT_GAP_HOURS = 48.0
# Interpretation: upper bound of a configurable gap (30 days); a longer window would merge
# toxicities of separate infusions weeks apart.
MAX_GAP_HOURS = 720.0
# Interpretation: an episode starts at the first grade ≥ 1 (issue 5 item 3).
DEFAULT_ONSET_GRADE = 1
# Grades of every registered CRS/ICANS/CTCAE-style scale lie in 0–5 ([LEE2019] Table 1, [CTCAE5]).
LOWEST_GRADE = 0
HIGHEST_GRADE = 5

# Which CRS scale's episodes decide whether an ICANS scale's course was biphasic.
# Interpretation: pair each neurotoxicity scale with the CRS scale of the same system; ASTCT
# otherwise.
ICANS_CRS_PAIRING: Mapping[str, str] = {
    "astct_icans": "astct_crs",
    "cartox_cres": "cartox_crs",
}
DEFAULT_CRS_SCALE = "astct_crs"

# Interpretation: plausibility bounds of a charted dose, the same as the registry's import check.
# A dose of 0 mg is accepted as a charted but withheld dose: it is not a treatment and does not
# mask fever (see Administration.given).
MIN_DOSE_MG = 0.0
MAX_DOSE_MG = 100_000.0

_SECONDS_PER_DAY = 86_400.0


class DrugClass(StrEnum):
    """What a drug is, as far as episodes and the masked-fever rule care."""

    ANTICYTOKINE = "anticytokine"
    CORTICOSTEROID = "corticosteroid"
    ANTIPYRETIC = "antipyretic"
    ANTISEIZURE = "antiseizure"
    OTHER = "other"


# Generic name (lower case) → class. Anti-cytokine agents, corticosteroids and antipyretics are
# those the issue names for the masked-fever rule ([LEE2019] Table 1 footnote: "antipyretic or
# anticytokine therapy such as tocilizumab or steroids"); anti-seizure drugs are those used for
# ICANS prophylaxis and seizures ([ASCO2021]; spec §6.4).
# Interpretation: emapalumab, ruxolitinib and other agents are left as OTHER (not masking fever),
# because the issue lists the masking agents explicitly.
DRUG_CLASSES: Mapping[str, DrugClass] = {
    "tocilizumab": DrugClass.ANTICYTOKINE,
    "siltuximab": DrugClass.ANTICYTOKINE,
    "anakinra": DrugClass.ANTICYTOKINE,
    "dexamethasone": DrugClass.CORTICOSTEROID,
    "methylprednisolone": DrugClass.CORTICOSTEROID,
    "prednisone": DrugClass.CORTICOSTEROID,
    "prednisolone": DrugClass.CORTICOSTEROID,
    "hydrocortisone": DrugClass.CORTICOSTEROID,
    "paracetamol": DrugClass.ANTIPYRETIC,
    "ibuprofen": DrugClass.ANTIPYRETIC,
    "metamizole": DrugClass.ANTIPYRETIC,
    "levetiracetam": DrugClass.ANTISEIZURE,
    "lorazepam": DrugClass.ANTISEIZURE,
    "diazepam": DrugClass.ANTISEIZURE,
    "midazolam": DrugClass.ANTISEIZURE,
    "clonazepam": DrugClass.ANTISEIZURE,
    "phenytoin": DrugClass.ANTISEIZURE,
    "fosphenytoin": DrugClass.ANTISEIZURE,
    "valproate": DrugClass.ANTISEIZURE,
    "lacosamide": DrugClass.ANTISEIZURE,
    "phenobarbital": DrugClass.ANTISEIZURE,
}

# Other names charted for the same generic drug (international names and common brands).
DRUG_SYNONYMS: Mapping[str, str] = {
    "acetaminophen": "paracetamol",
    "dipyrone": "metamizole",
    "actemra": "tocilizumab",
    "roactemra": "tocilizumab",
    "sylvant": "siltuximab",
    "kineret": "anakinra",
    "decadron": "dexamethasone",
    "solu-medrol": "methylprednisolone",
    "keppra": "levetiracetam",
    "ativan": "lorazepam",
    "valproic acid": "valproate",
    "sodium valproate": "valproate",
}

# Classes whose administration since CRS onset lets CRS be graded without fever.
# [LEE2019] Table 1 footnote (masked fever); issue 5 item 3 names the agents.
MASKING_CLASSES: frozenset[DrugClass] = frozenset(
    {DrugClass.ANTICYTOKINE, DrugClass.CORTICOSTEROID, DrugClass.ANTIPYRETIC}
)


def normalise_drug(name: str) -> str:
    """The generic drug name in lower case, with known synonyms and brands mapped to it."""
    key = " ".join(name.strip().lower().split())
    return DRUG_SYNONYMS.get(key, key)


def drug_class(name: str) -> DrugClass:
    """The class of a drug by its (normalised) name; OTHER when it is not in the table."""
    return DRUG_CLASSES.get(normalise_drug(name), DrugClass.OTHER)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidValue(
            f"`{name}={value!r}` is not a date and time",
            field=name,
            value=value,
            expected="a datetime with a time zone (UTC)",
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(
            f"`{name}={value.isoformat()}` has no time zone; expected a UTC-aware datetime",
            field=name,
            value=value.isoformat(),
            expected="a datetime with a time zone (UTC)",
        )
    return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class Infusion:
    """One CAR-T infusion (day 0 of what follows it)."""

    infusion_id: str
    at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.infusion_id, str) or not self.infusion_id.strip():
            raise InvalidValue(
                f"`infusion_id={self.infusion_id!r}` must be a non-empty text",
                field="infusion_id",
                value=self.infusion_id,
                expected="a non-empty identifier",
            )
        _aware("infusion.at", self.at)

    def to_dict(self) -> dict[str, Any]:
        """The infusion as JSON."""
        return {"infusion_id": self.infusion_id, "at": _iso(self.at)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Administration:
    """One drug given: the name is normalised to the lower-case generic name."""

    at: datetime
    drug: str
    dose_mg: float | None = None
    route: str | None = None

    def __post_init__(self) -> None:
        _aware("administration.at", self.at)
        if not isinstance(self.drug, str) or not self.drug.strip():
            raise InvalidValue(
                f"`drug={self.drug!r}` must name a drug",
                field="drug",
                value=self.drug,
                expected="a drug name, e.g. tocilizumab",
            )
        object.__setattr__(self, "drug", normalise_drug(self.drug))
        dose = self.dose_mg
        if dose is not None:
            if isinstance(dose, bool) or not isinstance(dose, int | float):
                raise InvalidValue(
                    f"`dose_mg={dose!r}` is not a number",
                    field="dose_mg",
                    value=dose,
                    expected="a dose in mg, or None when not recorded",
                )
            if not math.isfinite(dose) or not MIN_DOSE_MG <= dose <= MAX_DOSE_MG:
                allowed = f"{MIN_DOSE_MG:g}–{MAX_DOSE_MG:,g} mg"
                raise ImplausibleValue(
                    f"`dose_mg={dose}` is implausible; expected {allowed}",
                    field="dose_mg",
                    value=dose,
                    expected=allowed,
                )
            object.__setattr__(self, "dose_mg", float(dose))
        if self.route is not None:
            route = self.route.strip().lower() if isinstance(self.route, str) else ""
            object.__setattr__(self, "route", route or None)

    @property
    def given(self) -> bool:
        """False for a charted 0 mg dose (withheld); True otherwise, even with no dose charted."""
        return self.dose_mg is None or self.dose_mg > 0

    @property
    def drug_class(self) -> DrugClass:
        """The class of the drug (:data:`DRUG_CLASSES`)."""
        return DRUG_CLASSES.get(self.drug, DrugClass.OTHER)

    def to_dict(self) -> dict[str, Any]:
        """The administration as JSON."""
        return {
            "at": _iso(self.at),
            "drug": self.drug,
            "drug_class": self.drug_class.value,
            "dose_mg": self.dose_mg,
            "route": self.route,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeRule:
    """How grades over time become episodes (issue 5 item 3; each value a centre may change).

    ``gap_hours``: how long after a grade 0 no grade ≥ ``onset_grade`` may follow for the episode to
    end at that grade 0 (half-open window). ``onset_grade``: the lowest grade that starts or
    continues an episode.
    """

    gap_hours: float = DEFAULT_GAP_HOURS
    onset_grade: int = DEFAULT_ONSET_GRADE

    def __post_init__(self) -> None:
        gap = self.gap_hours
        if (
            isinstance(gap, bool)
            or not isinstance(gap, int | float)
            or not math.isfinite(gap)
            or not 0 <= gap <= MAX_GAP_HOURS
        ):
            raise ConfigError(
                f"`gap_hours={gap!r}` cannot be used; expected 0–{MAX_GAP_HOURS:g} h",
                field="gap_hours",
                value=gap,
                expected=f"0–{MAX_GAP_HOURS:g} h",
            )
        onset = self.onset_grade
        if isinstance(onset, bool) or not isinstance(onset, int) or not 1 <= onset <= HIGHEST_GRADE:
            raise ConfigError(
                f"`onset_grade={onset!r}` cannot be used; expected an integer 1–{HIGHEST_GRADE}",
                field="onset_grade",
                value=onset,
                expected=f"an integer 1–{HIGHEST_GRADE}",
            )

    @property
    def gap(self) -> timedelta:
        """``gap_hours`` as a timedelta."""
        return timedelta(hours=self.gap_hours)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON."""
        return {"gap_hours": self.gap_hours, "onset_grade": self.onset_grade}


GradeLike = int | GradeResult | None
"""A point's grade: an int 0–5, ``None`` when not gradeable, or the :class:`GradeResult` itself."""
Point = tuple[datetime, GradeLike]
"""One graded assessment of one scale: ``(assessed_at, grade)``."""


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Treatment:
    """One drug given inside an episode: how often, when first and last, and the total dose.

    ``total_dose_mg`` is None when any of the doses was not recorded (never guessed).
    """

    drug: str
    drug_class: DrugClass
    count: int
    first_at: datetime
    last_at: datetime
    total_dose_mg: float | None

    def to_dict(self) -> dict[str, Any]:
        """The treatment as JSON."""
        return {
            "drug": self.drug,
            "drug_class": self.drug_class.value,
            "count": self.count,
            "first_at": _iso(self.first_at),
            "last_at": _iso(self.last_at),
            "total_dose_mg": self.total_dose_mg,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Episode:
    """One toxicity episode under one scale.

    ``onset_day`` is the calendar day after infusion (day 0 = the infusion's date, counted in the
    time zone of the infusion's timestamp); ``onset_days_after_infusion`` is the elapsed time in
    fractional days. ``resolved_at`` and ``duration_days`` are None while the episode is open.
    ``biphasic`` is None for scales other than ICANS, and for ICANS when no CRS episodes were given.
    """

    scale: str
    infusion_id: str
    onset_at: datetime
    onset_day: int
    onset_days_after_infusion: float
    max_grade: int
    max_grade_at: datetime
    resolved_at: datetime | None
    resolution_confirmed: bool
    duration_days: float | None
    treatments: tuple[Treatment, ...] = ()
    n_assessments: int = 0
    n_not_gradeable: int = 0
    infusions_during: tuple[str, ...] = ()
    biphasic: bool | None = None
    biphasic_phase: int | None = None
    rule: EpisodeRule = field(default_factory=EpisodeRule)

    @property
    def is_open(self) -> bool:
        """True while no resolution is recorded."""
        return self.resolved_at is None

    def covers(self, at: datetime) -> bool:
        """True when ``at`` lies between onset and resolution (inclusive; open → no end)."""
        return self.onset_at <= at and (self.resolved_at is None or at <= self.resolved_at)

    def to_dict(self) -> dict[str, Any]:
        """The episode as JSON (times in UTC, ISO 8601)."""
        return {
            "scale": self.scale,
            "infusion_id": self.infusion_id,
            "onset_at": _iso(self.onset_at),
            "onset_day": self.onset_day,
            "onset_days_after_infusion": self.onset_days_after_infusion,
            "max_grade": self.max_grade,
            "max_grade_at": _iso(self.max_grade_at),
            "resolved_at": _iso(self.resolved_at),
            "resolution_confirmed": self.resolution_confirmed,
            "duration_days": self.duration_days,
            "treatments": [t.to_dict() for t in self.treatments],
            "n_assessments": self.n_assessments,
            "n_not_gradeable": self.n_not_gradeable,
            "infusions_during": list(self.infusions_during),
            "biphasic": self.biphasic,
            "biphasic_phase": self.biphasic_phase,
            "rule": self.rule.to_dict(),
        }


# --------------------------------------------------------------------------------------------
# Preparation of inputs
# --------------------------------------------------------------------------------------------


def _grade_of(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, GradeResult):
        return value.grade
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(
            f"`grade={value!r}` is not a grade",
            field="grade",
            value=value,
            expected=f"an integer {LOWEST_GRADE}–{HIGHEST_GRADE}, a GradeResult, or None",
        )
    if not LOWEST_GRADE <= value <= HIGHEST_GRADE:
        raise InvalidValue(
            f"`grade={value}` is out of range; expected {LOWEST_GRADE}–{HIGHEST_GRADE}",
            field="grade",
            value=value,
            expected=f"{LOWEST_GRADE}–{HIGHEST_GRADE}",
        )
    return value


def _sorted_infusions(infusions: Iterable[Infusion]) -> list[Infusion]:
    out = sorted(infusions, key=lambda i: i.at)
    seen: set[str] = set()
    for index, inf in enumerate(out):
        if not isinstance(inf, Infusion):
            raise InvalidValue(
                f"`infusions` holds {inf!r}", field="infusions", value=inf, expected="Infusion"
            )
        if inf.infusion_id in seen:
            raise InvalidValue(
                f"`infusion_id={inf.infusion_id}` appears twice",
                field="infusion_id",
                value=inf.infusion_id,
                expected="each infusion once",
            )
        seen.add(inf.infusion_id)
        if index and out[index - 1].at == inf.at:
            raise InvalidValue(
                f"infusions `{out[index - 1].infusion_id}` and `{inf.infusion_id}` share the time "
                f"{_iso(inf.at)}; an episode could not be attributed to one of them",
                field="infusion.at",
                value=_iso(inf.at),
                expected="distinct infusion times",
            )
    return out


def _sorted_administrations(administrations: Iterable[Administration]) -> list[Administration]:
    out = list(administrations)
    for a in out:
        if not isinstance(a, Administration):
            raise InvalidValue(
                f"`administrations` holds {a!r}",
                field="administrations",
                value=a,
                expected="Administration",
            )
    out.sort(key=lambda a: a.at)
    return out


@dataclass(slots=True)
class _Moments:
    """Points merged by instant: time, highest grade (None if none), points, not-gradeable."""

    times: list[datetime]
    grades: list[int | None]
    counts: list[int]
    none_counts: list[int]


def _moments(points: Iterable[Point]) -> _Moments:
    rows: list[tuple[datetime, int | None]] = []
    append = rows.append
    for point in points:
        if type(point) is tuple and len(point) == 2:
            at, raw = point
        else:
            try:
                at, raw = point
            except (TypeError, ValueError):
                raise InvalidValue(
                    f"`points` holds {point!r}",
                    field="points",
                    value=point,
                    expected="(datetime, grade) pairs",
                ) from None
        if type(at) is not datetime or at.tzinfo is None:
            _aware("assessed_at", at)
        if raw is None or (type(raw) is int and LOWEST_GRADE <= raw <= HIGHEST_GRADE):
            append((at, raw))
        else:
            append((at, _grade_of(raw)))
    rows.sort(key=_first)
    times: list[datetime] = []
    grades: list[int | None] = []
    counts: list[int] = []
    nones: list[int] = []
    previous: datetime | None = None
    for at, g in rows:
        if at == previous:
            if g is None:
                nones[-1] += 1
            else:
                last = grades[-1]
                if last is None or g > last:
                    grades[-1] = g
            counts[-1] += 1
            continue
        previous = at
        times.append(at)
        grades.append(g)
        counts.append(1)
        nones.append(1 if g is None else 0)
    return _Moments(times, grades, counts, nones)


_first = itemgetter(0)


# --------------------------------------------------------------------------------------------
# The walk
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Span:
    infusion_index: int
    onset_at: datetime
    max_grade: int
    max_grade_at: datetime
    resolved_at: datetime | None
    confirmed: bool
    n_assessments: int
    n_not_gradeable: int


class _Walker:
    """The episode rule as a state machine fed one moment at a time (O(1) per moment)."""

    __slots__ = (
        "_cand_n",
        "_cand_ng",
        "_candidate",
        "_deadline",
        "_gap",
        "_inf_index",
        "_inf_times",
        "_max_at",
        "_max_g",
        "_n",
        "_ng",
        "_onset",
        "_onset_grade",
        "_onset_inf",
        "spans",
    )

    def __init__(self, *, infusions: Sequence[Infusion], rule: EpisodeRule) -> None:
        self._inf_times = [i.at for i in infusions]
        self._inf_index = -1
        self._gap = rule.gap
        self._onset_grade = rule.onset_grade
        self._onset: datetime | None = None
        self._onset_inf = -1
        self._max_g = 0
        self._max_at: datetime | None = None
        self._candidate: datetime | None = None
        self._deadline: datetime | None = None
        self._n = 0
        self._ng = 0
        self._cand_n = 0
        self._cand_ng = 0
        self.spans: list[_Span] = []

    def open_onset(self, at: datetime) -> datetime | None:
        """The onset of the episode still open just before ``at`` (None when none is)."""
        if self._onset is None:
            return None
        if self._deadline is not None and at >= self._deadline:
            return None
        return self._onset

    def feed(self, at: datetime, grade: int | None, count: int, nones: int) -> None:
        """Take the next moment (strictly later than the previous one)."""
        times = self._inf_times
        while self._inf_index + 1 < len(times) and times[self._inf_index + 1] <= at:
            self._inf_index += 1
        if (
            self._onset is not None
            and self._deadline is not None
            and at >= self._deadline
            and grade is not None
        ):
            self._close(confirmed=True)
        if self._onset is None:
            if grade is not None and grade >= self._onset_grade and self._inf_index >= 0:
                self._onset = at
                self._onset_inf = self._inf_index
                self._max_g = grade
                self._max_at = at
                self._n = count
                self._ng = nones
            return
        self._n += count
        self._ng += nones
        if grade is None:
            return
        if grade >= self._onset_grade:
            self._candidate = None
            self._deadline = None
            if grade > self._max_g:
                self._max_g = grade
                self._max_at = at
        elif self._candidate is None:
            self._candidate = at
            self._deadline = at + self._gap
            self._cand_n = self._n
            self._cand_ng = self._ng

    def finish(self) -> list[_Span]:
        """Close the walk: an episode still running stays open or provisionally resolved."""
        if self._onset is not None:
            self._close(confirmed=False)
        return self.spans

    def _close(self, *, confirmed: bool) -> None:
        assert self._onset is not None and self._max_at is not None
        resolved = self._candidate
        self.spans.append(
            _Span(
                infusion_index=self._onset_inf,
                onset_at=self._onset,
                max_grade=self._max_g,
                max_grade_at=self._max_at,
                resolved_at=resolved,
                confirmed=confirmed and resolved is not None,
                n_assessments=self._cand_n if resolved is not None else self._n,
                n_not_gradeable=self._cand_ng if resolved is not None else self._ng,
            )
        )
        self._onset = None
        self._candidate = None
        self._deadline = None


# --------------------------------------------------------------------------------------------
# Episodes
# --------------------------------------------------------------------------------------------


def _treatments(
    administrations: Sequence[Administration],
    admin_times: Sequence[datetime],
    start: datetime,
    end: datetime | None,
) -> tuple[Treatment, ...]:
    lo = bisect_left(admin_times, start)
    hi = len(admin_times) if end is None else bisect_right(admin_times, end)
    order: dict[str, list[Any]] = {}
    for a in administrations[lo:hi]:
        if not a.given:
            continue
        entry = order.get(a.drug)
        if entry is None:
            order[a.drug] = [a.drug_class, 1, a.at, a.at, a.dose_mg]
        else:
            entry[1] += 1
            entry[3] = a.at
            entry[4] = None if entry[4] is None or a.dose_mg is None else entry[4] + a.dose_mg
    return tuple(
        Treatment(drug=d, drug_class=c, count=n, first_at=f, last_at=la, total_dose_mg=dose)
        for d, (c, n, f, la, dose) in order.items()
    )


def _episode(
    *,
    scale: str,
    span: _Span,
    infusions: Sequence[Infusion],
    inf_times: Sequence[datetime],
    administrations: Sequence[Administration],
    admin_times: Sequence[datetime],
    rule: EpisodeRule,
    icans: bool,
) -> Episode:
    inf = infusions[span.infusion_index]
    zone = inf.at.tzinfo
    onset_local = span.onset_at.astimezone(zone)
    during_lo = bisect_right(inf_times, span.onset_at)
    during_hi = (
        len(inf_times) if span.resolved_at is None else bisect_right(inf_times, span.resolved_at)
    )
    duration = (
        None
        if span.resolved_at is None
        else (span.resolved_at - span.onset_at).total_seconds() / _SECONDS_PER_DAY
    )
    return Episode(
        scale=scale,
        infusion_id=inf.infusion_id,
        onset_at=span.onset_at,
        onset_day=(onset_local.date() - inf.at.date()).days,
        onset_days_after_infusion=(span.onset_at - inf.at).total_seconds() / _SECONDS_PER_DAY,
        max_grade=span.max_grade,
        max_grade_at=span.max_grade_at,
        resolved_at=span.resolved_at,
        resolution_confirmed=span.confirmed,
        duration_days=duration,
        treatments=_treatments(administrations, admin_times, span.onset_at, span.resolved_at),
        n_assessments=span.n_assessments,
        n_not_gradeable=span.n_not_gradeable,
        infusions_during=tuple(i.infusion_id for i in infusions[during_lo:during_hi]),
        biphasic=False if icans else None,
        rule=rule,
    )


def is_icans_scale(scale: str) -> bool:
    """True when ``scale`` grades neurotoxicity (ICANS/CRES), whose courses may be biphasic."""
    return get_scale(scale).syndrome == "icans"


def derive_episodes(
    *,
    scale: str,
    points: Iterable[Point],
    infusions: Iterable[Infusion],
    administrations: Iterable[Administration] = (),
    rule: EpisodeRule | None = None,
    crs_episodes: Sequence[Episode] | None = None,
) -> tuple[Episode, ...]:
    """The episodes of one patient under one scale, in onset order.

    ``points`` are ``(assessed_at, grade)`` pairs of that scale, in any order; a grade is an int
    0–5, None when not gradeable, or the :class:`GradeResult`. For an ICANS scale, pass the
    patient's CRS episodes as ``crs_episodes`` to mark biphasic courses (see :func:`mark_biphasic`);
    without them ``biphasic`` is None. See the module docstring for the rule. Issue 5 item 3;
    design.md §4.
    """
    chosen = rule if rule is not None else EpisodeRule()
    if not isinstance(chosen, EpisodeRule):
        raise ConfigError(
            f"`rule={chosen!r}` is not an EpisodeRule",
            field="rule",
            value=chosen,
            expected="EpisodeRule",
        )
    info = get_scale(scale)
    infs = _sorted_infusions(infusions)
    admins = _sorted_administrations(administrations)
    moments = _moments(points)
    walker = _Walker(infusions=infs, rule=chosen)
    feed = walker.feed
    for at, g, n, nn in zip(
        moments.times, moments.grades, moments.counts, moments.none_counts, strict=True
    ):
        feed(at, g, n, nn)
    spans = walker.finish()
    if not spans:
        return ()
    icans = info.syndrome == "icans"
    inf_times = [i.at for i in infs]
    admin_times = [a.at for a in admins]
    episodes = tuple(
        _episode(
            scale=info.id,
            span=s,
            infusions=infs,
            inf_times=inf_times,
            administrations=admins,
            admin_times=admin_times,
            rule=chosen,
            icans=icans,
        )
        for s in spans
    )
    if not icans:
        return episodes
    if crs_episodes is None:
        return tuple(replace(e, biphasic=None) for e in episodes)
    return mark_biphasic(icans_episodes=episodes, crs_episodes=crs_episodes)


def mark_biphasic(
    *, icans_episodes: Sequence[Episode], crs_episodes: Sequence[Episode]
) -> tuple[Episode, ...]:
    """The ICANS episodes with ``biphasic`` and ``biphasic_phase`` set from the CRS episodes.

    Interpretation (no source gives an operational rule): per infusion, a course is biphasic when
    an ICANS episode that overlaps in time a CRS episode (phase 1: "concurrent with fever and other
    CRS symptoms") is followed by a separate ICANS episode that begins when no CRS episode is open
    and at least one has resolved (phase 2: "after CRS subsides"). The earlier phase is the last
    such concurrent episode before the first late one; both are marked ``biphasic=True`` (phase
    1 and 2), every other ICANS episode False. "Usually within the first 5 days" / "usually after
    day 5" describe, not define, the phases and are not used. [SEED000_MGMT] §5, [SEED001_TABLE2]
    §2.4, after [NEELAPU2018].
    """
    crs_by_infusion: dict[str, list[Episode]] = {}
    for c in sorted(crs_episodes, key=lambda e: e.onset_at):
        crs_by_infusion.setdefault(c.infusion_id, []).append(c)
    ordered = sorted(icans_episodes, key=lambda e: e.onset_at)
    phase: dict[int, int] = {}
    paired: set[str] = set()
    last_early: dict[str, int] = {}
    for index, e in enumerate(ordered):
        crs = crs_by_infusion.get(e.infusion_id, [])
        if e.infusion_id in paired:
            continue
        if any(_overlap(e, c) for c in crs):
            last_early[e.infusion_id] = index
            continue
        early = last_early.get(e.infusion_id)
        if early is None:
            continue
        before = [c for c in crs if c.onset_at <= e.onset_at]
        subsided = bool(before) and all(
            c.resolved_at is not None and c.resolved_at <= e.onset_at for c in before
        )
        first = ordered[early]
        if subsided and first.resolved_at is not None and first.resolved_at < e.onset_at:
            phase[early] = 1
            phase[index] = 2
            paired.add(e.infusion_id)
    return tuple(
        replace(e, biphasic=index in phase, biphasic_phase=phase.get(index))
        for index, e in enumerate(ordered)
    )


def _overlap(a: Episode, b: Episode) -> bool:
    a_end_before_b = a.resolved_at is not None and a.resolved_at < b.onset_at
    b_end_before_a = b.resolved_at is not None and b.resolved_at < a.onset_at
    return not (a_end_before_b or b_end_before_a)


# --------------------------------------------------------------------------------------------
# Carried CRS state
# --------------------------------------------------------------------------------------------


def _grade_result(info_id: str, assessment: Assessment, options: Mapping[str, str]) -> GradeResult:
    result = get_scale(info_id).evaluate(assessment, options)
    if not isinstance(result, GradeResult):
        raise ConfigError(
            f"`scale={info_id}` is a score, not a grade; episodes need a grading scale",
            field="scale",
            value=info_id,
            expected="a grading scale id such as astct_crs",
        )
    return result


def _check_assessments(
    assessments: Iterable[tuple[datetime, Assessment]],
) -> list[tuple[datetime, Assessment]]:
    out: list[tuple[datetime, Assessment]] = []
    for row in assessments:
        try:
            at, assessment = row
        except (TypeError, ValueError):
            raise InvalidValue(
                f"`assessments` holds {row!r}",
                field="assessments",
                value=row,
                expected="(datetime, Assessment) pairs",
            ) from None
        _aware("assessed_at", at)
        if not isinstance(assessment, Assessment):
            raise InvalidValue(
                f"`assessments` holds {assessment!r} at {_iso(at)}",
                field="assessments",
                value=assessment,
                expected="an Assessment (parse dicts with parse_assessment)",
            )
        out.append((at, assessment))
    return out


def _carry(
    *,
    assessments: Sequence[tuple[datetime, Assessment]],
    administrations: Iterable[Administration],
    infusions: Iterable[Infusion],
    scale: str,
    rule: EpisodeRule,
    options: Mapping[str, str] | None,
) -> tuple[list[Assessment], list[GradeResult]]:
    """Carried assessments and their grades under ``scale``, both in the input order."""
    info = get_scale(scale)
    if info.kind != "grade":
        raise ConfigError(
            f"`scale={scale}` is a score, not a grade; carrying CRS state needs a CRS scale",
            field="scale",
            value=scale,
            expected="a CRS grading scale such as astct_crs",
        )
    chosen = info.resolve_options(options)
    infs = _sorted_infusions(infusions)
    masking = [
        a.at
        for a in _sorted_administrations(administrations)
        if a.given and a.drug_class in MASKING_CLASSES
    ]
    order = sorted(range(len(assessments)), key=lambda i: assessments[i][0])
    carried: list[Assessment | None] = [None] * len(assessments)
    results: list[GradeResult | None] = [None] * len(assessments)
    walker = _Walker(infusions=infs, rule=rule)
    drug_index = 0
    last_masking: datetime | None = None
    pos = 0
    while pos < len(order):
        at = assessments[order[pos]][0]
        end = pos
        while end < len(order) and assessments[order[end]][0] == at:
            end += 1
        while drug_index < len(masking) and masking[drug_index] < at:
            last_masking = masking[drug_index]
            drug_index += 1
        onset = walker.open_onset(at)
        established = onset is not None
        masked = onset is not None and last_masking is not None and last_masking >= onset
        best: int | None = None
        nones = 0
        for k in range(pos, end):
            index = order[k]
            original = assessments[index][1]
            changes: dict[str, bool] = {}
            if original.crs_previously_established is None:
                changes["crs_previously_established"] = established
            if original.antipyretic_or_anticytokine_given is None:
                changes["antipyretic_or_anticytokine_given"] = masked
            filled = original.with_(**changes) if changes else original
            result = info.evaluate(filled, chosen)
            if not isinstance(result, GradeResult):
                raise ConfigError(
                    f"`scale={scale}` did not return a grade",
                    field="scale",
                    value=scale,
                    expected="a CRS grading scale",
                )
            carried[index] = filled
            results[index] = result
            g = result.grade
            if g is None:
                nones += 1
            elif best is None or g > best:
                best = g
        walker.feed(at, best, end - pos, nones)
        pos = end
    return [a for a in carried if a is not None], [r for r in results if r is not None]


def carry_crs_state(
    *,
    assessments: Iterable[tuple[datetime, Assessment]],
    administrations: Iterable[Administration] = (),
    infusions: Iterable[Infusion],
    scale: str = DEFAULT_CRS_SCALE,
    rule: EpisodeRule | None = None,
    options: Mapping[str, str] | None = None,
) -> tuple[tuple[datetime, Assessment], ...]:
    """The assessments with the CRS state the record implies filled in, in the input order.

    Assessments are processed in time order and graded under ``scale`` one instant at a time. Where
    an assessment leaves a flag unrecorded (None): ``crs_previously_established`` is True while a
    CRS episode of ``scale`` (from earlier instants, by ``rule``) is open, and
    ``antipyretic_or_anticytokine_given`` is True when a drug of :data:`MASKING_CLASSES` was given
    at or after that episode's onset and before this assessment. Otherwise each is set explicitly
    False: the record passed in is taken as the patient's complete record (every assessment and
    every administration), so absence in it means absence. Recorded values are never overwritten.
    Assessments at the same instant share the state of the instants before. [LEE2019] Table 1
    footnote (masked fever); design.md §4; issue 5 item 3.
    """
    rows = _check_assessments(assessments)
    carried, _ = _carry(
        assessments=rows,
        administrations=administrations,
        infusions=infusions,
        scale=scale,
        rule=rule if rule is not None else EpisodeRule(),
        options=options,
    )
    return tuple((at, a) for (at, _), a in zip(rows, carried, strict=True))


def grade_points(
    *,
    scale: str,
    assessments: Iterable[tuple[datetime, Assessment]],
    options: Mapping[str, str] | None = None,
) -> tuple[tuple[datetime, GradeResult], ...]:
    """Each assessment graded under ``scale``: the points :func:`derive_episodes` takes."""
    rows = _check_assessments(assessments)
    info = get_scale(scale)
    chosen = info.resolve_options(options)
    return tuple((at, _grade_result(info.id, a, chosen)) for at, a in rows)


def patient_episodes(
    *,
    assessments: Iterable[tuple[datetime, Assessment]],
    infusions: Iterable[Infusion],
    administrations: Iterable[Administration] = (),
    scales: Sequence[str],
    rule: EpisodeRule | None = None,
    crs_scale: str = DEFAULT_CRS_SCALE,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, tuple[Episode, ...]]:
    """Every requested scale's episodes for one patient: carry the CRS state, grade, derive.

    The carried state follows ``crs_scale`` (ASTCT by default) and is then used by every scale.
    ICANS scales get ``biphasic`` from the paired CRS scale's episodes
    (:data:`ICANS_CRS_PAIRING`, else ``crs_scale``), derived even when that scale is not
    requested. Design.md §4; issue 5 item 3.
    """
    chosen = rule if rule is not None else EpisodeRule()
    rows = _check_assessments(assessments)
    infs = _sorted_infusions(infusions)
    admins = _sorted_administrations(administrations)
    per_scale = options or {}
    carried, crs_results = _carry(
        assessments=rows,
        administrations=admins,
        infusions=infs,
        scale=crs_scale,
        rule=chosen,
        options=per_scale.get(crs_scale),
    )
    times = [at for at, _ in rows]
    crs_id = get_scale(crs_scale).id
    cache: dict[str, tuple[Episode, ...]] = {}

    def episodes_of(scale: str, crs: Sequence[Episode] | None) -> tuple[Episode, ...]:
        sid = get_scale(scale).id
        if sid in cache:
            return cache[sid]
        if sid == crs_id and per_scale.get(scale) is None:
            grades: list[GradeResult] = crs_results
        else:
            info = get_scale(sid)
            opts = info.resolve_options(per_scale.get(scale))
            grades = [_grade_result(sid, a, opts) for a in carried]
        found = derive_episodes(
            scale=sid,
            points=zip(times, grades, strict=True),
            infusions=infs,
            administrations=admins,
            rule=chosen,
            crs_episodes=crs,
        )
        cache[sid] = found
        return found

    out: dict[str, tuple[Episode, ...]] = {}
    for scale in scales:
        if is_icans_scale(scale):
            sid = get_scale(scale).id
            paired = ICANS_CRS_PAIRING.get(sid, crs_scale)
            out[scale] = episodes_of(scale, episodes_of(paired, None))
        else:
            out[scale] = episodes_of(scale, None)
    return out


def episodes_reference() -> str:
    """The citations behind the episode rules."""
    return cite("LEE2019", "NEELAPU2018", "SEED000_MGMT", "SEED001_TABLE2")


__all__ = [
    "DEFAULT_CRS_SCALE",
    "DEFAULT_GAP_HOURS",
    "DRUG_CLASSES",
    "DRUG_SYNONYMS",
    "ICANS_CRS_PAIRING",
    "MASKING_CLASSES",
    "Administration",
    "DrugClass",
    "Episode",
    "EpisodeRule",
    "GradeLike",
    "Infusion",
    "Point",
    "Treatment",
    "carry_crs_state",
    "derive_episodes",
    "drug_class",
    "episodes_reference",
    "grade_points",
    "is_icans_scale",
    "mark_biphasic",
    "normalise_drug",
    "patient_episodes",
]
