"""The columnar registry regrade stores exactly what the per-assessment regrade stores."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cartwatch.analytics.registry_regrade import (
    columnar_scales,
    count_assessments,
    regrade_columnar,
)
from cartwatch.registry.db import make_engine
from cartwatch.registry.demo import generate_cohort, write_cohort
from cartwatch.registry.repository import Registry
from cartwatch.services.episodes import regrade
from cartwatch.services.record import stored_scales


@pytest.fixture()
def twins(tmp_path: Path) -> Iterator[tuple[Registry, Registry]]:
    """Two registries holding the same demo cohort."""
    cohort = generate_cohort(patients=6, seed=11)
    engines = [make_engine(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db")]
    registries = [Registry(engine, actor="regrade") for engine in engines]
    for registry in registries:
        write_cohort(registry, cohort)
    yield registries[0], registries[1]
    for engine in engines:
        engine.dispose()


def _stored(registry: Registry) -> tuple[list[Any], list[Any]]:
    grades = [
        (p.patient_ref, v.assessed_at, v.grades)
        for p in registry.list_patients()
        for v in registry.assessments(p.patient_ref)
    ]
    episodes = [
        {k: v for k, v in e.items() if k not in ("id", "derived_at")} for e in registry.episodes()
    ]
    return grades, episodes


def _tamper(registry: Registry) -> None:
    """Stale grades and episodes, as after a rule change: every third assessment loses a grade
    and gains a wrong one; the first patient's episodes are dropped."""
    patients = registry.list_patients()
    for p in patients:
        for i, view in enumerate(registry.assessments(p.patient_ref)):
            if i % 3 == 0:
                grades = {k: dict(v) for k, v in view.grades.items() if k != "astct_icans"}
                grades["astct_crs"] = {**grades["astct_crs"], "grade": 4, "status": "graded"}
                registry.store_grades(view.id, grades)
    registry.replace_episodes(patients[0].patient_ref, scale="astct_crs", episodes=[])


def test_columnar_regrade_stores_the_same_grades_and_episodes(
    twins: tuple[Registry, Registry],
) -> None:
    scalar_side, columnar_side = twins
    assert count_assessments(scalar_side) > 0
    for registry in twins:
        _tamper(registry)
    seen: list[tuple[int, int]] = []
    expected = regrade(scalar_side)
    got = regrade_columnar(columnar_side, progress=lambda d, t: seen.append((d, t)))
    assert got.to_dict() == expected.to_dict()
    assert expected.grades_changed["astct_crs"] > 0
    assert _stored(columnar_side) == _stored(scalar_side)
    assert seen[-1] == (2 * got.patients, 2 * got.patients)


def test_table_scales_go_columnar_and_the_rest_scalar() -> None:
    fast, slow = columnar_scales(stored_scales())
    assert {"astct_crs", "astct_icans"} <= set(fast)
    assert set(fast) | set(slow) == set(stored_scales())


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cartwatch", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_cli_regrade_engines_report_the_same(twins: tuple[Registry, Registry]) -> None:
    for registry in twins:
        _tamper(registry)
    urls = [r.engine.url.render_as_string(hide_password=False) for r in twins]
    scalar = _cli("regrade", "--database", urls[0], "--engine", "per-assessment", "--json")
    columnar = _cli("regrade", "--database", urls[1], "--engine", "columnar", "--json")
    assert scalar.returncode == 0, scalar.stderr
    assert columnar.returncode == 0, columnar.stderr
    assert json.loads(columnar.stdout) == json.loads(scalar.stdout)
    assert json.loads(columnar.stdout)["grades_changed"]
    assert _stored(twins[1]) == _stored(twins[0])
    wrong = _cli("regrade", "--database", urls[0], "--engine", "fast")
    assert wrong.returncode == 2
    assert "auto, columnar, per-assessment" in wrong.stderr
