"""The ward's alerts from a stored record: the "next tocilizumab dose possible" alert holds
while CRS has not improved and is withheld, with a note, once the latest ASTCT CRS grade is 0."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cartwatch.api.clinical import patient_alerts
from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from cartwatch.services.record import record_assessment

INFUSED = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
DUE = "tocilizumab_next_dose_possible"


def _rules(registry: Registry, now: dt.datetime) -> tuple[list[str], list[str]]:
    answer = patient_alerts(registry, registry.get_patient("T-1"), now=now)
    return [a["rule"] for a in answer["alerts"]], answer["notes"]


def test_redose_alert_follows_the_latest_crs_grade(tmp_path: Path) -> None:
    registry = Registry(make_engine(f"sqlite:///{tmp_path / 'a.db'}"), actor="nurse")
    registry.add_patient(patient_ref="T-1", weight_kg=70)
    registry.ensure_product(name="axi-cel", targets=["CD19"])
    registry.add_infusion("T-1", infusion_ref="i", infused_at=INFUSED, product="axi-cel")
    fever = {"temperature_c": 39.2, "hypotension": "fluid_responsive", "oxygen": {"device": "none"}}
    record_assessment(registry, "T-1", assessed_at=INFUSED + dt.timedelta(days=1), data=fever)
    registry.add_administration(
        "T-1", given_at=INFUSED + dt.timedelta(days=1, hours=1), drug="tocilizumab", dose_mg=560
    )
    later = INFUSED + dt.timedelta(days=1, hours=10)
    rules, notes = _rules(registry, later)
    assert DUE in rules and notes == []

    resolved = {"temperature_c": 36.8, "hypotension": "none", "oxygen": {"device": "none"}}
    record_assessment(registry, "T-1", assessed_at=later, data=resolved)
    graded = registry.assessments("T-1")[-1].grades["astct_crs"]["grade"]
    assert graded == 0
    rules, notes = _rules(registry, later + dt.timedelta(hours=1))
    assert DUE not in rules
    assert any("withheld" in n for n in notes)
