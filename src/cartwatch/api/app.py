"""The FastAPI application factory: stateless grading over HTTP and a bedside grading page.

Errors map to HTTP in one place: bad input → 422, unknown scale → 404, each as
``application/problem+json`` naming the field, the value and what was expected.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

import cartwatch
from cartwatch.errors import CartwatchError, Conflict, InvalidInput, NotFound, UnknownScale
from cartwatch.references import cite
from cartwatch.web.pages import index_page


def _status_for(exc: CartwatchError) -> int:
    if isinstance(exc, UnknownScale | NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    return 422


def problem(exc: CartwatchError) -> JSONResponse:
    """An RFC 9457 problem document for a cartwatch error."""
    status = _status_for(exc)
    body = {
        "type": f"https://cartwatch.invalid/problems/{type(exc).__name__}",
        "title": type(exc).__name__,
        "status": status,
        "detail": str(exc),
        **{k: v for k, v in exc.to_dict().items() if k in ("field", "value", "expected")},
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_app() -> FastAPI:
    """Build the application (no database is needed for stateless grading)."""
    app = FastAPI(
        title="cartwatch",
        version=cartwatch.__version__,
        description="CAR-T toxicity grading (ASTCT, Lee 2014, CARTOX, Penn, MSKCC, CTCAE …).",
    )

    @app.exception_handler(CartwatchError)
    async def _cartwatch_error(request: Request, exc: CartwatchError) -> JSONResponse:
        return problem(exc)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return index_page()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": cartwatch.__version__}

    @app.get("/api/v1/scales")
    async def list_scales() -> list[dict[str, Any]]:
        """Every scale and score, with its options and reference."""
        return [
            {
                "id": i.id,
                "title": i.title,
                "syndrome": i.syndrome,
                "kind": i.kind,
                "options": {
                    o.name: {"default": o.default, "choices": list(o.choices)} for o in i.options
                },
                "reference": cite(*i.reference_keys),
            }
            for i in cartwatch.scales()
        ]

    @app.post("/api/v1/grade/{scale}")
    async def grade(
        scale: str,
        assessment: dict[str, Any] = Body(..., description="one assessment (contract fields)"),
    ) -> dict[str, Any]:
        """Grade one assessment under one scale; stores nothing."""
        return cartwatch.grade(scale, assessment).to_dict()

    @app.post("/api/v1/grade")
    async def grade_all(
        assessment: dict[str, Any] = Body(..., description="one assessment (contract fields)"),
    ) -> dict[str, Any]:
        """Grade one assessment under every CRS and ICANS scale."""
        results = cartwatch.grade_all(assessment, syndromes=("crs", "icans"))
        return {k: v.to_dict() for k, v in results.items()}

    return app
