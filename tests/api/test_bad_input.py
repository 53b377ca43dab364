"""Bad input answers a problem document (4xx) naming the field — never a 500.

Malformed JSON, the wrong JSON type, wrong field types, NaN and infinities, huge numbers,
unknown fields, text a database cannot store, naive or absurd times, path ids that do not
exist, oversized bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import Ward, seed_patient

P = "/api/v1/patients"
NESTED = "[" * 5000 + "]" * 5000


@pytest.fixture(scope="module")
def patient(ward: Ward) -> str:
    return seed_patient(ward)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


# (method, path, raw body or JSON, expected status, expected field or None)
CASES: list[tuple[str, str, Any, int, str | None]] = [
    ("POST", P, b"{not json", 422, "body"),
    ("POST", P, b"", 422, "body"),
    ("POST", P, b'{"patient_ref": NaN}', 422, "body"),
    ("POST", P, NESTED.encode(), 422, "body"),
    (
        "POST",
        P,
        b'{"patient_ref": "' + b"9" * 5000 + b'", "weight_kg": ' + b"9" * 5000 + b"}",
        422,
        "body",
    ),
    ("POST", P, [1, 2, 3], 422, "body"),
    ("POST", P, "a string", 422, "body"),
    ("POST", P, {}, 422, "patient_ref"),
    ("POST", P, {"patient_ref": 12}, 422, "patient_ref"),
    ("POST", P, {"patient_ref": "has space"}, 422, "patient_ref"),
    ("POST", P, {"patient_ref": "x" * 65}, 422, "patient_ref"),
    ("POST", P, {"patient_ref": "nul\u0000byte"}, 422, "patient_ref"),
    ("POST", P, {"patient_ref": "P-ok", "weight_kg": 1e308}, 422, "weight_kg"),
    ("POST", P, {"patient_ref": "P-ok", "weight_kg": "heavy"}, 422, "weight_kg"),
    ("POST", P, {"patient_ref": "P-ok", "weight_kg": True}, 422, "weight_kg"),
    ("POST", P, {"patient_ref": "P-ok", "sex": "x"}, 422, "sex"),
    ("POST", P, {"patient_ref": "P-ok", "date_of_birth": "0001-01-01"}, 422, "date_of_birth"),
    ("POST", P, {"patient_ref": "P-ok", "centre": "c" * 65}, 422, "centre"),
    ("POST", P, {"patient_ref": "P-ok", "unknown": 1}, 422, "unknown"),
    ("PATCH", P + "/{ref}", {"weight_kg": 70}, 422, "version"),
    ("PATCH", P + "/{ref}", {"version": 10**30, "weight_kg": 70}, 422, "version"),
    ("PATCH", P + "/{ref}", {"version": 1, "patient_ref": "other"}, 422, "patient_ref"),
    ("PATCH", P + "/{ref}", {"version": 1, "weight_kg": -3}, 422, "weight_kg"),
    ("POST", P + "/{ref}/assessments", {"data": {}}, 422, "assessed_at"),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "2026-11-03T10:00:00", "data": {}},
        422,
        "assessed_at",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "0001-01-01T00:00:00+14:00", "data": {}},
        422,
        "assessed_at",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "2026-11-03T10:00:00Z", "data": {"temperature_c": 101.3}},
        422,
        "temperature_c",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "2026-11-03T10:00:00Z", "data": {"temprature_c": 39}},
        422,
        "temprature_c",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        b'{"assessed_at": "2026-11-03T10:00:00Z", "data": {"temperature_c": 1e400}}',
        422,
        "data.temperature_c",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "2026-11-03T10:00:00Z", "data": {"ice": {"orientation": 9}}},
        422,
        "ice.orientation",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "2026-11-03T10:00:00Z", "data": {"note": "x\u0000y"}},
        422,
        "data.note",
    ),
    (
        "POST",
        P + "/{ref}/assessments",
        {"assessed_at": "2026-11-03T10:00:00Z", "data": [1]},
        422,
        "data",
    ),
    (
        "POST",
        P + "/{ref}/labs",
        {"taken_at": "2026-11-03T10:00:00Z", "name": "sex", "value": 1},
        422,
        "name",
    ),
    (
        "POST",
        P + "/{ref}/labs",
        {"taken_at": "2026-11-03T10:00:00Z", "name": "ferritin_ng_ml", "value": -1},
        422,
        "ferritin_ng_ml",
    ),
    (
        "POST",
        P + "/{ref}/labs",
        b'{"taken_at": "2026-11-03T10:00:00Z", "name": "ferritin_ng_ml", "value": 1e400}',
        422,
        "value",
    ),
    (
        "POST",
        P + "/{ref}/administrations",
        {"given_at": "2026-11-03T10:00:00Z", "drug": "", "dose_mg": 1},
        422,
        "drug",
    ),
    (
        "POST",
        P + "/{ref}/administrations",
        {"given_at": "2026-11-03T10:00:00Z", "drug": "d" * 65},
        422,
        "drug",
    ),
    (
        "POST",
        P + "/{ref}/administrations",
        {"given_at": "2026-11-03T10:00:00Z", "drug": "tocilizumab", "dose_mg": 1e9},
        422,
        "dose_mg",
    ),
    (
        "POST",
        P + "/{ref}/infusions",
        {"infusion_ref": "i-x", "infused_at": "2026-11-03T10:00:00Z", "product": "no-such"},
        404,
        "product",
    ),
    (
        "POST",
        P + "/{ref}/infusions",
        {"infusion_ref": "i-y", "infused_at": "yesterday"},
        422,
        "infused_at",
    ),
    ("GET", P + "/NO-SUCH-PATIENT", None, 404, "patient_ref"),
    ("GET", P + "/NO-SUCH-PATIENT/assessments", None, 404, "patient_ref"),
    ("GET", P + "/NO-SUCH-PATIENT/recommendations", None, 404, "patient_ref"),
    ("GET", P + "/NO-SUCH-PATIENT/alerts", None, 404, "patient_ref"),
    ("GET", P + "/NO-SUCH-PATIENT/scores", None, 404, "patient_ref"),
    ("GET", P + "/NO-SUCH-PATIENT/episodes", None, 404, "patient_ref"),
    ("GET", P + "/nul%00byte", None, 422, "patient_ref"),
    ("GET", P + "/" + "x" * 300, None, 422, "patient_ref"),
    ("GET", P + "/{ref}/episodes?stored=maybe", None, 422, "stored"),
    (
        "POST",
        P + "/NO-SUCH-PATIENT/assessments",
        {"assessed_at": "2026-11-03T10:00:00Z", "data": {"temperature_c": 38}},
        404,
        "patient_ref",
    ),
    (
        "POST",
        P + "/NO-SUCH-PATIENT/labs",
        {"taken_at": "2026-11-03T10:00:00Z", "name": "ferritin_ng_ml", "value": 100},
        404,
        "patient_ref",
    ),
    ("PATCH", "/api/v1/users/nobody", {"role": "nurse"}, 404, "name"),
    ("POST", "/api/v1/users", {"name": "bad name!", "role": "nurse"}, 422, "name"),
    (
        "POST",
        "/api/v1/users",
        {"name": "shortpw", "role": "nurse", "password": "123"},
        422,
        "password",
    ),
    ("POST", "/api/v1/users", {"name": "norole", "role": "superuser"}, 422, "role"),
    ("POST", "/api/v1/grade/astct_crs", b"{", 422, "body"),
    ("POST", "/api/v1/grade/astct_crs", {"temperature_c": "hot"}, 422, "temperature_c"),
    ("POST", "/api/v1/grade/no_such_scale", {}, 404, "scale"),
    ("POST", "/api/v1/login", {"username": "admin"}, 422, "password"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    CASES,
    ids=[f"{i}-{c[0]} {c[1]}" for i, c in enumerate(CASES)],
)
def test_bad_input_is_a_problem_never_a_500(
    ward: Ward,
    patient: str,
    http: httpx.Client,
    method: str,
    path: str,
    body: Any,
    status: int,
    field: str | None,
) -> None:
    url = ward.url + path.format(ref=patient)
    headers = ward.headers("admin")
    if isinstance(body, bytes):
        r = http.request(
            method, url, content=body, headers={**headers, "content-type": "application/json"}
        )
    else:
        r = http.request(method, url, json=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == status and problem["detail"]
    if field is not None:
        assert problem["field"] == field, problem


def test_oversized_body_is_413(ward: Ward, http: httpx.Client) -> None:
    r = http.post(
        f"{ward.url}/api/v1/grade",
        content=b'{"note": "' + b"x" * 1_100_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413


def test_problem_names_field_value_and_range(ward: Ward, patient: str, http: httpx.Client) -> None:
    r = http.post(
        f"{ward.url}{P}/{patient}/assessments",
        json={"assessed_at": "2026-11-03T11:00:00Z", "data": {"temperature_c": 101.3}},
        headers=ward.headers("nurse"),
    )
    problem = r.json()
    assert problem["value"] == 101.3 and "25–45" in problem["expected"]
    assert "temperature_f" in problem["detail"]


def test_unknown_route_and_method_are_problems(ward: Ward, http: httpx.Client) -> None:
    missing = http.get(f"{ward.url}/api/v1/no-such-thing")
    wrong = http.delete(f"{ward.url}/api/v1/scales")
    assert missing.status_code == 404 and wrong.status_code == 405
    assert missing.headers["content-type"].startswith("application/problem+json")
