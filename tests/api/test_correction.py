"""Correcting an assessment over HTTP: the correction regrades later assessments (the CRS state
carries), a stale version is refused, the change is audited, and only nurses and above may
correct. Batch grading answers one result per item, a bad item in its place."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Ward, login, new_ref

FEVER = {"temperature_c": 39.0, "hypotension": "none", "oxygen": {"device": "none"}}
NO_FEVER = {"temperature_c": 37.2, "hypotension": "none", "oxygen": {"device": "none"}}
LATER = {"temperature_c": 37.0, "hypotension": "fluid_responsive", "oxygen": {"device": "none"}}


def _post(ward: Ward, path: str, body: dict[str, Any], role: str = "physician") -> Any:
    r = httpx.post(ward.url + "/api/v1" + path, json=body, headers=ward.headers(role))
    assert r.status_code == 201, (path, r.status_code, r.text)
    return r.json()


def _febrile_then_treated(ward: Ward) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Fever (CRS onset), tocilizumab, then hypotension without fever: the later assessment is
    grade 2 only because CRS was established and treated (ASTCT-CRS-02)."""
    ref = new_ref("C")
    _post(ward, "/patients", {"patient_ref": ref, "weight_kg": 70.0})
    _post(ward, "/products", {"name": "axicabtagene ciloleucel", "targets": ["CD19"]})
    _post(
        ward,
        f"/patients/{ref}/infusions",
        {
            "infusion_ref": "inf-1",
            "infused_at": "2026-11-01T09:00:00Z",
            "product": "axicabtagene ciloleucel",
        },
    )
    first = _post(
        ward,
        f"/patients/{ref}/assessments",
        {"assessed_at": "2026-11-02T08:00:00Z", "data": FEVER},
        role="nurse",
    )
    _post(
        ward,
        f"/patients/{ref}/administrations",
        {"given_at": "2026-11-02T09:00:00Z", "drug": "tocilizumab", "dose_mg": 560},
    )
    later = _post(
        ward,
        f"/patients/{ref}/assessments",
        {"assessed_at": "2026-11-02T20:00:00Z", "data": LATER},
        role="nurse",
    )
    return ref, first, later


def _grades(ward: Ward, ref: str, scale: str = "astct_crs") -> list[int | None]:
    r = httpx.get(f"{ward.url}/api/v1/patients/{ref}/assessments", headers=ward.headers("viewer"))
    assert r.status_code == 200, r.text
    return [a["grades"][scale]["grade"] for a in r.json()]


def _patch(ward: Ward, ref: str, aid: int, body: Any, role: str = "nurse") -> httpx.Response:
    return httpx.patch(
        f"{ward.url}/api/v1/patients/{ref}/assessments/{aid}",
        json=body,
        headers=ward.headers(role),
    )


def test_correction_regrades_a_later_assessment_and_its_episodes(ward: Ward) -> None:
    ref, first, later = _febrile_then_treated(ward)
    assert first["grades"]["astct_crs"]["grade"] == 1
    assert later["grades"]["astct_crs"]["grade"] == 2
    r = _patch(ward, ref, first["id"], {"version": first["version"], "data": NO_FEVER})
    assert r.status_code == 200, r.text
    corrected = r.json()
    assert corrected["version"] == first["version"] + 1
    assert corrected["data"]["temperature_c"] == 37.2
    assert corrected["grades"]["astct_crs"]["grade"] == 0
    assert _grades(ward, ref) == [0, 0]
    stored = httpx.get(
        f"{ward.url}/api/v1/patients/{ref}/episodes",
        params={"stored": "true"},
        headers=ward.headers("viewer"),
    ).json()
    assert stored["episodes"].get("astct_crs", []) == []


def test_a_stale_version_is_refused_and_changes_nothing(ward: Ward) -> None:
    ref, first, _ = _febrile_then_treated(ward)
    ok = _patch(ward, ref, first["id"], {"version": first["version"], "data": FEVER})
    assert ok.status_code == 200, ok.text
    stale = _patch(ward, ref, first["id"], {"version": first["version"], "data": NO_FEVER})
    assert stale.status_code == 409, stale.text
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert _grades(ward, ref) == [1, 2]


def test_the_correction_is_audited(ward: Ward) -> None:
    ref, first, _ = _febrile_then_treated(ward)
    assert _patch(ward, ref, first["id"], {"version": 1, "data": NO_FEVER}).status_code == 200
    trail = httpx.get(
        f"{ward.url}/api/v1/patients/{ref}/audit", headers=ward.headers("admin")
    ).json()
    updates = [e for e in trail if e["action"] == "update" and e["entity"] == "assessment"]
    assert len(updates) == 1
    assert updates[0]["actor"] == "nurse"
    assert updates[0]["entity_id"] == first["id"]
    assert updates[0]["before"]["data"]["temperature_c"] == 39.0


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("nurse", 200), ("physician", 200), ("admin", 200)]
)
def test_who_may_correct(ward: Ward, role: str, status: int) -> None:
    ref, first, _ = _febrile_then_treated(ward)
    r = _patch(ward, ref, first["id"], {"version": 1, "data": FEVER}, role=role)
    assert r.status_code == status, r.text


