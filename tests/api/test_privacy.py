"""No patient data in the server's log: a full ward scenario, then a grep of everything the
server wrote for the patient references, the values charted and the secrets typed."""

from __future__ import annotations

import uuid
from contextlib import closing

import httpx

from tests.api.conftest import Ward, login


def test_server_log_holds_no_patient_data(ward: Ward) -> None:
    tag = uuid.uuid4().hex[:8]
    ref = f"PRIV-{tag}"
    ghost = f"GHOST-{tag}"
    secret_password = f"hunter2-{tag}"
    values = {"temperature_c": 39.87, "ferritin": 23456.7, "dose": 612.3, "weight": 76.55}
    base = f"{ward.url}/api/v1"
    doctor = ward.headers("physician")
    steps = [
        ("POST", "/patients", {"patient_ref": ref, "weight_kg": values["weight"]}, 201),
        ("POST", "/products", {"name": f"product-{tag}", "targets": ["CD19"]}, 201),
        (
            "POST",
            f"/patients/{ref}/infusions",
            {"infusion_ref": f"inf-{tag}", "infused_at": "2026-11-01T09:00:00Z"},
            201,
        ),
        (
            "POST",
            f"/patients/{ref}/assessments",
            {
                "assessed_at": "2026-11-02T08:00:00Z",
                "data": {
                    "temperature_c": values["temperature_c"],
                    "hypotension": "none",
                    "oxygen": {"device": "none"},
                    "note": f"confused overnight {tag}",
                },
            },
            201,
        ),
        (
            "POST",
            f"/patients/{ref}/labs",
            {
                "taken_at": "2026-11-02T07:00:00Z",
                "name": "ferritin_ng_ml",
                "value": values["ferritin"],
            },
            201,
        ),
        (
            "POST",
            f"/patients/{ref}/administrations",
            {"given_at": "2026-11-02T09:00:00Z", "drug": "tocilizumab", "dose_mg": values["dose"]},
            201,
        ),
        (
            "POST",
            f"/patients/{ref}/assessments",
            {"assessed_at": "2026-11-02T09:00:00Z", "data": {"temperature_c": 101.37}},
            422,
        ),
        ("GET", f"/patients/{ghost}", None, 404),
        ("GET", f"/patients/{ref}/recommendations", None, 200),
        ("GET", f"/patients/{ref}/alerts", None, 200),
        ("GET", f"/patients/{ref}/scores", None, 200),
        ("GET", f"/patients/{ref}/episodes", None, 200),
        ("GET", f"/patients/{ref}/audit", None, 403),
    ]
    with httpx.Client() as client:
        for method, path, body, status in steps:
            r = client.request(method, base + path, json=body, headers=doctor)
            assert r.status_code == status, (path, r.text)
        wrong = client.post(
            f"{base}/login", json={"username": "physician", "password": secret_password}
        )
        assert wrong.status_code == 401
    session, csrf = login(ward, "nurse")
    with closing(session):
        r = session.post(
            f"/api/v1/patients/{ref}/labs",
            json={"taken_at": "2026-11-03T07:00:00Z", "name": "crp_mg_dl", "value": 17.31},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 201
    log = ward.log()
    assert "route=/api/v1/patients/{patient_ref}/assessments" in log
    assert "status=404" in log and "status=422" in log
    forbidden = [
        ref,
        ghost,
        tag,
        secret_password,
        csrf,
        *ward.tokens.values(),
        "39.87",
        "23456.7",
        "612.3",
        "76.55",
        "101.37",
        "17.31",
        "confused overnight",
    ]
    found = [needle for needle in forbidden if needle in log]
    assert found == [], f"patient data or secrets in the server log: {found}"
