"""``cartwatch export fhir`` / ``cartwatch import fhir`` in-process (Typer's CliRunner)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from cartwatch.cli import interop
from cartwatch.cli._app import app
from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from tests.interop.conftest import T0

interop.register(app)


def test_a_bundle_exported_by_the_cli_imports_into_another_database(
    registry: Registry, database_url: str, tmp_path: Path
) -> None:
    registry.add_patient(patient_ref="P1", sex="male", weight_kg=90.0)
    registry.record_assessment("P1", assessed_at=T0, data={"temperature_c": 38.9})
    registry.add_lab("P1", taken_at=T0, name="crp_mg_dl", value=12.5)
    registry.add_administration("P1", given_at=T0 + dt.timedelta(hours=1), drug="dexamethasone")
    runner = CliRunner()
    out = tmp_path / "bundle.json"
    done = runner.invoke(app, ["export", "fhir", "--database", database_url, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["resourceType"] == "Bundle"
    target = f"sqlite:///{tmp_path / 'b.db'}"
    imported = runner.invoke(
        app, ["import", "fhir", str(out), "--database", target, "--json", "--no-derive"]
    )
    assert imported.exit_code == 0, imported.output
    kinds = {r["kind"]: r["inserted"] for r in json.loads(imported.stdout)}
    assert kinds == {
        "patients": 1,
        "products": 0,
        "infusions": 0,
        "assessments": 1,
        "labs": 1,
        "administrations": 1,
    }
    engine = make_engine(target)
    copy = Registry(engine)
    assert [a.data for a in copy.assessments("P1")] == [{"temperature_c": 38.9}]
    assert copy.labs("P1") == registry.labs("P1")
    engine.dispose()


def test_an_unknown_kind_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("patient_ref\nP1\n", encoding="utf-8")
    done = CliRunner().invoke(
        app, ["import", "vitals", str(path), "--database", f"sqlite:///{tmp_path / 'r.db'}"]
    )
    assert done.exit_code == 2
    assert "vitals" in done.output and "Traceback" not in done.output
