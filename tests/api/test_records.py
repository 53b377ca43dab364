"""The patient record over HTTP: recording grades and stores, and what follows from the record
(episodes, recommendations with doses, scores, alerts); conflicts answer 409."""

from __future__ import annotations

import httpx

from tests.api.conftest import Ward, new_ref, seed_patient


def test_recorded_assessment_is_graded_and_stored(ward: Ward) -> None:
    ref = seed_patient(ward)
    listed = httpx.get(
        f"{ward.url}/api/v1/patients/{ref}/assessments", headers=ward.headers("viewer")
    )
    assert listed.status_code == 200
    (only,) = listed.json()
    # Fever with fluid-responsive hypotension and low-flow oxygen: ASTCT CRS grade 2 (Lee 2019).
    assert only["grades"]["astct_crs"]["grade"] == 2
    icans = only["grades"]["astct_icans"]
    assert icans["grade"] is None and icans["missing"]  # ICE alone does not determine ICANS
    assert only["recorded_by"] == "physician"
    assert only["data"]["temperature_c"] == 39.4


def test_recommendation_doses_tocilizumab_for_the_patients_weight(ward: Ward) -> None:
    ref = seed_patient(ward)
    r = httpx.get(
        f"{ward.url}/api/v1/patients/{ref}/recommendations", headers=ward.headers("viewer")
    )
    assert r.status_code == 200
    body = r.json()
    assert body["recommendation"]["grades"]["crs"] == 2
    assert body["patient_inputs"]["weight_kg"] == 72.5
    assert body["patient_inputs"]["product"] == "axicabtagene ciloleucel"
    toci = [a for a in body["recommendation"]["actions"] if a["kind"] == "tocilizumab"]
    # Actemra label: 8 mg/kg from 30 kg, at most 800 mg → 8 × 72.5 = 580 mg.
    assert toci and toci[0]["dose"]["value"] == 580.0


def test_alerts_and_scores_follow_the_record(ward: Ward) -> None:
    ref = seed_patient(ward)
    alerts = httpx.get(f"{ward.url}/api/v1/patients/{ref}/alerts", headers=ward.headers("viewer"))
    rules = {a["rule"] for a in alerts.json()["alerts"]}
    assert {"new_fever_suspect_crs", "ferritin_above_threshold"} <= rules
    assert alerts.json()["infusion_ref"] == "inf-1"
    scores = httpx.get(f"{ward.url}/api/v1/patients/{ref}/scores", headers=ward.headers("viewer"))
    assert scores.status_code == 200
    assert scores.json()["inputs"]["ferritin_ng_ml"] == 15000
    assert {"car_hematotox", "easix"} <= set(scores.json()["scores"])


def test_episodes_derived_and_stored(ward: Ward) -> None:
    ref = seed_patient(ward)
    h = ward.headers("nurse")
    derived = httpx.get(f"{ward.url}/api/v1/patients/{ref}/episodes", headers=h).json()
    assert derived["source"] == "derived"
    (crs,) = derived["episodes"]["astct_crs"]
    assert crs["max_grade"] == 2
    before = httpx.get(f"{ward.url}/api/v1/patients/{ref}/episodes?stored=true", headers=h)
    assert before.json()["episodes"] == {}
    assert httpx.post(f"{ward.url}/api/v1/patients/{ref}/episodes", headers=h).status_code == 200
    after = httpx.get(f"{ward.url}/api/v1/patients/{ref}/episodes?stored=true", headers=h)
    assert after.json()["episodes"]["astct_crs"][0]["max_grade"] == 2


def test_stale_patient_edit_is_409(ward: Ward) -> None:
    ref = seed_patient(ward)
    h = ward.headers("physician")
    url = f"{ward.url}/api/v1/patients/{ref}"
    version = httpx.get(url, headers=h).json()["version"]
    first = httpx.patch(url, json={"version": version, "weight_kg": 74}, headers=h)
    assert first.status_code == 200 and first.json()["version"] == version + 1
    stale = httpx.patch(url, json={"version": version, "weight_kg": 75}, headers=h)
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["field"] == "version"
    assert httpx.get(url, headers=h).json()["weight_kg"] == 74


def test_the_same_assessment_twice_is_stored_once_and_a_different_one_is_409(ward: Ward) -> None:
    ref = seed_patient(ward)
    h = ward.headers("nurse")
    url = f"{ward.url}/api/v1/patients/{ref}/assessments"
    body = {"assessed_at": "2026-11-03T08:00:00+01:00", "data": {"temperature_c": 38.1}}
    first = httpx.post(url, json=body, headers=h)
    again = httpx.post(url, json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = httpx.post(url, json={**body, "data": {"temperature_c": 38.9}}, headers=h)
    assert other.status_code == 409
    assert len(httpx.get(url, headers=h).json()) == 2


def test_duplicate_patient_with_other_details_is_409(ward: Ward) -> None:
    ref = new_ref()
    h = ward.headers("physician")
    url = f"{ward.url}/api/v1/patients"
    assert httpx.post(url, json={"patient_ref": ref, "sex": "male"}, headers=h).status_code == 201
    assert httpx.post(url, json={"patient_ref": ref, "sex": "male"}, headers=h).status_code == 201
    clash = httpx.post(url, json={"patient_ref": ref, "sex": "female"}, headers=h)
    assert clash.status_code == 409 and clash.json()["field"] == "patient_ref"


def test_lab_in_an_alternative_unit_is_stored_canonical(ward: Ward) -> None:
    ref = seed_patient(ward)
    r = httpx.post(
        f"{ward.url}/api/v1/patients/{ref}/labs",
        json={"taken_at": "2026-11-04T06:00:00Z", "name": "crp_mg_l", "value": 85},
        headers=ward.headers("nurse"),
    )
    assert r.status_code == 201
    assert r.json()["name"] == "crp_mg_dl" and r.json()["value"] == 8.5


def test_user_management_by_admin(ward: Ward) -> None:
    h = ward.headers("admin")
    name = f"n{new_ref('u')[2:]}"
    created = httpx.post(
        f"{ward.url}/api/v1/users",
        json={"name": name, "role": "nurse", "password": "a-long-password"},
        headers=h,
    )
    assert created.status_code == 201 and created.json()["role"] == "nurse"
    assert "password" not in created.text
    again = httpx.post(f"{ward.url}/api/v1/users", json={"name": name, "role": "nurse"}, headers=h)
    assert again.status_code == 409
    promoted = httpx.patch(f"{ward.url}/api/v1/users/{name}", json={"role": "physician"}, headers=h)
    assert promoted.json()["role"] == "physician"
    token = httpx.post(f"{ward.url}/api/v1/users/{name}/tokens", headers=h).json()["token"]
    me = httpx.get(f"{ward.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["user"] == promoted.json()
