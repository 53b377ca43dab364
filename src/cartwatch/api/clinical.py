"""Reading a patient's record into the inputs of the core's rules (recommend, scores, alerts).

This module only gathers inputs from the registry and calls the rules; it decides nothing
clinical itself. Interpretations of *which* recorded value feeds a rule are stated here:

* current grades = the stored ASTCT CRS, ASTCT ICANS and IEC-HS grades of the latest assessment
  (an undetermined grade is passed as "not graded");
* weight = the latest assessment that recorded one, else the patient's record;
  age = from the date of birth, else the latest assessment that recorded one (never the age at
  registration, which may be years old);
* the tocilizumab clock = hours since the latest infusion (or since the first dose when no
  infusion is recorded);
* scores use the latest value of each laboratory test recorded with ``POST …/labs``;
* alerts use temperatures, ICE totals (when every item is known) and CAPD scores of assessments,
  ferritin from assessments and labs, and tocilizumab doses given; the "next tocilizumab dose
  possible" alert is withheld while the latest ASTCT CRS grade is 0 (re-dosing is for CRS that
  has not improved: Actemra label, TOCI-04), and a note says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import cartwatch
from cartwatch.assessment import ice_total_range, parse_assessment
from cartwatch.errors import CartwatchError
from cartwatch.management import Patient, recommend
from cartwatch.pathway import AlertRule, Observation, ObservationKind, evaluate_alerts
from cartwatch.registry.repository import AssessmentView, InfusionView, PatientView, Registry

CRS_SCALE = "astct_crs"
ICANS_SCALE = "astct_icans"
IECHS_SCALE = "iec_hs"
TOCILIZUMAB = "tocilizumab"
_HOUR = dt.timedelta(hours=1)


def _grade(view: AssessmentView | None, scale: str) -> int | None:
    if view is None:
        return None
    result = view.grades.get(scale) or {}
    grade = result.get("grade")
    return grade if isinstance(grade, int) and not isinstance(grade, bool) else None


def _age_years(
    patient: PatientView, assessments: list[AssessmentView], now: dt.datetime
) -> float | None:
    if patient.date_of_birth is not None:
        dob = patient.date_of_birth
        today = now.date()
        return float(today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day)))
    for view in reversed(assessments):
        age = view.data.get("age_years")
        if isinstance(age, int | float) and not isinstance(age, bool):
            return float(age)
    return None


def _weight_kg(patient: PatientView, assessments: list[AssessmentView]) -> float | None:
    for view in reversed(assessments):
        weight = view.data.get("weight_kg")
        if isinstance(weight, int | float) and not isinstance(weight, bool):
            return float(weight)
    return patient.weight_kg


def _latest_infusion(infusions: list[InfusionView]) -> InfusionView | None:
    return max(infusions, key=lambda i: i.infused_at) if infusions else None


def current_recommendation(
    registry: Registry, patient: PatientView, *, now: dt.datetime
) -> dict[str, Any]:
    """``recommend`` at the grades of the latest assessment, dosed for this patient."""
    ref = patient.patient_ref
    assessments = registry.assessments(ref)
    latest = assessments[-1] if assessments else None
    infusion = _latest_infusion(registry.infusions(ref))
    doses = sorted(a.given_at for a in registry.administrations(ref) if a.drug == TOCILIZUMAB)
    origin = infusion.infused_at if infusion is not None else (doses[0] if doses else None)
    patient_in = Patient(
        weight_kg=_weight_kg(patient, assessments),
        age_years=_age_years(patient, assessments, now),
        product=infusion.product if infusion is not None else None,
        tocilizumab_dose_times_h=tuple((t - origin) / _HOUR for t in doses) if origin else (),
        current_time_h=(now - origin) / _HOUR if origin is not None and doses else None,
    )
    rec = recommend(
        crs_grade=_grade(latest, CRS_SCALE),
        icans_grade=_grade(latest, ICANS_SCALE),
        iechs_grade=_grade(latest, IECHS_SCALE),
        patient=patient_in,
    )
    return {
        "as_of": now,
        "assessment_id": latest.id if latest is not None else None,
        "assessed_at": latest.assessed_at if latest is not None else None,
        "patient_inputs": patient_in.to_dict(),
        "recommendation": rec.to_dict(),
    }


def risk_scores(registry: Registry, patient: PatientView, *, now: dt.datetime) -> dict[str, Any]:
    """Every registered risk score on the latest value of each lab (and the patient's age)."""
    ref = patient.patient_ref
    latest: dict[str, float] = {}
    for _, name, value in registry.labs(ref):
        latest[name] = value
    inputs: dict[str, Any] = dict(latest)
    age = _age_years(patient, registry.assessments(ref), now)
    if age is not None:
        inputs["age_years"] = age
    assessment = parse_assessment(inputs)
    scores: dict[str, dict[str, Any]] = {}
    for info in cartwatch.scales():
        if info.kind != "score":
            continue
        try:
            scores[info.id] = cartwatch.grade(info.id, assessment).to_dict()
        except CartwatchError as exc:
            scores[info.id] = {"scale": info.id, "status": "error", "error": exc.to_dict()}
    return {"as_of": now, "inputs": inputs, "scores": scores}


ALERT_LAB_NAMES = ("ferritin_ng_ml",)
"""The laboratory tests the alert rules read."""
_ALERT_FIELDS = ("temperature_c", "ferritin_ng_ml", "ice_total", "ice", "capd_score")
"""The stored fields the alert rules read (a stored record is already valid as a whole)."""


def _observations(
    registry: Registry, ref: str, assessments: list[AssessmentView]
) -> list[Observation]:
    seen: set[tuple[dt.datetime, ObservationKind]] = set()
    out: list[Observation] = []

    def add(at: dt.datetime, kind: ObservationKind, value: float) -> None:
        if (at, kind) not in seen:
            seen.add((at, kind))
            out.append(Observation(at=at, kind=kind, value=float(value)))

    for view in assessments:
        a = parse_assessment({k: view.data[k] for k in _ALERT_FIELDS if k in view.data})
        if a.temperature_c is not None:
            add(view.assessed_at, ObservationKind.TEMPERATURE_C, a.temperature_c)
        if a.ferritin_ng_ml is not None:
            add(view.assessed_at, ObservationKind.FERRITIN_NG_ML, a.ferritin_ng_ml)
        ice = ice_total_range(a)
        if ice is not None and ice[0] == ice[1]:
            add(view.assessed_at, ObservationKind.ICE_SCORE, ice[0])
        if a.capd_score is not None:
            add(view.assessed_at, ObservationKind.CAPD_SCORE, a.capd_score)
    for at, name, value in registry.labs(ref):
        if name in ALERT_LAB_NAMES:
            add(at, ObservationKind.FERRITIN_NG_ML, value)
    for given in registry.administrations(ref):
        if given.drug == TOCILIZUMAB:
            add(given.given_at, ObservationKind.TOCILIZUMAB_DOSE, given.dose_mg or 0.0)
    return out


def patient_alerts(registry: Registry, patient: PatientView, *, now: dt.datetime) -> dict[str, Any]:
    """``evaluate_alerts`` over the record since the latest infusion."""
    ref = patient.patient_ref
    infusion = _latest_infusion(registry.infusions(ref))
    if infusion is None:
        return {
            "as_of": now,
            "infusion_ref": None,
            "alerts": [],
            "notes": ["no infusion recorded: the alert rules count days from day 0"],
        }
    assessments = registry.assessments(ref)
    observations = _observations(registry, ref, assessments)
    crs_grade = _grade(assessments[-1] if assessments else None, CRS_SCALE)
    alerts = evaluate_alerts(
        observations=observations,
        infusion_date=infusion.infused_at.date(),
        as_of=now,
        current_crs_grade=crs_grade,
    )
    notes: list[str] = []
    given = any(o.kind is ObservationKind.TOCILIZUMAB_DOSE for o in observations)
    if (
        crs_grade == 0
        and given
        and all(a.rule is not AlertRule.TOCILIZUMAB_EXHAUSTED for a in alerts)
    ):
        notes.append(
            "tocilizumab re-dose alert withheld: the latest ASTCT CRS grade is 0; re-dosing "
            "applies while CRS has not improved (Actemra label; ASCO 2021; TOCI-04)"
        )
    return {
        "as_of": now,
        "infusion_ref": infusion.infusion_ref,
        "alerts": [a.to_dict() for a in alerts],
        "notes": notes,
    }
