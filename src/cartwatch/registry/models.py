"""The registry's tables: SQLAlchemy 2 typed ORM, UTC timestamps, soft deletes, version columns.

Every mutable record carries ``version`` (optimistic concurrency: a stale edit is refused, never
silently overwritten) and ``deleted_at`` (nothing is hard-deleted). The audit table is
append-only; the migration adds triggers that refuse UPDATE and DELETE on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"timestamp {value.isoformat()} has no time zone; give UTC or an offset"
            )
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Versioned:
    """Columns every editable record has."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Patient(Versioned, Base):
    """A pseudonymous patient (no names, no hospital numbers)."""

    __tablename__ = "patients"
    patient_ref: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    sex: Mapped[str | None] = mapped_column(String(8))
    date_of_birth: Mapped[dt.date | None]
    age_years_at_registration: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    centre: Mapped[str | None] = mapped_column(String(64))

    indications: Mapped[list[Indication]] = relationship(back_populates="patient")
    infusions: Mapped[list[Infusion]] = relationship(back_populates="patient")


class Indication(Versioned, Base):
    """Why the patient receives CAR-T: a haematological or autoimmune disease."""

    __tablename__ = "indications"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    disease: Mapped[str] = mapped_column(String(128), nullable=False)
    category: Mapped[str] = mapped_column(String(16), nullable=False)  # haematological|autoimmune
    disease_group: Mapped[str | None] = mapped_column(String(64))
    diagnosed_on: Mapped[dt.date | None]

    patient: Mapped[Patient] = relationship(back_populates="indications")


class Product(Versioned, Base):
    """A CAR-T product: name, targets (one or several), costimulatory domain, origin."""

    __tablename__ = "products"
    name: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    targets: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    costimulatory_domain: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default="autologous")


class Lymphodepletion(Versioned, Base):
    """A lymphodepleting regimen given before an infusion."""

    __tablename__ = "lymphodepletions"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    infusion_id: Mapped[int | None] = mapped_column(ForeignKey("infusions.id"))
    regimen: Mapped[str] = mapped_column(String(64), nullable=False)
    started_on: Mapped[dt.date]
    fludarabine_mg_m2_day: Mapped[float | None] = mapped_column(Float)
    cyclophosphamide_mg_m2_day: Mapped[float | None] = mapped_column(Float)
    days: Mapped[int | None] = mapped_column(Integer)


class Infusion(Versioned, Base):
    """One CAR-T infusion (day 0); several per patient for split, sequential or re-infusion."""

    __tablename__ = "infusions"
    __table_args__ = (UniqueConstraint("patient_id", "infusion_ref"),)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    infusion_ref: Mapped[str] = mapped_column(String(64), nullable=False)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    infused_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    cell_dose: Mapped[float | None] = mapped_column(Float)
    cell_dose_unit: Mapped[str | None] = mapped_column(String(32))

    patient: Mapped[Patient] = relationship(back_populates="infusions")
    product: Mapped[Product | None] = relationship()


class AssessmentRecord(Versioned, Base):
    """One time-stamped bedside assessment; ``data`` holds the contract's fields (canonical)."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("patient_id", "assessed_at", "source_key"),
        Index("ix_assessments_patient_time", "patient_id", "assessed_at"),
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False)
    assessed_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    source_key: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)


class GradeRecord(Base):
    """A stored grade of one assessment under one scale (recomputed by ``regrade``)."""

    __tablename__ = "grades"
    __table_args__ = (UniqueConstraint("assessment_id", "scale"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), nullable=False)
    scale: Mapped[str] = mapped_column(String(32), nullable=False)
    grade: Mapped[int | None] = mapped_column(Integer)
    floor: Mapped[int | None] = mapped_column(Integer)
    ceiling: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(nullable=False)


class Administration(Versioned, Base):
    """A drug given: tocilizumab, steroids, anakinra, antipyretics, antiseizure drugs …"""

    __tablename__ = "administrations"
    __table_args__ = (
        UniqueConstraint("patient_id", "given_at", "drug"),
        Index("ix_administrations_patient_time", "patient_id", "given_at"),
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False)
    given_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    drug: Mapped[str] = mapped_column(String(64), nullable=False)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)


class LabValue(Versioned, Base):
    """A laboratory value under its contract name (canonical unit), e.g. ``ferritin_ng_ml``."""

    __tablename__ = "labs"
    __table_args__ = (
        UniqueConstraint("patient_id", "taken_at", "name"),
        Index("ix_labs_patient_time", "patient_id", "taken_at"),
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False)
    taken_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)


class Outcome(Versioned, Base):
    """Response, relapse or progression, death, last contact."""

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("patient_id", "kind", "on_date"),)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    on_date: Mapped[dt.date] = mapped_column(nullable=False)
    detail: Mapped[str | None] = mapped_column(String(128))


class EpisodeRecord(Base):
    """A derived toxicity episode (recomputed from the record; never edited by hand)."""

    __tablename__ = "episodes"
    __table_args__ = (Index("ix_episodes_patient_scale", "patient_id", "scale"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False)
    infusion_id: Mapped[int | None] = mapped_column(ForeignKey("infusions.id"))
    scale: Mapped[str] = mapped_column(String(32), nullable=False)
    onset_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    onset_day: Mapped[float | None] = mapped_column(Float)
    max_grade: Mapped[int] = mapped_column(Integer, nullable=False)
    max_grade_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    resolved_at: Mapped[dt.datetime | None]
    duration_days: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    derived_at: Mapped[dt.datetime] = mapped_column(nullable=False)


class AuditEntry(Base):
    """Append-only: who changed what, when, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_patient", "patient_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # insert|update|delete|read
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class SavedCohort(Versioned, Base):
    """A named cohort definition (the selection criteria, not a list of patients)."""

    __tablename__ = "cohorts"
    name: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
