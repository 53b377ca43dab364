"""Stateless grading: assessments in, results out. No login needed; nothing is stored.

``POST /api/v1/grade/{scale}`` grades one assessment, ``POST /api/v1/grade`` grades it under
every CRS and ICANS scale, and ``POST /api/v1/grade/{scale}/batch`` grades a list of up to
:data:`MAX_BATCH` assessments, answering one result per item in order; an item that cannot be
read is answered in its place by a problem object (``index``, ``field``, ``value``,
``expected``) without failing the others.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

import cartwatch
from cartwatch.api.body import check_json, documented_body, read_json
from cartwatch.api.problems import _TITLES, PROBLEM_BASE, ApiError, responses, status_for
from cartwatch.api.schemas import AssessmentIn
from cartwatch.assessment import ice_total_range, parse_assessment
from cartwatch.errors import CartwatchError, _jsonable
from cartwatch.grading.registry import get_scale
from cartwatch.references import cite

router = APIRouter(prefix="/api/v1", tags=["grading"])

MAX_BATCH = 1000
"""The most assessments one batch request may carry (more → 413)."""

ScaleId = Annotated[str, Path(max_length=64, description="a scale id from /api/v1/scales")]


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


_RESULT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the grade result",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/grade/{scale}",
    openapi_extra=documented_body(AssessmentIn),
    response_model=None,
    responses={**_RESULT, **responses(404, 413, 422)},
)
async def grade(scale: ScaleId, request: Request) -> Response:
    """Grade one assessment under one scale; stores nothing."""
    assessment = await read_json(request)
    result = cartwatch.grade(scale, assessment).to_dict()
    return Response(json.dumps(result, ensure_ascii=False), media_type="application/json")


@router.post("/grade", openapi_extra=documented_body(AssessmentIn), responses=responses(413, 422))
async def grade_all(
    request: Request,
    derived: Annotated[
        bool,
        Query(
            description="also answer `derived`: the ICE total the core reads from the items "
            "(lowest, highest, items not assessed) and the age it uses"
        ),
    ] = False,
) -> dict[str, Any]:
    """Grade one assessment under every CRS and ICANS scale (scale id → result)."""
    assessment = parse_assessment(await read_json(request))
    results = cartwatch.grade_all(assessment, syndromes=("crs", "icans"))
    out: dict[str, Any] = {k: v.to_dict() for k, v in results.items()}
    if derived:
        ice = ice_total_range(assessment)
        out["derived"] = {
            "ice_total": None
            if ice is None
            else {"low": ice[0], "high": ice[1], "not_assessed": list(ice[2])},
            "age_years": assessment.age_years,
        }
    return out


def _item_problem(index: int, exc: CartwatchError) -> dict[str, Any]:
    details = exc.to_dict()
    name = type(exc).__name__
    return {
        "index": index,
        "type": PROBLEM_BASE + name,
        "title": name,
        "status": status_for(exc),
        "detail": str(exc),
        "field": details["field"],
        "value": _jsonable(details["value"]),
        "expected": details["expected"],
    }


def _item_api_problem(index: int, exc: ApiError) -> dict[str, Any]:
    name = _TITLES.get(exc.status, "Error")
    return {
        "index": index,
        "type": PROBLEM_BASE + name,
        "title": name,
        "status": exc.status,
        "detail": exc.detail,
        "field": exc.field,
        "value": exc.value,
        "expected": exc.expected,
    }


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_BATCH,
                    "items": {"$ref": "#/components/schemas/AssessmentIn"},
                }
            }
        },
    }
}


@router.post("/grade/{scale}/batch", openapi_extra=_BATCH_BODY, responses=responses(404, 413, 422))
async def grade_batch(scale: ScaleId, request: Request) -> list[dict[str, Any]]:
    """Grade a list of assessments under one scale: one answer per item, in order; an item
    that cannot be read is answered by its own problem object (with its ``index``)."""
    info = get_scale(scale)
    items = await read_json(request, check=False)
    if not isinstance(items, list):
        raise ApiError(
            422,
            f"the body must be a JSON list of assessments, not {type(items).__name__}",
            field="body",
            expected=f"a JSON list of at most {MAX_BATCH} assessments",
        )
    if len(items) > MAX_BATCH:
        raise ApiError(
            413,
            f"the batch has {len(items)} assessments; expected at most {MAX_BATCH}",
            field="body",
            value=len(items),
            expected=f"at most {MAX_BATCH} assessments",
        )
    options = info.resolve_options(None)
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            check_json(item)
            out.append(info.evaluate(parse_assessment(item), options).to_dict())
        except CartwatchError as exc:
            out.append(_item_problem(index, exc))
        except ApiError as exc:
            out.append(_item_api_problem(index, exc))
    return out
