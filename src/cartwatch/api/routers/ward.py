"""The ward pages for logged-in users: the ward list, a patient's page and its printable
summary. The data come from :mod:`cartwatch.web.ward`; every patient shown is an audited read."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from cartwatch.api.backend import Backend, backend
from cartwatch.api.security import Principal, viewer
from cartwatch.errors import NotFound
from cartwatch.web.pages import render_page
from cartwatch.web.ward import patient_page, ward_rows

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, Depends(viewer)]
Db = Annotated[Backend, Depends(backend)]
PatientRef = Annotated[str, Path(min_length=1, max_length=64)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ward(db: Backend, who: Principal) -> str:
    now = _now()
    rows = ward_rows(db.registry.as_actor(who.user.name), now=now, audit_note="ward list")
    return render_page("ward.html", rows=rows, now=now, user=who.user, csrf_token=who.csrf_token)


def _patient(db: Backend, who: Principal, ref: str, template: str) -> tuple[int, str]:
    registry = db.registry.as_actor(who.user.name)
    try:
        page = patient_page(registry, ref, now=_now(), audit_note=template.removesuffix(".html"))
    except NotFound:
        return 404, render_page(
            "error.html",
            status=404,
            heading="Patient not found",
            message=f"There is no patient `{ref}`: check the reference on the ward list.",
            user=who.user,
            csrf_token=who.csrf_token,
        )
    return 200, render_page(template, p=page, user=who.user, csrf_token=who.csrf_token)


@router.get("/ward", response_class=HTMLResponse)
async def ward(who: Viewer, db: Db) -> str:
    """Every patient: day after infusion, current grades, active alerts, next ICE due."""
    return await run_in_threadpool(_ward, db, who)


@router.get("/patients/{patient_ref}", response_class=HTMLResponse)
async def patient(patient_ref: PatientRef, who: Viewer, db: Db) -> HTMLResponse:
    """One patient's page: timeline, episodes, treatments, recommendation, calendar."""
    status, html = await run_in_threadpool(_patient, db, who, patient_ref, "patient.html")
    return HTMLResponse(html, status_code=status)


@router.get("/patients/{patient_ref}/summary", response_class=HTMLResponse)
async def summary(patient_ref: PatientRef, who: Viewer, db: Db) -> HTMLResponse:
    """The printable one-page summary of one patient."""
    status, html = await run_in_threadpool(_patient, db, who, patient_ref, "summary.html")
    return HTMLResponse(html, status_code=status)
