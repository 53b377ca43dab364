"""Patients and their record: infusions, assessments, administrations, labs, and what follows
from them (episodes, recommendations, risk scores, alerts).

Viewers read; nurses also record assessments and labs (and derive episodes); physicians also
register patients, products and infusions and record administrations. Every request that shows
one patient's record writes a ``read`` row to the audit trail with the user as actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cartwatch.api import clinical
from cartwatch.api.backend import Backend, backend
from cartwatch.api.body import body_of, documented_body
from cartwatch.api.problems import responses
from cartwatch.api.schemas import (
    AdministrationCreate,
    AdministrationOut,
    AlertsOut,
    AssessmentCreate,
    AssessmentCreateRaw,
    AssessmentOut,
    AssessmentPatch,
    AssessmentPatchRaw,
    AuditOut,
    EpisodesOut,
    InfusionCreate,
    InfusionOut,
    LabCreate,
    LabOut,
    PatientCreate,
    PatientOut,
    PatientPatch,
    ProductCreate,
    ProductOut,
    RecommendationOut,
    ScoresOut,
)
from cartwatch.api.security import Principal, admin, nurse, physician, viewer
from cartwatch.assessment import ALTERNATIVE_UNITS, FIELDS, parse_assessment
from cartwatch.errors import InvalidValue, closest_name
from cartwatch.registry.repository import Registry
from cartwatch.registry.users import audit_reads
from cartwatch.services.episodes import derive_patient_episodes
from cartwatch.services.record import correct_assessment, record_assessment

router = APIRouter(prefix="/api/v1", tags=["patients"])

PatientRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[^\s\x00]+$",
        description="the patient's pseudonymous reference",
    ),
]
Viewer = Annotated[Principal, Depends(viewer)]
Nurse = Annotated[Principal, Depends(nurse)]
Physician = Annotated[Principal, Depends(physician)]
Admin = Annotated[Principal, Depends(admin)]
Db = Annotated[Backend, Depends(backend)]

READ = responses(401, 403, 404, 422)
WRITE = responses(401, 403, 404, 409, 413, 422)

LAB_NAMES = tuple(
    sorted(
        {n for n, s in FIELDS.items() if s.group == "laboratory" and s.kind in ("number", "int")}
        | set(ALTERNATIVE_UNITS)
    )
)


def _as(db: Backend, who: Principal) -> Registry:
    return db.registry.as_actor(who.user.name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- patients -------------------------------------------------------------------------------


@router.get("/patients", response_model=list[PatientOut], responses=responses(401, 403))
def list_patients(db: Db, who: Viewer) -> list[dict[str, Any]]:
    """Every patient not deleted, by reference (a read of each, audited)."""
    patients = _as(db, who).list_patients()
    audit_reads(
        db.registry.engine,
        actor=who.user.name,
        patient_ids=[p.id for p in patients],
        note="patient list",
    )
    return [p.to_dict() for p in patients]


@router.post(
    "/patients",
    status_code=201,
    response_model=PatientOut,
    openapi_extra=documented_body(PatientCreate),
    responses=WRITE,
)
def create_patient(
    db: Db, who: Physician, body: Annotated[PatientCreate, Depends(body_of(PatientCreate))]
) -> dict[str, Any]:
    """Register a patient (the same details again change nothing; other details → 409)."""
    return _as(db, who).add_patient(**body.model_dump()).to_dict()


@router.get("/patients/{patient_ref}", response_model=PatientOut, responses=READ)
def get_patient(patient_ref: PatientRef, db: Db, who: Viewer) -> dict[str, Any]:
    """One patient (the read is audited)."""
    return _as(db, who).get_patient(patient_ref).to_dict()


@router.patch(
    "/patients/{patient_ref}",
    response_model=PatientOut,
    openapi_extra=documented_body(PatientPatch),
    responses=WRITE,
)
def patch_patient(
    patient_ref: PatientRef,
    db: Db,
    who: Physician,
    body: Annotated[PatientPatch, Depends(body_of(PatientPatch))],
) -> dict[str, Any]:
    """Change a patient's details, made against ``version``; a stale version answers 409."""
    changes = body.model_dump(exclude_unset=True)
    version = int(changes.pop("version"))
    return _as(db, who).update_patient(patient_ref, expected_version=version, **changes).to_dict()


