"""Random and adversarial CSV and FHIR files through the import functions and through
``cartwatch import``: a report naming line, field and reason (or one clear error), exit code 2
with no traceback, and a database unchanged by a rejected file (issue 10 item 1).

Hypothesis runs derandomized (the same files every run); the library suites run on SQLite and,
when reachable, PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from cartwatch.cli._app import _register_all, app, user_error
from cartwatch.errors import CartwatchError
from cartwatch.interop.csv_io import import_csv
from cartwatch.interop.fhir import LOINC, import_bundle
from cartwatch.interop.records import COLUMNS, KINDS, Kind, assessment_column_names
from cartwatch.interop.report import ImportReport
from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from tests.registry.conftest import (  # noqa: F401  (fixtures)
    database_url,
    postgres_schema_url,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CELLS = [
    "",
    " ",
    "P1",
    "P2",
    "NOPE",
    "female",
    "male",
    "2026-03-02T08:00:00Z",
    "2026-03-02T08:00:00",
    "2026-02-30T08:00:00Z",
    "1958-07-09",
    "39.1",
    "-1",
    "1e309",
    "NaN",
    "inf",
    "none",
    "vasopressor_single",
    "tocilizumab",
    "axi-cel",
    "=cmd|' /C calc'!A0",
    "+SUM(A1:A9)",
    '@HYPERLINK("http://x")',
    '"quoted, comma"',
    "[1, 2",
    '{"device": "cpap"}',
    "\u202eevil",
    "\ufeffP1",
    "x" * 5000,
]
HEADER_NAMES = sorted(
    {c for cols in COLUMNS.values() for c in cols}
    | set(assessment_column_names()[:40])
    | {"patient_ref", "Patient_Ref", "temprature_c", "", "=1+1", "oxygen.", "ice.x"}
)

cell = st.one_of(st.sampled_from(CELLS), st.text(max_size=20))


@st.composite
def csv_bytes(draw: st.DrawFn, kind: Kind) -> bytes:
    """A CSV file that is mostly shaped like ``kind`` and then broken in some way."""
    own = list(assessment_column_names()[:12] if kind == "assessments" else COLUMNS[kind])
    header = draw(
        st.lists(st.sampled_from([*own, *HEADER_NAMES]), min_size=0, max_size=8)
        | st.just(own)
        | st.just([*own, own[0]])
    )
    rows = [
        [draw(cell) for _ in range(draw(st.integers(0, len(header) + 2)))]
        for _ in range(draw(st.integers(0, 5)))
    ]
    text = "\n".join(",".join(_quote(c) for c in line) for line in [header, *rows])
    data = text.encode("utf-8")
    damage = draw(st.integers(0, 7))
    if damage == 0:
        data = b"\xef\xbb\xbf" + data
    elif damage == 1:
        data = text.encode("utf-16")
    elif damage == 2:
        data = text.encode("latin-1", errors="replace") + b"\xff\xfe\x80"
    elif damage == 3:
        data = draw(st.binary(max_size=200))
    elif damage == 4:
        data = data.replace(b"\n", b"\r\n") + b'\n"unterminated'
    elif damage == 5:
        data = data + b"\x00\x00"
    return data


def _quote(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


JUNK = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False),
        st.text(max_size=12),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _observation(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(["8310-5", "8480-6", "2276-4", "1988-5", "9999-9", "", "x"]))
    unit = draw(st.sampled_from(["Cel", "[degF]", "mg/dL", "ng/mL", "kg", "furlong", ""]))
    resource: dict[str, Any] = {
        "resourceType": draw(st.sampled_from(["Observation", "Observatio", "Patient"])),
        "status": draw(st.sampled_from(["final", "bogus"])),
        "code": {"coding": [{"system": draw(st.sampled_from([LOINC, "urn:x"])), "code": code}]},
        "subject": {
            "reference": draw(st.sampled_from(["Patient/X1", "Patient/", "X1", "Patient/Q"]))
        },
        "valueQuantity": {
            "value": draw(st.one_of(st.floats(-1e12, 1e12), st.sampled_from([0, -5, 1e300]))),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
        "effectiveDateTime": draw(
            st.sampled_from(
                ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00", "yesterday", "2026-13-01"]
            )
        ),
    }
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(sorted(resource)))
        resource[key] = draw(JUNK)
    return resource


def deep_json(depth: int) -> bytes:
    """A Bundle whose entries nest ``depth`` levels deep (past Python's recursion limit)."""
    head = '{"resourceType": "Bundle", "type": "collection", "entry": ['
    return (head + '{"resource": {"x": [' * depth + "]}}" * depth + "]}").encode()


@st.composite
def fhir_bytes(draw: st.DrawFn) -> bytes:
    """A FHIR Bundle with broken resources, or a file that is not one at all."""
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return draw(st.binary(max_size=100))
    if shape == 1:
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b'"Bundle"', b'{"a":1}', b"1e999"]))
    if shape == 2:
        return deep_json(draw(st.sampled_from([5, 50, 5000, 100_000])))
    if shape == 3:
        return json.dumps(draw(JUNK)).encode()
    patient = {
        "resourceType": "Patient",
        "id": "X1",
        "gender": draw(st.sampled_from(["male", "f"])),
    }
    entries: list[Any] = [{"resource": patient}]
    entries += [{"resource": _observation(draw)} for _ in range(draw(st.integers(0, 4)))]
    if draw(st.booleans()):
        entries.append(draw(JUNK))
    bundle: dict[str, Any] = {
        "resourceType": draw(st.sampled_from(["Bundle", "Bundle", "bundle", "Patient"])),
        "type": draw(st.sampled_from(["collection", "transaction", "nonsense"])),
        "entry": entries if draw(st.integers(0, 5)) else draw(JUNK),
    }
    return json.dumps(bundle).encode()


