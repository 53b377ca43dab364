"""CSV import on real SQLite and PostgreSQL: validation, atomicity, idempotence, skip-bad-rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cartwatch.interop.csv_io import import_csv
from cartwatch.registry.repository import Registry
from tests.interop.conftest import write

GOOD = """
patient_ref,assessed_at,source_key,temperature_c,hypotension,oxygen.device,oxygen.flow_l_min,ice.orientation,ice.naming,other_findings,crp_mg_l
P1,2026-03-02T08:00:00Z,ward,38.6,none,low_flow_nasal_cannula,2,4,3,tremor;myoclonus,120
P1,2026-03-02T20:00:00+01:00,ward,37.2,,,,,,,
P2,2026-03-03T08:00:00Z,,39.0,fluid_responsive,none,,,,,
"""

BAD = """
patient_ref,assessed_at,temperature_c,hypotension,oxygen.device,ice.orientation
P1,2026-03-02T08:00:00Z,38.6,none,none,4
P1,2026-03-02T09:00:00,38.6,none,none,4
P1,2026-03-02T10:00:00Z,101.3,none,none,4
P2,2026-03-02T11:00:00Z,38.0,low,nasal,9
P9,2026-03-02T12:00:00Z,38.0,none,none,4
P2,2026-03-02T13:00:00Z,38.0,none,none,4
"""


def _state(registry: Registry) -> tuple[int, list[dict[str, Any]]]:
    rows = [a.to_dict() for ref in ("P1", "P2") for a in registry.assessments(ref)]
    return registry.audit_count(), rows


def test_a_good_file_is_stored_as_contract_json(two_patients: Registry, tmp_path: Path) -> None:
    report = import_csv(two_patients, "assessments", write(tmp_path / "a.csv", GOOD))
    assert report.ok and report.written
    assert (report.rows_read, report.inserted, report.unchanged, report.rejected) == (3, 3, 0, 0)
    first, second = two_patients.assessments("P1")
    assert first.data == {
        "temperature_c": 38.6,
        "hypotension": "none",
        "oxygen": {"device": "low_flow_nasal_cannula", "flow_l_min": 2.0, "fio2": None},
        "ice": {
            "orientation": 4,
            "naming": 3,
            "commands": None,
            "writing": None,
            "attention": None,
        },
        "other_findings": ["tremor", "myoclonus"],
        "crp_mg_dl": 12.0,
    }
    # blank cells are not recorded, and the offset is converted to UTC
    assert second.data == {"temperature_c": 37.2}
    assert second.assessed_at == dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC)


def test_every_bad_row_is_reported_and_nothing_is_written(
    two_patients: Registry, tmp_path: Path
) -> None:
    before = _state(two_patients)
    report = import_csv(two_patients, "assessments", write(tmp_path / "bad.csv", BAD))
    assert not report.written
    found = {(e.line, e.field) for e in report.errors}
    assert (3, "assessed_at") in found  # no time zone
    assert (4, "temperature_c") in found  # implausible; did you mean temperature_f?
    assert {(5, "hypotension"), (5, "oxygen.device"), (5, "ice.orientation")} <= found
    assert (6, "patient_ref") in found  # unknown patient
    assert report.rejected == 4
    assert {e.line for e in report.errors} == {3, 4, 5, 6}
    assert "temperature_f" in next(e.reason for e in report.errors if e.line == 4)
    assert _state(two_patients) == before


def test_skip_bad_rows_writes_the_good_rows_and_reports_the_bad(
    two_patients: Registry, tmp_path: Path
) -> None:
    report = import_csv(
        two_patients, "assessments", write(tmp_path / "bad.csv", BAD), skip_bad_rows=True
    )
    assert report.written
    assert (report.rows_read, report.inserted, report.rejected) == (6, 2, 4)
    assert [a.assessed_at.hour for a in two_patients.assessments("P1")] == [8]
    assert [a.assessed_at.hour for a in two_patients.assessments("P2")] == [13]


def test_reimporting_the_same_file_changes_nothing(two_patients: Registry, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", GOOD)
    import_csv(two_patients, "assessments", path)
    before = _state(two_patients)
    again = import_csv(two_patients, "assessments", path)
    assert (again.inserted, again.unchanged, again.rejected) == (0, 3, 0)
    assert _state(two_patients) == before


def test_other_content_at_a_stored_key_is_a_conflict_not_an_overwrite(
    two_patients: Registry, tmp_path: Path
) -> None:
    import_csv(two_patients, "assessments", write(tmp_path / "a.csv", GOOD))
    before = _state(two_patients)
    changed = GOOD.replace("38.6", "38.9")
    report = import_csv(two_patients, "assessments", write(tmp_path / "b.csv", changed))
    assert [(e.line, e.field) for e in report.errors] == [(2, "data")]
    assert not report.written
    assert _state(two_patients) == before


def test_the_same_key_twice_in_one_file_with_other_content_is_rejected(
    two_patients: Registry, tmp_path: Path
) -> None:
    text = """
