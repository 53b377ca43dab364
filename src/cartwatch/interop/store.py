"""Writing one imported file to the registry in a single transaction: all rows or none.

Each row is recognised by its natural key (a patient by ``patient_ref``, an assessment by patient,
time and source key, a laboratory value by patient, time and name …). A row already stored with
the same content is *unchanged*; the same key with other content is a conflict, reported on that
row, never an overwrite. Inserts write their audit rows (who, when, what, after) in the same
transaction, as the repository does, so a killed import leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartwatch.interop.records import (
    AdministrationRow,
    AssessmentRow,
    InfusionRow,
    Kind,
    LabRow,
    OutcomeRow,
    PatientRow,
    ProductRow,
    Row,
)
from cartwatch.interop.report import ImportReport, RowError
from cartwatch.registry import models as m
from cartwatch.registry.repository import Registry, utc_now

CHUNK_ROWS = 1000  # rows per flush inside the one transaction (progress granularity)
IN_CHUNK = 500  # keys per IN (...) query, well under SQLite's bound-parameter limit
IMPORT_LOCK_KEY = 0x63617274  # PostgreSQL advisory lock taken by every import ("cart")


class Progress(Protocol):
    """Told when writing starts (how many rows) and as rows are written."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


class _Abort(Exception):
    """Roll the transaction back (rows were rejected and bad rows are not to be skipped)."""


@dataclass(frozen=True, slots=True)
class _Spec:
    model: type[m.Base]
    entity: str
    compared: tuple[str, ...]


SPECS: dict[Kind, _Spec] = {
    "patients": _Spec(
        m.Patient,
        "patient",
        (
            "sex",
            "date_of_birth",
            "age_years_at_registration",
            "weight_kg",
            "height_cm",
            "centre",
        ),
    ),
    "products": _Spec(m.Product, "product", ("targets", "costimulatory_domain", "origin")),
    "infusions": _Spec(
        m.Infusion, "infusion", ("infused_at", "product_id", "cell_dose", "cell_dose_unit")
    ),
    "assessments": _Spec(m.AssessmentRecord, "assessment", ("data",)),
    "administrations": _Spec(m.Administration, "administration", ("dose_mg", "route")),
    "labs": _Spec(m.LabValue, "lab", ("value",)),
    "outcomes": _Spec(m.Outcome, "outcome", ("detail",)),
}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def write_rows(
    registry: Registry,
    kind: Kind,
    rows: Sequence[Row],
    *,
    report: ImportReport,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
    note: str | None = None,
) -> None:
    """Write validated ``rows`` of ``kind`` in one transaction, updating ``report``.

    Rows that conflict with the record (or refer to an unknown patient or product) are added to
    ``report.errors``; unless ``skip_bad_rows``, any error rolls the whole file back.
    """
    write_batches(
        registry,
        [(kind, rows, report)],
        skip_bad_rows=skip_bad_rows,
        progress=progress,
        note=note,
    )


def write_batches(
    registry: Registry,
    batches: Sequence[tuple[Kind, Sequence[Row], ImportReport]],
    *,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
    note: str | None = None,
) -> None:
    """Write several kinds (patients first) in ONE transaction: all of them or none."""
    session = Session(registry.engine, expire_on_commit=False)
    counts: list[tuple[ImportReport, int, int]] = []
    try:
        with session.begin():
            _serialise_imports(session)
            for kind, rows, report in batches:
                values, unchanged, errors = _resolve(session, kind, rows)
                report.errors.extend(errors)
                if progress is not None:
                    progress.start("writing", len(values))
                _insert(session, registry.actor, kind, values, progress, note)
                if kind != "patients":
                    by_id = {
                        pid: ref
                        for ref, (pid, _) in _patient_ids(
                            session, (_owner(r) for r in rows)
                        ).items()
                    }
                    report.patients.update(
                        by_id[v["patient_id"]] for _, v in values if "patient_id" in v
                    )
                session.flush()
                counts.append((report, len(values), unchanged))
            if not skip_bad_rows and any(r.errors for _, _, r in batches):
                raise _Abort
        for report, inserted, unchanged in counts:
            report.inserted += inserted
            report.unchanged += unchanged
        for _, _, report in batches:
            report.written = True
    except _Abort:
        for _, _, report in batches:
            report.written = False
    except IntegrityError as exc:
        for _, _, report in batches:
            report.written = False
        batches[0][2].errors.append(
            RowError(
                line=0,
                field=None,
                value=None,
                reason="the registry changed while importing (another import of the same rows?);"
                f" nothing was written, run the import again ({type(exc.orig).__name__})",
            )
        )
    finally:
        session.close()


