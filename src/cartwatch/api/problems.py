"""Errors as RFC 9457 problem documents (``application/problem+json``), mapped in one place.

Bad input → 422, not logged in → 401, wrong role or missing CSRF token → 403, unknown record or
scale → 404, stale edit or duplicate → 409, too many failed logins → 429 (with ``Retry-After``),
database unavailable → 503, database full → 507. A browser asking for a page without a
session is redirected to ``/login?next=…`` instead of answered 401. Each problem names the
``field``, the ``value`` and what was ``expected``; a password is never echoed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cartwatch.errors import CartwatchError, Conflict, InvalidInput, NotFound, UnknownScale
from cartwatch.errors import _jsonable as jsonable

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://cartwatch.invalid/problems/"
_TITLES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    507: "InsufficientStorage",
}
_DISK_FULL = "database or disk is full"
_SECRET_FIELDS = ("password", "token", "csrf_token")


class Problem(BaseModel):
    """An RFC 9457 problem document with the field, value and expected range of bad input."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    value: Any = None
    expected: str | None = None
    errors: list[dict[str, Any]] | None = None


class ApiError(Exception):
    """An HTTP error raised by the shell (authentication, CSRF, rate limits, body parsing)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.value = value
        self.expected = expected
        self.headers = dict(headers or {})
        self.errors = [dict(e) for e in errors] if errors is not None else None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    field: str | None = None,
    value: Any = None,
    expected: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    name = title or _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + name,
        "title": name,
        "status": status,
        "detail": detail,
    }
    if field is not None or value is not None or expected is not None:
        secret = field is not None and field.rsplit(".", 1)[-1] in _SECRET_FIELDS
        shown = None if secret else _finite(jsonable(value))
        body.update(field=field, value=shown, expected=expected)
    if errors is not None:
        body["errors"] = [_finite(dict(e)) for e in errors]
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


def status_for(exc: CartwatchError) -> int:
    """The HTTP status of a cartwatch error."""
    if isinstance(exc, UnknownScale | NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    return 422


def problem(exc: CartwatchError) -> JSONResponse:
    """The problem document of a cartwatch error."""
    details = exc.to_dict()
    return problem_response(
        status_for(exc),
        str(exc),
        title=type(exc).__name__,
        field=details["field"],
        value=details["value"],
        expected=details["expected"],
    )


def _loc(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """An ApiError (422) for pydantic's errors: the first names field, value and expectation."""
    cleaned = []
    for e in errors:
        name = _loc(e.get("loc", ()))
        secret = name.rsplit(".", 1)[-1] in _SECRET_FIELDS
        cleaned.append(
            {
                "field": name,
                "value": None if secret else jsonable(e.get("input")),
                "expected": str(e.get("msg", "")),
            }
        )
    if not cleaned:
        return ApiError(422, "the request is not valid")
    first = cleaned[0]
    if errors[0].get("type") == "extra_forbidden":
        detail = f"unknown field `{first['field']}`"
        expected = "only the documented fields"
    elif errors[0].get("type") == "missing":
        detail = f"`{first['field']}` is required"
        expected = "a value"
    else:
        shown = "" if first["value"] is None else f"={first['value']!r}"
        detail = f"`{first['field']}{shown}` is not valid: {first['expected']}"
        expected = str(first["expected"])
    return ApiError(
        422,
        detail,
        field=first["field"],
        value=first["value"],
        expected=expected,
        errors=cleaned,
    )


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not a script calling the API)."""
    return (
        request.method == "GET"
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
    )


def install(app: FastAPI) -> None:
    """Register every error mapping on ``app``."""

    @app.exception_handler(CartwatchError)
    async def _cartwatch_error(request: Request, exc: CartwatchError) -> JSONResponse:
        return problem(exc)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if exc.status == 401 and _wants_page(request):
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return problem_response(
            exc.status,
            exc.detail,
            field=exc.field,
            value=exc.value,
            expected=exc.expected,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        return await _api_error(request, validation_problem(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError) -> Response:
        return await _api_error(request, validation_problem(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return problem_response(exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        return problem_response(
            409, "the record was written by someone else at the same time; reload and retry"
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        if _DISK_FULL in str(exc.orig):
            return problem_response(
                507,
                "the database is full: nothing was saved; free disk space (or ask the "
                "administrator to), then retry",
            )
        return problem_response(
            503, "the database is not available just now; retry", headers={"Retry-After": "5"}
        )


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem documents for ``codes``."""
    return {
        code: {
            "description": _TITLES.get(code, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }
