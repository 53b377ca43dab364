"""``cartwatch regrade`` for large registries: the columnar engine instead of one grade per call.

Same result as :func:`cartwatch.services.episodes.regrade` (held by a test on a demo cohort):

1. Per patient, the CRS state is carried from the record exactly as the per-assessment path does
   (:func:`cartwatch.episodes.carry_crs_state`, which grades incrementally: each grade may depend
   on state carried from earlier ones). The carried fields then travel as ordinary columns.
2. Every carried assessment of the registry goes into one frame and is graded by
   :func:`cartwatch.analytics.columnar.regrade` under each table-shaped stored scale; scales the
   columnar engine does not take, and rows recording list fields it does not read
   (``vasopressors``, ``organ_toxicity_ctcae``, ``anticytokine_agents``), are graded by
   ``cartwatch.grade``.
3. Per assessment, as in the per-assessment path, the stored grades are replaced (by the full
   scalar results, drivers and all) only where a scale's grade or status changed or the set of
   scales differs; the episodes are derived from the new grades by the one episode rule and
   stored, and the report counts the same changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import func, select

import cartwatch
from cartwatch import episodes as ep
from cartwatch.analytics import columnar as col
from cartwatch.assessment import Assessment, parse_assessment
from cartwatch.errors import ConfigError
from cartwatch.registry import models as m
from cartwatch.registry.repository import AssessmentView, Registry
from cartwatch.services.episodes import EPISODE_SCALES, RegradeReport
from cartwatch.services.record import grade_for_storage, stored_scales

# Interpretation (issue 9 part 5): below this many assessments the per-assessment path is fast
# enough and the columnar engine's set-up is not worth it.
COLUMNAR_MIN_ASSESSMENTS = 10_000

Progress = Callable[[int, int], None]


def count_assessments(registry: Registry) -> int:
    """Assessments stored in the registry (to choose the path)."""
    with registry.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(m.AssessmentRecord)) or 0)


def columnar_scales(scales: Sequence[str]) -> tuple[list[str], list[str]]:
    """``scales`` split into those the columnar engine takes and the rest."""
    fast: list[str] = []
    slow: list[str] = []
    for scale in scales:
        try:
            col._tables(scale, None)
        except ConfigError:
            slow.append(scale)
        else:
            fast.append(scale)
    return fast, slow


@dataclass(slots=True)
class _Patient:
    ref: str
    infusions: list[ep.Infusion]
    administrations: list[ep.Administration]
    views: list[AssessmentView]
    carried: tuple[tuple[dt.datetime, Assessment], ...]


def _read(registry: Registry, ref: str) -> _Patient:
    infusions = [
        ep.Infusion(infusion_id=i.infusion_ref, at=i.infused_at) for i in registry.infusions(ref)
    ]
    administrations = [
        ep.Administration(at=a.given_at, drug=a.drug, dose_mg=a.dose_mg, route=a.route)
        for a in registry.administrations(ref)
    ]
    views = registry.assessments(ref)
    carried = ep.carry_crs_state(
        assessments=[(v.assessed_at, parse_assessment(v.data)) for v in views],
        administrations=administrations,
        infusions=infusions,
    )
    return _Patient(ref, infusions, administrations, views, carried)


def _frame_fields(scale: str) -> tuple[frozenset[str], frozenset[str]]:
    """Top-level contract fields the scale reads, and those the columnar engine refuses."""
    read: set[str] = set()
    refused: set[str] = set()
    _, tables, _ = col._tables(scale, None)
    for table in tables:
        for column in table.domain.columns:
            top = column.path.split(".")[0]
            (refused if column.kind == "absent" else read).add(top)
    return frozenset(read - refused), frozenset(refused)


def _columnar_grades(
    rows: list[Assessment], fast: Sequence[str]
) -> list[dict[str, tuple[int | None, str]]]:
    """(grade, status) per fast scale for every row: through the columnar engine, except rows
    recording a field the scale's columnar form refuses (graded by ``cartwatch.grade``)."""
    data = [a.to_dict() for a in rows]
    groups: dict[tuple[frozenset[str], frozenset[str]], list[str]] = {}
    for scale in fast:
        groups.setdefault(_frame_fields(scale), []).append(scale)
    out: list[dict[str, tuple[int | None, str]]] = [{} for _ in rows]
    for (read, refused), group in groups.items():
        taken = [i for i, d in enumerate(data) if not refused & d.keys()]
        for i in sorted(set(range(len(rows))) - set(taken)):
            for scale in group:
                out[i][scale] = _grade_status(cartwatch.grade(scale, rows[i]).to_dict())
        if not taken:
            continue
        frame = col.frame_from_assessments(
            [{k: v for k, v in data[i].items() if k in read} for i in taken]
        )
        graded = col.regrade(frame, group)
        for scale in group:
            grades = graded[f"{scale}.grade"].to_list()
            statuses = graded[f"{scale}.status"].cast(pl.String).to_list()
            for i, g, st in zip(taken, grades, statuses, strict=True):
                out[i][scale] = (g, st)
    return out


