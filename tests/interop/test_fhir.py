"""FHIR R4: registry → Bundle → new registry gives the same records; LOINC Observations map to
labs and assessment fields with unit conversion; episodes become AdverseEvent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cartwatch.errors import InvalidValue
from cartwatch.interop.fhir import (
    LOINC,
    NCIT,
    episodes_bundle,
    export_bundle,
    import_bundle,
    validate_bundle,
)
from cartwatch.interop.store import product_records, source_keys
from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from tests.interop.conftest import T0

ASSESSMENT: dict[str, Any] = {
    "temperature_c": 38.4,
    "hypotension": "vasopressor_single",
    "vasopressors": [{"agent": "norepinephrine", "dose": 0.1, "unit": "mcg/kg/min"}],
    "oxygen": {"device": "high_flow_nasal_cannula", "flow_l_min": 30, "fio2": 0.5},
    "ice": {"orientation": 3, "naming": 3, "commands": 1, "writing": 0, "attention": 1},
    "consciousness": "awakens_to_voice",
    "crs_previously_established": True,
    "other_findings": ["tremor", "myoclonus"],
    "organ_toxicity_ctcae": {"ast_increased": 3},
    "capd_items": [1, 0, 2, 1, 0, 0, 1, 2],
    "sedation": "propofol",
    "ice_total": 8,
    "sbp_mmhg": 84,
}


def _fill(registry: Registry) -> None:
    registry.add_patient(
        patient_ref="P_01",
        sex="female",
        date_of_birth=dt.date(1958, 7, 9),
        age_years_at_registration=67.5,
        weight_kg=61.3,
        height_cm=158,
        centre="Rotterdam",
    )
    registry.add_patient(patient_ref="P-02", sex="male")
    registry.ensure_product(
        name="axi-cel", targets=["CD19"], costimulatory_domain="CD28", origin="autologous"
    )
    registry.ensure_product(name="tandem 19/22", targets=["CD19", "CD22"])
    registry.add_infusion(
        "P_01",
        infusion_ref="I1",
        infused_at=T0 - dt.timedelta(days=1),
        product="axi-cel",
        cell_dose=2e6,
        cell_dose_unit="cells/kg",
    )
    registry.add_infusion(
        "P_01", infusion_ref="I2", infused_at=T0 + dt.timedelta(days=14), product="tandem 19/22"
    )
    registry.add_infusion("P-02", infusion_ref="I1", infused_at=T0)
    registry.record_assessment("P_01", assessed_at=T0, data=ASSESSMENT, source_key="icu")
    registry.record_assessment(
        "P_01", assessed_at=T0 + dt.timedelta(hours=6), data={"temperature_c": 37.1}
    )
    registry.record_assessment("P-02", assessed_at=T0, data={"ice_total": 10, "motor": "tremor"})
    registry.add_lab("P_01", taken_at=T0, name="crp_mg_l", value=145)
    registry.add_lab("P_01", taken_at=T0, name="fibrinogen_g_l", value=0.9)
    registry.add_lab("P_01", taken_at=T0, name="ferritin_ng_ml", value=4500)
    registry.add_administration("P_01", given_at=T0, drug="tocilizumab", dose_mg=488, route="iv")
    registry.add_administration("P_01", given_at=T0 + dt.timedelta(hours=1), drug="paracetamol")


def _records(registry: Registry) -> list[Any]:
    keys = source_keys(registry)
    out: list[Any] = []
    for p in registry.list_patients():
        out.append({k: v for k, v in p.to_dict().items() if k not in ("id", "version")})
        out.extend(
            {k: v for k, v in i.to_dict().items() if k != "id"}
            for i in registry.infusions(p.patient_ref)
        )
        out.extend((a.assessed_at, keys[a.id], a.data) for a in registry.assessments(p.patient_ref))
        out.extend(registry.labs(p.patient_ref))
        out.extend(
            (g.given_at, g.drug, g.dose_mg, g.route)
            for g in registry.administrations(p.patient_ref)
        )
    return out


def test_registry_to_bundle_to_a_new_registry_gives_the_same_records(
    registry: Registry, tmp_path: Path
) -> None:
    _fill(registry)
    bundle = json.loads(json.dumps(export_bundle(registry)))
    engine = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    copy = Registry(engine, actor="fhir")
    reports = import_bundle(copy, bundle)
    assert all(r.ok and r.written for r in reports), [r.to_dict() for r in reports]
    assert {r.kind: r.inserted for r in reports} == {
        "patients": 2,
        "products": 2,
        "infusions": 3,
        "assessments": 3,
        "labs": 3,
        "administrations": 2,
    }
    assert _records(copy) == _records(registry)
    assert product_records(copy) == product_records(registry)
    engine.dispose()


def test_importing_the_exported_bundle_again_changes_nothing(registry: Registry) -> None:
    _fill(registry)
    before = (registry.audit_count(), _records(registry))
    reports = import_bundle(registry, export_bundle(registry))
    assert [r.inserted for r in reports] == [0, 0, 0, 0, 0, 0]
    assert [r.unchanged for r in reports] == [2, 2, 3, 3, 3, 2]
    assert (registry.audit_count(), _records(registry)) == before


def _obs(code: str, value: float, unit: str, when: str | None = "2026-03-01T10:00:00Z") -> Any:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/X1"},
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }
    if when is not None:
        resource["effectiveDateTime"] = when
    return {"resource": resource}


def _bundle(*entries: Any) -> dict[str, Any]:
    patient = {"resource": {"resourceType": "Patient", "id": "X1", "gender": "male"}}
    return {"resourceType": "Bundle", "type": "collection", "entry": [patient, *entries]}


def test_loinc_observations_become_labs_and_assessment_fields_in_canonical_units(
    registry: Registry,
) -> None:
    bundle = _bundle(
        _obs("8310-5", 101.3, "[degF]"),
        _obs("8480-6", 88, "mm[Hg]"),
        _obs("3151-8", 4, "L/min"),
        _obs("1988-5", 150, "mg/L"),
        _obs("777-3", 42, "10*9/L"),
        _obs("751-8", 0.3, "10*3/uL"),
        _obs("2160-0", 106.08, "umol/L"),
        _obs("29463-7", 80, "kg", when=None),
        _obs("3150-0", 40, "%"),
    )
    reports = import_bundle(registry, bundle)
    assert all(r.ok for r in reports), [r.to_dict() for r in reports]
    again = import_bundle(registry, bundle)
    # one patient, one assessment (the vital signs at 10:00), four laboratory values
    assert sum(r.inserted for r in again) == 0 and sum(r.unchanged for r in again) == 6
    assert registry.get_patient("X1", audit_read=False).weight_kg == 80.0
    (assessment,) = registry.assessments("X1")
    assert assessment.assessed_at == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    assert abs(assessment.data["temperature_c"] - (101.3 - 32) * 5 / 9) < 1e-9
    assert assessment.data["sbp_mmhg"] == 88.0
    assert assessment.data["oxygen"]["flow_l_min"] == 4.0
    assert assessment.data["oxygen"]["fio2"] == 0.4  # 40 % as the contract's fraction
    labs = {n: v for _, n, v in registry.labs("X1")}
    assert labs["crp_mg_dl"] == 15.0
    assert labs["platelets_per_ul"] == 42_000.0
    assert labs["anc_per_ul"] == 300.0
    assert abs(labs["creatinine_mg_dl"] - 1.2) < 1e-9


def test_unmapped_codes_wrong_units_and_zoneless_times_are_reported_by_entry(
    registry: Registry,
) -> None:
    bundle = _bundle(
        _obs("8310-5", 38.5, "Cel"),
        _obs("9999-9", 1, "mg/dL"),
        _obs("2276-4", 900, "mg/dL"),
        _obs("2276-4", 900, "ng/mL", when="2026-03-01T10:00:00"),
    )
    reports = import_bundle(registry, bundle)
    errors = sorted((e.line, e.field) for r in reports for e in r.errors)
    assert errors == [
        (3, "Observation.code"),
        (4, "Observation.valueQuantity.code"),
        (5, "Observation.effectiveDateTime"),
    ]
    assert not any(r.written for r in reports)
    assert registry.list_patients() == []


def test_an_invalid_resource_is_reported_at_its_entry_and_nothing_is_written(
    registry: Registry,
) -> None:
    bad = _bundle(
        _obs("8310-5", 38.5, "Cel"),
        {"resource": {"resourceType": "Observation", "status": "final", "code": 7}},
    )
    reports = import_bundle(registry, bad)
    ((line, field),) = [(e.line, e.field) for r in reports for e in r.errors]
    assert line == 3 and field is not None and field.startswith("Observation.code")
    assert registry.list_patients() == []


def test_a_document_that_is_not_a_bundle_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidValue, match="not a FHIR Bundle"):
        import_bundle(registry, {"resourceType": "Patient", "id": "X"})


def test_episodes_become_valid_adverse_events_with_ncit_and_icd10_codes() -> None:
    episodes = [
        {
            "patient_id": "P1",
            "scale": "astct_crs",
            "onset_at": "2026-03-02T08:00:00+00:00",
            "onset_day": 1,
            "max_grade": 3,
            "max_grade_at": "2026-03-03T08:00:00+00:00",
            "resolved_at": None,
            "duration_days": None,
            "treatments": [{"drug": "tocilizumab"}, {"drug": "dexamethasone"}],
        },
        {
            "patient_id": "P1",
            "scale": "astct_icans",
            "onset_at": "2026-03-05T08:00:00+00:00",
            "onset_day": 4,
            "max_grade": 1,
            "max_grade_at": "2026-03-05T08:00:00+00:00",
            "resolved_at": "2026-03-06T08:00:00+00:00",
            "duration_days": 1.0,
            "treatments": [],
        },
    ]
    bundle = validate_bundle(episodes_bundle(episodes))
    crs, icans = (e["resource"] for e in bundle["entry"])
    assert crs["resourceType"] == "AdverseEvent"
    assert {"system": NCIT, "code": "C143394", "display": "Cytokine release syndrome"} in crs[
        "event"
    ]["coding"]
    assert any(c["code"] == "D89.833" for c in crs["event"]["coding"])
    assert crs["outcome"]["coding"][0]["code"] == "ongoing"
    assert crs["severity"]["coding"][0]["code"] == "severe"
    treatments = [x["valueString"] for x in crs["extension"] if x["url"].endswith("treatment")]
    assert treatments == ["tocilizumab", "dexamethasone"]
    assert any(c["code"] == "G92.01" for c in icans["event"]["coding"])
    assert icans["outcome"]["coding"][0]["code"] == "resolved"
