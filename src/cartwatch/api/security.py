"""Who is asking: bearer tokens for the API, server-side sessions behind a cookie for the pages.

A request carrying ``Authorization: Bearer …`` is authenticated by its token alone (no CSRF
check: a browser never adds that header by itself). A request authenticated by the session
cookie must carry the session's CSRF token (header ``X-CSRF-Token`` or form field
``csrf_token``) whenever it changes state. Anonymous → 401; a role below the one required → 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from cartwatch.api.problems import ApiError
from cartwatch.registry.users import Role, UserView

SESSION_COOKIE = "cartwatch_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller."""

    user: UserView
    via: Literal["token", "session"]
    csrf_token: str | None = None
    session_token: str | None = None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "the Authorization header must be `Bearer <token>`",
            headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
        )
    return token.strip()


async def principal(request: Request) -> Principal | None:
    """The caller of ``request`` (cached on the request), or None when anonymous."""
    if "principal" in request.scope.get("state", {}):
        cached: Principal | None = request.state.principal
        return cached
    found: Principal | None = None
    token = _bearer(request)
    users = request.app.state.backend.users
    if token is not None:
        user = await run_in_threadpool(users.user_for_token, token)
        if user is None:
            raise ApiError(
                401,
                "the bearer token is not valid (unknown, revoked or its user disabled)",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        found = Principal(user=user, via="token")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            settings = request.app.state.settings
            info = await run_in_threadpool(
                lambda: users.session(
                    cookie, idle=settings.session_idle, absolute=settings.session_absolute
                )
            )
            if info is not None:
                found = Principal(
                    user=info.user, via="session", csrf_token=info.csrf_token, session_token=cookie
                )
    request.state.principal = found
    request.state.user_id = found.user.id if found is not None else None
    return found


async def _csrf_given(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request, who: Principal) -> None:
    """403 unless a cookie-authenticated state-changing request carries the session's token."""
    if who.via != "session" or request.method in SAFE_METHODS:
        return
    given = await _csrf_given(request)
    expected = who.csrf_token or ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            403,
            f"missing or wrong CSRF token: send the session's token in the {CSRF_HEADER} header "
            f"or the {CSRF_FIELD} form field",
            field=CSRF_HEADER,
            expected="the csrf_token returned at login (or by GET /api/v1/me)",
        )


def require(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting callers whose role is at least ``role`` (401/403 otherwise)."""

    async def dependency(request: Request) -> Principal:
        who = await principal(request)
        if who is None:
            raise ApiError(
                401,
                "log in or send a bearer token to use this endpoint",
                headers={"WWW-Authenticate": "Bearer"},
            )
        await check_csrf(request, who)
        if not who.user.role.allows(role):
            raise ApiError(
                403,
                f"this needs the {role.value} role or higher; you are {who.user.role.value}",
                field="role",
                value=who.user.role.value,
                expected=f"{role.value} or higher",
            )
        return who

    return dependency


viewer = require(Role.VIEWER)
nurse = require(Role.NURSE)
physician = require(Role.PHYSICIAN)
admin = require(Role.ADMIN)
