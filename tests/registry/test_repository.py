"""The registry on real SQLite and PostgreSQL: records, idempotency, versions, audit, schema."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cartwatch.errors import Conflict, InvalidInput, NotFound
from cartwatch.registry.migrate import current_revision, head_revision
from cartwatch.registry.repository import Registry

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _patient(registry: Registry, ref: str = "P-0001") -> None:
    registry.add_patient(patient_ref=ref, sex="female", age_years_at_registration=61, weight_kg=70)


def test_schema_is_at_head_on_first_use(registry: Registry) -> None:
    assert current_revision(registry.engine) == head_revision()


def test_patient_round_trip_and_soft_delete(registry: Registry) -> None:
    _patient(registry)
    p = registry.get_patient("P-0001")
    assert (p.sex, p.weight_kg, p.version) == ("female", 70.0, 1)
    registry.delete_patient("P-0001", expected_version=p.version)
    assert registry.list_patients() == []
    with pytest.raises(NotFound):
        registry.get_patient("P-0001")
    actions = [e.action for e in registry.audit_trail("P-0001")]
    assert actions == ["insert", "read", "delete"]


def test_adding_the_same_patient_twice_changes_nothing(registry: Registry) -> None:
    _patient(registry)
    _patient(registry)
    assert len(registry.list_patients()) == 1
    with pytest.raises(Conflict):
        registry.add_patient(patient_ref="P-0001", sex="male")


def test_a_stale_edit_is_refused_not_overwritten(registry: Registry) -> None:
    _patient(registry)
    first = registry.get_patient("P-0001")
    registry.as_actor("doctor.b").update_patient(
        "P-0001", expected_version=first.version, weight_kg=68
    )
    with pytest.raises(Conflict, match="changed by someone else"):
        registry.update_patient("P-0001", expected_version=first.version, weight_kg=75)
    now = registry.get_patient("P-0001")
    assert now.weight_kg == 68 and now.version == 2
    update = next(e for e in registry.audit_trail("P-0001") if e.action == "update")
    assert update.actor == "doctor.b"
    assert update.before is not None and update.before["weight_kg"] == 70
    assert update.after is not None and update.after["weight_kg"] == 68


def test_bad_patient_values_are_rejected(registry: Registry) -> None:
    with pytest.raises(InvalidInput):
        registry.add_patient(patient_ref="P 1")
    with pytest.raises(InvalidInput, match="weight_kg"):
        registry.add_patient(patient_ref="P-2", weight_kg=900)
    with pytest.raises(InvalidInput, match="sex"):
        registry.add_patient(patient_ref="P-3", sex="f")


def test_infusions_products_and_sequential_infusions(registry: Registry) -> None:
    _patient(registry)
    registry.ensure_product(name="CD22-CAR", targets=["CD22"], costimulatory_domain="4-1BB")
    registry.ensure_product(name="axi-cel", targets=["CD19"], costimulatory_domain="CD28")
    registry.add_infusion("P-0001", infusion_ref="I1", infused_at=T0, product="CD22-CAR")
    registry.add_infusion(
        "P-0001", infusion_ref="I2", infused_at=T0 + dt.timedelta(days=30), product="axi-cel"
    )
    registry.add_infusion("P-0001", infusion_ref="I1", infused_at=T0, product="CD22-CAR")
    infusions = registry.infusions("P-0001")
    assert [(i.infusion_ref, i.product) for i in infusions] == [
        ("I1", "CD22-CAR"),
        ("I2", "axi-cel"),
    ]
    assert infusions[0].infused_at == T0
    with pytest.raises(NotFound):
        registry.add_infusion("P-0001", infusion_ref="I3", infused_at=T0, product="unknown")


def test_naive_timestamps_are_refused(registry: Registry) -> None:
    _patient(registry)
    with pytest.raises(InvalidInput, match="time zone"):
        registry.add_infusion(
            "P-0001", infusion_ref="I1", infused_at=dt.datetime(2026, 3, 2, 10, 0)
        )


def test_assessments_are_stored_canonical_and_idempotent(registry: Registry) -> None:
    _patient(registry)
    data = {"temperature_f": 101.3, "hypotension": "none", "oxygen": {"device": "none"}}
    first = registry.record_assessment("P-0001", assessed_at=T0, data=data)
    assert first.data["temperature_c"] == pytest.approx(38.5)
    again = registry.record_assessment("P-0001", assessed_at=T0, data=data)
    assert again.id == first.id
    with pytest.raises(Conflict):
        registry.record_assessment(
            "P-0001", assessed_at=T0, data={**data, "hypotension": "fluid_responsive"}
        )
    assert len(registry.assessments("P-0001")) == 1
    with pytest.raises(InvalidInput, match="temprature_c"):
        registry.record_assessment("P-0001", assessed_at=T0, data={"temprature_c": 39})


def test_assessment_correction_needs_the_current_version(registry: Registry) -> None:
    _patient(registry)
    a = registry.record_assessment(
        "P-0001",
        assessed_at=T0,
        data={"temperature_c": 38.2},
        grades={"astct_crs": {"grade": None, "status": "not_gradeable"}},
    )
    assert "astct_crs" in a.grades
    b = registry.update_assessment(a.id, expected_version=a.version, data={"temperature_c": 38.4})
    assert b.version == a.version + 1 and b.grades == {}
    with pytest.raises(Conflict):
        registry.update_assessment(a.id, expected_version=a.version, data={"temperature_c": 38.9})


def test_administrations_labs_outcomes(registry: Registry) -> None:
    _patient(registry)
    registry.add_administration("P-0001", given_at=T0, drug="Tocilizumab", dose_mg=560, route="iv")
    registry.add_administration("P-0001", given_at=T0, drug="tocilizumab", dose_mg=560, route="iv")
    assert [a.drug for a in registry.administrations("P-0001")] == ["tocilizumab"]
    registry.add_lab("P-0001", taken_at=T0, name="crp_mg_l", value=30)
    assert registry.labs("P-0001") == [(T0, "crp_mg_dl", 3.0)]
    with pytest.raises(InvalidInput):
        registry.add_lab("P-0001", taken_at=T0, name="ferritin_ng_ml", value=-1)
    registry.add_outcome("P-0001", kind="response", on_date=dt.date(2026, 4, 1), detail="CR")
    assert registry.outcomes("P-0001") == [("response", dt.date(2026, 4, 1), "CR")]


def test_audit_log_is_append_only(registry: Registry) -> None:
    _patient(registry)
    with pytest.raises(DBAPIError), registry.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises(DBAPIError), registry.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))
    assert registry.audit_count() == 1


def test_every_write_is_audited_once(registry: Registry) -> None:
    _patient(registry)
    registry.record_assessment("P-0001", assessed_at=T0, data={"temperature_c": 38.2})
    registry.add_administration("P-0001", given_at=T0, drug="paracetamol", dose_mg=1000)
    registry.record_assessment("P-0001", assessed_at=T0, data={"temperature_c": 38.2})
    entities = [(e.action, e.entity) for e in registry.audit_trail("P-0001")]
    assert entities == [
        ("insert", "patient"),
        ("insert", "assessment"),
        ("insert", "administration"),
    ]


def test_indications_and_lymphodepletion(registry: Registry) -> None:
    _patient(registry)
    registry.add_indication("P-0001", disease="SLE", category="autoimmune", disease_group="lupus")
    registry.add_indication("P-0001", disease="SLE", category="autoimmune", disease_group="lupus")
    assert [i["disease"] for i in registry.indications("P-0001")] == ["SLE"]
    with pytest.raises(InvalidInput, match="autoimmune"):
        registry.add_indication("P-0001", disease="DLBCL", category="lymphoma")
    registry.add_infusion("P-0001", infusion_ref="I1", infused_at=T0)
    registry.add_lymphodepletion(
        "P-0001",
        regimen="Flu/Cy",
        started_on=dt.date(2026, 2, 25),
        days=3,
        fludarabine_mg_m2_day=30,
        cyclophosphamide_mg_m2_day=500,
        infusion_ref="I1",
    )
    with pytest.raises(NotFound):
        registry.add_lymphodepletion(
            "P-0001", regimen="Flu/Cy", started_on=dt.date(2026, 2, 25), infusion_ref="I9"
        )
    entities = [e.entity for e in registry.audit_trail("P-0001")]
    assert entities.count("indication") == 1 and entities.count("lymphodepletion") == 1
