"""The assessment form and the side-by-side scales view.

The form has one definition, :data:`FORM`: the contract fields it shows, in order, by group.
Every widget (kind, unit, plausible range, choices) is generated from
:data:`cartwatch.assessment.FIELDS`, the ICE item points from ``ICE_ITEM_POINTS`` and the oxygen
ranges from the contract, so the form cannot drift from what the parser accepts. The bedside
calculator at ``/`` and the patient's assessment page render the same widgets with the same
script (``static/grade.js``).

Which neurological tool is shown follows the ASTCT 2019 age rule (reference/clinical-spec.md):
CAPD for children under 12, ICE from 12 years; when the record gives no age, both are shown and
the page says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cartwatch import episodes as ep
from cartwatch.assessment import (
    CAPD_ITEM_MAX,
    CAPD_ITEMS,
    FIELDS,
    FIO2_RANGE,
    ICE_ITEM_POINTS,
    OXYGEN_FLOW_RANGE,
    OxygenDevice,
    exact_age_years,
)
from cartwatch.errors import NotFound
from cartwatch.grading.registry import all_scales
from cartwatch.registry.repository import AssessmentView, PatientView, Registry
from cartwatch.services.record import grade_for_storage, patient_context, stored_scales

PEDIATRIC_AGE_YEARS = 12.0
"""ASTCT 2019: CAPD instead of ICE for children under 12 years (reference/clinical-spec.md)."""

LIVE_SYNDROMES = ("crs", "icans")


@dataclass(frozen=True, slots=True)
class Widget:
    """One input of the form, generated from the contract."""

    name: str
    label: str
    kind: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    step: str = "any"
    choices: tuple[str, ...] = ()
    help: str = ""
    tool: str = ""
    value_kind: str = "text"


@dataclass(frozen=True, slots=True)
class Group:
    """A fieldset of the form."""

    title: str
    widgets: tuple[Widget, ...]
    tool: str = ""


def _label(meaning: str, unit: str | None) -> str:
    text = meaning[:1].upper() + meaning[1:]
    return f"{text} ({unit})" if unit else text


def _widget(name: str) -> Widget:
    spec = FIELDS[name]
    if spec.kind == "enum" and spec.enum is not None:
        return Widget(
            name,
            _label(spec.meaning, None),
            "select",
            choices=tuple(m.value for m in spec.enum),
        )
    if spec.kind == "bool":
        return Widget(
            name, _label(spec.meaning, None), "select", choices=("yes", "no"), value_kind="bool"
        )
    if spec.kind in ("number", "int"):
        return Widget(
            name,
            _label(spec.meaning, spec.unit),
            spec.kind,
            unit=spec.unit or "",
            low=spec.low,
            high=spec.high,
            step="1" if spec.kind == "int" else "any",
            value_kind=spec.kind,
        )
    raise ValueError(f"the form has no widget for `{name}` (kind {spec.kind})")


def _enum_widget(name: str, label: str, enum: type[StrEnum]) -> Widget:
    return Widget(name, label, "select", choices=tuple(m.value for m in enum))


def _oxygen() -> tuple[Widget, ...]:
    return (
        _enum_widget("oxygen.device", "Oxygen device", OxygenDevice),
        Widget(
            "oxygen.flow_l_min",
            "Oxygen flow (L/min)",
            "number",
            unit="L/min",
            low=OXYGEN_FLOW_RANGE[0],
            high=OXYGEN_FLOW_RANGE[1],
            value_kind="number",
        ),
        Widget(
            "oxygen.fio2",
            f"FiO2 ({FIO2_RANGE[0]:g}–{FIO2_RANGE[1]:g})",
            "number",
            low=FIO2_RANGE[0],
            high=FIO2_RANGE[1],
            value_kind="number",
        ),
    )


def _ice_items() -> tuple[Widget, ...]:
    return tuple(
        Widget(
            f"ice.{item}",
            f"ICE {item} (0–{points} points)",
            "select",
            choices=tuple(str(p) for p in range(points + 1)),
            tool="ice",
            value_kind="int",
        )
        for item, points in ICE_ITEM_POINTS.items()
    )


def form_groups(*, ice_total: bool, ask_age: bool) -> tuple[Group, ...]:
    """The form's fieldsets; optionally the age, and an ICE total typed whole (calculator)."""
    capd_spec = _widget("capd_score")
    capd = Widget(
        capd_spec.name,
        f"CAPD score (0–{CAPD_ITEMS * CAPD_ITEM_MAX}, children under 12)",
        capd_spec.kind,
        low=capd_spec.low,
        high=capd_spec.high,
        step=capd_spec.step,
        tool="capd",
        value_kind="int",
    )
    ice: tuple[Widget, ...] = _ice_items()
    if ice_total:
        total = _widget("ice_total")
        ice = (
            Widget(
                total.name,
                "ICE total (0–10), instead of the items",
                total.kind,
                low=total.low,
                high=total.high,
                step="1",
                tool="ice",
                value_kind="int",
            ),
            *ice,
        )
    patient: tuple[Widget, ...] = (_widget("age_years"),) if ask_age else ()
    return (
        Group("CRS findings", (_widget("temperature_c"), _widget("hypotension"), *_oxygen())),
        Group("ICE (immune effector cell encephalopathy score)", ice, tool="ice"),
        Group("CAPD (Cornell assessment of pediatric delirium)", (capd,), tool="capd"),
        Group(
            "Neurological findings",
            (
                *patient,
                _widget("consciousness"),
                _widget("seizure"),
                _widget("motor"),
                _widget("icp_edema"),
            ),
        ),
    )


