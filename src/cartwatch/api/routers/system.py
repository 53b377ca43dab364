"""The bedside grading page, the health check and ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

import cartwatch
from cartwatch.api.problems import responses
from cartwatch.api.schemas import MeOut, UserOut
from cartwatch.api.security import Principal, viewer
from cartwatch.web.pages import index_page

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> str:
    return index_page()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": cartwatch.__version__}


@router.get("/api/v1/me", response_model=MeOut, tags=["users"], responses=responses(401))
async def me(who: Annotated[Principal, Depends(viewer)]) -> MeOut:
    """Who is logged in, how, and (for a cookie session) the CSRF token to send on writes."""
    return MeOut(
        user=UserOut.model_validate(who.user.to_dict()),
        auth=who.via,
        csrf_token=who.csrf_token,
    )
