"""The access matrix over real HTTP: every role (and anonymous) × every endpoint, by bearer token
and by session cookie (with its CSRF token), on SQLite and PostgreSQL.

Viewers read; nurses also record assessments and labs; physicians also register patients,
products and infusions and record administrations; admins also manage users and read audits.
Allowed → the endpoint's success status; anonymous → 401; a role too low → 403.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import ROLES, Ward, login, new_ref, seed_patient

_counter = itertools.count(1)


def _unique_time() -> str:
    n = next(_counter)
    return f"2026-11-0{3 + n // 1440 % 5}T{n // 60 % 24:02d}:{n % 60:02d}:00Z"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    role: str | None  # lowest role allowed; None = public
    success: int
    body: Callable[[Ward, str], Any] | None = None
    ends_session: bool = False


def _patch_patient(ward: Ward, ref: str) -> dict[str, Any]:
    version = httpx.get(f"{ward.url}/api/v1/patients/{ref}", headers=ward.headers("admin")).json()[
        "version"
    ]
    return {"version": version, "height_cm": 170}


def _first_assessment(ward: Ward, ref: str) -> dict[str, Any]:
    r = httpx.get(f"{ward.url}/api/v1/patients/{ref}/assessments", headers=ward.headers("admin"))
    first: dict[str, Any] = r.json()[0]
    return first


def _patch_assessment(ward: Ward, ref: str) -> dict[str, Any]:
    first = _first_assessment(ward, ref)
    return {"version": first["version"], "data": first["data"]}


ENDPOINTS = [
    Endpoint("GET", "/api/v1/scales", None, 200),
    Endpoint(
        "POST", "/api/v1/grade/astct_crs/batch", None, 200, lambda w, r: [{"temperature_c": 38.2}]
    ),
    Endpoint("POST", "/api/v1/grade/astct_crs", None, 200, lambda w, r: {"temperature_c": 38.2}),
    Endpoint("POST", "/api/v1/grade", None, 200, lambda w, r: {"temperature_c": 38.2}),
    Endpoint("GET", "/api/v1/me", "viewer", 200),
    Endpoint("GET", "/api/v1/patients", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/infusions", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/assessments", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/administrations", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/labs", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/episodes", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/episodes?stored=true", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/recommendations", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/scores", "viewer", 200),
    Endpoint("GET", "/api/v1/patients/{ref}/alerts", "viewer", 200),
    Endpoint(
        "POST",
        "/api/v1/patients/{ref}/assessments",
        "nurse",
        201,
        lambda w, r: {"assessed_at": _unique_time(), "data": {"temperature_c": 38.6}},
    ),
    Endpoint(
        "POST",
        "/api/v1/patients/{ref}/labs",
        "nurse",
        201,
        lambda w, r: {"taken_at": _unique_time(), "name": "crp_mg_l", "value": 80},
    ),
    Endpoint(
        "PATCH",
        "/api/v1/patients/{ref}/assessments/{assessment_id}",
        "nurse",
        200,
        _patch_assessment,
    ),
    Endpoint("POST", "/api/v1/patients/{ref}/episodes", "nurse", 200),
    Endpoint(
        "POST",
        "/api/v1/patients",
        "physician",
        201,
        lambda w, r: {"patient_ref": new_ref("M"), "weight_kg": 80},
    ),
    Endpoint("PATCH", "/api/v1/patients/{ref}", "physician", 200, _patch_patient),
    Endpoint(
        "POST",
        "/api/v1/products",
        "physician",
        201,
        lambda w, r: {"name": f"product-{uuid.uuid4().hex[:6]}", "targets": ["BCMA"]},
    ),
    Endpoint(
        "POST",
        "/api/v1/patients/{ref}/infusions",
        "physician",
        201,
        lambda w, r: {"infusion_ref": new_ref("I"), "infused_at": _unique_time()},
    ),
    Endpoint(
        "POST",
        "/api/v1/patients/{ref}/administrations",
        "physician",
        201,
        lambda w, r: {"given_at": _unique_time(), "drug": "dexamethasone", "dose_mg": 10},
    ),
    Endpoint("GET", "/api/v1/patients/{ref}/audit", "admin", 200),
    Endpoint("GET", "/api/v1/users", "admin", 200),
    Endpoint(
        "POST",
        "/api/v1/users",
        "admin",
        201,
        lambda w, r: {"name": f"u{uuid.uuid4().hex[:8]}", "role": "viewer"},
    ),
    Endpoint("PATCH", "/api/v1/users/viewer", "admin", 200, lambda w, r: {"role": "viewer"}),
    Endpoint("POST", "/api/v1/users/viewer/tokens", "admin", 201),
    Endpoint("POST", "/api/v1/logout", "viewer", 204, ends_session=True),
]
RANK = {None: 0, "viewer": 1, "nurse": 2, "physician": 3, "admin": 4}


@pytest.fixture(scope="module")
def matrix_patient(ward: Ward) -> str:
    return seed_patient(ward)


@pytest.fixture(scope="module")
def sessions(ward: Ward) -> Iterator[dict[str, tuple[httpx.Client, str]]]:
    clients = {role: login(ward, role) for role in ROLES}
    yield clients
    for client, _ in clients.values():
        client.close()


def _expected(endpoint: Endpoint, caller: str) -> int:
    if endpoint.role is None:
        return endpoint.success
    if caller == "anonymous":
        return 401
    return endpoint.success if RANK[caller] >= RANK[endpoint.role] else 403


CALLS = [("anonymous", "none")] + [(r, a) for a in ("token", "cookie") for r in ROLES]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.mark.parametrize(("caller", "auth"), CALLS, ids=[f"{c}-{a}" for c, a in CALLS])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_access_matrix(
    ward: Ward,
    matrix_patient: str,
    sessions: dict[str, tuple[httpx.Client, str]],
    http: httpx.Client,
    endpoint: Endpoint,
    caller: str,
    auth: str,
) -> None:
    if auth == "cookie" and not ward.database_url.startswith("sqlite"):
        pytest.skip("cookie sessions: every endpoint on SQLite here, on both in test_security")
    ids = {}
    if "{assessment_id}" in endpoint.path:
        ids["assessment_id"] = _first_assessment(ward, matrix_patient)["id"]
    url = ward.url + endpoint.path.format(ref=matrix_patient, **ids)
    body = endpoint.body(ward, matrix_patient) if endpoint.body is not None else None
    if auth == "none":
        r = http.request(endpoint.method, url, json=body)
    elif auth == "token":
        r = http.request(endpoint.method, url, json=body, headers=ward.headers(caller))
    elif endpoint.ends_session:
        client, csrf = login(ward, caller)
        try:
            r = client.request(endpoint.method, url, json=body, headers={"X-CSRF-Token": csrf})
            if r.status_code == 204:
                assert client.get("/api/v1/me").status_code == 401
        finally:
            client.close()
    else:
        client, csrf = sessions[caller]
        r = client.request(endpoint.method, url, json=body, headers={"X-CSRF-Token": csrf})
    expected = _expected(endpoint, caller)
    assert r.status_code == expected, r.text
    if expected in (401, 403):
        assert r.headers["content-type"].startswith("application/problem+json")
    if expected == 401:
        assert "WWW-Authenticate" in r.headers


def test_every_documented_operation_is_in_the_matrix(ward: Ward) -> None:
    spec = httpx.get(f"{ward.url}/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    covered = {
        (e.method, e.path.split("?")[0].replace("{ref}", "{patient_ref}")) for e in ENDPOINTS
    }
    covered |= {("POST", "/api/v1/login")}
    normalised = {(m, p.replace("/users/{name}", "/users/viewer")) for m, p in documented}
    allowed = {("POST", "/api/v1/grade/{scale}"), ("POST", "/api/v1/grade/{scale}/batch")}
    assert normalised <= covered | allowed, normalised - covered