def live_scales() -> list[dict[str, str]]:
    """The scales graded live on the form (every CRS and ICANS scale)."""
    return [{"id": s.id, "title": s.title} for s in all_scales() if s.syndrome in LIVE_SYNDROMES]


@dataclass(frozen=True, slots=True)
class AgeRule:
    """Which neurological tool to show, and why."""

    age_years: float | None
    source: str
    show_ice: bool
    show_capd: bool
    note: str


def age_rule(patient: PatientView, views: Sequence[AssessmentView], now: dt.datetime) -> AgeRule:
    """The age the record gives (date of birth, else the latest assessment that recorded one;
    never the age at registration) and the tool the ASTCT 2019 age rule selects."""
    age: float | None = None
    source = ""
    if patient.date_of_birth is not None:
        age = exact_age_years(patient.date_of_birth, now.date())
        source = "date of birth"
    else:
        for view in reversed(views):
            value = view.data.get("age_years")
            if isinstance(value, int | float) and not isinstance(value, bool):
                age = float(value)
                source = f"assessment of {view.assessed_at:%Y-%m-%d %H:%M}"
                break
    if age is None:
        return AgeRule(
            None,
            "",
            True,
            True,
            "Age not recorded: ICE and CAPD are both shown (CAPD applies under 12 years).",
        )
    child = age < PEDIATRIC_AGE_YEARS
    tool = "CAPD" if child else "ICE"
    return AgeRule(
        age,
        source,
        not child,
        child,
        f"Age {age:.1f} years (from the {source}): {tool} applies (ASTCT 2019).",
    )


def assess_context(registry: Registry, patient: PatientView, *, now: dt.datetime) -> dict[str, Any]:
    """What the assessment page shows about the patient before anything is filled."""
    views = registry.assessments(patient.patient_ref)
    rule = age_rule(patient, views, now)
    latest = views[-1] if views else None
    return {
        "patient": patient,
        "rule": rule,
        "groups": form_groups(ice_total=False, ask_age=patient.date_of_birth is None),
        "scales": live_scales(),
        "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else "",
        "now": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M"),
        "latest": latest,
    }


@dataclass(frozen=True, slots=True)
class ScaleRow:
    """One scale's reading of the assessment."""

    id: str
    title: str
    syndrome: str
    result: dict[str, Any]
    shown: str


def _shown(result: dict[str, Any]) -> str:
    if result.get("grade") is not None:
        return str(result["grade"])
    floor, ceiling = result.get("floor"), result.get("ceiling")
    if floor is None or ceiling is None:
        return "n/a"
    return str(floor) if floor == ceiling else f"{floor}–{ceiling}"


def scales_context(registry: Registry, patient_ref: str, assessment_id: int) -> dict[str, Any]:
    """One stored assessment graded under every stored scale (CRS, ICANS, IEC-HS and
    haematotoxicity grades), on the stored data completed with the CRS state the record implies
    (design.md §4), exactly as it is graded for storage."""
    infusions, administrations, assessments, ids = patient_context(registry, patient_ref)
    if assessment_id not in ids:
        raise NotFound(
            f"patient {patient_ref} has no assessment {assessment_id}",
            field="assessment_id",
            value=assessment_id,
        )
    carried = ep.carry_crs_state(
        assessments=assessments, administrations=administrations, infusions=infusions
    )
    position = ids.index(assessment_id)
    assessed_at, completed = carried[position]
    charted = assessments[position][1]
    results = grade_for_storage(completed, stored_scales())
    titles = {s.id: (s.title, s.syndrome) for s in all_scales()}
    rows = [
        ScaleRow(
            id=scale,
            title=titles[scale][0],
            syndrome=titles[scale][1],
            result=result,
            shown=_shown(result),
        )
        for scale, result in results.items()
    ]
    carried_fields = {k: v for k, v in completed.to_dict().items() if k not in charted.to_dict()}
    return {
        "patient_ref": patient_ref,
        "assessment_id": assessment_id,
        "assessed_at": assessed_at,
        "rows": rows,
        "charted": charted.to_dict(),
        "carried": carried_fields,
    }