patient_ref,given_at,drug,dose_mg
P1,2026-03-02T08:00:00Z,tocilizumab,560
P1,2026-03-02T08:00:00Z,Tocilizumab,560
P1,2026-03-02T08:00:00Z,tocilizumab,600
"""
    report = import_csv(two_patients, "administrations", write(tmp_path / "d.csv", text))
    assert [(e.line, e.field) for e in report.errors] == [(4, "dose_mg")]
    assert "line 2" in report.errors[0].reason
    assert two_patients.administrations("P1") == []


def test_an_unknown_column_names_the_closest_field(two_patients: Registry, tmp_path: Path) -> None:
    text = "patient_ref,assessed_at,temprature_c,oxygen.devise\nP1,2026-03-02T08:00:00Z,38,none\n"
    report = import_csv(two_patients, "assessments", write(tmp_path / "h.csv", text))
    assert [(e.line, e.field) for e in report.errors] == [
        (1, "temprature_c"),
        (1, "oxygen.devise"),
    ]
    assert "temperature_c" in report.errors[0].reason
    assert "oxygen.device" in report.errors[1].reason
    assert two_patients.assessments("P1") == []


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("infusions", "patient_ref,infusion_ref,infused_at\nP1,I1,2026-03-01T10:00:00\n"),
        ("administrations", "patient_ref,given_at,drug\nP1,2026-03-01 10:00,dexamethasone\n"),
        ("labs", "patient_ref,taken_at,name,value\nP1,2026-03-01T10:00,ferritin_ng_ml,900\n"),
        ("assessments", "patient_ref,assessed_at,temperature_c\nP1,2026-03-01T10:00,38.5\n"),
    ],
)
def test_a_time_without_a_zone_is_rejected(
    two_patients: Registry, tmp_path: Path, kind: str, text: str
) -> None:
    report = import_csv(two_patients, kind, write(tmp_path / f"{kind}.csv", text))
    assert [e.line for e in report.errors] == [2]
    assert report.errors[0].field in ("infused_at", "given_at", "taken_at", "assessed_at")
    assert "time zone" in report.errors[0].reason
    assert not report.written


def test_every_kind_imports_and_links_to_its_patient(registry: Registry, tmp_path: Path) -> None:
    files = {
        "patients": "patient_ref,sex,date_of_birth,weight_kg,height_cm,centre\n"
        "P1,female,1961-05-02,70,165,Leiden\n",
        "products": "name,targets,costimulatory_domain,origin\nprod-x,CD19;CD22,4-1BB,autologous\n",
        "infusions": "patient_ref,infusion_ref,infused_at,product,cell_dose,cell_dose_unit\n"
        "P1,I1,2026-03-01T10:00:00Z,prod-x,2e6,cells/kg\n",
        "labs": "patient_ref,taken_at,name,value\nP1,2026-03-02T06:00:00Z,platelets_10e9_l,45\n"
        "P1,2026-03-02T06:00:00Z,ferritin_ng_ml,1200\n",
        "administrations": "patient_ref,given_at,drug,dose_mg,route\n"
        "P1,2026-03-02T09:00:00Z,Tocilizumab,560,iv\n",
        "outcomes": "patient_ref,kind,on_date,detail\nP1,response,2026-04-01,CR\n",
    }
    for kind, text in files.items():
        report = import_csv(registry, kind, write(tmp_path / f"{kind}.csv", text))
        assert report.ok and report.written, (kind, report.errors)
    patient = registry.get_patient("P1", audit_read=False)
    assert (patient.date_of_birth, patient.height_cm, patient.centre) == (
        dt.date(1961, 5, 2),
        165.0,
        "Leiden",
    )
    (infusion,) = registry.infusions("P1")
    assert (infusion.product, infusion.cell_dose) == ("prod-x", 2e6)
    assert [(n, v) for _, n, v in registry.labs("P1")] == [
        ("ferritin_ng_ml", 1200.0),
        ("platelets_per_ul", 45_000.0),
    ]
    (given,) = registry.administrations("P1")
    assert (given.drug, given.dose_mg, given.route) == ("tocilizumab", 560.0, "iv")
    assert registry.outcomes("P1") == [("response", dt.date(2026, 4, 1), "CR")]
    actions = [(e.entity, e.action, e.actor) for e in registry.audit_trail("P1")]
    assert ("lab", "insert", "nurse.a") in actions and ("infusion", "insert", "nurse.a") in actions


def test_an_infusion_of_an_unknown_product_is_rejected(
    two_patients: Registry, tmp_path: Path
) -> None:
    text = "patient_ref,infusion_ref,infused_at,product\nP1,I1,2026-03-01T10:00:00Z,nope\n"
    report = import_csv(two_patients, "infusions", write(tmp_path / "i.csv", text))
    assert [(e.line, e.field) for e in report.errors] == [(2, "product")]


def test_a_lab_under_an_unknown_name_suggests_the_closest(
    two_patients: Registry, tmp_path: Path
) -> None:
    text = "patient_ref,taken_at,name,value\nP1,2026-03-01T10:00:00Z,feritin_ng_ml,900\n"
    report = import_csv(two_patients, "labs", write(tmp_path / "l.csv", text))
    assert report.errors[0].field == "feritin_ng_ml"
    assert "ferritin_ng_ml" in report.errors[0].reason


def test_a_deleted_patient_is_not_restored_by_an_import(
    two_patients: Registry, tmp_path: Path
) -> None:
    two_patients.delete_patient("P2", expected_version=1)
    report = import_csv(
        two_patients, "patients", write(tmp_path / "p.csv", "patient_ref,sex\nP2,male\n")
    )
    assert [(e.line, e.field) for e in report.errors] == [(2, "patient_ref")]
    assert [p.patient_ref for p in two_patients.list_patients()] == ["P1"]


def test_a_file_that_is_not_utf8_is_one_clear_error(two_patients: Registry, tmp_path: Path) -> None:
    from cartwatch.errors import InvalidValue

    path = tmp_path / "latin1.csv"
    path.write_bytes("patient_ref,centre\nP3,Zürich\n".encode("latin-1"))
    with pytest.raises(InvalidValue, match="UTF-8"):
        import_csv(two_patients, "patients", path)
    assert [p.patient_ref for p in two_patients.list_patients()] == ["P1", "P2"]


def test_two_imports_of_one_file_at_once_store_it_once(
    two_patients: Registry, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    rows = "".join(
        f"P{1 + i % 2},2026-03-{1 + i // 24:02d}T{i % 24:02d}:00:00Z,{37 + i % 3}\n"
        for i in range(400)
    )
    path = write(tmp_path / "a.csv", "patient_ref,assessed_at,temperature_c\n" + rows)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: import_csv(two_patients, "assessments", path), range(2)))
    assert all(r.ok and r.written for r in reports), [r.to_dict() for r in reports]
    assert sorted((r.inserted, r.unchanged) for r in reports) == [(0, 400), (400, 0)]
    assert len(two_patients.assessments("P1")) + len(two_patients.assessments("P2")) == 400