def regrade_columnar(
    registry: Registry,
    *,
    scales: Sequence[str] = EPISODE_SCALES,
    progress: Progress | None = None,
) -> RegradeReport:
    """Recompute every stored grade and episode through the columnar engine; report changes.

    ``progress(done, total)`` counts patients read, then patients stored (total = 2 × patients).
    """
    grade_scales = tuple(dict.fromkeys((*stored_scales(), *scales)))
    fast, slow = columnar_scales(grade_scales)
    refs = [p.patient_ref for p in registry.list_patients()]
    total = 2 * len(refs)
    patients: list[_Patient] = []
    for index, ref in enumerate(refs, start=1):
        patients.append(_read(registry, ref))
        if progress is not None:
            progress(index, total)
    rows = [a for p in patients for _, a in p.carried]
    fast_grades = _columnar_grades(rows, fast)
    report = RegradeReport()
    offset = 0
    for index, patient in enumerate(patients, start=len(refs) + 1):
        count = len(patient.carried)
        _store(registry, patient, fast_grades[offset : offset + count], grade_scales, slow,
               scales, report)  # fmt: skip
        offset += count
        report.patients += 1
        if progress is not None:
            progress(index, total)
    return report


def _grade_status(result: Mapping[str, Any]) -> tuple[int | None, str]:
    return result.get("grade"), str(result.get("status"))


def _store(
    registry: Registry,
    patient: _Patient,
    fast_grades: list[dict[str, tuple[int | None, str]]],
    grade_scales: Sequence[str],
    slow: Sequence[str],
    scales: Sequence[str],
    report: RegradeReport,
) -> None:
    """Store one patient's changed grades and re-derived episodes, as the per-assessment path."""
    new_grades: list[dict[str, tuple[int | None, str]]] = []
    for view, (_, assessment), known in zip(
        patient.views, patient.carried, fast_grades, strict=True
    ):
        new = dict(known)
        new.update({s: _grade_status(cartwatch.grade(s, assessment).to_dict()) for s in slow})
        new = {s: new[s] for s in grade_scales}
        changed = [
            s
            for s in new
            if (view.grades.get(s) or {}).get("grade") != new[s][0]
            or (view.grades.get(s) or {}).get("status") != new[s][1]
        ]
        if changed or set(view.grades) != set(new):
            registry.store_grades(view.id, grade_for_storage(assessment, grade_scales))
        report.grades_changed.update(changed)
        report.assessments += 1
        new_grades.append(new)
    derived: dict[str, tuple[ep.Episode, ...]] = {}

    def episodes_of(scale: str) -> tuple[ep.Episode, ...]:
        if scale not in derived:
            points = [
                (t, g[scale][0]) for (t, _), g in zip(patient.carried, new_grades, strict=True)
            ]
            pair = ep.ICANS_CRS_PAIRING.get(scale)
            derived[scale] = ep.derive_episodes(
                scale=scale,
                points=points,
                infusions=patient.infusions,
                administrations=patient.administrations,
                crs_episodes=episodes_of(pair) if pair and pair in grade_scales else None,
            )
        return derived[scale]

    for scale in scales:
        rows = [e.to_dict() for e in episodes_of(scale)]
        before = registry.episodes(patient.ref, scale=scale)
        registry.replace_episodes(patient.ref, scale=scale, episodes=rows)
        after = registry.episodes(patient.ref, scale=scale)
        if _episode_key(before) != _episode_key(after) and patient.ref not in (
            report.episodes_changed
        ):
            report.episodes_changed.append(patient.ref)


def _episode_key(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r.get("onset_at"), r.get("max_grade"), r.get("resolved_at")) for r in rows]


__all__ = ["COLUMNAR_MIN_ASSESSMENTS", "columnar_scales", "count_assessments", "regrade_columnar"]
