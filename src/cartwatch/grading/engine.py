"""Table-shaped scales, evaluated exactly over the completions of what was not recorded.

A scale is a set of *domains* (fever, hypotension, hypoxia, ICE, seizure …). Each domain reads a
few *inputs*; an input's reader says which values it can still take given the assessment — the
recorded value, or, when it was not recorded, every admissible value (an enum's members; for a
number, one value on each side of every threshold the scale uses and the threshold itself). The
domain's rule maps one value per input to a :class:`Finding` (a level and the words that explain
it). The scale's ``combine`` turns one level per domain into the grade (by default the maximum:
"the most severe domain wins", clinical-spec C-3).

Because inputs are enumerated per domain and domains are combined over their *level* sets, the
floor, the ceiling and the fields that would decide the grade are exact (C-4), and cheap.

Supplementary findings that a scale reads only when they are charted (organ toxicity grades, a
"life-threatening" judgement, attribution to another cause) are read as *assumed absent* when not
recorded; when assuming otherwise could change the grade, the result says so under ``assumed``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar

from cartwatch.assessment import Assessment
from cartwatch.grading.result import GradeResult, Status, not_applicable

Options = Mapping[str, str]
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Finding:
    """A domain's contribution: its level and the clinician-readable reason."""

    level: int
    says: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Possible:
    """The values an input can still take, given the assessment.

    ``missing`` names the dotted fields to report when more than one value remains;
    ``assumed`` is set when an unrecorded supplementary finding was taken as ``values[0]``,
    with ``alternatives`` the values it could otherwise have; ``reason`` is a machine-readable
    code explaining why the input is open (e.g. ``confounded_by_sedation``).
    """

    values: tuple[Any, ...]
    missing: tuple[str, ...] = ()
    assumed: str | None = None
    alternatives: tuple[Any, ...] = ()
    reason: str | None = None

    @property
    def known(self) -> bool:
        return len(self.values) == 1 and self.assumed is None


Reader = Callable[[Assessment, Options], Possible]