def test_anonymous_and_session_without_csrf_are_refused(ward: Ward) -> None:
    ref, first, _ = _febrile_then_treated(ward)
    url = f"{ward.url}/api/v1/patients/{ref}/assessments/{first['id']}"
    assert httpx.patch(url, json={"version": 1, "data": FEVER}).status_code == 401
    client, csrf = login(ward, "nurse")
    try:
        assert client.patch(url, json={"version": 1, "data": FEVER}).status_code == 403
        r = client.patch(url, json={"version": 1, "data": FEVER}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
    finally:
        client.close()


def test_unknown_and_foreign_assessments_are_404(ward: Ward) -> None:
    ref, first, _ = _febrile_then_treated(ward)
    other, _, _ = _febrile_then_treated(ward)
    assert _patch(ward, ref, 2**31 - 1, {"version": 1, "data": FEVER}).status_code == 404
    assert _patch(ward, other, first["id"], {"version": 1, "data": FEVER}).status_code == 404
    assert (
        _patch(ward, "nobody-" + ref, first["id"], {"version": 1, "data": FEVER}).status_code == 404
    )


def test_bad_data_is_422_naming_the_field_and_changes_nothing(ward: Ward) -> None:
    ref, first, _ = _febrile_then_treated(ward)
    r = _patch(ward, ref, first["id"], {"version": 1, "data": {"temperature_c": 101}})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["field"] == "temperature_c" and problem["value"] == 101
    assert "temperature_f" in problem["detail"] or problem["expected"]
    missing_version = _patch(ward, ref, first["id"], {"data": FEVER})
    assert missing_version.status_code == 422 and missing_version.json()["field"] == "version"
    assert _grades(ward, ref) == [1, 2]


def test_the_correction_is_in_the_openapi_document(ward: Ward) -> None:
    doc = httpx.get(ward.url + "/openapi.json").json()
    op = doc["paths"]["/api/v1/patients/{patient_ref}/assessments/{assessment_id}"]["patch"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/AssessmentPatch"}
    assert "AssessmentPatch" in doc["components"]["schemas"]
    assert {"200", "403", "404", "409", "422"} <= set(op["responses"])


# --- batch grading ----------------------------------------------------------------------------


def test_batch_answers_each_item_in_order_and_a_bad_item_in_place(ward: Ward) -> None:
    items: list[Any] = [
        {"temperature_c": 38.5, "hypotension": "none", "oxygen": {"device": "none"}},
        {"temperature_c": 101},
        {"temprature_c": 39},
        "not an assessment",
        {"temperature_c": 39.0, "hypotension": "vasopressor_single", "oxygen": {"device": "none"}},
    ]
    r = httpx.post(ward.url + "/api/v1/grade/astct_crs/batch", json=items)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out) == len(items)
    assert out[0]["scale"] == "astct_crs" and out[0]["grade"] == 1
    assert out[4]["grade"] == 3
    for index in (1, 2, 3):
        assert out[index]["index"] == index
        assert out[index]["status"] == 422
        assert out[index]["type"].startswith("https://")
    assert out[1]["field"] == "temperature_c" and out[1]["value"] == 101
    assert out[2]["field"] == "temprature_c" and "temperature_c" in out[2]["detail"]
    single = httpx.post(ward.url + "/api/v1/grade/astct_crs", json=items[4]).json()
    assert single == out[4]


def test_batch_limits_and_errors(ward: Ward) -> None:
    url = ward.url + "/api/v1/grade/astct_crs/batch"
    assert httpx.post(url, json=[]).json() == []
    too_many = httpx.post(url, json=[{}] * 1001)
    assert too_many.status_code == 413, too_many.text
    assert too_many.json()["value"] == 1001
    at_limit = httpx.post(url, json=[{"temperature_c": 37.0}] * 1000)
    assert at_limit.status_code == 200 and len(at_limit.json()) == 1000
    not_a_list = httpx.post(url, json={"temperature_c": 39})
    assert not_a_list.status_code == 422 and not_a_list.json()["field"] == "body"
    unknown = httpx.post(ward.url + "/api/v1/grade/astct_crz/batch", json=[{}])
    assert unknown.status_code == 404 and "astct_crs" in unknown.json()["detail"]


def test_grade_all_can_answer_the_ice_total_the_core_reads(ward: Ward) -> None:
    body = {"age_years": 40, "ice": {"orientation": 3, "naming": 3, "commands": 1}}
    r = httpx.post(ward.url + "/api/v1/grade", params={"derived": "true"}, json=body)
    assert r.status_code == 200, r.text
    derived = r.json()["derived"]
    assert derived["ice_total"] == {
        "low": 7,
        "high": 9,
        "not_assessed": ["ice.writing", "ice.attention"],
    }
    assert "derived" not in httpx.post(ward.url + "/api/v1/grade", json=body).json()


_ITEM = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "temperature_c": st.floats(20, 110, allow_nan=False),
            "hypotension": st.sampled_from(["none", "fluid_responsive", "vasopressor_single"]),
            "oxygen": st.fixed_dictionaries(
                {"device": st.sampled_from(["none", "low_flow_nasal_cannula", "cpap"])},
                optional={"fio2": st.floats(0.0, 1.2, allow_nan=False)},
            ),
        },
    ),
    st.integers(),
    st.text(max_size=5),
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(_ITEM, max_size=6))
def test_batch_item_is_the_single_answer_or_its_problem(ward: Ward, items: list[Any]) -> None:
    out = httpx.post(ward.url + "/api/v1/grade/astct_crs/batch", json=items).json()
    assert len(out) == len(items)
    for index, (item, answer) in enumerate(zip(items, out, strict=True)):
        single = httpx.post(ward.url + "/api/v1/grade/astct_crs", json=item)
        if single.status_code == 200:
            assert answer == single.json()
        else:
            problem = single.json()
            assert answer["index"] == index
            for key in ("status", "detail", "field", "value", "expected", "title"):
                assert answer[key] == problem[key], key
