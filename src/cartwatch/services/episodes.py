"""Deriving and storing episodes, and regrading after a rule or protocol change.

One walk per patient: carry the CRS state, grade every assessment under each scale, derive the
episodes (``cartwatch.episodes``), store grades and episodes, and report what changed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cartwatch import episodes as ep
from cartwatch.assessment import Assessment
from cartwatch.registry.repository import Registry
from cartwatch.services.record import grade_for_storage, patient_context, stored_scales

EPISODE_SCALES = (
    "astct_crs",
    "astct_icans",
    "lee2014_crs",
    "cartox_crs",
    "cartox_cres",
    "penn_crs",
    "mskcc_crs",
    "ctcae5_crs",
)
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class RegradeReport:
    """What a regrade changed: grades per scale and patients whose episodes differ."""

    patients: int = 0
    assessments: int = 0
    grades_changed: Counter[str] = field(default_factory=Counter)
    episodes_changed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "assessments": self.assessments,
            "grades_changed": dict(self.grades_changed),
            "patients_with_changed_episodes": list(self.episodes_changed),
        }


def grade_and_derive(
    *,
    assessments: Sequence[tuple[dt.datetime, Assessment]],
    administrations: Sequence[ep.Administration],
    infusions: Sequence[ep.Infusion],
    scales: Sequence[str] = EPISODE_SCALES,
) -> tuple[list[dict[str, dict[str, Any]]], dict[str, tuple[ep.Episode, ...]]]:
    """One patient's record graded and walked (pure): carry the CRS state, grade every
    assessment under the stored scales and ``scales``, derive each scale's episodes (ICANS
    scales with their paired CRS scale's episodes, for biphasic ICANS).

    Returns the results per assessment (scale → result JSON) and the episodes per scale.
    """
    carried = ep.carry_crs_state(
        assessments=assessments, administrations=administrations, infusions=infusions
    )
    grade_scales = tuple(dict.fromkeys((*stored_scales(), *scales)))
    results = [grade_for_storage(a, grade_scales) for _, a in carried]
    derived: dict[str, tuple[ep.Episode, ...]] = {}

    def episodes_of(scale: str) -> tuple[ep.Episode, ...]:
        if scale not in derived:
            points = [(t, r[scale]["grade"]) for (t, _), r in zip(carried, results, strict=True)]
            pair = ep.ICANS_CRS_PAIRING.get(scale)
            derived[scale] = ep.derive_episodes(
                scale=scale,
                points=points,
                infusions=infusions,
                administrations=administrations,
                crs_episodes=episodes_of(pair) if pair and pair in grade_scales else None,
            )
        return derived[scale]

    return results, {scale: episodes_of(scale) for scale in scales}


def derive_patient_episodes(
    registry: Registry,
    patient_ref: str,
    *,
    scales: Sequence[str] = EPISODE_SCALES,
    store: bool = True,
    regrade: bool = False,
    report: RegradeReport | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Episodes of one patient per scale (stored when ``store``); optionally regrade first."""
    infusions, administrations, assessments, _ids = patient_context(registry, patient_ref)
    results, derived = grade_and_derive(
        assessments=assessments,
        administrations=administrations,
        infusions=infusions,
        scales=scales,
    )
    if regrade:
        views = registry.assessments(patient_ref)
        for view, new in zip(views, results, strict=True):
            changed = [
                s
                for s in new
                if (view.grades.get(s) or {}).get("grade") != new[s].get("grade")
                or (view.grades.get(s) or {}).get("status") != new[s].get("status")
            ]
            if changed or set(view.grades) != set(new):
                registry.store_grades(view.id, new)
            if report is not None:
                report.grades_changed.update(changed)
                report.assessments += 1
    out: dict[str, list[dict[str, Any]]] = {}
    for scale in scales:
        rows = [e.to_dict() for e in derived[scale]]
        if store:
            before = registry.episodes(patient_ref, scale=scale) if report is not None else None
            registry.replace_episodes(patient_ref, scale=scale, episodes=rows)
            if report is not None and before is not None:
                after = registry.episodes(patient_ref, scale=scale)
                moved = _episode_key(before) != _episode_key(after)
                if moved and patient_ref not in report.episodes_changed:
                    report.episodes_changed.append(patient_ref)
        out[scale] = rows
    return out


def _episode_key(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r.get("onset_at"), r.get("max_grade"), r.get("resolved_at")) for r in rows]


def regrade(
    registry: Registry, *, scales: Sequence[str] = EPISODE_SCALES, progress: Progress | None = None
) -> RegradeReport:
    """Recompute every stored grade and episode; report what changed."""
    report = RegradeReport()
    patients = registry.list_patients()
    for index, patient in enumerate(patients, start=1):
        derive_patient_episodes(
            registry, patient.patient_ref, scales=scales, regrade=True, report=report
        )
        report.patients += 1
        if progress is not None:
            progress(index, len(patients))
    return report


def cohort_episodes(
    registry: Registry, *, scales: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Every stored episode (optionally of some scales) as export rows."""
    rows = registry.episodes()
    return [r for r in rows if scales is None or r["scale"] in scales]
