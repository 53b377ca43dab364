"""Request logging without patient data, and the last line of defence against a traceback.

One log line per request: a request id, the method, the route *template*
(``/api/v1/patients/{patient_ref}``, never the path with the reference filled in), the status,
the user's numeric id and the time taken. Bodies, query strings and error messages are never
logged. An unexpected exception becomes a 500 problem document; only its type is logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import traceback
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cartwatch.api.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

log = logging.getLogger("cartwatch.api")


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    router = getattr(app, "router", None)
    for candidate in getattr(router, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            template = getattr(candidate, "path", None)
            if isinstance(template, str):
                return template
    return "<unmatched>"


class RequestLogMiddleware:
    """Logs one privacy-safe line per request and turns crashes into a 500 problem."""

    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        started = time.perf_counter()
        status = 0
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            frames = " < ".join(
                f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                for f in reversed(traceback.extract_tb(exc.__traceback__)[-6:])
            )
            log.error("request id=%s crashed with %s at %s", request_id, type(exc).__name__, frames)
            if not response_started:
                status = 500
                await _send_500(send, request_id)
        finally:
            if self.enabled and log.isEnabledFor(logging.INFO):
                state: dict[str, Any] = scope.get("state") or {}
                log.info(
                    "request id=%s method=%s route=%s status=%s user=%s ms=%.1f",
                    request_id,
                    scope.get("method", ""),
                    _route_template(scope),
                    status,
                    state.get("user_id", "-") if state.get("user_id") is not None else "-",
                    (time.perf_counter() - started) * 1000,
                )


async def _send_500(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "type": PROBLEM_BASE + "InternalError",
            "title": "InternalError",
            "status": 500,
            "detail": f"an internal error occurred (request {request_id}); it has been logged",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