@router.get("/patients/{patient_ref}/audit", response_model=list[AuditOut], responses=READ)
def audit_trail(patient_ref: PatientRef, db: Db, who: Admin) -> list[dict[str, Any]]:
    """Every change and read of the patient's record (admins only)."""
    registry = _as(db, who)
    registry.get_patient(patient_ref)
    return [e.to_dict() for e in registry.audit_trail(patient_ref)]


# --- products and infusions -------------------------------------------------------------------


@router.post(
    "/products",
    status_code=201,
    response_model=ProductOut,
    openapi_extra=documented_body(ProductCreate),
    responses=WRITE,
)
def create_product(
    db: Db, who: Physician, body: Annotated[ProductCreate, Depends(body_of(ProductCreate))]
) -> dict[str, Any]:
    """Register a CAR-T product (an existing name answers its id)."""
    product_id = _as(db, who).ensure_product(**body.model_dump())
    return {"id": product_id, "name": body.name}


@router.get("/patients/{patient_ref}/infusions", response_model=list[InfusionOut], responses=READ)
def list_infusions(patient_ref: PatientRef, db: Db, who: Viewer) -> list[dict[str, Any]]:
    registry = _as(db, who)
    registry.get_patient(patient_ref)
    return [i.to_dict() for i in registry.infusions(patient_ref)]


@router.post(
    "/patients/{patient_ref}/infusions",
    status_code=201,
    response_model=InfusionOut,
    openapi_extra=documented_body(InfusionCreate),
    responses=WRITE,
)
def create_infusion(
    patient_ref: PatientRef,
    db: Db,
    who: Physician,
    body: Annotated[InfusionCreate, Depends(body_of(InfusionCreate))],
) -> dict[str, Any]:
    """Record a CAR-T infusion (day 0); the product must be registered first."""
    return _as(db, who).add_infusion(patient_ref, **body.model_dump()).to_dict()


# --- assessments ------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_ref}/assessments", response_model=list[AssessmentOut], responses=READ
)
def list_assessments(patient_ref: PatientRef, db: Db, who: Viewer) -> list[dict[str, Any]]:
    """The patient's assessments in time order, each with its stored grades."""
    registry = _as(db, who)
    registry.get_patient(patient_ref)
    return [a.to_dict() for a in registry.assessments(patient_ref)]


@router.post(
    "/patients/{patient_ref}/assessments",
    status_code=201,
    response_model=AssessmentOut,
    openapi_extra=documented_body(AssessmentCreate),
    responses=WRITE,
)
def create_assessment(
    patient_ref: PatientRef,
    db: Db,
    who: Nurse,
    body: Annotated[AssessmentCreateRaw, Depends(body_of(AssessmentCreateRaw))],
) -> dict[str, Any]:
    """Validate, grade (with the state the record implies) and store one assessment."""
    view = record_assessment(
        _as(db, who),
        patient_ref,
        assessed_at=body.assessed_at,
        data=body.data,
        source_key=body.source_key,
    )
    return view.to_dict()


@router.patch(
    "/patients/{patient_ref}/assessments/{assessment_id}",
    response_model=AssessmentOut,
    openapi_extra=documented_body(AssessmentPatch),
    responses=WRITE,
)
def patch_assessment(
    patient_ref: PatientRef,
    assessment_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="the assessment's id")],
    db: Db,
    who: Nurse,
    body: Annotated[AssessmentPatchRaw, Depends(body_of(AssessmentPatchRaw))],
) -> dict[str, Any]:
    """Correct an assessment made against ``version`` (stale → 409); that assessment and every
    later one are regraded and the episodes re-derived."""
    view = correct_assessment(
        _as(db, who),
        patient_ref,
        assessment_id,
        expected_version=body.version,
        data=body.data,
    )
    return view.to_dict()


# --- administrations and labs -----------------------------------------------------------------


@router.get(
    "/patients/{patient_ref}/administrations",
    response_model=list[AdministrationOut],
    responses=READ,
)
def list_administrations(patient_ref: PatientRef, db: Db, who: Viewer) -> list[dict[str, Any]]:
    registry = _as(db, who)
    registry.get_patient(patient_ref)
    return [a.to_dict() for a in registry.administrations(patient_ref)]


