"""The registry's repository: the only code that talks to a database session.

Every write is one transaction and writes its audit row in the same transaction (who, when,
what, before, after). Edits name the version they were made against; a stale edit raises
:class:`~cartwatch.errors.Conflict` instead of overwriting. Nothing is hard-deleted. Records are
returned as frozen views, never as live ORM objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cartwatch.assessment import Assessment, parse_assessment
from cartwatch.errors import Conflict, InvalidValue, NotFound
from cartwatch.registry import models as m
from cartwatch.registry.db import make_engine, session_factory

Clock = Callable[[], dt.datetime]

PATIENT_FIELDS = (
    "sex",
    "date_of_birth",
    "age_years_at_registration",
    "weight_kg",
    "height_cm",
    "centre",
)
SEXES = ("female", "male")
INDICATION_CATEGORIES = ("haematological", "autoimmune")
OUTCOME_KINDS = ("response", "relapse", "progression", "death", "last_contact", "icu_transfer")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _snapshot(row: m.Base) -> dict[str, Any]:
    return {c.key: _jsonable(getattr(row, c.key)) for c in row.__table__.columns}


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientView:
    patient_ref: str
    id: int
    version: int
    sex: str | None
    date_of_birth: dt.date | None
    age_years_at_registration: float | None
    weight_kg: float | None
    height_cm: float | None
    centre: str | None
    deleted: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(getattr(self, k)) for k in self.__slots__}


@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionView:
    infusion_ref: str
    id: int
    patient_ref: str
    infused_at: dt.datetime
    product: str | None
    cell_dose: float | None
    cell_dose_unit: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(getattr(self, k)) for k in self.__slots__}


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentView:
    id: int
    patient_ref: str
    assessed_at: dt.datetime
    version: int
    data: Mapping[str, Any]
    recorded_by: str
    grades: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def assessment(self) -> Assessment:
        return parse_assessment(self.data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "patient_ref": self.patient_ref,
            "assessed_at": self.assessed_at.isoformat(),
            "version": self.version,
            "data": dict(self.data),
            "recorded_by": self.recorded_by,
            "grades": {k: dict(v) for k, v in self.grades.items()},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AdministrationView:
    id: int
    patient_ref: str
    given_at: dt.datetime
    drug: str
    dose_mg: float | None
    route: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(getattr(self, k)) for k in self.__slots__}


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientChart:
    """One patient's record read at once for a page: each assessment's ``grades`` hold the
    stored summary per scale (scale, grade, floor, ceiling, status), not the full result."""

    patient: PatientView
    infusions: tuple[InfusionView, ...]
    assessments: tuple[AssessmentView, ...]
    administrations: tuple[AdministrationView, ...]
    labs: tuple[tuple[dt.datetime, str, float], ...]
    diseases: tuple[str, ...] = ()
    """The recorded indications' disease names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditView:
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
            "note": self.note,
        }


