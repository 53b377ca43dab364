"""Actions for the current CRS, ICANS and IEC-HS grades together, with doses for this patient.

The protocol (data) lists the actions per syndrome and grade; this module resolves how they
interact: tocilizumab for ICANS only with concurrent CRS; corticosteroids first when ICANS >= 2
occurs with CRS; the same action asked by two syndromes is given once at the stronger level;
a high-dose corticosteroid supersedes a lower one. ASCO 2021; seed 001 §1.4, §2.4; seed 000 §5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cartwatch.errors import InvalidValue
from cartwatch.management.doses import (
    DoseResult,
    DoseStatus,
    OrderSet,
    RedoseDecision,
    action_dose,
    anakinra_order_set,
    siltuximab_dose,
    tocilizumab_dose,
    tocilizumab_redose,
)
from cartwatch.management.protocol import (
    CONSENSUS_DEFAULT,
    LEVEL_RANK,
    ActionKind,
    ActionSpec,
    Level,
    Protocol,
    Syndrome,
    default_protocol,
    format_sources,
)

# [SEED001_TABLE2] §2.4: corticosteroids are first-line for ICANS >= 2; tocilizumab only when
# ICANS occurs with CRS. Interpretation: ASCO 2021 lists tocilizumab first for ICANS with CRS;
# we order corticosteroids first (issue 4; seed 001) and keep tocilizumab for the CRS.
STEROIDS_FIRST_FROM_ICANS_GRADE = 2  # [SEED001_TABLE2] §2.4 "≥2级 ICANS 首选皮质类固醇"
# Standard equivalence (spec §6.2 [I]): dexamethasone 0.75 mg ≈ methylprednisolone 4 mg.
DEXAMETHASONE_MG_PER_METHYLPREDNISOLONE_MG = 0.75 / 4.0  # [ASCO2021] spec §6.2 [I]
# [ASCO2021] an adult guideline: its fixed-mg doses are not computed for children.
# Interpretation: adult from 18 y; weight-based doses (tocilizumab, mg/kg) are computed at any age.
ADULT_AGE_YEARS = 18.0
MAX_GRADE = 5  # [LEE2019] grades 0–5 (5 = death)
DEATH_GRADE = 5  # [LEE2019] grade 5: death

_ORDER: tuple[ActionKind, ...] = (
    ActionKind.ICU,
    ActionKind.SUPPORTIVE_CARE,
    ActionKind.TOCILIZUMAB,
    ActionKind.DEXAMETHASONE,
    ActionKind.METHYLPREDNISOLONE,
    ActionKind.SILTUXIMAB,
    ActionKind.ANAKINRA,
    ActionKind.SEIZURE_PROPHYLAXIS,
    ActionKind.SEIZURE_TREATMENT,
    ActionKind.NEURO_IMAGING,
    ActionKind.EEG,
)
_STEROIDS = (ActionKind.DEXAMETHASONE, ActionKind.METHYLPREDNISOLONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Patient:
    """What ``recommend`` needs to know about the patient (absent = not known)."""

    weight_kg: float | None = None
    age_years: float | None = None
    product: str | None = None
    tocilizumab_dose_times_h: tuple[float, ...] = ()
    current_time_h: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "weight_kg": self.weight_kg,
            "age_years": self.age_years,
            "product": self.product,
            "tocilizumab_dose_times_h": list(self.tocilizumab_dose_times_h),
            "current_time_h": self.current_time_h,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RecommendedAction:
    """One action to take now, with its dose, its sources and where each value came from."""

    kind: ActionKind
    level: Level
    text: str
    for_syndromes: tuple[tuple[Syndrome, int], ...]
    reference: str
    origin: str
    origins: tuple[tuple[str, str], ...]
    dose: DoseResult | None = None
    order_set: OrderSet | None = None
    redose: RedoseDecision | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "kind": self.kind.value,
            "level": self.level.value,
            "text": self.text,
            "for": [{"syndrome": s.value, "grade": g} for s, g in self.for_syndromes],
            "dose": None if self.dose is None else self.dose.to_dict(),
            "order_set": None if self.order_set is None else self.order_set.to_dict(),
            "redose": None if self.redose is None else self.redose.to_dict(),
            "notes": list(self.notes),
            "reference": self.reference,
            "origin": self.origin,
            "origins": dict(self.origins),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """The actions for the current grades together, in the order to act on them."""

    crs_grade: int | None
    icans_grade: int | None
    iechs_grade: int | None
    actions: tuple[RecommendedAction, ...]
    notes: tuple[str, ...]
    not_graded: tuple[str, ...]
    protocol_layers: tuple[str, ...]
    patient: Patient = field(default_factory=Patient)

    def action(self, kind: ActionKind | str) -> RecommendedAction | None:
        """The recommended action of ``kind``, or None."""
        k = ActionKind(kind)
        return next((a for a in self.actions if a.kind is k), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "grades": {
                "crs": self.crs_grade,
                "icans": self.icans_grade,
                "iechs": self.iechs_grade,
            },
            "not_graded": list(self.not_graded),
            "actions": [a.to_dict() for a in self.actions],
            "notes": list(self.notes),
            "protocol_layers": list(self.protocol_layers),
            "patient": self.patient.to_dict(),
        }


def _grade(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRADE:
        raise InvalidValue(
            f"`{name}={value!r}` is not a grade; expected an integer 0–5 or null (not graded)",
            field=name,
            value=value,
            expected="0–5 or null",
        )
    return value


def _daily_mg(spec: ActionSpec, weight_kg: float | None) -> float | None:
    if spec.dose_mg is not None:
        per = spec.dose_mg
    elif spec.dose_mg_per_kg is not None and weight_kg is not None:
        per = spec.dose_mg_per_kg * weight_kg
    else:
        return None
    interval = spec.interval_h or 24.0
    return per * 24.0 / interval


def _dex_equivalent_daily(spec: ActionSpec, weight_kg: float | None) -> float | None:
    daily = _daily_mg(spec, weight_kg)
    if daily is None:
        return None
    if spec.kind is ActionKind.METHYLPREDNISOLONE:
        return daily * DEXAMETHASONE_MG_PER_METHYLPREDNISOLONE_MG
    return daily


def _stronger(a: ActionSpec, b: ActionSpec, weight_kg: float | None) -> ActionSpec:
    ra, rb = LEVEL_RANK[a.level], LEVEL_RANK[b.level]
    if ra != rb:
        return a if ra > rb else b
    da, db = _daily_mg(a, weight_kg), _daily_mg(b, weight_kg)
    if da is not None and db is not None and db > da:
        return b
    return a


def _origin(origins: Sequence[tuple[str, str]]) -> str:
    centre = [o for _, o in origins if o != CONSENSUS_DEFAULT]
    return centre[0] if centre else CONSENSUS_DEFAULT


def recommend(
    *,
    crs_grade: int | None,
    icans_grade: int | None,
    iechs_grade: int | None,
    patient: Patient,
    protocol: Protocol | None = None,
) -> Recommendation:
    """The protocol's actions for the current CRS, ICANS and IEC-HS grades, with doses.

    A grade of None means "not graded": that syndrome contributes nothing and is listed in
    ``not_graded``; actions that depend on CRS (tocilizumab for ICANS) are then withheld.
    ASCO 2021; seed 001 Table 2 and §2.4; seed 000 §5; Hines 2023.
    """
    p = protocol or default_protocol()
    grades = {
        Syndrome.CRS: _grade("crs_grade", crs_grade),
        Syndrome.ICANS: _grade("icans_grade", icans_grade),
        Syndrome.IECHS: _grade("iechs_grade", iechs_grade),
    }
    crs = grades[Syndrome.CRS]
    icans = grades[Syndrome.ICANS]
    notes: list[str] = []
    not_graded = tuple(s.value for s, g in grades.items() if g is None)
    for s in not_graded:
        notes.append(f"{s.upper()} not graded: no {s.upper()} actions included.")

    chosen: dict[ActionKind, ActionSpec] = {}
    asked_by: dict[ActionKind, list[tuple[Syndrome, int]]] = {}
    sources: dict[ActionKind, list[str]] = {}
    texts: dict[ActionKind, list[str]] = {}
    for syndrome, grade in grades.items():
        if grade is None or grade == 0:
            continue
        if grade == DEATH_GRADE:
            notes.append(f"{syndrome.value.upper()} grade 5 (death): no management actions.")
            continue
        for spec in p.actions_for(syndrome, grade):
            if spec.level is Level.OMIT:
                continue
            need = spec.requires_crs_grade_at_least
            if need > 0 and (crs is None or crs < need):
                state = "CRS not graded" if crs is None else f"CRS grade {crs}"
                if spec.kind is ActionKind.TOCILIZUMAB:
                    notes.append(
                        f"Tocilizumab is not recommended for {syndrome.value.upper()} without "
                        f"concurrent CRS ({state}); it may worsen ICANS."
                    )
                else:
                    notes.append(
                        f"{spec.kind.value} for {syndrome.value.upper()} grade {grade} applies "
                        f"only with CRS grade >= {need} ({state})."
                    )
                continue
            if spec.level_with_crs is not None and crs is not None and crs >= 1:
                spec = replace(spec, level=spec.level_with_crs)
            asked_by.setdefault(spec.kind, []).append((syndrome, grade))
            texts.setdefault(spec.kind, []).append(f"{syndrome.value.upper()} {grade}: {spec.text}")
            for src in spec.source:
                if src not in sources.setdefault(spec.kind, []):
                    sources[spec.kind].append(src)
            current = chosen.get(spec.kind)
            chosen[spec.kind] = (
                spec if current is None else _stronger(current, spec, patient.weight_kg)
            )

    dex = chosen.get(ActionKind.DEXAMETHASONE)
    mp = chosen.get(ActionKind.METHYLPREDNISOLONE)
    if dex is not None and mp is not None and dex.level is mp.level is Level.GIVE:
        d_eq = _dex_equivalent_daily(dex, patient.weight_kg)
        m_eq = _dex_equivalent_daily(mp, patient.weight_kg)
        if d_eq is not None and m_eq is not None:
            loser = ActionKind.DEXAMETHASONE if m_eq >= d_eq else ActionKind.METHYLPREDNISOLONE
            winner = ActionKind.METHYLPREDNISOLONE if m_eq >= d_eq else ActionKind.DEXAMETHASONE
            del chosen[loser]
            notes.append(
                f"{loser.value} superseded by the higher-dose {winner.value} "
                f"(dexamethasone-equivalent {max(d_eq, m_eq):.1f} vs {min(d_eq, m_eq):.1f} "
                f"mg/day; 0.75 mg dexamethasone = 4 mg methylprednisolone)."
            )

    steroids_first = (
        icans is not None
        and icans >= STEROIDS_FIRST_FROM_ICANS_GRADE
        and icans != DEATH_GRADE
        and crs is not None
        and crs >= 1
        and any(k in chosen for k in _STEROIDS)
    )
    order = list(_ORDER)
    if steroids_first:
        order.remove(ActionKind.TOCILIZUMAB)
        order.insert(order.index(ActionKind.METHYLPREDNISOLONE) + 1, ActionKind.TOCILIZUMAB)
        notes.append(
            "ICANS >= 2 with concurrent CRS: give corticosteroids first; tocilizumab treats the "
            "CRS and may worsen ICANS (seed 001 §2.4; ASCO 2021)."
        )

    actions: list[RecommendedAction] = []
    for kind in order:
        if kind not in chosen:
            continue
        spec = chosen[kind]
        dose: DoseResult | None = None
        order_set: OrderSet | None = None
        redose: RedoseDecision | None = None
        extra: list[str] = []
        if kind is ActionKind.TOCILIZUMAB:
            if patient.weight_kg is None:
                dose = _missing_weight("tocilizumab", p)
            else:
                dose = tocilizumab_dose(weight_kg=patient.weight_kg, protocol=p)
            if patient.current_time_h is not None:
                redose = tocilizumab_redose(
                    prior_dose_times_h=patient.tocilizumab_dose_times_h,
                    proposed_dose_time_h=patient.current_time_h,
                    protocol=p,
                )
                if not redose.value:
                    extra.append(f"Not now: {redose.reason}.")
                    total = int(p.drug("tocilizumab").number("max_doses_total"))
                    if redose.prior_doses >= total:
                        extra.append(
                            "Tocilizumab exhausted: escalate corticosteroids; consider "
                            "siltuximab or anakinra."
                        )
            if icans is not None and icans >= 1:
                extra.append("Caution: repeated tocilizumab in ICANS (ASCO 2021).")
        elif kind is ActionKind.SILTUXIMAB:
            if patient.weight_kg is None:
                dose = _missing_weight("siltuximab", p)
            else:
                dose = siltuximab_dose(weight_kg=patient.weight_kg, protocol=p)
        elif kind is ActionKind.ANAKINRA:
            order_set = anakinra_order_set(protocol=p)
        else:
            dose = action_dose(action=spec, weight_kg=patient.weight_kg)
            dose = _adult_only(dose, spec, patient, notes)
        origins = list(spec.origins)
        if dose is not None:
            origins.extend((f"dose.{k}", o) for k, o in dose.origins)
        ref_sources = tuple(sources.get(kind, list(spec.source)))
        actions.append(
            RecommendedAction(
                kind=kind,
                level=spec.level,
                text=" | ".join(texts[kind])
                if kind is ActionKind.SUPPORTIVE_CARE and len(texts.get(kind, [])) > 1
                else spec.text,
                for_syndromes=tuple(asked_by.get(kind, [])),
                dose=dose,
                order_set=order_set,
                redose=redose,
                notes=tuple(extra),
                reference=format_sources(ref_sources),
                origin=_origin(origins),
                origins=tuple(origins),
            )
        )
    return Recommendation(
        crs_grade=crs,
        icans_grade=icans,
        iechs_grade=grades[Syndrome.IECHS],
        actions=tuple(actions),
        notes=tuple(dict.fromkeys(notes)),
        not_graded=not_graded,
        protocol_layers=p.layers,
        patient=patient,
    )


def _adult_only(
    dose: DoseResult | None, spec: ActionSpec, patient: Patient, notes: list[str]
) -> DoseResult | None:
    if dose is None or spec.dose_mg is None or spec.dose_mg_per_kg is not None:
        return dose
    if patient.age_years is None:
        notes.append(
            "Fixed-mg doses are adult doses (ASCO 2021); age not given - confirm the patient "
            "is an adult."
        )
        return dose
    if patient.age_years >= ADULT_AGE_YEARS:
        return dose
    return replace(
        dose,
        status=DoseStatus.NOT_APPLICABLE,
        value=None,
        reason=f"fixed adult dose {spec.dose_mg:g} mg not computed for age "
        f"{patient.age_years:g} y (< {ADULT_AGE_YEARS:g}); paediatric dose per centre protocol",
    )


def _missing_weight(drug: str, p: Protocol) -> DoseResult:
    spec = p.drug(drug)
    return DoseResult(
        drug=drug,
        status=DoseStatus.MISSING_INPUT,
        value=None,
        unit="mg",
        reason="weight_kg not given; dose is per kg",
        reference=format_sources(spec.source()),
        missing=("weight_kg",),
    )
