"""Logging in and out: JSON for scripts and the pages' JavaScript, a minimal form for people.

Failed logins are counted per user name and per client address; past the limit the answer is
429 with ``Retry-After``. The login form is protected against login CSRF by a double-submit
cookie; once logged in, every state-changing request carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
import html
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from cartwatch.api.body import body_of, documented_body
from cartwatch.api.problems import ApiError, responses
from cartwatch.api.schemas import LoginIn, MeOut, UserOut
from cartwatch.api.security import CSRF_FIELD, SESSION_COOKIE, Principal, viewer
from cartwatch.api.settings import Settings
from cartwatch.registry.users import Users, UserView

router = APIRouter(tags=["auth"])
LOGIN_CSRF_COOKIE = "cartwatch_login_csrf"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _login(request: Request, username: str, password: str) -> tuple[UserView, str, str]:
    """Check the rate limit and the password; (user, session token, CSRF token) or ApiError."""
    settings: Settings = request.app.state.settings
    users: Users = request.app.state.backend.users
    ip = _client_ip(request)
    wait = users.login_retry_after(
        username=username,
        client_ip=ip,
        window=settings.login_window,
        max_failures_per_user=settings.login_max_failures_per_user,
        max_failures_per_ip=settings.login_max_failures_per_ip,
    )
    if wait is not None:
        raise ApiError(
            429,
            f"too many failed logins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = users.authenticate(username, password)
    users.record_login_attempt(username=username, client_ip=ip, succeeded=user is not None)
    if user is None:
        raise ApiError(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    token, csrf = users.start_session(user.id)
    return user, token, csrf


def _set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(1, int(settings.session_absolute_seconds)),
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )


@router.post(
    "/api/v1/login",
    response_model=MeOut,
    openapi_extra=documented_body(LoginIn),
    responses=responses(401, 413, 422, 429),
)
def login(
    request: Request,
    response: Response,
    body: Annotated[LoginIn, Depends(body_of(LoginIn))],
) -> MeOut:
    """Start a session: sets an HttpOnly, SameSite=Lax cookie; answers the CSRF token."""
    user, token, csrf = _login(request, body.username, body.password)
    _set_session_cookie(response, request.app.state.settings, token)
    return MeOut(user=UserOut.model_validate(user.to_dict()), auth="session", csrf_token=csrf)


@router.post("/api/v1/logout", status_code=204, responses=responses(401, 403))
def logout(
    request: Request, response: Response, who: Annotated[Principal, Depends(viewer)]
) -> None:
    """End the session (for a bearer token this changes nothing)."""
    if who.session_token is not None:
        request.app.state.backend.users.end_session(who.session_token)
    _clear_session_cookie(response, request.app.state.settings)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cartwatch · log in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;font-size:1rem}}
button{{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}}.error{{color:#a00}}</style>
</head><body>
<h1>cartwatch</h1>
{message}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
</body></html>
"""


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, *, message: str = "", status: int = 200) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    csrf = secrets.token_urlsafe(32)
    page = _PAGE.format(
        message=f'<p class="error" role="alert">{html.escape(message)}</p>' if message else "",
        csrf=csrf,
        next=html.escape(_safe_next(request.query_params.get("next"))),
    )
    response = HTMLResponse(page, status_code=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        max_age=3600,
        path="/login",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", include_in_schema=False, response_model=None)
async def login_submit(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    try:
        form = await request.form()
    except Exception:
        return _login_page(request, message="The form could not be read.", status=422)
    fields = {k: form.get(k) for k in ("username", "password", CSRF_FIELD, "next")}
    texts = {k: v if isinstance(v, str) else "" for k, v in fields.items()}
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), texts[CSRF_FIELD].encode()):
        return _login_page(request, message="The form expired; please log in again.", status=403)
    if (
        not texts["username"]
        or not texts["password"]
        or len(texts["username"]) > 256
        or "\x00" in texts["username"] + texts["password"]
    ):
        return _login_page(request, message="Give your user name and password.", status=422)
    try:
        _, token, _ = await run_in_threadpool(
            _login, request, texts["username"], texts["password"][:4096]
        )
    except ApiError as exc:
        response = _login_page(request, message=exc.detail, status=exc.status)
        if "Retry-After" in exc.headers:
            response.headers["Retry-After"] = exc.headers["Retry-After"]
        return response
    redirect = RedirectResponse(_safe_next(texts["next"]), status_code=303)
    _set_session_cookie(redirect, settings, token)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return redirect


@router.post("/logout", include_in_schema=False, response_model=None)
async def logout_submit(
    request: Request, who: Annotated[Principal, Depends(viewer)]
) -> RedirectResponse:
    if who.session_token is not None:
        await run_in_threadpool(request.app.state.backend.users.end_session, who.session_token)
    redirect = RedirectResponse("/login", status_code=303)
    _clear_session_cookie(redirect, request.app.state.settings)
    return redirect
