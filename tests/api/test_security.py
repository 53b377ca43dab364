"""Sessions, CSRF, login rate limiting, password and token storage, audited reads — over HTTP."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends
from sqlalchemy import select

from cartwatch.api.app import create_app
from cartwatch.api.security import Principal, nurse
from cartwatch.registry.users import ApiToken, User
from tests.api.conftest import PASSWORD, Ward, login, seed_patient, start_ward, stop_ward

IDLE_S = 1.0
ABSOLUTE_S = 2.6
MAX_PER_USER = 3
MAX_PER_IP = 6
WINDOW_S = 120


@pytest.fixture(scope="module")
def strict_ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """A server with short sessions, tight login limits and Secure cookies."""
    tmp = tmp_path_factory.mktemp("strict")
    server = start_ward(
        tmp,
        f"sqlite:///{tmp / 'strict.db'}",
        env={
            "CARTWATCH_SESSION_IDLE_SECONDS": str(IDLE_S),
            "CARTWATCH_SESSION_ABSOLUTE_SECONDS": str(ABSOLUTE_S),
            "CARTWATCH_LOGIN_MAX_FAILURES_PER_USER": str(MAX_PER_USER),
            "CARTWATCH_LOGIN_MAX_FAILURES_PER_IP": str(MAX_PER_IP),
            "CARTWATCH_LOGIN_WINDOW_SECONDS": str(WINDOW_S),
            "CARTWATCH_COOKIE_SECURE": "true",
        },
    )
    yield server
    stop_ward(server)


# --- cookies and sessions ---


def test_session_cookie_is_httponly_samesite_lax(ward: Ward) -> None:
    r = httpx.post(f"{ward.url}/api/v1/login", json={"username": "nurse", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "cartwatch_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie
    assert r.json()["user"]["role"] == "nurse" and r.json()["csrf_token"]


def test_cookie_is_secure_when_configured(strict_ward: Ward) -> None:
    r = httpx.post(
        f"{strict_ward.url}/api/v1/login", json={"username": "viewer", "password": PASSWORD}
    )
    assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()


def _cookie_client(ward: Ward, role: str) -> tuple[httpx.Client, str]:
    """A client that resends the session cookie over plain HTTP (the Secure flag is set)."""
    r = httpx.post(f"{ward.url}/api/v1/login", json={"username": role, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client = httpx.Client(
        base_url=ward.url, cookies={"cartwatch_session": r.cookies["cartwatch_session"]}
    )
    return client, r.json()["csrf_token"]


def test_sessions_expire_when_idle_and_after_their_absolute_lifetime(strict_ward: Ward) -> None:
    idle_client, _ = _cookie_client(strict_ward, "viewer")
    busy_client, _ = _cookie_client(strict_ward, "nurse")
    started = time.monotonic()
    idle_checked = False
    with closing(idle_client), closing(busy_client):
        assert idle_client.get("/api/v1/me").status_code == 200
        while time.monotonic() - started < ABSOLUTE_S - 0.4:
            assert busy_client.get("/api/v1/me").status_code == 200
            if not idle_checked and time.monotonic() - started > IDLE_S + 0.4:
                r = idle_client.get("/api/v1/me")
                assert r.status_code == 401 and "WWW-Authenticate" in r.headers
                idle_checked = True
            time.sleep(IDLE_S / 4)
        time.sleep(max(0.0, ABSOLUTE_S + 0.4 - (time.monotonic() - started)))
        assert busy_client.get("/api/v1/me").status_code == 401
    assert idle_checked


def test_logout_ends_the_session(ward: Ward) -> None:
    client, csrf = login(ward, "viewer")
    with closing(client):
        assert client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert client.get("/api/v1/me").status_code == 401


def test_disabling_a_user_ends_their_sessions_and_tokens(ward: Ward) -> None:
    admin = ward.headers("admin")
    created = httpx.post(
        f"{ward.url}/api/v1/users",
        json={"name": "temp.nurse", "role": "nurse", "password": "temporary-pass"},
        headers=admin,
    )
    assert created.status_code in (201, 409)
    token = httpx.post(f"{ward.url}/api/v1/users/temp.nurse/tokens", headers=admin).json()["token"]
    client = httpx.Client(base_url=ward.url)
    with closing(client):
        login_r = client.post(
            "/api/v1/login", json={"username": "temp.nurse", "password": "temporary-pass"}
        )
        assert login_r.status_code == 200
        r = httpx.patch(
            f"{ward.url}/api/v1/users/temp.nurse", json={"disabled": True}, headers=admin
        )
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert client.get("/api/v1/me").status_code == 401
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{ward.url}/api/v1/me", headers=bearer).status_code == 401


# --- CSRF ---


def test_cookie_write_without_csrf_token_is_403(ward: Ward) -> None:
    ref = seed_patient(ward)
    client, csrf = login(ward, "nurse")
    body = {"taken_at": "2026-11-05T10:00:00Z", "name": "crp_mg_dl", "value": 4.2}
    with closing(client):
        missing = client.post(f"/api/v1/patients/{ref}/labs", json=body)
        wrong = client.post(
            f"/api/v1/patients/{ref}/labs", json=body, headers={"X-CSRF-Token": csrf + "x"}
        )
        right = client.post(
            f"/api/v1/patients/{ref}/labs", json=body, headers={"X-CSRF-Token": csrf}
        )
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    assert wrong.status_code == 403
    assert right.status_code == 201
    labs = httpx.get(f"{ward.url}/api/v1/patients/{ref}/labs", headers=ward.headers("viewer"))
    assert [x["name"] for x in labs.json()].count("crp_mg_dl") == 1


def test_csrf_token_of_another_session_is_refused(ward: Ward) -> None:
    first, _ = login(ward, "physician")
    second, other_csrf = login(ward, "physician")
    with closing(first), closing(second):
        r = first.post("/api/v1/logout", headers={"X-CSRF-Token": other_csrf})
    assert r.status_code == 403


def test_csrf_form_field_is_accepted(ward: Ward) -> None:
    client, csrf = login(ward, "viewer", follow_redirects=False)
    with closing(client):
        refused = client.post("/logout", data={})
        accepted = client.post("/logout", data={"csrf_token": csrf})
        assert refused.status_code == 403
        assert accepted.status_code == 303 and accepted.headers["location"] == "/login"
        assert client.get("/api/v1/me").status_code == 401


def test_bearer_requests_need_no_csrf_token(ward: Ward) -> None:
    ref = seed_patient(ward)
    r = httpx.post(
        f"{ward.url}/api/v1/patients/{ref}/labs",
        json={"taken_at": "2026-11-06T10:00:00Z", "name": "ldh_u_l", "value": 480},
        headers=ward.headers("nurse"),
    )
    assert r.status_code == 201


def test_login_form_needs_its_csrf_cookie(ward: Ward) -> None:
    with httpx.Client(base_url=ward.url, follow_redirects=False) as client:
        page = client.get("/login?next=/patients")
        assert page.status_code == 200 and 'name="csrf_token"' in page.text
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        forged = httpx.post(
            f"{ward.url}/login",
            data={"username": "viewer", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert forged.status_code == 403
        ok = client.post(
            "/login",
            data={
                "username": "viewer",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "/patients",
            },
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/patients"
        assert client.get("/api/v1/me").json()["user"]["name"] == "viewer"


def test_login_form_never_redirects_off_site(ward: Ward) -> None:
    with httpx.Client(base_url=ward.url, follow_redirects=False) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = client.post(
            "/login",
            data={
                "username": "viewer",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
    assert r.status_code == 303 and r.headers["location"] == "/"


# --- login and rate limiting ---


def test_wrong_password_and_unknown_user_look_the_same(ward: Ward) -> None:
    wrong = httpx.post(
        f"{ward.url}/api/v1/login", json={"username": "admin", "password": "not-the-password"}
    )
    unknown = httpx.post(
        f"{ward.url}/api/v1/login", json={"username": "nobody", "password": "not-the-password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert "not-the-password" not in wrong.text


def _client_from(ward: Ward, source_ip: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source_ip)
    return httpx.Client(base_url=ward.url, transport=transport)


def test_failed_logins_are_rate_limited_per_user(strict_ward: Ward) -> None:
    with _client_from(strict_ward, "127.0.0.2") as client:
        for _ in range(MAX_PER_USER):
            r = client.post("/api/v1/login", json={"username": "nurse", "password": "guess-1234"})
            assert r.status_code == 401
        blocked = client.post("/api/v1/login", json={"username": "nurse", "password": PASSWORD})
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= WINDOW_S + 1
        assert blocked.headers["content-type"].startswith("application/problem+json")
        other_user = client.post(
            "/api/v1/login", json={"username": "physician", "password": PASSWORD}
        )
        assert other_user.status_code == 200


def test_failed_logins_are_rate_limited_per_client_address(strict_ward: Ward) -> None:
    with _client_from(strict_ward, "127.0.0.3") as client:
        for i in range(MAX_PER_IP):
            r = client.post(
                "/api/v1/login", json={"username": f"someone{i}", "password": "guess-1234"}
            )
            assert r.status_code == 401
        blocked = client.post("/api/v1/login", json={"username": "admin", "password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    with _client_from(strict_ward, "127.0.0.4") as elsewhere:
        r = elsewhere.post("/api/v1/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200


def test_the_login_form_is_rate_limited_too(strict_ward: Ward) -> None:
    with _client_from(strict_ward, "127.0.0.5") as client:
        statuses = []
        for _ in range(MAX_PER_USER + 1):
            page = client.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            client.cookies.set("cartwatch_login_csrf", page.cookies["cartwatch_login_csrf"])
            r = client.post(
                "/login",
                data={"username": "physician", "password": "guess-1234", "csrf_token": token},
            )
            statuses.append(r.status_code)
    assert statuses == [401] * MAX_PER_USER + [429]


# --- what is stored ---


def _database_bytes(database_url: str) -> bytes:
    path = Path(database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_passwords_are_argon2_hashes_and_tokens_sha256_digests(ward: Ward) -> None:
    users = ward.users()
    with users.engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(User.__table__)).mappings()]
        digests = set(connection.execute(select(ApiToken.token_sha256)).scalars())
    users.engine.dispose()
    hashes = [row["password_hash"] for row in rows if row["password_hash"] is not None]
    assert len(hashes) >= 4 and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in str(value) for row in rows for value in row.values())
    assert {hashlib.sha256(t.encode()).hexdigest() for t in ward.tokens.values()} <= digests
    assert not any(t in digests for t in ward.tokens.values())
    if ward.database_url.startswith("sqlite"):
        raw = _database_bytes(ward.database_url)
        assert PASSWORD.encode() not in raw
        assert not any(t.encode() in raw for t in ward.tokens.values())


# --- tokens ---


@pytest.mark.parametrize(
    "header",
    ["Bearer cw_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "Token abc"],
)
def test_bad_authorization_is_401(ward: Ward, header: str) -> None:
    r = httpx.get(f"{ward.url}/api/v1/patients", headers={"Authorization": header})
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers


def test_revoked_token_is_refused(ward: Ward) -> None:
    users = ward.users()
    token = users.create_token("viewer", label="to revoke")
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{ward.url}/api/v1/me", headers=bearer).status_code == 200
    assert users.revoke_token(token)
    assert httpx.get(f"{ward.url}/api/v1/me", headers=bearer).status_code == 401
    users.engine.dispose()


def test_me_tells_who_and_how(ward: Ward) -> None:
    r = httpx.get(f"{ward.url}/api/v1/me", headers=ward.headers("physician"))
    assert r.json()["user"]["name"] == "physician"
    assert r.json()["auth"] == "token" and r.json()["csrf_token"] is None


# --- audit ---


def test_every_read_of_a_patient_is_audited_with_the_user(ward: Ward) -> None:
    ref = seed_patient(ward)
    for path in ("", "/assessments", "/labs", "/alerts", "/recommendations"):
        r = httpx.get(f"{ward.url}/api/v1/patients/{ref}{path}", headers=ward.headers("viewer"))
        assert r.status_code == 200
    trail = httpx.get(f"{ward.url}/api/v1/patients/{ref}/audit", headers=ward.headers("admin"))
    reads = [e for e in trail.json() if e["action"] == "read" and e["actor"] == "viewer"]
    assert len(reads) == 5
    listed = httpx.get(f"{ward.url}/api/v1/patients", headers=ward.headers("nurse"))
    assert ref in {p["patient_ref"] for p in listed.json()}
    trail = httpx.get(f"{ward.url}/api/v1/patients/{ref}/audit", headers=ward.headers("admin"))
    assert any(
        e["action"] == "read" and e["actor"] == "nurse" and e["note"] == "patient list"
        for e in trail.json()
    )
    writes = {(e["entity"], e["actor"]) for e in trail.json() if e["action"] == "insert"}
    assert ("assessment", "physician") in writes and ("patient", "physician") in writes


# --- pages ---


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_page_needing_login_redirects_a_browser_and_answers_a_script_401(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    app = create_app(f"sqlite:///{tmp_path / 'pages.db'}")

    @app.get("/ward")
    async def ward_page(who: Annotated[Principal, Depends(nurse)]) -> dict[str, str]:
        return {"user": who.user.name}

    with TestClient(app, follow_redirects=False) as client:
        browser = client.get("/ward", headers={"Accept": "text/html,application/xhtml+xml"})
        script = client.get("/ward")
    assert browser.status_code == 303 and browser.headers["location"] == "/login?next=/ward"
    assert script.status_code == 401
