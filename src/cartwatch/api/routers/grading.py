"""Stateless grading: one assessment in, results out. No login needed; nothing is stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

import cartwatch
from cartwatch.api.body import documented_body, read_json
from cartwatch.api.problems import responses
from cartwatch.api.schemas import AssessmentIn
from cartwatch.references import cite

router = APIRouter(prefix="/api/v1", tags=["grading"])


@router.get("/scales")
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


@router.post(
    "/grade/{scale}",
    openapi_extra=documented_body(AssessmentIn),
    responses=responses(404, 413, 422),
)
async def grade(
    scale: Annotated[str, Path(max_length=64, description="a scale id from /api/v1/scales")],
    request: Request,
) -> dict[str, Any]:
    """Grade one assessment under one scale; stores nothing."""
    assessment = await read_json(request)
    return cartwatch.grade(scale, assessment).to_dict()


@router.post("/grade", openapi_extra=documented_body(AssessmentIn), responses=responses(413, 422))
async def grade_all(request: Request) -> dict[str, Any]:
    """Grade one assessment under every CRS and ICANS scale."""
    assessment = await read_json(request)
    results = cartwatch.grade_all(assessment, syndromes=("crs", "icans"))
    return {k: v.to_dict() for k, v in results.items()}
