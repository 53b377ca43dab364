"""Recording an assessment: validate, carry the CRS state from the record, grade, store.

The stored ``data`` is what was charted (canonical units). The grades are computed on the
assessment completed with the state the record implies (design.md §4): while a CRS episode is
open, ``crs_previously_established`` follows; after tocilizumab, a steroid or an antipyretic
since its onset, ``antipyretic_or_anticytokine_given`` follows. Values charted are never replaced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import cartwatch
from cartwatch import episodes as ep
from cartwatch.assessment import Assessment, parse_assessment
from cartwatch.errors import NotFound
from cartwatch.grading.registry import all_scales
from cartwatch.registry.repository import AssessmentView, Registry

GRADED_SYNDROMES = ("crs", "icans", "iec_hs", "hematotoxicity")


def stored_scales() -> tuple[str, ...]:
    """The scales whose grades are stored with each assessment."""
    return tuple(i.id for i in all_scales() if i.kind == "grade" and i.syndrome in GRADED_SYNDROMES)


def grade_for_storage(assessment: Assessment, scales: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Every scale's result as JSON, ready to store."""
    return {scale: cartwatch.grade(scale, assessment).to_dict() for scale in scales}


def patient_context(
    registry: Registry, patient_ref: str
) -> tuple[
    list[ep.Infusion], list[ep.Administration], list[tuple[dt.datetime, Assessment]], list[int]
]:
    """The infusions, drugs and assessments (with ids) of one patient, in time order."""
    infusions = [
        ep.Infusion(infusion_id=i.infusion_ref, at=i.infused_at)
        for i in registry.infusions(patient_ref)
    ]
    administrations = [
        ep.Administration(at=a.given_at, drug=a.drug, dose_mg=a.dose_mg, route=a.route)
        for a in registry.administrations(patient_ref)
    ]
    views = registry.assessments(patient_ref)
    assessments = [(v.assessed_at, parse_assessment(v.data)) for v in views]
    return infusions, administrations, assessments, [v.id for v in views]


def record_assessment(
    registry: Registry,
    patient_ref: str,
    *,
    assessed_at: dt.datetime,
    data: Mapping[str, Any] | Assessment,
    source_key: str = "",
    scales: Sequence[str] | None = None,
) -> AssessmentView:
    """Validate, grade (with the state the record implies) and store one assessment."""
    assessment = parse_assessment(data)
    infusions, administrations, earlier, _ = patient_context(registry, patient_ref)
    history = [(t, a) for t, a in earlier if t < assessed_at] + [(assessed_at, assessment)]
    carried = ep.carry_crs_state(
        assessments=history, administrations=administrations, infusions=infusions
    )
    completed = carried[-1][1]
    grades = grade_for_storage(completed, scales or stored_scales())
    return registry.record_assessment(
        patient_ref, assessed_at=assessed_at, data=assessment, source_key=source_key, grades=grades
    )


def correct_assessment(
    registry: Registry,
    patient_ref: str,
    assessment_id: int,
    *,
    expected_version: int,
    data: Mapping[str, Any],
) -> AssessmentView:
    """Correct one assessment made against ``expected_version``, then regrade the patient.

    The CRS state carries from one assessment to the next (design.md §4), so a correction can
    change the grades of every later assessment: the whole record is regraded and its episodes
    re-derived and stored (services.episodes). Unknown assessment of this patient → NotFound;
    stale version → Conflict; invalid data → the parser's error, before anything is written.
    """
    from cartwatch.services.episodes import derive_patient_episodes

    if not any(v.id == assessment_id for v in registry.assessments(patient_ref)):
        raise NotFound(
            f"patient {patient_ref} has no assessment {assessment_id}",
            field="assessment_id",
            value=assessment_id,
        )
    parse_assessment(data)
    registry.update_assessment(assessment_id, expected_version=expected_version, data=data)
    derive_patient_episodes(registry, patient_ref, store=True, regrade=True)
    return next(v for v in registry.assessments(patient_ref) if v.id == assessment_id)