def _serialise_imports(session: Session) -> None:
    """Take the write lock before reading: concurrent imports then run one after the other,
    and each sees what the one before it committed (its rows become *unchanged*, not errors).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


def product_records(registry: Registry) -> list[dict[str, Any]]:
    """Every product (name, targets, costimulatory domain, origin), by name."""
    with Session(registry.engine) as session:
        rows = session.scalars(select(m.Product).order_by(m.Product.name)).all()
        return [
            {
                "name": r.name,
                "targets": list(r.targets),
                "costimulatory_domain": r.costimulatory_domain,
                "origin": r.origin,
            }
            for r in rows
        ]


def source_keys(registry: Registry) -> dict[int, str]:
    """Assessment id → source key (the repository's views do not carry it yet)."""
    with Session(registry.engine) as session:
        rows = session.execute(select(m.AssessmentRecord.id, m.AssessmentRecord.source_key))
        return {i: key for i, key in rows}


# --- resolving rows against the record -----------------------------------------------------------


def _patient_ids(session: Session, refs: Iterable[str]) -> dict[str, tuple[int, bool]]:
    out: dict[str, tuple[int, bool]] = {}
    for chunk in _chunks(sorted(set(refs)), IN_CHUNK):
        for pid, ref, deleted in session.execute(
            select(m.Patient.id, m.Patient.patient_ref, m.Patient.deleted_at).where(
                m.Patient.patient_ref.in_(chunk)
            )
        ):
            out[ref] = (pid, deleted is not None)
    return out


def _existing(
    session: Session, kind: Kind, keys: Sequence[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    spec = SPECS[kind]
    model: Any = spec.model
    key_columns = _key_columns(kind)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    columns = [getattr(model, c) for c in (*key_columns, *spec.compared)]
    if len(key_columns) == 1:
        values = sorted({k[0] for k in keys})
        filters: Iterable[Any] = (
            getattr(model, key_columns[0]).in_(chunk) for chunk in _chunks(values, IN_CHUNK)
        )
    else:
        pids = sorted({k[0] for k in keys})
        filters = (model.patient_id.in_(chunk) for chunk in _chunks(pids, IN_CHUNK))
    for where in filters:
        for record in session.execute(select(*columns).where(where)):
            key = tuple(record[: len(key_columns)])
            found[key] = dict(zip(spec.compared, record[len(key_columns) :], strict=True))
    return found


def _key_columns(kind: Kind) -> tuple[str, ...]:
    return {
        "patients": ("patient_ref",),
        "products": ("name",),
        "infusions": ("patient_id", "infusion_ref"),
        "assessments": ("patient_id", "assessed_at", "source_key"),
        "administrations": ("patient_id", "given_at", "drug"),
        "labs": ("patient_id", "taken_at", "name"),
        "outcomes": ("patient_id", "kind", "on_date"),
    }[kind]


def _values(row: Row, patient_id: int | None, product_id: int | None) -> dict[str, Any]:
    if isinstance(row, PatientRow):
        return {
            "patient_ref": row.patient_ref,
            "sex": row.sex,
            "date_of_birth": row.date_of_birth,
            "age_years_at_registration": row.age_years_at_registration,
            "weight_kg": row.weight_kg,
            "height_cm": row.height_cm,
            "centre": row.centre,
        }
    if isinstance(row, ProductRow):
        return {
            "name": row.name,
            "targets": list(row.targets),
            "costimulatory_domain": row.costimulatory_domain,
            "origin": row.origin,
        }
    base: dict[str, Any] = {"patient_id": patient_id}
    if isinstance(row, InfusionRow):
        return base | {
            "infusion_ref": row.infusion_ref,
            "infused_at": row.infused_at,
            "product_id": product_id,
            "cell_dose": row.cell_dose,
            "cell_dose_unit": row.cell_dose_unit,
        }
    if isinstance(row, AssessmentRow):
        return base | {
            "assessed_at": row.assessed_at,
            "source_key": row.source_key,
            "data": row.data,
        }
    if isinstance(row, AdministrationRow):
        return base | {
            "given_at": row.given_at,
            "drug": row.drug,
            "dose_mg": row.dose_mg,
            "route": row.route,
        }
    if isinstance(row, LabRow):
        return base | {"taken_at": row.taken_at, "name": row.name, "value": row.value}
    assert isinstance(row, OutcomeRow)
    return base | {"kind": row.kind, "on_date": row.on_date, "detail": row.detail}


def _owner(row: Row) -> str:
    return "" if isinstance(row, ProductRow) else row.patient_ref


def _resolve(
    session: Session, kind: Kind, rows: Sequence[Row]
) -> tuple[list[tuple[int, dict[str, Any]]], int, list[RowError]]:
    """New rows to insert (line, values), the count unchanged, and the conflicts."""
    errors: list[RowError] = []
    patients: dict[str, tuple[int, bool]] = {}
    products: dict[str, int] = {}
    if kind not in ("patients", "products"):
        patients = _patient_ids(session, (_owner(r) for r in rows))
    if kind == "infusions":
        products = {n: i for n, i in session.execute(select(m.Product.name, m.Product.id))}
    resolved: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        pid: int | None = None
        product_id: int | None = None
        if kind not in ("patients", "products"):
            ref = _owner(row)
            found = patients.get(ref)
            if found is None or found[1]:
                state = "was deleted" if found else "is not in the registry; import patients first"
                errors.append(
                    RowError(
                        line=row.line,
                        field="patient_ref",
                        value=ref,
                        reason=f"patient `{ref}` {state}",
                        expected="a registered patient",
                    )
                )
                continue
            pid = found[0]
        if isinstance(row, InfusionRow) and row.product is not None:
            product_id = products.get(row.product)
            if product_id is None:
                errors.append(
                    RowError(
                        line=row.line,
                        field="product",
                        value=row.product,
                        reason=f"no product `{row.product}`; import products first",
                        expected="a registered product",
                    )
                )
                continue
        resolved.append((row.line, _values(row, pid, product_id)))
    key_columns = _key_columns(kind)
    spec = SPECS[kind]
    keys = [tuple(v[c] for c in key_columns) for _, v in resolved]
    stored = _existing(session, kind, keys)
    deleted: set[str] = set()
    if kind == "patients":
        found_patients = _patient_ids(session, (k[0] for k in keys))
        deleted = {ref for ref, (_, gone) in found_patients.items() if gone}
    seen: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    new: list[tuple[int, dict[str, Any]]] = []
    unchanged = 0
    for (line, values), key in zip(resolved, keys, strict=True):
        if key[0] in deleted:
            errors.append(
                RowError(
                    line=line,
                    field="patient_ref",
                    value=key[0],
                    reason=f"patient `{key[0]}` was deleted; an import does not restore it",
                    expected="a patient that is not deleted",
                )
            )
            continue
        earlier = stored.get(key)
        where = "in the registry"
        if earlier is None and key in seen:
            earlier = seen[key][1]
            where = f"on line {seen[key][0]}"
        if earlier is None:
            seen[key] = (line, values)
            new.append((line, values))
            continue
        differing = [c for c in spec.compared if not _same(earlier.get(c), values.get(c))]
        if not differing:
            unchanged += 1
            continue
        name = differing[0]
        errors.append(
            RowError(
                line=line,
                field=name,
                value=_jsonable(values.get(name)),
                reason=f"{spec.entity} {_describe(key_columns, values)} is already recorded "
                f"{where} with {name}={_jsonable(earlier.get(name))!r}; correct it in the "
                "registry (with its version) instead of importing over it",
                expected=str(_jsonable(earlier.get(name))),
            )
        )
    return new, unchanged, errors


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b
    return bool(a == b)


def _describe(key_columns: tuple[str, ...], values: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{c}={_jsonable(values[c])}" for c in key_columns if c != "patient_id"
    ) or str(values)


# --- inserting -----------------------------------------------------------------------------------


def _insert(
    session: Session,
    actor: str,
    kind: Kind,
    rows: Sequence[tuple[int, dict[str, Any]]],
    progress: Progress | None,
    note: str | None,
) -> None:
    spec = SPECS[kind]
    model: Any = spec.model
    columns = [c.key for c in model.__table__.columns]
    now = utc_now()
    for chunk in _chunks(rows, CHUNK_ROWS):
        payload = []
        for _, values in chunk:
            full = dict(values)
            full.update(version=1, created_at=now, updated_at=now, deleted_at=None)
            if kind in ("assessments", "administrations"):
                full["recorded_by"] = actor
            payload.append(full)
        ids = session.scalars(
            insert(model).returning(model.id, sort_by_parameter_order=True), payload
        ).all()
        audit = []
        for (line, _), full, new_id in zip(chunk, payload, ids, strict=True):
            after = {c: _jsonable(full.get(c)) for c in columns}
            after["id"] = new_id
            audit.append(
                {
                    "at": now,
                    "actor": actor,
                    "action": "insert",
                    "entity": spec.entity,
                    "entity_id": new_id,
                    "patient_id": full.get("patient_id"),
                    "before": None,
                    "after": after,
                    "note": f"{note} line {line}" if note else None,
                }
            )
        session.execute(insert(m.AuditEntry), audit)
        if progress is not None:
            progress.advance(len(chunk))


__all__ = [
    "CHUNK_ROWS",
    "Progress",
    "product_records",
    "source_keys",
    "write_batches",
    "write_rows",
]