ColumnKind = Literal["enum", "bool", "number", "integer", "present", "absent", "ice_range", "ice4"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """A contract field a domain reads, declared for the columnar engine (pure data).

    ``number``/``integer`` fields list the thresholds the domain's rule compares them with (the
    same named constants); every value between two thresholds grades alike, which the columnar
    engine relies on and a property test checks. ``present`` reads only whether a text field is
    charted; ``absent`` marks a list or mapping field the columnar engine does not take (the
    column must be missing or null); ``ice_range`` is the ICE items read as a total range and
    ``ice4`` the four items CARTOX-10 shares with ICE.
    """

    path: str
    kind: ColumnKind
    thresholds: tuple[float, ...] = ()
    enum: type[StrEnum] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    """One value a domain's rule reads, named for the rule's keyword; ``columns`` are the
    contract fields its reader touches (declared for the columnar engine)."""

    name: str
    read: Reader
    columns: tuple[Column, ...] = ()


Rule = Callable[[Mapping[str, Any], Options], Finding]


@dataclass(frozen=True, slots=True, kw_only=True)
class Domain:
    """One row group of a grading table: inputs and the rule mapping them to a finding."""

    name: str
    inputs: tuple[Input, ...]
    rule: Rule

    @property
    def columns(self) -> tuple[Column, ...]:
        """Every contract field the domain's readers touch (once each)."""
        seen: dict[str, Column] = {}
        for item in self.inputs:
            for column in item.columns:
                seen.setdefault(column.path, column)
        return tuple(seen.values())


Combine = Callable[[Mapping[str, int], Options], int]
Explain = Callable[[int, Mapping[str, Finding], Options], tuple[str, ...]]


def most_severe(levels: Mapping[str, int], options: Options) -> int:
    """The default combination: the most severe domain sets the grade (C-3)."""
    return max(levels.values(), default=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class TableScale:
    """A grading scale shaped as domains combined into a grade."""

    id: str
    reference: str
    domains: tuple[Domain, ...]
    combine: Combine = most_severe
    explain: Explain | None = None
    ignored: Callable[[Assessment, Options], tuple[str, ...]] | None = None
    applicable: Callable[[Assessment, Options], str | None] | None = None
    fields_read: tuple[str, ...] = field(default=())

    def evaluate(self, assessment: Assessment, options: Options) -> GradeResult:
        """Grade one assessment: exact floor, ceiling, missing, drivers (clinical-spec C-4)."""
        if self.applicable is not None:
            reason = self.applicable(assessment, options)
            if reason is not None:
                return not_applicable(
                    self.id, reason=reason, reference=self.reference, options=options
                )
        evaluated = tuple(_evaluate_domain(d, assessment, options) for d in self.domains)
        floor, ceiling, missing, reasons, assumed = _combined(evaluated, self.combine, options)
        known = {e.domain.name: e.finding for e in evaluated if e.finding is not None}
        grade = floor if floor == ceiling else None
        if grade is None:
            status = Status.NOT_GRADEABLE
            drivers = tuple(f.says for f in known.values() if f.level > 0 and f.says)
        else:
            status = Status.GRADED if grade >= 1 else Status.CRITERIA_NOT_MET
            explain = self.explain or _explain_by_level
            drivers = explain(grade, known, options)
        ignored = self.ignored(assessment, options) if self.ignored else ()
        return GradeResult(
            scale=self.id,
            status=status,
            grade=grade,
            floor=floor,
            ceiling=ceiling,
            missing=missing,
            drivers=drivers,
            ignored=ignored,
            assumed=assumed,
            reasons=reasons,
            reference=self.reference,
            options=dict(options),
        )


# --------------------------------------------------------------------------------------------
# Evaluation internals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Evaluated:
    domain: Domain
    possibles: tuple[Possible, ...]
    outcomes: tuple[tuple[tuple[Any, ...], Finding], ...]
    levels: frozenset[int]
    finding: Finding | None
    reasons: tuple[str, ...]


_EVALUATED: dict[tuple[Any, ...], _Evaluated] = {}
"""Domain evaluations by (domain id, possibles, options); the entry holds its domain, so an id
is never reused while its entry lives."""
_EVALUATED_LIMIT = 1 << 13


def _evaluate_domain(domain: Domain, a: Assessment, options: Options) -> _Evaluated:
    """The domain's outcomes for the values its inputs can still take.

    A rule sees only those values and the options (never the assessment), so the evaluation is
    a pure function of (domain, possibles, options) and is remembered for the next assessment
    with the same values; values that cannot be hashed are evaluated afresh.
    """
    possibles = tuple(i.read(a, options) for i in domain.inputs)
    key = (
        id(domain),
        *[(p.values, p.missing, p.assumed, p.alternatives, p.reason) for p in possibles],
        *options.items(),
    )
    try:
        found = _EVALUATED.get(key)
    except TypeError:
        return _evaluate_possibles(domain, possibles, options)
    if found is None or found.domain is not domain:
        found = _evaluate_possibles(domain, possibles, options)
        if len(_EVALUATED) >= _EVALUATED_LIMIT:
            _EVALUATED.clear()
        _EVALUATED[key] = found
    return found


def _evaluate_possibles(
    domain: Domain, possibles: tuple[Possible, ...], options: Options
) -> _Evaluated:
    names = [i.name for i in domain.inputs]
    outcomes = []
    for combo in itertools.product(*(p.values for p in possibles)):
        outcomes.append((combo, domain.rule(dict(zip(names, combo, strict=True)), options)))
    levels = frozenset(f.level for _, f in outcomes)
    finding = outcomes[0][1] if len(outcomes) == 1 else None
    if finding is None and len(levels) == 1:
        finding = _shared_finding(domain, possibles, outcomes)
    reasons = tuple(p.reason for p in possibles if p.reason)
    return _Evaluated(domain, possibles, tuple(outcomes), levels, finding, reasons)


_Combined = tuple[int, int, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_COMBINED: dict[tuple[Any, ...], tuple[Combine, tuple[_Evaluated, ...], _Combined]] = {}


def _combined(evaluated: tuple[_Evaluated, ...], combine: Combine, options: Options) -> _Combined:
    """Floor, ceiling, deciding fields, reasons and assumptions of the domains' outcomes —
    remembered for the same combine and domain evaluations (held in the entry, so their ids
    stay unique while it lives)."""
    key = (id(combine), tuple(map(id, evaluated)), tuple(options.items()))
    entry = _COMBINED.get(key)
    if (
        entry is not None
        and entry[0] is combine
        and all(a is b for a, b in zip(entry[1], evaluated, strict=True))
    ):
        return entry[2]
    level_sets = {e.domain.name: e.levels for e in evaluated}
    grades = _grades(level_sets, combine, options)
    missing: list[str] = []
    reasons: list[str] = []
    for e in evaluated:
        for path in _deciding_paths(e, level_sets, combine, options):
            if path not in missing:
                missing.append(path)
        for reason in e.reasons:
            if reason not in reasons:
                reasons.append(reason)
    assumed = _assumptions(evaluated, level_sets, combine, options)
    result = (min(grades), max(grades), tuple(missing), tuple(reasons), assumed)
    if len(_COMBINED) >= _EVALUATED_LIMIT:
        _COMBINED.clear()
    _COMBINED[key] = (combine, evaluated, result)
    return result


def _shared_finding(
    domain: Domain,
    possibles: tuple[Possible, ...],
    outcomes: Sequence[tuple[tuple[Any, ...], Finding]],
) -> Finding:
    level = outcomes[0][1].level
    texts = {f.says for _, f in outcomes}
    if len(texts) == 1:
        return outcomes[0][1]
    open_fields = sorted({m for p in possibles if len(p.values) > 1 for m in p.missing})
    detail = ", ".join(open_fields)
    return Finding(
        level, f"{domain.name}: the same whatever {detail} (not recorded)" if level else ""
    )


def _grades(
    level_sets: Mapping[str, frozenset[int]], combine: Combine, options: Options
) -> set[int]:
    names = list(level_sets)
    out = set()
    for combo in itertools.product(*(sorted(level_sets[n]) for n in names)):
        out.add(combine(dict(zip(names, combo, strict=True)), options))
    return out


def _levels_matter(
    domain: str,
    levels: Iterable[int],
    level_sets: Mapping[str, frozenset[int]],
    combine: Combine,
    options: Options,
) -> bool:
    """True when choosing among ``levels`` for ``domain`` can change the grade."""
    others = [n for n in level_sets if n != domain]
    candidates = sorted(set(levels))
    if len(candidates) < 2:
        return False
    for combo in itertools.product(*(sorted(level_sets[n]) for n in others)):
        base = dict(zip(others, combo, strict=True))
        results = {combine({**base, domain: lv}, options) for lv in candidates}
        if len(results) > 1:
            return True
    return False


def _deciding_paths(
    e: _Evaluated,
    level_sets: Mapping[str, frozenset[int]],
    combine: Combine,
    options: Options,
) -> list[str]:
    if len(e.levels) < 2 or not _levels_matter(
        e.domain.name, e.levels, level_sets, combine, options
    ):
        return []
    paths: list[str] = []
    for index, possible in enumerate(e.possibles):
        if len(possible.values) < 2:
            continue
        groups: dict[tuple[Any, ...], set[int]] = {}
        for combo, finding in e.outcomes:
            key = combo[:index] + combo[index + 1 :]
            groups.setdefault(key, set()).add(finding.level)
        if any(
            _levels_matter(e.domain.name, lv, level_sets, combine, options)
            for lv in groups.values()
        ):
            paths.extend(p for p in possible.missing if p not in paths)
    return paths


def _assumptions(
    evaluated: Sequence[_Evaluated],
    level_sets: Mapping[str, frozenset[int]],
    combine: Combine,
    options: Options,
) -> tuple[str, ...]:
    notes: list[str] = []
    current = _grades(level_sets, combine, options)
    for e in evaluated:
        names = [i.name for i in e.domain.inputs]
        for index, possible in enumerate(e.possibles):
            if possible.assumed is None or not possible.alternatives:
                continue
            alt_levels = set()
            for combo, _ in e.outcomes:
                for alt in possible.alternatives:
                    changed = (*combo[:index], alt, *combo[index + 1 :])
                    values = dict(zip(names, changed, strict=True))
                    alt_levels.add(e.domain.rule(values, options).level)
            if alt_levels <= e.levels or possible.assumed in notes:
                continue
            alt_sets = {**level_sets, e.domain.name: frozenset(alt_levels)}
            if _grades(alt_sets, combine, options) - current:
                notes.append(possible.assumed)
    return tuple(notes)


def _explain_by_level(
    grade: int, known: Mapping[str, Finding], options: Options
) -> tuple[str, ...]:
    setting = tuple(f.says for f in known.values() if f.level == grade and f.says)
    if setting:
        return setting
    return tuple(f.says for f in known.values() if f.says)


# --------------------------------------------------------------------------------------------
# Readers: how an input's possible values come from the assessment
# --------------------------------------------------------------------------------------------


def number_candidates(
    thresholds: Iterable[float], low: float, high: float, *, integer: bool = False
) -> tuple[float, ...]:
    """One value in each region the thresholds cut [low, high] into, and each threshold itself.

    Exact for any comparison (<, ≤, ≥, >) against those thresholds: every region of the number
    line the rule can distinguish is represented (design.md §3).
    """
    if integer:
        span = int(high) - int(low)
        if span <= 64:
            return tuple(float(v) for v in range(int(low), int(high) + 1))
    cuts = sorted({t for t in thresholds if low <= t <= high})
    points: list[float] = []
    edges = [low, *cuts, high]
    for left, right in itertools.pairwise(edges):
        if right > left:
            middle = (left + right) / 2.0
            if integer:
                middle = float(math.floor(middle))
                if not left < middle < right:
                    middle = left
            points.append(middle)
    points.extend(cuts)
    points.extend((low, high))
    return tuple(sorted(set(points)))


def recorded(
    path: str,
    get: Callable[[Assessment], Any],
    candidates: tuple[Any, ...],
    *,
    reason: str | None = None,
) -> Reader:
    """A primary input: the recorded value, or every candidate (reported missing) when absent."""

    def read(a: Assessment, options: Options) -> Possible:
        value = get(a)
        if value is None:
            return Possible(values=candidates, missing=(path,), reason=reason)
        return Possible(values=(value,))

    return read


def enum_input(path: str, get: Callable[[Assessment], _E | None], enum: type[_E]) -> Reader:
    """A primary enum input: the recorded member, or all members when absent."""
    return recorded(path, get, tuple(enum))


def flag_input(path: str, get: Callable[[Assessment], bool | None]) -> Reader:
    """A primary yes/no input: the recorded answer, or both when absent."""
    return recorded(path, get, (False, True))


def assumed_input(
    path: str,
    get: Callable[[Assessment], Any],
    *,
    default: Any,
    alternatives: tuple[Any, ...] = (),
    note: str | None = None,
) -> Reader:
    """A supplementary input: absent is read as ``default``.

    With ``note``, the result lists the assumption whenever an alternative could change the
    grade; without it the default is the contract's own meaning of "not recorded" (e.g. no
    attribution to another cause), and nothing is listed.
    """

    def read(a: Assessment, options: Options) -> Possible:
        value = get(a)
        if value is not None:
            return Possible(values=(value,))
        if note is None:
            return Possible(values=(default,))
        return Possible(values=(default,), assumed=note, alternatives=alternatives, missing=(path,))

    return read


def constant(value: Any) -> Reader:
    """An input that is always ``value`` (e.g. a option-dependent constant)."""

    def read(a: Assessment, options: Options) -> Possible:
        return Possible(values=(value,))

    return read


def fmt(value: float) -> str:
    """A measured value as entered (no rounding beyond Python's shortest repr)."""
    if float(value).is_integer():
        return f"{value:.1f}" if isinstance(value, float) else str(value)
    return repr(float(value))
