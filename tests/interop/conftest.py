"""Real SQLite and PostgreSQL databases (the registry tests' fixtures) and small CSV helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cartwatch.registry.repository import Registry
from tests.registry.conftest import (  # noqa: F401  (fixtures)
    database_url,
    postgres_schema_url,
    registry,
)

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture()
def two_patients(registry: Registry) -> Registry:  # noqa: F811
    registry.add_patient(patient_ref="P1", sex="female", weight_kg=70.0)
    registry.add_patient(patient_ref="P2", sex="male", weight_kg=82.5)
    return registry