def snapshot(registry: Registry) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    meta = MetaData()
    meta.reflect(registry.engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with registry.engine.connect() as connection:
        for name, table in sorted(meta.tables.items()):
            if name == "alembic_version":
                continue
            out[name] = sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
    return out


@pytest.fixture()
def filled(database_url: str) -> Iterator[Registry]:  # noqa: F811
    engine = make_engine(database_url)
    registry = Registry(engine, actor="fuzz")
    registry.add_patient(patient_ref="P1", sex="female", weight_kg=70.0)
    registry.add_patient(patient_ref="P2", sex="male")
    registry.ensure_product(name="axi-cel", targets=["CD19"])
    yield registry
    engine.dispose()


def check_reports(reports: list[ImportReport], before: Any, registry: Registry) -> None:
    """A rejected file leaves the database as it was; every error says where and why."""
    for report in reports:
        for error in report.errors:
            assert error.line >= 1 and error.reason
            assert "Traceback" not in error.reason
    if any(r.errors for r in reports):
        assert not any(r.written for r in reports)
        assert snapshot(registry) == before


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_a_broken_csv_is_reported_and_nothing_is_half_stored(
    filled: Registry, tmp_path: Path, kind: Kind, data: st.DataObject
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data.draw(csv_bytes(kind)))
    before = snapshot(filled)
    try:
        report = import_csv(filled, kind, path)
    except CartwatchError as exc:
        assert exc.field and exc.expected and str(exc)
        assert snapshot(filled) == before
        return
    check_reports([report], before, filled)


@FUZZ
@given(data=st.data())
def test_a_broken_fhir_file_is_reported_and_nothing_is_half_stored(
    filled: Registry, tmp_path: Path, data: st.DataObject
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(data.draw(fhir_bytes()))
    before = snapshot(filled)
    try:
        reports = import_bundle(filled, path)
    except CartwatchError as exc:
        assert exc.field and str(exc)
        assert snapshot(filled) == before
        return
    check_reports(reports, before, filled)


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    registry = Registry(make_engine(url), actor="setup")
    registry.add_patient(patient_ref="P1", sex="female")
    registry.engine.dispose()
    return url


def run_cli(args: list[str], url: str) -> tuple[int, str, str]:
    """``cartwatch ARGS`` in-process; a cartwatch error escaping the command counts as
    ``main``'s exit 2 (the one place the CLI maps them)."""
    _register_all()
    result = CliRunner().invoke(app, args, env={"CARTWATCH_DATABASE_URL": url, "COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        message = user_error(result.exception)
        assert message is not None, repr(result.exception)[:600]
        return 2, result.stdout, message
    return result.exit_code, result.stdout, result.stderr


@FUZZ
@given(data=st.data())
def test_the_import_command_exits_0_or_2_without_a_traceback(
    sqlite_url: str, tmp_path: Path, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from([*KINDS, "fhir", "Patients", "", "../etc"]))
    path = tmp_path / "in.file"
    path.write_bytes(
        data.draw(
            fhir_bytes()
            if kind == "fhir"
            else csv_bytes(next((k for k in KINDS if k == kind), "patients"))
        )
    )
    registry = Registry(make_engine(sqlite_url))
    before = snapshot(registry)
    code, out, err = run_cli(["import", kind, str(path), "--no-derive"], sqlite_url)
    assert code in (0, 2), (code, out, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert snapshot(registry) == before
        assert err.strip() or "rejected rows" in out
        if err.strip():
            assert err.strip().startswith("error:"), err
    registry.engine.dispose()


def test_a_fhir_file_that_is_not_utf8_is_one_clear_error(filled: Registry, tmp_path: Path) -> None:
    """Regression: a Latin-1 or binary file raised UnicodeDecodeError (a traceback in the CLI)."""
    path = tmp_path / "latin1.json"
    path.write_bytes('{"resourceType": "Bundle", "note": "café"}'.encode("latin-1"))
    with pytest.raises(CartwatchError, match="not UTF-8") as raised:
        import_bundle(filled, path)
    assert raised.value.field == "Bundle" and raised.value.expected


def test_a_fhir_file_nested_past_the_recursion_limit_is_one_clear_error(
    filled: Registry, tmp_path: Path
) -> None:
    """Regression: JSON nested 100 000 deep raised RecursionError."""
    path = tmp_path / "deep.json"
    path.write_bytes(deep_json(100_000))
    before = snapshot(filled)
    with pytest.raises(CartwatchError, match="nested too deeply"):
        import_bundle(filled, path)
    assert snapshot(filled) == before


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fhir", *KINDS])
@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_broken_files_under_a_longer_fuzz(
    filled: Registry, tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    path = tmp_path / "in.file"
    checked = next((k for k in KINDS if k == kind), None)
    path.write_bytes(data.draw(fhir_bytes() if checked is None else csv_bytes(checked)))
    before = snapshot(filled)
    try:
        reports = (
            import_bundle(filled, path) if checked is None else [import_csv(filled, checked, path)]
        )
    except CartwatchError as exc:
        assert exc.field and str(exc)
        assert snapshot(filled) == before
        return
    check_reports(reports, before, filled)
