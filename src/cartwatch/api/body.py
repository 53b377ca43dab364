"""Reading JSON bodies safely and documenting them in OpenAPI.

Bodies are read here, not by FastAPI's automatic parsing, so that every failure is a 422 problem
naming the field: malformed JSON, ``NaN``/``Infinity``, text with NUL characters or lone
surrogates (which a database would refuse), bodies over the size limit (413). The model that
validates a body may be looser than the one documented (the assessment is validated by
:func:`cartwatch.assessment.parse_assessment`, documented by a model generated from its fields).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from cartwatch.api.problems import ApiError, validation_problem

M = TypeVar("M", bound=BaseModel)

DOCUMENTED: dict[str, type[BaseModel]] = {}
"""Models whose JSON schemas are added to ``components.schemas`` of the OpenAPI document."""

_MAX_DEPTH = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _clean_string(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean(value: Any, depth: int = 0) -> bool:
    """True when ``value`` needs no detailed check (the common case, without building paths)."""
    kind = type(value)
    if kind is str:
        return _clean_string(value)
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return depth < _MAX_DEPTH and all(
            _clean_string(k) and _clean(v, depth + 1) for k, v in value.items()
        )
    if kind is list:
        return depth < _MAX_DEPTH and all(_clean(v, depth + 1) for v in value)
    return True


def _check_text(value: Any, path: str, depth: int = 0) -> None:
    if depth == 0 and _clean(value):
        return
    if depth > _MAX_DEPTH:
        raise ApiError(422, "the JSON body is nested too deeply", field=path or "body")
    if isinstance(value, str):
        _check_string(value, path)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ApiError(
            422,
            f"`{path or 'body'}` is too large a number to be a measurement",
            field=path or "body",
            value=str(value),
            expected="a finite number",
        )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_string(k, path or "body")
            _check_text(v, f"{path}.{k}" if path else k, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_text(v, f"{path}.{i}" if path else str(i), depth + 1)


def _check_string(value: str, path: str) -> None:
    if "\x00" in value:
        raise ApiError(
            422,
            f"`{path or 'body'}` contains a NUL character",
            field=path or "body",
            expected="text without NUL characters",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            422,
            f"`{path or 'body'}` is not valid Unicode text",
            field=path or "body",
            expected="UTF-8 text",
        ) from None


def check_text(value: str, name: str) -> str:
    """``value`` unchanged, or 422 when a database could not store it (NUL, lone surrogate)."""
    _check_string(value, name)
    return value


def check_json(value: Any) -> None:
    """ApiError (422) when a parsed JSON value holds text a database could not store or a
    non-finite number (what :func:`read_json` checks), naming the field."""
    _check_text(value, "")


async def read_json(request: Request, *, check: bool = True) -> Any:
    """The request's JSON body, checked (unless ``check`` is false: the caller checks its
    parts with :func:`check_json`); ApiError (413/422) when it cannot be accepted."""
    limit: int = request.app.state.settings.max_body_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, f"the body has {len(raw)} bytes; expected at most {limit}")
    if not raw.strip():
        raise ApiError(422, "the request has no JSON body", field="body", expected="a JSON body")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(422, "the JSON body is nested too deeply", field="body") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            422,
            f"the body is not valid JSON: {exc}",
            field="body",
            expected="a JSON document (no NaN or Infinity)",
        ) from None
    if check and _may_hold_bad_values(raw):
        _check_text(data, "")
    return data


_EXPONENT_HUGE_OR_SURROGATE = re.compile(rb"[0-9][eE]|[0-9]{300}|\xed[\xa0-\xbf]")


def _may_hold_bad_values(raw: bytes) -> bool:
    """False only when the raw body cannot hold what :func:`_check_text` refuses.

    NUL and lone surrogates arrive only as ``\\u`` escapes or as UTF-8-encoded surrogates
    (``json`` decodes bytes with ``surrogatepass``) in a UTF-8 body; a UTF-16 or UTF-32 body
    holds zero bytes and is walked. An infinite float needs an exponent or 300+ digits, and
    nesting deeper than the limit needs more brackets than the limit. Anything else is walked
    in full."""
    return (
        b"\\u" in raw
        or b"\x00" in raw
        or raw.count(b"{") + raw.count(b"[") > _MAX_DEPTH
        or _EXPONENT_HUGE_OR_SURROGATE.search(raw) is not None
    )


def body_of(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency that reads the JSON body and validates it with ``model`` (422 otherwise).

    Validation is strict (JSON mode): ``true`` is not a number and ``"70"`` is not a weight.
    """

    async def dependency(request: Request) -> M:
        data = await read_json(request)
        if not isinstance(data, dict):
            raise ApiError(
                422,
                f"the body must be a JSON object, not {type(data).__name__}",
                field="body",
                expected="a JSON object",
            )
        try:
            return model.model_validate_json(await request.body())
        except ValidationError as exc:
            raise validation_problem(list(exc.errors())) from None

    return dependency


def documented_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON request body by ``model``."""
    DOCUMENTED[model.__name__] = model
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def add_documented_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the JSON schemas of :data:`DOCUMENTED` models to an OpenAPI document."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, model in DOCUMENTED.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(def_name, definition)
        schemas[name] = schema
    return openapi
