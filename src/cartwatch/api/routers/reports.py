"""Cohort report pages for logged-in users: ``/reports/all`` or a saved cohort's name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from cartwatch.api.backend import Backend, backend
from cartwatch.api.security import Principal, viewer
from cartwatch.registry.repository import Registry
from cartwatch.services.cohort import CohortFilter, build_cohort
from cartwatch.web.pages import cohort_report_html

router = APIRouter(include_in_schema=False)


def _render(registry: Registry, name: str) -> str:
    if name == "all":
        chosen = CohortFilter()
    else:
        chosen = CohortFilter.from_dict({**registry.cohort_definition(name), "name": name})
    cohorts = [c["name"] for c in registry.cohorts()]
    return cohort_report_html(build_cohort(registry, chosen), cohorts=cohorts)


@router.get("/reports", response_class=HTMLResponse)
@router.get("/reports/{name}", response_class=HTMLResponse)
async def report(
    who: Annotated[Principal, Depends(viewer)],
    db: Annotated[Backend, Depends(backend)],
    name: str = "all",
) -> str:
    """A cohort's report page ("all" for every infused patient, else a saved cohort)."""
    registry = db.registry.as_actor(who.user.name)
    return await run_in_threadpool(_render, registry, name)