@router.post(
    "/patients/{patient_ref}/administrations",
    status_code=201,
    response_model=AdministrationOut,
    openapi_extra=documented_body(AdministrationCreate),
    responses=WRITE,
)
def create_administration(
    patient_ref: PatientRef,
    db: Db,
    who: Physician,
    body: Annotated[AdministrationCreate, Depends(body_of(AdministrationCreate))],
) -> dict[str, Any]:
    """Record a drug given (physicians: treatments are their orders)."""
    return _as(db, who).add_administration(patient_ref, **body.model_dump()).to_dict()


@router.get("/patients/{patient_ref}/labs", response_model=list[LabOut], responses=READ)
def list_labs(patient_ref: PatientRef, db: Db, who: Viewer) -> list[dict[str, Any]]:
    registry = _as(db, who)
    registry.get_patient(patient_ref)
    return [
        {"taken_at": at, "name": name, "value": value}
        for at, name, value in registry.labs(patient_ref)
    ]


@router.post(
    "/patients/{patient_ref}/labs",
    status_code=201,
    response_model=LabOut,
    openapi_extra=documented_body(LabCreate),
    responses=WRITE,
)
def create_lab(
    patient_ref: PatientRef,
    db: Db,
    who: Nurse,
    body: Annotated[LabCreate, Depends(body_of(LabCreate))],
) -> dict[str, Any]:
    """Record a laboratory value under its contract name (alternative units converted)."""
    if body.name not in LAB_NAMES:
        suggestion = closest_name(body.name, LAB_NAMES)
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        raise InvalidValue(
            f"`name={body.name}` is not a laboratory test of the contract{hint}",
            field="name",
            value=body.name,
            expected=", ".join(LAB_NAMES),
        )
    ((name, value),) = parse_assessment({body.name: body.value}).to_dict().items()
    _as(db, who).add_lab(patient_ref, taken_at=body.taken_at, name=body.name, value=body.value)
    return {"taken_at": body.taken_at, "name": name, "value": value}


# --- what follows from the record ---------------------------------------------------------------


@router.get("/patients/{patient_ref}/episodes", response_model=EpisodesOut, responses=READ)
def get_episodes(
    patient_ref: PatientRef,
    db: Db,
    who: Viewer,
    stored: Annotated[
        bool, Query(description="the stored episodes instead of deriving them now")
    ] = False,
) -> dict[str, Any]:
    """Toxicity episodes per scale, derived now from the record (or as last stored)."""
    registry = _as(db, who)
    registry.get_patient(patient_ref)
    if stored:
        by_scale: dict[str, list[dict[str, Any]]] = {}
        for row in registry.episodes(patient_ref):
            by_scale.setdefault(str(row["scale"]), []).append(row)
        return {"source": "stored", "episodes": by_scale}
    return {
        "source": "derived",
        "episodes": derive_patient_episodes(registry, patient_ref, store=False),
    }


@router.post("/patients/{patient_ref}/episodes", response_model=EpisodesOut, responses=WRITE)
def store_episodes(patient_ref: PatientRef, db: Db, who: Nurse) -> dict[str, Any]:
    """Derive the episodes from the record and store them."""
    return {
        "source": "derived",
        "episodes": derive_patient_episodes(_as(db, who), patient_ref, store=True),
    }


@router.get(
    "/patients/{patient_ref}/recommendations", response_model=RecommendationOut, responses=READ
)
def get_recommendations(patient_ref: PatientRef, db: Db, who: Viewer) -> dict[str, Any]:
    """What the protocol recommends at the current grades, with doses for this patient."""
    registry = _as(db, who)
    patient = registry.get_patient(patient_ref)
    return clinical.current_recommendation(registry, patient, now=_now())


@router.get("/patients/{patient_ref}/scores", response_model=ScoresOut, responses=READ)
def get_scores(patient_ref: PatientRef, db: Db, who: Viewer) -> dict[str, Any]:
    """The risk scores on the latest laboratory values."""
    registry = _as(db, who)
    patient = registry.get_patient(patient_ref)
    return clinical.risk_scores(registry, patient, now=_now())


@router.get("/patients/{patient_ref}/alerts", response_model=AlertsOut, responses=READ)
def get_alerts(patient_ref: PatientRef, db: Db, who: Viewer) -> dict[str, Any]:
    """The alert rules over the record since the latest infusion."""
    registry = _as(db, who)
    patient = registry.get_patient(patient_ref)
    return clinical.patient_alerts(registry, patient, now=_now())
