"""The assessment form (``/patients/{ref}/assess``) and one assessment under every scale
(``/patients/{ref}/assessments/{id}/scales``).

Any logged-in user may open both (the read is audited); the form saves only for nurses and
above: a viewer sees it read only, with the live grade, and no save button.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from cartwatch.api.backend import Backend, backend
from cartwatch.api.security import Principal, viewer
from cartwatch.registry.users import Role
from cartwatch.web.assess import assess_context, scales_context
from cartwatch.web.pages import _static, render_page

router = APIRouter(include_in_schema=False)

PatientRef = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\s\x00]+$")]
Viewer = Annotated[Principal, Depends(viewer)]
Db = Annotated[Backend, Depends(backend)]


def _assess(db: Backend, who: Principal, patient_ref: str) -> str:
    registry = db.registry.as_actor(who.user.name)
    patient = registry.get_patient(patient_ref)
    context = assess_context(registry, patient, now=dt.datetime.now(dt.UTC))
    return render_page(
        "assess.html",
        user=who.user,
        csrf_token=who.csrf_token,
        can_save=who.user.role.allows(Role.NURSE),
        assess_css=_static("assess.css"),
        js=_static("grade.js"),
        **context,
    )


def _scales(db: Backend, who: Principal, patient_ref: str, assessment_id: int) -> str:
    registry = db.registry.as_actor(who.user.name)
    registry.get_patient(patient_ref)
    return render_page(
        "scales.html",
        user=who.user,
        csrf_token=who.csrf_token,
        assess_css=_static("assess.css"),
        **scales_context(registry, patient_ref, assessment_id),
    )


@router.get("/patients/{patient_ref}/assess", response_class=HTMLResponse)
async def assess_page(patient_ref: PatientRef, who: Viewer, db: Db) -> str:
    """The assessment form with the live grade (saving needs the nurse role)."""
    return await run_in_threadpool(_assess, db, who, patient_ref)


@router.get(
    "/patients/{patient_ref}/assessments/{assessment_id}/scales", response_class=HTMLResponse
)
async def scales_page(
    patient_ref: PatientRef,
    assessment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    who: Viewer,
    db: Db,
) -> str:
    """One stored assessment under every CRS, ICANS, IEC-HS and haematotoxicity scale."""
    return await run_in_threadpool(_scales, db, who, patient_ref, assessment_id)
