"""Exports: episode columns (CSV/JSON), registry-form records per reporting period, and patients
and assessments as CSV that the importer reads back unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from cartwatch.interop.csv_io import import_csv
from cartwatch.interop.export import (
    EPISODE_COLUMNS,
    UNCONFIRMED,
    assessments_csv,
    episodes_text,
    patients_csv,
    registry_form,
    registry_form_text,
)
from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from tests.interop.conftest import T0, write


def _episode(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "patient_id": "P1",
        "scale": "astct_crs",
        "infusion_id": "I1",
        "onset_at": "2026-03-02T08:00:00+00:00",
        "onset_day": 1,
        "max_grade": 2,
        "max_grade_at": "2026-03-02T20:00:00+00:00",
        "resolved_at": "2026-03-05T08:00:00+00:00",
        "duration_days": 3.0,
        "treatments": [
            {"drug": "tocilizumab", "count": 2},
            {"drug": "dexamethasone", "count": 1},
        ],
    }
    return base | changes


def test_episodes_csv_has_the_agreed_columns_and_blank_for_open_episodes() -> None:
    text = episodes_text([_episode(), _episode(resolved_at=None, duration_days=None)], fmt="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == EPISODE_COLUMNS
    assert rows[0]["treatments"] == "tocilizumab;dexamethasone"
    assert rows[0]["max_grade"] == "2" and rows[0]["duration_days"] == "3.0"
    assert rows[1]["resolved_at"] == "" and rows[1]["duration_days"] == ""


def test_episodes_json_keeps_types_and_lists() -> None:
    (row,) = json.loads(episodes_text([_episode()], fmt="json"))
    assert set(row) == set(EPISODE_COLUMNS)
    assert row["max_grade"] == 2 and row["treatments"] == ["tocilizumab", "dexamethasone"]


def _with_infusion(registry: Registry) -> Registry:
    registry.add_patient(patient_ref="P1", centre="C1")
    registry.add_patient(patient_ref="P2")
    registry.add_infusion("P1", infusion_ref="I1", infused_at=T0)
    registry.add_infusion("P2", infusion_ref="I1", infused_at=T0)
    for hours, temperature in ((12, 37.9), (22, 38.0), (46, 39.2)):
        registry.record_assessment(
            "P1",
            assessed_at=T0 + dt.timedelta(hours=hours),
            data={"temperature_c": temperature},
        )
    return registry


def test_registry_form_reports_crs_in_the_period_with_therapies_and_fever_onset(
    registry: Registry,
) -> None:
    _with_infusion(registry)
    icans = _episode(
        scale="astct_icans",
        max_grade=3,
        onset_at="2026-03-04T08:00:00+00:00",
        resolved_at=None,
        treatments=[{"drug": "Keppra"}, {"drug": "methylprednisolone"}, {"drug": "anakinra"}],
    )
    records = registry_form(
        registry,
        form="cibmtr-f4100",
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 5, 31),
        episodes=[
            _episode(
                treatments=[
                    *_episode()["treatments"],
                    {"drug": "paracetamol"},
                    {"drug": "emapalumab"},
                ]
            ),
            icans,
        ],
    )
    by_patient = {r["patient_id"]: r for r in records}
    crs = by_patient["P1"]["crs"]
    assert crs["present"] is True and crs["dx_previously_reported"] is False
    assert crs["dx_date"] == "2026-03-02"
    # 37.9 °C on 1 March is not fever; 38.0 °C on 2 March is (39.2 °C follows on 3 March)
    assert crs["fever_onset_date"] == "2026-03-02"
    assert crs["max_grade"] == 2 and crs["grading_system"] == "ASTCT 2019"
    assert crs["therapies"] == ["tocilizumab", "corticosteroids", "other"]
    assert crs["therapies_other_specify"] == ["emapalumab"]
    assert crs["resolution_date"] == "2026-03-05"
    neuro = by_patient["P1"]["icans"]
    assert neuro["therapies"] == ["corticosteroids", "antiseizure", "anakinra"]
    assert neuro["resolution_date"] is None and neuro["ongoing_at_period_end"] is True
    assert by_patient["P2"]["crs"] == {"present": False, "grading_system": "ASTCT 2019"}
    assert by_patient["P1"]["unconfirmed_fields"] == list(UNCONFIRMED["cibmtr-f4100"])


def test_an_episode_from_an_earlier_period_is_previously_reported_without_dates(
    registry: Registry,
) -> None:
    _with_infusion(registry)
    persisting = _episode(resolved_at="2026-06-02T08:00:00+00:00")
    ended = _episode(resolved_at="2026-05-31T23:59:00+00:00")
    (record, _) = registry_form(
        registry,
        form="ebmt-day100",
        period_start=dt.date(2026, 6, 1),
        period_end=dt.date(2026, 8, 31),
        episodes=[persisting],
    )
    assert record["crs"]["present"] is True
    assert record["crs"]["dx_previously_reported"] is True
    assert record["crs"]["dx_date"] is None and record["crs"]["fever_onset_date"] is None
    (gone, _) = registry_form(
        registry,
        form="ebmt-day100",
        period_start=dt.date(2026, 6, 1),
        period_end=dt.date(2026, 8, 31),
        episodes=[ended],
    )
    assert gone["crs"]["present"] is False


def test_registry_form_dates_follow_the_chosen_time_zone(registry: Registry) -> None:
    _with_infusion(registry)
    late = _episode(onset_at="2026-03-02T23:30:00+00:00")
    (record, _) = registry_form(
        registry,
        form="cibmtr-f4100",
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 3, 31),
        episodes=[late],
        tz="Europe/Amsterdam",
    )
    assert record["crs"]["dx_date"] == "2026-03-03"


def test_registry_form_csv_flattens_with_dotted_columns(registry: Registry) -> None:
    _with_infusion(registry)
    records = registry_form(
        registry,
        form="cibmtr-f4100",
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 3, 31),
        episodes=[_episode()],
    )
    rows = list(csv.DictReader(io.StringIO(registry_form_text(records, fmt="csv"))))
    assert rows[0]["crs.max_grade"] == "2"
    assert rows[0]["crs.therapies"] == "tocilizumab;corticosteroids"


def test_patients_and_assessments_csv_import_back_unchanged(
    registry: Registry, tmp_path: Path
) -> None:
    registry.add_patient(patient_ref="P1", sex="female", weight_kg=70.5, centre="C1")
    registry.record_assessment(
        "P1",
        assessed_at=T0,
        source_key="ward",
        data={
            "temperature_c": 38.4,
            "oxygen": {"device": "facemask", "flow_l_min": 6},
            "ice": {"orientation": 2},
            "organ_toxicity_ctcae": {"ast_increased": 3},
            "anticytokine_agents": ["tocilizumab"],
            "capd_items": [0, 1, 2, 3, 4, 0, 1, 2],
            "hypotension": "vasopressor_single",
            "vasopressors": [{"agent": "norepinephrine", "dose": 0.05, "unit": "mcg/kg/min"}],
            "crs_previously_established": True,
        },
    )
    patients = write(tmp_path / "p.csv", patients_csv(registry))
    assessments = write(tmp_path / "a.csv", assessments_csv(registry))
    again = import_csv(registry, "assessments", assessments)
    assert (again.unchanged, again.inserted, again.rejected) == (1, 0, 0)
    engine = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    copy = Registry(engine)
    assert import_csv(copy, "patients", patients).inserted == 1
    assert import_csv(copy, "assessments", assessments).inserted == 1
    assert [a.data for a in copy.assessments("P1")] == [a.data for a in registry.assessments("P1")]
    assert copy.list_patients()[0].to_dict() | {"id": 0} == registry.list_patients()[
        0
    ].to_dict() | {"id": 0}
    engine.dispose()
