"""Eligibility checklist before CAR-T: each item pass, fail or unknown — never a silent pass.

Seed 002 lists contraindications from one Chinese centre's trials (not a guideline); the product
labels ask to delay infusion for active uncontrolled infection, active GVHD or unresolved serious
toxicity of prior chemotherapy, and to screen for HBV, HCV and HIV. Items and thresholds are a
site-configurable ``EligibilityCriteria``. Seed 002; product labels.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any

from cartwatch.errors import InvalidValue
from cartwatch.references import cite

LVEF_MIN_PERCENT = 50.0  # [SEED002_FAQ] "心脏 EF 值 ≥0.5"
APHERESIS_PLATELETS_MIN_PER_UL = 50_000.0  # [SEED002_FAQ] "外周血小板计数 ≥50×10⁹/L"
# [SEED002_FAQ] "参加治疗前 2 周内…全身性类固醇" (inhaled excepted). Interpretation: a last dose
# 14 days or fewer before the planned infusion counts as "within 2 weeks" (fails).
SYSTEMIC_STEROID_WASHOUT_DAYS = 14


class CheckStatus(StrEnum):
    """Outcome of one checklist item."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


class Overall(StrEnum):
    """Outcome of the checklist."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True, kw_only=True)
class EligibilityInput:
    """What is known about the candidate; None means not recorded (the item is unknown)."""

    history_of_epilepsy_or_cns_disease: bool | None = None
    gvhd_requiring_immunosuppression: bool | None = None
    qt_prolongation_or_severe_heart_disease: bool | None = None
    pregnant_or_lactating: bool | None = None
    active_uncontrolled_infection: bool | None = None
    active_hepatitis_b: bool | None = None
    active_hepatitis_c: bool | None = None
    hbv_hcv_hiv_screening_done: bool | None = None
    systemic_corticosteroids_within_2_weeks: bool | None = None
    last_systemic_corticosteroid_date: date | None = None
    planned_infusion_date: date | None = None
    lvef_percent: float | None = None
    lung_function_normal_without_mass: bool | None = None
    liver_function_normal: bool | None = None
    renal_function_normal: bool | None = None
    platelets_per_ul: float | None = None
    unresolved_serious_toxicity_from_prior_therapy: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, date) else v
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class EligibilityCriteria:
    """Which items a site checks, and its thresholds."""

    lvef_min_percent: float = LVEF_MIN_PERCENT
    apheresis_platelets_min_per_ul: float = APHERESIS_PLATELETS_MIN_PER_UL
    systemic_steroid_washout_days: int = SYSTEMIC_STEROID_WASHOUT_DAYS
    disabled_items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EligibilityItem:
    """One checklist line."""

    id: str
    label: str
    status: CheckStatus
    reason: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "id": self.id,
            "label": self.label,
            "status": self.status.value,
            "reason": self.reason,
            "reference": self.reference,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EligibilityResult:
    """The checklist and its overall outcome (any fail → not eligible; any unknown → incomplete)."""

    overall: Overall
    items: tuple[EligibilityItem, ...]
    failed: tuple[str, ...]
    unknown: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "overall": self.overall.value,
            "failed": list(self.failed),
            "unknown": list(self.unknown),
            "items": [i.to_dict() for i in self.items],
        }


_SEED = "SEED002_FAQ"
_LABELS = ("YESCARTA_LABEL", "KYMRIAH_LABEL")

# Contraindications stated as facts: True fails, False passes, None is unknown.
# [SEED002_FAQ] contraindication list; labels as recalled for infection, GVHD, prior toxicity and
# screening: UNVERIFIED (not in spec §10; product label section 2 wording as recalled).
_ABSENT_ITEMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "history_of_epilepsy_or_cns_disease",
        "No history of epilepsy or other CNS disease",
        (_SEED,),
    ),
    (
        "gvhd_requiring_immunosuppression",
        "No GVHD requiring long-term immunosuppression",
        (_SEED, *_LABELS),
    ),
    (
        "qt_prolongation_or_severe_heart_disease",
        "No QT prolongation or severe heart disease",
        (_SEED,),
    ),
    ("pregnant_or_lactating", "Not pregnant or lactating", (_SEED,)),
    (
        "active_uncontrolled_infection",
        "No uncontrolled active infection",
        (_SEED, *_LABELS),
    ),
    ("active_hepatitis_b", "No active hepatitis B", (_SEED,)),
    ("active_hepatitis_c", "No active hepatitis C", (_SEED,)),
    (
        "unresolved_serious_toxicity_from_prior_therapy",
        "No unresolved serious toxicity from preceding chemotherapy",
        _LABELS,
    ),
)
_PRESENT_ITEMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hbv_hcv_hiv_screening_done", "HBV, HCV and HIV screening done", _LABELS),
    (
        "lung_function_normal_without_mass",
        "Normal lung function, no space-occupying lesion",
        (_SEED,),
    ),
    ("liver_function_normal", "Normal liver function", (_SEED,)),
    ("renal_function_normal", "Normal renal function", (_SEED,)),
)


def _bool(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidValue(
        f"`{name}={value!r}` is not true/false; expected true, false or null (unknown)",
        field=name,
        value=value,
        expected="true, false or null",
    )


def _steroid_item(data: EligibilityInput, crit: EligibilityCriteria) -> EligibilityItem:
    label = "No systemic corticosteroids within 2 weeks (inhaled allowed)"
    ref = cite(_SEED)
    days = crit.systemic_steroid_washout_days
    if data.last_systemic_corticosteroid_date is not None and data.planned_infusion_date:
        gap = (data.planned_infusion_date - data.last_systemic_corticosteroid_date).days
        if gap <= days:
            return EligibilityItem(
                id="systemic_corticosteroids",
                label=label,
                status=CheckStatus.FAIL,
                reason=f"last systemic corticosteroid {gap} days before infusion (<= {days})",
                reference=ref,
            )
        return EligibilityItem(
            id="systemic_corticosteroids",
            label=label,
            status=CheckStatus.PASS,
            reason=f"last systemic corticosteroid {gap} days before infusion (> {days})",
            reference=ref,
        )
    flag = _bool(
        "systemic_corticosteroids_within_2_weeks", data.systemic_corticosteroids_within_2_weeks
    )
    if flag is None:
        return EligibilityItem(
            id="systemic_corticosteroids",
            label=label,
            status=CheckStatus.UNKNOWN,
            reason="not recorded (give the flag, or the last dose date and the infusion date)",
            reference=ref,
        )
    return EligibilityItem(
        id="systemic_corticosteroids",
        label=label,
        status=CheckStatus.FAIL if flag else CheckStatus.PASS,
        reason="recorded: systemic corticosteroids within 2 weeks"
        if flag
        else "recorded: none within 2 weeks",
        reference=ref,
    )


def _threshold_item(
    item_id: str, label: str, value: float | None, minimum: float, unit: str, ref: str
) -> EligibilityItem:
    if value is None:
        return EligibilityItem(
            id=item_id,
            label=label,
            status=CheckStatus.UNKNOWN,
            reason="not recorded",
            reference=ref,
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(
            f"`{item_id}={value!r}` is not a number", field=item_id, value=value, expected=unit
        )
    ok = value >= minimum
    return EligibilityItem(
        id=item_id,
        label=label,
        status=CheckStatus.PASS if ok else CheckStatus.FAIL,
        reason=f"{value:g} {unit} {'>=' if ok else '<'} {minimum:g} {unit}",
        reference=ref,
    )


def check_eligibility(
    *, candidate: EligibilityInput, criteria: EligibilityCriteria | None = None
) -> EligibilityResult:
    """The eligibility checklist for ``candidate`` (site criteria optional).

    Seed 002 (contraindications, LVEF >= 50%, apheresis platelets >= 50 × 10⁹/L); product labels.
    """
    crit = criteria or EligibilityCriteria()
    items: list[EligibilityItem] = []
    for name, label, refs in _ABSENT_ITEMS:
        value = _bool(name, getattr(candidate, name))
        status = (
            CheckStatus.UNKNOWN
            if value is None
            else (CheckStatus.FAIL if value else CheckStatus.PASS)
        )
        reason = "not recorded" if value is None else ("present" if value else "absent")
        items.append(
            EligibilityItem(
                id=name, label=label, status=status, reason=reason, reference=cite(*refs)
            )
        )
    for name, label, refs in _PRESENT_ITEMS:
        value = _bool(name, getattr(candidate, name))
        status = (
            CheckStatus.UNKNOWN
            if value is None
            else (CheckStatus.PASS if value else CheckStatus.FAIL)
        )
        reason = "not recorded" if value is None else ("yes" if value else "no")
        items.append(
            EligibilityItem(
                id=name, label=label, status=status, reason=reason, reference=cite(*refs)
            )
        )
    items.append(_steroid_item(candidate, crit))
    items.append(
        _threshold_item(
            "lvef_percent",
            f"LVEF >= {crit.lvef_min_percent:g}%",
            candidate.lvef_percent,
            crit.lvef_min_percent,
            "%",
            cite(_SEED),
        )
    )
    items.append(
        _threshold_item(
            "platelets_per_ul",
            f"Platelets >= {crit.apheresis_platelets_min_per_ul:g}/µL for apheresis",
            candidate.platelets_per_ul,
            crit.apheresis_platelets_min_per_ul,
            "/µL",
            cite(_SEED),
        )
    )
    known = {i.id for i in items}
    for disabled in crit.disabled_items:
        if disabled not in known:
            raise InvalidValue(
                f"`disabled_items` names unknown item `{disabled}`",
                field="disabled_items",
                value=disabled,
                expected=", ".join(sorted(known)),
            )
    items = [i for i in items if i.id not in crit.disabled_items]
    failed = tuple(i.id for i in items if i.status is CheckStatus.FAIL)
    unknown = tuple(i.id for i in items if i.status is CheckStatus.UNKNOWN)
    overall = (
        Overall.NOT_ELIGIBLE if failed else (Overall.INCOMPLETE if unknown else Overall.ELIGIBLE)
    )
    return EligibilityResult(overall=overall, items=tuple(items), failed=failed, unknown=unknown)
