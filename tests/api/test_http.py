"""The stateless grading API and the bedside page, over real HTTP (uvicorn on a free port)."""

from __future__ import annotations

import httpx


def test_grade_endpoint_answers_the_result(base_url: str) -> None:
    r = httpx.post(
        f"{base_url}/api/v1/grade/astct_crs",
        json={"temperature_c": 38.5, "hypotension": "none", "oxygen": {"device": "cpap"}},
    )
    assert r.status_code == 200
    assert r.json()["grade"] == 4 and r.json()["status"] == "graded"


def test_grade_all_endpoint(base_url: str) -> None:
    r = httpx.post(f"{base_url}/api/v1/grade", json={"temperature_c": 38.5})
    assert r.status_code == 200
    assert r.json()["astct_crs"]["status"] == "not_gradeable"


def test_bad_input_is_problem_json_422(base_url: str) -> None:
    r = httpx.post(f"{base_url}/api/v1/grade/astct_crs", json={"temperature_c": 101.3})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert (
        body["field"] == "temperature_c" and body["value"] == 101.3 and "25–45" in body["expected"]
    )


def test_unknown_field_suggests_the_valid_name(base_url: str) -> None:
    r = httpx.post(f"{base_url}/api/v1/grade/astct_crs", json={"temprature_c": 39})
    assert r.status_code == 422 and "temperature_c" in r.json()["detail"]


def test_unknown_scale_is_404(base_url: str) -> None:
    r = httpx.post(f"{base_url}/api/v1/grade/astct_crz", json={})
    assert r.status_code == 404 and "astct_crs" in r.json()["detail"]


def test_non_object_body_is_422_not_500(base_url: str) -> None:
    r = httpx.post(f"{base_url}/api/v1/grade/astct_crs", json=[1, 2])
    assert r.status_code == 422


def test_scales_and_openapi(base_url: str) -> None:
    assert any(s["id"] == "astct_icans" for s in httpx.get(f"{base_url}/api/v1/scales").json())
    assert "/api/v1/grade/{scale}" in httpx.get(f"{base_url}/openapi.json").json()["paths"]


def test_index_page_is_self_contained(base_url: str) -> None:
    page = httpx.get(f"{base_url}/").text
    assert "cartwatch" in page and "<script>" in page
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://" not in page