def _require_utc(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise InvalidValue(
            f"`{name}={value.isoformat()}` has no time zone",
            field=name,
            value=value.isoformat(),
            expected="an ISO 8601 time with Z or an offset",
        )
    return value.astimezone(dt.UTC)


class Registry:
    """The persistent record of a centre's CAR-T patients."""

    def __init__(self, engine: Engine, *, actor: str = "system", clock: Clock = utc_now) -> None:
        self.engine = engine
        self.actor = actor
        self._clock = clock
        self._sessions = session_factory(engine)

    @classmethod
    def open(cls, url: str | None = None, *, actor: str = "system") -> Registry:
        """Open (creating or upgrading) the database at ``url`` or the default location."""
        return cls(make_engine(url), actor=actor)

    def as_actor(self, actor: str) -> Registry:
        """The same registry acting for another user (for the audit trail)."""
        return Registry(self.engine, actor=actor, clock=self._clock)

    # --- transactions --------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except StaleDataError:
            raise Conflict(
                "the record was changed by someone else while you edited it; reload and retry",
                field="version",
            ) from None
        finally:
            session.close()

    def _audit(
        self,
        session: Session,
        *,
        action: str,
        row: m.Base | None,
        entity: str,
        patient_id: int | None,
        before: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        session.flush()
        session.add(
            m.AuditEntry(
                at=self._clock(),
                actor=self.actor,
                action=action,
                entity=entity,
                entity_id=getattr(row, "id", None),
                patient_id=patient_id,
                before=before,
                after=_snapshot(row) if row is not None and action != "read" else None,
                note=note,
            )
        )

    def _insert(
        self, session: Session, row: m.Base, *, entity: str, patient_id: int | None
    ) -> None:
        """Add a new (versioned) record, stamped, with its audit row in the same transaction."""
        assert isinstance(row, m.Versioned)
        self._stamp(row)
        session.add(row)
        self._audit(session, action="insert", row=row, entity=entity, patient_id=patient_id)

    def _stamp(self, row: m.Versioned) -> None:
        now = self._clock()
        if getattr(row, "created_at", None) is None:
            row.created_at = now
        row.updated_at = now

    # --- patients ------------------------------------------------------------------------

    def add_patient(
        self,
        *,
        patient_ref: str,
        sex: str | None = None,
        date_of_birth: dt.date | None = None,
        age_years_at_registration: float | None = None,
        weight_kg: float | None = None,
        height_cm: float | None = None,
        centre: str | None = None,
    ) -> PatientView:
        """Register a patient under a pseudonymous reference (unique)."""
        ref = _ref("patient_ref", patient_ref)
        values = _patient_values(
            sex=sex,
            date_of_birth=date_of_birth,
            age_years_at_registration=age_years_at_registration,
            weight_kg=weight_kg,
            height_cm=height_cm,
            centre=centre,
        )
        with self._tx() as session:
            existing = session.scalar(select(m.Patient).where(m.Patient.patient_ref == ref))
            if existing is not None:
                if all(getattr(existing, k) == v for k, v in values.items()):
                    return _patient_view(existing)
                raise Conflict(
                    f"patient `{ref}` already exists with other details; update it instead",
                    field="patient_ref",
                    value=ref,
                )
            row = m.Patient(patient_ref=ref, **values)
            self._insert(session, row, entity="patient", patient_id=None)
            session.flush()
            return _patient_view(row)

    def _patient_row(self, session: Session, patient_ref: str) -> m.Patient:
        row = session.scalar(select(m.Patient).where(m.Patient.patient_ref == patient_ref))
        if row is None or row.deleted_at is not None:
            raise NotFound(f"no patient `{patient_ref}`", field="patient_ref", value=patient_ref)
        return row

    def get_patient(self, patient_ref: str, *, audit_read: bool = True) -> PatientView:
        """One patient; the read is audited."""
        with self._tx() as session:
            row = self._patient_row(session, patient_ref)
            if audit_read:
                self._audit(session, action="read", row=row, entity="patient", patient_id=row.id)
            return _patient_view(row)

    def list_patients(self) -> list[PatientView]:
        """Every patient not deleted, by reference."""
        with self._tx() as session:
            rows = session.scalars(
                select(m.Patient)
                .where(m.Patient.deleted_at.is_(None))
                .order_by(m.Patient.patient_ref)
            )
            return [_patient_view(r) for r in rows]

    def update_patient(
        self, patient_ref: str, *, expected_version: int, **changes: Any
    ) -> PatientView:
        """Edit a patient made against ``expected_version``; a stale edit raises Conflict."""
        unknown = set(changes) - set(PATIENT_FIELDS)
        if unknown:
            raise InvalidValue(
                f"cannot change {', '.join(sorted(unknown))} of a patient",
                field=sorted(unknown)[0],
                value=None,
                expected=", ".join(PATIENT_FIELDS),
            )
        values = _patient_values(**changes)
        with self._tx() as session:
            row = self._patient_row(session, patient_ref)
            _check_version(row, expected_version, f"patient `{patient_ref}`")
            before = _snapshot(row)
            for key, value in values.items():
                setattr(row, key, value)
            self._stamp(row)
            self._audit(
                session,
                action="update",
                row=row,
                entity="patient",
                patient_id=row.id,
                before=before,
            )
            session.flush()
            return _patient_view(row)

    def delete_patient(self, patient_ref: str, *, expected_version: int) -> None:
        """Soft-delete: the patient disappears from lists, the record stays."""
        with self._tx() as session:
            row = self._patient_row(session, patient_ref)
            _check_version(row, expected_version, f"patient `{patient_ref}`")
            before = _snapshot(row)
            row.deleted_at = self._clock()
            self._stamp(row)
            self._audit(
                session,
                action="delete",
                row=row,
                entity="patient",
                patient_id=row.id,
                before=before,
            )

    # --- indications and lymphodepletion ---------------------------------------------------

    def add_indication(
        self,
        patient_ref: str,
        *,
        disease: str,
        category: str,
        disease_group: str | None = None,
        diagnosed_on: dt.date | None = None,
    ) -> None:
        """Record why the patient receives CAR-T (haematological or autoimmune disease)."""
        if category not in INDICATION_CATEGORIES:
            raise InvalidValue(
                f"`category={category}` is not one of: {', '.join(INDICATION_CATEGORIES)}",
                field="category",
                value=category,
                expected=", ".join(INDICATION_CATEGORIES),
            )
        name = disease.strip()
        if not name:
            raise InvalidValue(
                "`disease` is empty", field="disease", value=disease, expected="a disease"
            )
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            existing = session.scalar(
                select(m.Indication).where(
                    m.Indication.patient_id == patient.id, m.Indication.disease == name
                )
            )
            if existing is not None:
                return
            row = m.Indication(
                patient_id=patient.id,
                disease=name,
                category=category,
                disease_group=disease_group,
                diagnosed_on=diagnosed_on,
            )
            self._insert(session, row, entity="indication", patient_id=patient.id)

    def indications(self, patient_ref: str) -> list[dict[str, Any]]:
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            rows = session.scalars(
                select(m.Indication).where(
                    m.Indication.patient_id == patient.id, m.Indication.deleted_at.is_(None)
                )
            ).all()
            return [
                {
                    "disease": r.disease,
                    "category": r.category,
                    "disease_group": r.disease_group,
                    "diagnosed_on": _jsonable(r.diagnosed_on),
                }
                for r in rows
            ]

    def add_lymphodepletion(
        self,
        patient_ref: str,
        *,
        regimen: str,
        started_on: dt.date,
        days: int | None = None,
        fludarabine_mg_m2_day: float | None = None,
        cyclophosphamide_mg_m2_day: float | None = None,
        infusion_ref: str | None = None,
    ) -> None:
        """Record the lymphodepleting regimen (optionally tied to an infusion)."""
        for name, value in (
            ("fludarabine_mg_m2_day", fludarabine_mg_m2_day),
            ("cyclophosphamide_mg_m2_day", cyclophosphamide_mg_m2_day),
        ):
            if value is not None and not 0 <= value <= 5000:
                raise InvalidValue(
                    f"`{name}={value}` is implausible; expected 0–5000 mg/m²/day",
                    field=name,
                    value=value,
                    expected="0–5000 mg/m²/day",
                )
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            infusion_id = None
            if infusion_ref is not None:
                infusion_id = session.scalar(
                    select(m.Infusion.id).where(
                        m.Infusion.patient_id == patient.id, m.Infusion.infusion_ref == infusion_ref
                    )
                )
                if infusion_id is None:
                    raise NotFound(
                        f"no infusion `{infusion_ref}` of `{patient_ref}`",
                        field="infusion_ref",
                        value=infusion_ref,
                    )
            existing = session.scalar(
                select(m.Lymphodepletion).where(
                    m.Lymphodepletion.patient_id == patient.id,
                    m.Lymphodepletion.started_on == started_on,
                    m.Lymphodepletion.regimen == regimen,
                )
            )
            if existing is not None:
                return
            row = m.Lymphodepletion(
                patient_id=patient.id,
                infusion_id=infusion_id,
                regimen=regimen,
                started_on=started_on,
                days=days,
                fludarabine_mg_m2_day=fludarabine_mg_m2_day,
                cyclophosphamide_mg_m2_day=cyclophosphamide_mg_m2_day,
            )
            self._insert(session, row, entity="lymphodepletion", patient_id=patient.id)

    # --- products and infusions ------------------------------------------------------------

    def ensure_product(
        self,
        *,
        name: str,
        targets: Sequence[str],
        costimulatory_domain: str | None = None,
        origin: str = "autologous",
    ) -> int:
        """The id of product ``name``, created if new."""
        if origin not in ("autologous", "allogeneic"):
            raise InvalidValue(
                f"`origin={origin}` is not autologous or allogeneic",
                field="origin",
                value=origin,
                expected="autologous, allogeneic",
            )
        with self._tx() as session:
            row = session.scalar(select(m.Product).where(m.Product.name == name))
            if row is not None:
                return row.id
            row = m.Product(
                name=name,
                targets=list(targets),
                costimulatory_domain=costimulatory_domain,
                origin=origin,
            )
            self._insert(session, row, entity="product", patient_id=None)
            return row.id

    def products(self) -> dict[str, dict[str, Any]]:
        """Every product by name: targets, costimulatory domain, origin."""
        with self._tx() as session:
            rows = session.scalars(select(m.Product)).all()
            return {
                r.name: {
                    "targets": list(r.targets),
                    "costimulatory_domain": r.costimulatory_domain,
                    "origin": r.origin,
                }
                for r in rows
            }

    def add_infusion(
        self,
        patient_ref: str,
        *,
        infusion_ref: str,
        infused_at: dt.datetime,
        product: str | None = None,
        cell_dose: float | None = None,
        cell_dose_unit: str | None = None,
    ) -> InfusionView:
        """Record a CAR-T infusion (day 0). Re-adding the same one changes nothing."""
        at = _require_utc("infused_at", infused_at)
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            product_id = None
            if product is not None:
                product_id = session.scalar(select(m.Product.id).where(m.Product.name == product))
                if product_id is None:
                    raise NotFound(
                        f"no product `{product}`; add it first", field="product", value=product
                    )
            existing = session.scalar(
                select(m.Infusion).where(
                    m.Infusion.patient_id == patient.id, m.Infusion.infusion_ref == infusion_ref
                )
            )
            if existing is not None:
                if existing.infused_at == at and existing.product_id == product_id:
                    return _infusion_view(existing, patient_ref, product)
                raise Conflict(
                    f"infusion `{infusion_ref}` of `{patient_ref}` exists with other details",
                    field="infusion_ref",
                    value=infusion_ref,
                )
            row = m.Infusion(
                patient_id=patient.id,
                infusion_ref=infusion_ref,
                product_id=product_id,
                infused_at=at,
                cell_dose=cell_dose,
                cell_dose_unit=cell_dose_unit,
            )
            self._insert(session, row, entity="infusion", patient_id=patient.id)
            session.flush()
            return _infusion_view(row, patient_ref, product)

    def infusions(self, patient_ref: str) -> list[InfusionView]:
        """The patient's infusions in time order."""
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            rows = session.execute(
                select(m.Infusion, m.Product.name)
                .outerjoin(m.Product, m.Product.id == m.Infusion.product_id)
                .where(m.Infusion.patient_id == patient.id, m.Infusion.deleted_at.is_(None))
                .order_by(m.Infusion.infused_at)
            ).all()
            return [_infusion_view(r, patient_ref, name) for r, name in rows]

    # --- assessments -----------------------------------------------------------------------

    def record_assessment(
        self,
        patient_ref: str,
        *,
        assessed_at: dt.datetime,
        data: Mapping[str, Any] | Assessment,
        source_key: str = "",
        grades: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> AssessmentView:
        """Store one assessment (validated, canonical units) with its grades.

        The same assessment recorded again (same patient, time and source key, same content)
        changes nothing; different content at the same key raises Conflict.
        """
        at = _require_utc("assessed_at", assessed_at)
        canonical = parse_assessment(data).to_dict()
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            existing = session.scalar(
                select(m.AssessmentRecord).where(
                    m.AssessmentRecord.patient_id == patient.id,
                    m.AssessmentRecord.assessed_at == at,
                    m.AssessmentRecord.source_key == source_key,
                )
            )
            if existing is not None:
                if existing.data == canonical:
                    return self._assessment_view(session, existing, patient_ref)
                raise Conflict(
                    f"an assessment of `{patient_ref}` at {at.isoformat()} already exists with "
                    "other findings; edit it with its version instead",
                    field="assessed_at",
                    value=at.isoformat(),
                )
            row = m.AssessmentRecord(
                patient_id=patient.id,
                assessed_at=at,
                source_key=source_key,
                data=canonical,
                recorded_by=self.actor,
            )
            self._insert(session, row, entity="assessment", patient_id=patient.id)
            if grades:
                self._store_grades(session, row.id, grades)
            session.flush()
            return self._assessment_view(session, row, patient_ref)

    def update_assessment(
        self, assessment_id: int, *, expected_version: int, data: Mapping[str, Any]
    ) -> AssessmentView:
        """Correct an assessment made against ``expected_version`` (stale → Conflict)."""
        canonical = parse_assessment(data).to_dict()
        with self._tx() as session:
            row = session.get(m.AssessmentRecord, assessment_id)
            if row is None or row.deleted_at is not None:
                raise NotFound(
                    f"no assessment {assessment_id}", field="assessment_id", value=assessment_id
                )
            _check_version(row, expected_version, f"assessment {assessment_id}")
            before = _snapshot(row)
            row.data = canonical
            self._stamp(row)
            for grade in session.scalars(
                select(m.GradeRecord).where(m.GradeRecord.assessment_id == row.id)
            ):
                session.delete(grade)
            self._audit(
                session,
                action="update",
                row=row,
                entity="assessment",
                patient_id=row.patient_id,
                before=before,
            )
            session.flush()
            ref = session.scalar(
                select(m.Patient.patient_ref).where(m.Patient.id == row.patient_id)
            )
            return self._assessment_view(session, row, ref or "")

    def store_grades(self, assessment_id: int, grades: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the stored grades of one assessment (after grading or regrading)."""
        with self._tx() as session:
            for old in session.scalars(
                select(m.GradeRecord).where(m.GradeRecord.assessment_id == assessment_id)
            ):
                session.delete(old)
            session.flush()
            self._store_grades(session, assessment_id, grades)

    def _store_grades(
        self, session: Session, assessment_id: int, grades: Mapping[str, Mapping[str, Any]]
    ) -> None:
        now = self._clock()
        for scale, result in grades.items():
            session.add(
                m.GradeRecord(
                    assessment_id=assessment_id,
                    scale=scale,
                    grade=result.get("grade"),
                    floor=result.get("floor"),
                    ceiling=result.get("ceiling"),
                    status=str(result.get("status")),
                    result=dict(result),
                    computed_at=now,
                )
            )

    def _assessment_view(
        self, session: Session, row: m.AssessmentRecord, patient_ref: str
    ) -> AssessmentView:
        grades = {
            g.scale: dict(g.result)
            for g in session.scalars(
                select(m.GradeRecord).where(m.GradeRecord.assessment_id == row.id)
            )
        }
        return AssessmentView(
            id=row.id,
            patient_ref=patient_ref,
            assessed_at=row.assessed_at,
            version=row.version,
            data=dict(row.data),
            recorded_by=row.recorded_by,
            grades=grades,
        )

    def assessments(self, patient_ref: str) -> list[AssessmentView]:
        """The patient's assessments in time order, with stored grades."""
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            rows = session.scalars(
                select(m.AssessmentRecord)
                .where(
                    m.AssessmentRecord.patient_id == patient.id,
                    m.AssessmentRecord.deleted_at.is_(None),
                )
                .order_by(m.AssessmentRecord.assessed_at, m.AssessmentRecord.id)
            ).all()
            grades: dict[int, dict[str, dict[str, Any]]] = {r.id: {} for r in rows}
            if rows:
                for assessment_id, scale, result in session.execute(
                    select(m.GradeRecord.assessment_id, m.GradeRecord.scale, m.GradeRecord.result)
                    .join(m.AssessmentRecord, m.AssessmentRecord.id == m.GradeRecord.assessment_id)
                    .where(
                        m.AssessmentRecord.patient_id == patient.id,
                        m.AssessmentRecord.deleted_at.is_(None),
                    )
                ):
                    if assessment_id in grades:
                        grades[assessment_id][scale] = dict(result)
            return [
                AssessmentView(
                    id=r.id,
                    patient_ref=patient_ref,
                    assessed_at=r.assessed_at,
                    version=r.version,
                    data=dict(r.data),
                    recorded_by=r.recorded_by,
                    grades=grades[r.id],
                )
                for r in rows
            ]

    def charts(
        self,
        patient_ref: str | None = None,
        *,
        latest_grades_only: bool = False,
        audit_note: str | None = None,
        lab_names: Collection[str] | None = None,
    ) -> list[PatientChart]:
        """The records of one patient (NotFound if unknown) or of every patient not deleted,
        one query per table in one transaction (pages must not query per row). With
        ``latest_grades_only`` only the latest assessment of each patient carries its grades.
        With ``audit_note`` each patient's read is audited in the same transaction. With
        ``lab_names`` only those laboratory tests are read."""
        with self._tx() as session:
            if patient_ref is not None:
                patients = [self._patient_row(session, patient_ref)]
            else:
                patients = list(
                    session.scalars(
                        select(m.Patient)
                        .where(m.Patient.deleted_at.is_(None))
                        .order_by(m.Patient.patient_ref)
                    )
                )
            ids = [p.id for p in patients]
            refs = {p.id: p.patient_ref for p in patients}
            one = patient_ref is not None

            def of(column: Any) -> Any:
                return column == ids[0] if one else column.in_(ids)

            infusions: dict[int, list[InfusionView]] = {i: [] for i in ids}
            if ids:
                for inf, name in session.execute(
                    select(m.Infusion, m.Product.name)
                    .outerjoin(m.Product, m.Product.id == m.Infusion.product_id)
                    .where(of(m.Infusion.patient_id), m.Infusion.deleted_at.is_(None))
                    .order_by(m.Infusion.infused_at)
                ):
                    infusions[inf.patient_id].append(
                        _infusion_view(inf, refs[inf.patient_id], name)
                    )
            rows: dict[int, list[Any]] = {i: [] for i in ids}
            if ids:
                for row in session.execute(
                    select(
                        m.AssessmentRecord.id,
                        m.AssessmentRecord.patient_id,
                        m.AssessmentRecord.assessed_at,
                        m.AssessmentRecord.version,
                        m.AssessmentRecord.data,
                        m.AssessmentRecord.recorded_by,
                    )
                    .where(
                        of(m.AssessmentRecord.patient_id),
                        m.AssessmentRecord.deleted_at.is_(None),
                    )
                    .order_by(m.AssessmentRecord.assessed_at, m.AssessmentRecord.id)
                ):
                    rows[row.patient_id].append(row)
            grades: dict[int, dict[str, dict[str, Any]]] = {}
            query: Any = select(
                m.GradeRecord.assessment_id,
                m.GradeRecord.scale,
                m.GradeRecord.grade,
                m.GradeRecord.floor,
                m.GradeRecord.ceiling,
                m.GradeRecord.status,
            )
            if latest_grades_only:
                latest = [r[-1].id for r in rows.values() if r]
                query = query.where(m.GradeRecord.assessment_id.in_(latest)) if latest else None
            elif ids:
                query = query.join(
                    m.AssessmentRecord, m.AssessmentRecord.id == m.GradeRecord.assessment_id
                ).where(of(m.AssessmentRecord.patient_id))
            else:
                query = None
            if query is not None:
                for aid, scale, grade, floor, ceiling, status in session.execute(query):
                    found = grades.get(aid)
                    if found is None:
                        found = grades[aid] = {}
                    found[scale] = {
                        "scale": scale,
                        "grade": grade,
                        "floor": floor,
                        "ceiling": ceiling,
                        "status": status,
                    }
            given: dict[int, list[AdministrationView]] = {i: [] for i in ids}
            if ids:
                for a in session.scalars(
                    select(m.Administration)
                    .where(of(m.Administration.patient_id), m.Administration.deleted_at.is_(None))
                    .order_by(m.Administration.given_at)
                ):
                    given[a.patient_id].append(_administration_view(a, refs[a.patient_id]))
            labs: dict[int, list[tuple[dt.datetime, str, float]]] = {i: [] for i in ids}
            if ids:
                for lab in session.execute(
                    select(
                        m.LabValue.patient_id,
                        m.LabValue.taken_at,
                        m.LabValue.name,
                        m.LabValue.value,
                    )
                    .where(
                        of(m.LabValue.patient_id),
                        m.LabValue.deleted_at.is_(None),
                        *(() if lab_names is None else (m.LabValue.name.in_(tuple(lab_names)),)),
                    )
                    .order_by(m.LabValue.taken_at, m.LabValue.name)
                ):
                    labs[lab.patient_id].append((lab.taken_at, lab.name, lab.value))
            diseases: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                for patient_id, disease in session.execute(
                    select(m.Indication.patient_id, m.Indication.disease).where(
                        of(m.Indication.patient_id), m.Indication.deleted_at.is_(None)
                    )
                ):
                    diseases[patient_id].append(disease)
            if audit_note is not None:
                for p in patients:
                    self._audit(
                        session,
                        action="read",
                        row=p,
                        entity="patient",
                        patient_id=p.id,
                        note=audit_note,
                    )
            return [
                PatientChart(
                    patient=_patient_view(p),
                    infusions=tuple(infusions[p.id]),
                    assessments=tuple(
                        AssessmentView(
                            id=r.id,
                            patient_ref=p.patient_ref,
                            assessed_at=r.assessed_at,
                            version=r.version,
                            data=dict(r.data),
                            recorded_by=r.recorded_by,
                            grades=grades.get(r.id, {}),
                        )
                        for r in rows[p.id]
                    ),
                    administrations=tuple(given[p.id]),
                    labs=tuple(labs[p.id]),
                    diseases=tuple(diseases[p.id]),
                )
                for p in patients
            ]

    # --- administrations, labs, outcomes ------------------------------------------------------

    def add_administration(
        self,
        patient_ref: str,
        *,
        given_at: dt.datetime,
        drug: str,
        dose_mg: float | None = None,
        route: str | None = None,
    ) -> AdministrationView:
        """Record a drug given; the same record again changes nothing."""
        at = _require_utc("given_at", given_at)
        name = drug.strip().lower()
        if not name:
            raise InvalidValue("`drug` is empty", field="drug", value=drug, expected="a drug name")
        if dose_mg is not None and not 0 <= dose_mg <= 100_000:
            raise InvalidValue(
                f"`dose_mg={dose_mg}` is implausible; expected 0–100,000 mg",
                field="dose_mg",
                value=dose_mg,
                expected="0–100,000 mg",
            )
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            existing = session.scalar(
                select(m.Administration).where(
                    m.Administration.patient_id == patient.id,
                    m.Administration.given_at == at,
                    m.Administration.drug == name,
                )
            )
            if existing is not None:
                if existing.dose_mg == dose_mg and existing.route == route:
                    return _administration_view(existing, patient_ref)
                raise Conflict(
                    f"{name} at {at.isoformat()} is recorded for `{patient_ref}` with another dose",
                    field="given_at",
                    value=at.isoformat(),
                )
            row = m.Administration(
                patient_id=patient.id,
                given_at=at,
                drug=name,
                dose_mg=dose_mg,
                route=route,
                recorded_by=self.actor,
            )
            self._insert(session, row, entity="administration", patient_id=patient.id)
            session.flush()
            return _administration_view(row, patient_ref)

    def administrations(self, patient_ref: str) -> list[AdministrationView]:
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            rows = session.scalars(
                select(m.Administration)
                .where(
                    m.Administration.patient_id == patient.id, m.Administration.deleted_at.is_(None)
                )
                .order_by(m.Administration.given_at)
            ).all()
            return [_administration_view(r, patient_ref) for r in rows]

    def add_lab(self, patient_ref: str, *, taken_at: dt.datetime, name: str, value: float) -> None:
        """Record a laboratory value under its contract name (validated as in an assessment)."""
        at = _require_utc("taken_at", taken_at)
        canonical = parse_assessment({name: value}).to_dict()
        ((field_name, field_value),) = canonical.items()
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            existing = session.scalar(
                select(m.LabValue).where(
                    m.LabValue.patient_id == patient.id,
                    m.LabValue.taken_at == at,
                    m.LabValue.name == field_name,
                )
            )
            if existing is not None:
                if existing.value == field_value:
                    return
                raise Conflict(
                    f"{field_name} at {at.isoformat()} is already recorded for `{patient_ref}`",
                    field="taken_at",
                    value=at.isoformat(),
                )
            row = m.LabValue(
                patient_id=patient.id, taken_at=at, name=field_name, value=float(field_value)
            )
            self._insert(session, row, entity="lab", patient_id=patient.id)

    def labs(self, patient_ref: str) -> list[tuple[dt.datetime, str, float]]:
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            rows = session.scalars(
                select(m.LabValue)
                .where(m.LabValue.patient_id == patient.id, m.LabValue.deleted_at.is_(None))
                .order_by(m.LabValue.taken_at, m.LabValue.name)
            ).all()
            return [(r.taken_at, r.name, r.value) for r in rows]

    def add_outcome(
        self, patient_ref: str, *, kind: str, on_date: dt.date, detail: str | None = None
    ) -> None:
        """Record a response, relapse/progression, death or last contact."""
        kinds = OUTCOME_KINDS
        if kind not in kinds:
            raise InvalidValue(
                f"`kind={kind}` is not an outcome",
                field="kind",
                value=kind,
                expected=", ".join(kinds),
            )
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            existing = session.scalar(
                select(m.Outcome).where(
                    m.Outcome.patient_id == patient.id,
                    m.Outcome.kind == kind,
                    m.Outcome.on_date == on_date,
                )
            )
            if existing is not None:
                return
            row = m.Outcome(patient_id=patient.id, kind=kind, on_date=on_date, detail=detail)
            self._insert(session, row, entity="outcome", patient_id=patient.id)

    def outcomes(self, patient_ref: str) -> list[tuple[str, dt.date, str | None]]:
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            rows = session.scalars(
                select(m.Outcome)
                .where(m.Outcome.patient_id == patient.id)
                .order_by(m.Outcome.on_date)
            ).all()
            return [(r.kind, r.on_date, r.detail) for r in rows]

    # --- episodes --------------------------------------------------------------------------------

    def replace_episodes(
        self, patient_ref: str, *, scale: str, episodes: Sequence[Mapping[str, Any]]
    ) -> None:
        """Replace the derived episodes of one patient under one scale (derived data: no audit)."""
        now = self._clock()
        with self._tx() as session:
            patient = self._patient_row(session, patient_ref)
            for old in session.scalars(
                select(m.EpisodeRecord).where(
                    m.EpisodeRecord.patient_id == patient.id, m.EpisodeRecord.scale == scale
                )
            ):
                session.delete(old)
            session.flush()
            refs = {
                i.infusion_ref: i.id
                for i in session.scalars(
                    select(m.Infusion).where(m.Infusion.patient_id == patient.id)
                )
            }
            for e in episodes:
                session.add(
                    m.EpisodeRecord(
                        patient_id=patient.id,
                        infusion_id=refs.get(str(e.get("infusion_id"))),
                        scale=scale,
                        onset_at=_parse_time(e["onset_at"]),
                        onset_day=e.get("onset_day"),
                        max_grade=int(e["max_grade"]),
                        max_grade_at=_parse_time(e["max_grade_at"]),
                        resolved_at=_parse_time(e["resolved_at"]) if e.get("resolved_at") else None,
                        duration_days=e.get("duration_days"),
                        detail={k: _jsonable(v) for k, v in e.items()},
                        derived_at=now,
                    )
                )

    def episodes(
        self, patient_ref: str | None = None, *, scale: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored episodes (of one patient, or of everyone) as dicts, in onset order."""
        with self._tx() as session:
            query = select(m.EpisodeRecord, m.Patient.patient_ref).join(
                m.Patient, m.Patient.id == m.EpisodeRecord.patient_id
            )
            if patient_ref is not None:
                query = query.where(m.Patient.patient_ref == patient_ref)
            if scale is not None:
                query = query.where(m.EpisodeRecord.scale == scale)
            rows = session.execute(
                query.where(m.Patient.deleted_at.is_(None)).order_by(
                    m.Patient.patient_ref, m.EpisodeRecord.scale, m.EpisodeRecord.onset_at
                )
            ).all()
            return [{**row.detail, "patient_id": ref, "scale": row.scale} for row, ref in rows]

    # --- named cohorts ------------------------------------------------------------------------

    def save_cohort(self, name: str, definition: Mapping[str, Any]) -> None:
        """Save (or replace) a named cohort definition; audited."""
        label = name.strip()
        if not label or len(label) > 128:
            raise InvalidValue(
                f"`name={name!r}` must be 1–128 characters",
                field="name",
                value=name,
                expected="a cohort name",
            )
        with self._tx() as session:
            row = session.scalar(select(m.SavedCohort).where(m.SavedCohort.name == label))
            before = _snapshot(row) if row is not None else None
            if row is None:
                row = m.SavedCohort(name=label, definition=dict(definition), created_by=self.actor)
                session.add(row)
            else:
                row.definition = dict(definition)
                row.deleted_at = None
            self._stamp(row)
            self._audit(
                session,
                action="insert" if before is None else "update",
                row=row,
                entity="cohort",
                patient_id=None,
                before=before,
            )

    def cohort_definition(self, name: str) -> dict[str, Any]:
        """The saved definition of cohort ``name``."""
        with self._tx() as session:
            row = session.scalar(select(m.SavedCohort).where(m.SavedCohort.name == name))
            if row is None or row.deleted_at is not None:
                raise NotFound(f"no saved cohort `{name}`", field="cohort", value=name)
            return dict(row.definition)

    def cohorts(self) -> list[dict[str, Any]]:
        """Every saved cohort: name, definition, who saved it, when."""
        with self._tx() as session:
            rows = session.scalars(
                select(m.SavedCohort)
                .where(m.SavedCohort.deleted_at.is_(None))
                .order_by(m.SavedCohort.name)
            ).all()
            return [
                {
                    "name": r.name,
                    "definition": dict(r.definition),
                    "created_by": r.created_by,
                    "updated_at": r.updated_at.isoformat(),
                }
                for r in rows
            ]

    # --- audit ---------------------------------------------------------------------------------

    def audit_trail(self, patient_ref: str) -> list[AuditView]:
        """Every recorded change and read of one patient's record, oldest first."""
        with self._tx() as session:
            row = session.scalar(select(m.Patient).where(m.Patient.patient_ref == patient_ref))
            if row is None:
                raise NotFound(
                    f"no patient `{patient_ref}`", field="patient_ref", value=patient_ref
                )
            entries = session.scalars(
                select(m.AuditEntry)
                .where(
                    (m.AuditEntry.patient_id == row.id)
                    | ((m.AuditEntry.entity == "patient") & (m.AuditEntry.entity_id == row.id))
                )
                .order_by(m.AuditEntry.id)
            ).all()
            return [
                AuditView(
                    at=e.at,
                    actor=e.actor,
                    action=e.action,
                    entity=e.entity,
                    entity_id=e.entity_id,
                    before=e.before,
                    after=e.after,
                    note=e.note,
                )
                for e in entries
            ]

    def audit_count(self) -> int:
        """Rows in the audit log (for the reliability checks)."""
        from sqlalchemy import func

        with self._tx() as session:
            return int(session.scalar(select(func.count()).select_from(m.AuditEntry)) or 0)


def _parse_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return _require_utc("time", value)
    return _require_utc("time", dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _ref(name: str, value: str) -> str:
    ref = value.strip() if isinstance(value, str) else ""
    if not ref or len(ref) > 64 or any(c.isspace() for c in ref):
        raise InvalidValue(
            f"`{name}={value!r}` must be 1–64 characters without spaces",
            field=name,
            value=value,
            expected="a pseudonymous id such as P-0001",
        )
    return ref


def _patient_values(**values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            out[key] = None
            continue
        if key == "sex" and value not in SEXES:
            raise InvalidValue(
                f"`sex={value}` is not female or male",
                field="sex",
                value=value,
                expected="female, male",
            )
        if key in ("weight_kg", "height_cm", "age_years_at_registration"):
            contract = {
                "weight_kg": "weight_kg",
                "height_cm": "height_cm",
                "age_years_at_registration": "age_years",
            }
            parse_assessment({contract[key]: value})
            value = float(value)
        if key == "date_of_birth" and not isinstance(value, dt.date):
            value = dt.date.fromisoformat(str(value))
        out[key] = value
    return out


def _check_version(row: m.Versioned, expected: int, what: str) -> None:
    if row.version != expected:
        raise Conflict(
            f"{what} was changed by someone else (now version {row.version}, you edited version "
            f"{expected}); reload and retry",
            field="version",
            value=expected,
            expected=str(row.version),
        )


def _patient_view(row: m.Patient) -> PatientView:
    return PatientView(
        patient_ref=row.patient_ref,
        id=row.id,
        version=row.version,
        sex=row.sex,
        date_of_birth=row.date_of_birth,
        age_years_at_registration=row.age_years_at_registration,
        weight_kg=row.weight_kg,
        height_cm=row.height_cm,
        centre=row.centre,
        deleted=row.deleted_at is not None,
    )


def _infusion_view(row: m.Infusion, patient_ref: str, product: str | None) -> InfusionView:
    return InfusionView(
        infusion_ref=row.infusion_ref,
        id=row.id,
        patient_ref=patient_ref,
        infused_at=row.infused_at,
        product=product,
        cell_dose=row.cell_dose,
        cell_dose_unit=row.cell_dose_unit,
    )


def _administration_view(row: m.Administration, patient_ref: str) -> AdministrationView:
    return AdministrationView(
        id=row.id,
        patient_ref=patient_ref,
        given_at=row.given_at,
        drug=row.drug,
        dose_mg=row.dose_mg,
        route=row.route,
    )


__all__ = [
    "AdministrationView",
    "AssessmentView",
    "AuditView",
    "InfusionView",
    "IntegrityError",
    "PatientChart",
    "PatientView",
    "Registry",
]
