"""Fludarabine/cyclophosphamide lymphodepletion per labelled product, with a selectable renal
adjustment of fludarabine (no CAR-T label specifies one; sources disagree, D14).

Doses are per day, unrounded unless ``round_to_mg`` is given. Product labels; Fludara label;
generic fludarabine label; DFCI institutional practice; seed 004.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cartwatch.errors import InvalidValue
from cartwatch.management._validate import (
    CRCL_ML_MIN_RANGE,
    check_number,
    exact_mul,
    fmt,
    fmt_rate,
)
from cartwatch.management.doses import DoseStatus
from cartwatch.management.formulas import (
    BsaFormula,
    FormulaResult,
    Sex,
    bsa,
    creatinine_clearance_cockcroft_gault,
)
from cartwatch.management.products import Product, product_facts
from cartwatch.references import cite


class RenalPolicy(StrEnum):
    """How fludarabine is reduced for renal impairment (spec §6.6, D14)."""

    FLUDARA_LABEL_PROPORTIONAL = "fludara_label_proportional"
    GENERIC_LABEL_20PCT = "generic_label_20pct"
    INSTITUTIONAL_DFCI = "institutional_dfci"
    NONE = "none"


# [FLUDARA_LABEL] CrCl (Cockcroft–Gault) >=80 full; 50–79 20 of 25 mg/m2; 30–49 15 of 25; <30 none.
# Interpretation (spec §6.6 [I]): bands scaled proportionally to the LD base dose (0.8, 0.6);
# a CrCl between 79 and 80 counts as the 50–79 band (full dose only from 80.0).
FLUDARA_FULL_DOSE_CRCL_ML_MIN = 80.0  # [FLUDARA_LABEL] ">=80 mL/min"
FLUDARA_MODERATE_CRCL_ML_MIN = 50.0  # [FLUDARA_LABEL] "50-79 mL/min"
FLUDARA_SEVERE_CRCL_ML_MIN = 30.0  # [FLUDARA_LABEL] "30-49 mL/min"; <30 do not administer
FLUDARA_MODERATE_FACTOR = 0.8  # [FLUDARA_LABEL] 20/25 mg/m2
FLUDARA_SEVERE_FACTOR = 0.6  # [FLUDARA_LABEL] 15/25 mg/m2
# [FLUDARABINE_GENERIC_LABEL] CrCl 30–70 mL/min/1.73 m2: 20% reduction; <30 not administered.
GENERIC_UPPER_CRCL_ML_MIN = 70.0  # [FLUDARABINE_GENERIC_LABEL] "30-70" (70 inclusive)
GENERIC_LOWER_CRCL_ML_MIN = 30.0  # [FLUDARABINE_GENERIC_LABEL] "<30: should not be administered"
GENERIC_FACTOR = 0.8  # [FLUDARABINE_GENERIC_LABEL] "20% dose reduction"
# [DFCI_LD_RENAL] 50–69 full; 30–49 −40%. Interpretation: >=70 full; <30 is not covered (no guess).
DFCI_FULL_FROM_CRCL_ML_MIN = 50.0  # [DFCI_LD_RENAL] "50-69: full dose"
DFCI_LOWER_CRCL_ML_MIN = 30.0  # [DFCI_LD_RENAL] "30-49: 40% reduction"
DFCI_FACTOR = 0.6  # [DFCI_LD_RENAL] 40% reduction
LABEL_DO_NOT_GIVE_BELOW_CRCL_ML_MIN = 30.0  # [FLUDARA_LABEL] <30 mL/min: do not administer


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDose:
    """One agent's daily dose for this patient."""

    agent: str
    status: str
    base_mg_per_m2: float
    mg_per_m2: float | None
    value: float | None
    unit: str
    days: tuple[int, ...]
    reason: str
    reference: str
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "agent": self.agent,
            "status": self.status,
            "base_mg_per_m2": self.base_mg_per_m2,
            "mg_per_m2": self.mg_per_m2,
            "value": self.value,
            "unit": self.unit,
            "days": list(self.days),
            "reason": self.reason,
            "reference": self.reference,
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LymphodepletionPlan:
    """The lymphodepletion regimen computed for one patient."""

    product: Product
    brand: str
    renal_policy: RenalPolicy
    bsa: FormulaResult
    crcl: FormulaResult | None
    crcl_ml_min: float | None
    agents: tuple[AgentDose, ...]
    infusion_gap_days: tuple[int, int] | None
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "product": self.product.value,
            "brand": self.brand,
            "renal_policy": self.renal_policy.value,
            "bsa": self.bsa.to_dict(),
            "crcl": None if self.crcl is None else self.crcl.to_dict(),
            "crcl_ml_min": self.crcl_ml_min,
            "agents": [a.to_dict() for a in self.agents],
            "infusion_gap_days": None
            if self.infusion_gap_days is None
            else list(self.infusion_gap_days),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "reference": self.reference,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RenalAdjustment:
    """The factor a renal policy applies to fludarabine (None = withhold or not covered)."""

    policy: RenalPolicy
    status: str
    factor: float | None
    reason: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "policy": self.policy.value,
            "status": self.status,
            "factor": self.factor,
            "reason": self.reason,
            "reference": self.reference,
        }


def fludarabine_renal_adjustment(
    *, crcl_ml_min: float, policy: RenalPolicy | str
) -> RenalAdjustment:
    """The fraction of the fludarabine base dose for ``crcl_ml_min`` under ``policy``.

    ``status`` is ``full``, ``reduced``, ``withhold`` or ``not_covered`` (policy silent: pharmacy
    decides). Fludara label; generic fludarabine label; DFCI abstract (spec §6.6, D14).
    """
    crcl = check_number("crcl_ml_min", crcl_ml_min, CRCL_ML_MIN_RANGE, "mL/min")
    p = _policy(policy)
    c = f"{crcl:.6g}"
    if p is RenalPolicy.NONE:
        return RenalAdjustment(
            policy=p,
            status="full",
            factor=1.0,
            reason=f"policy none: no renal adjustment (CrCl {c} mL/min)",
            reference="",
        )
    if p is RenalPolicy.FLUDARA_LABEL_PROPORTIONAL:
        ref = cite("FLUDARA_LABEL")
        if crcl >= FLUDARA_FULL_DOSE_CRCL_ML_MIN:
            return RenalAdjustment(
                policy=p, status="full", factor=1.0, reason=f"CrCl {c} >= 80 -> full", reference=ref
            )
        if crcl >= FLUDARA_MODERATE_CRCL_ML_MIN:
            return RenalAdjustment(
                policy=p,
                status="reduced",
                factor=FLUDARA_MODERATE_FACTOR,
                reason=f"CrCl {c} in 50-79 -> 80% (Fludara 20/25 mg/m2, scaled)",
                reference=ref,
            )
        if crcl >= FLUDARA_SEVERE_CRCL_ML_MIN:
            return RenalAdjustment(
                policy=p,
                status="reduced",
                factor=FLUDARA_SEVERE_FACTOR,
                reason=f"CrCl {c} in 30-49 -> 60% (Fludara 15/25 mg/m2, scaled)",
                reference=ref,
            )
        return RenalAdjustment(
            policy=p,
            status="withhold",
            factor=None,
            reason=f"CrCl {c} < 30 -> do not administer fludarabine",
            reference=ref,
        )
    if p is RenalPolicy.GENERIC_LABEL_20PCT:
        ref = cite("FLUDARABINE_GENERIC_LABEL")
        unit_note = " (label bands are mL/min/1.73 m2; CG gives mL/min - check with pharmacy)"
        if crcl > GENERIC_UPPER_CRCL_ML_MIN:
            return RenalAdjustment(
                policy=p,
                status="full",
                factor=1.0,
                reason=f"CrCl {c} > 70 -> full{unit_note}",
                reference=ref,
            )
        if crcl >= GENERIC_LOWER_CRCL_ML_MIN:
            return RenalAdjustment(
                policy=p,
                status="reduced",
                factor=GENERIC_FACTOR,
                reason=f"CrCl {c} in 30-70 -> 20% reduction{unit_note}",
                reference=ref,
            )
        return RenalAdjustment(
            policy=p,
            status="withhold",
            factor=None,
            reason=f"CrCl {c} < 30 -> should not be administered{unit_note}",
            reference=ref,
        )
    ref = cite("DFCI_LD_RENAL")
    if crcl >= DFCI_FULL_FROM_CRCL_ML_MIN:
        return RenalAdjustment(
            policy=p, status="full", factor=1.0, reason=f"CrCl {c} >= 50 -> full", reference=ref
        )
    if crcl >= DFCI_LOWER_CRCL_ML_MIN:
        return RenalAdjustment(
            policy=p,
            status="reduced",
            factor=DFCI_FACTOR,
            reason=f"CrCl {c} in 30-49 -> 40% reduction",
            reference=ref,
        )
    return RenalAdjustment(
        policy=p,
        status="not_covered",
        factor=None,
        reason=f"CrCl {c} < 30 is not covered by the DFCI policy; pharmacy decision needed",
        reference=ref,
    )


def _policy(policy: RenalPolicy | str) -> RenalPolicy:
    try:
        return RenalPolicy(policy)
    except ValueError:
        allowed = ", ".join(p.value for p in RenalPolicy)
        raise InvalidValue(
            f"`renal_policy={policy!r}` is not allowed; expected one of: {allowed}",
            field="renal_policy",
            value=policy,
            expected=allowed,
        ) from None


def _round(dose: float, step: float | None) -> tuple[float, str]:
    if step is None:
        return dose, ""
    rounded = float(int(dose / step + 0.5) * step)
    return rounded, f"; rounded to nearest {fmt_rate(step)} mg -> {fmt(rounded)} mg"


def lymphodepletion_regimen(
    *,
    product: Product | str,
    height_cm: float,
    weight_kg: float,
    age_years: float | None = None,
    sex: Sex | str | None = None,
    creatinine_mg_dl: float | None = None,
    crcl_ml_min: float | None = None,
    renal_policy: RenalPolicy | str = RenalPolicy.FLUDARA_LABEL_PROPORTIONAL,
    bsa_formula: BsaFormula | str = BsaFormula.MOSTELLER,
    round_to_mg: float | None = None,
) -> LymphodepletionPlan:
    """Daily fludarabine and cyclophosphamide doses (mg) for ``product`` and this patient.

    CrCl is ``crcl_ml_min`` when given (measured or paediatric estimate), otherwise Cockcroft–Gault
    from age, sex, weight and creatinine; when it cannot be had and the policy needs it, the
    fludarabine dose is reported as ``missing_input``. Cyclophosphamide is not renally adjusted
    (no CAR-T label specifies it, spec §6.6 [I]). Product labels; spec §6.5–6.6.
    """
    facts = product_facts(product)
    policy = _policy(renal_policy)
    area = bsa(height_cm=height_cm, weight_kg=weight_kg, formula=bsa_formula)
    crcl_result: FormulaResult | None = None
    crcl: float | None = None
    missing: list[str] = []
    if crcl_ml_min is not None:
        crcl = check_number("crcl_ml_min", crcl_ml_min, CRCL_ML_MIN_RANGE, "mL/min")
    elif age_years is not None and sex is not None and creatinine_mg_dl is not None:
        crcl_result = creatinine_clearance_cockcroft_gault(
            age_years=age_years, weight_kg=weight_kg, creatinine_mg_dl=creatinine_mg_dl, sex=sex
        )
        crcl = crcl_result.value
    else:
        missing = [
            name
            for name, value in (
                ("age_years", age_years),
                ("sex", sex),
                ("creatinine_mg_dl", creatinine_mg_dl),
            )
            if value is None
        ]
    warnings: list[str] = []
    doses: list[AgentDose] = []
    bsa_text = f"{area.value:.4f} m2 ({BsaFormula(bsa_formula).value})"
    for sched in facts.agents:
        label_ref = "; ".join(cite(k) for k in facts.source)
        base = sched.mg_per_m2
        if sched.agent != "fludarabine":
            raw = exact_mul(base, area.value)
            dose, rtext = _round(raw, round_to_mg)
            doses.append(
                AgentDose(
                    agent=sched.agent,
                    status=DoseStatus.COMPUTED.value,
                    base_mg_per_m2=base,
                    mg_per_m2=base,
                    value=dose,
                    unit="mg/day",
                    days=sched.days,
                    reason=f"{fmt_rate(base)} mg/m2 x {bsa_text} = {raw:.2f} mg{rtext}; "
                    f"no renal adjustment",
                    reference=label_ref,
                )
            )
            continue
        if crcl is None:
            if policy is RenalPolicy.NONE:
                adj = RenalAdjustment(
                    policy=policy,
                    status="full",
                    factor=1.0,
                    reason="policy none: no renal adjustment (CrCl not available)",
                    reference="",
                )
            else:
                doses.append(
                    AgentDose(
                        agent=sched.agent,
                        status=DoseStatus.MISSING_INPUT.value,
                        base_mg_per_m2=base,
                        mg_per_m2=None,
                        value=None,
                        unit="mg/day",
                        days=sched.days,
                        reason=f"renal policy {policy.value} needs CrCl: give crcl_ml_min or "
                        f"age, sex and creatinine ({', '.join(missing)} missing)",
                        reference=label_ref,
                        missing=("crcl_ml_min", *missing),
                    )
                )
                continue
        else:
            adj = fludarabine_renal_adjustment(crcl_ml_min=crcl, policy=policy)
        if crcl is not None and crcl < LABEL_DO_NOT_GIVE_BELOW_CRCL_ML_MIN and adj.factor:
            warnings.append(
                f"CrCl {fmt(crcl)} mL/min < 30: fludarabine labels advise against administration"
            )
        refs = "; ".join(r for r in (label_ref, adj.reference) if r)
        if adj.factor is None:
            doses.append(
                AgentDose(
                    agent=sched.agent,
                    status=adj.status,
                    base_mg_per_m2=base,
                    mg_per_m2=None,
                    value=None,
                    unit="mg/day",
                    days=sched.days,
                    reason=adj.reason,
                    reference=refs,
                )
            )
            continue
        per_m2 = exact_mul(base, adj.factor)
        raw = exact_mul(per_m2, area.value)
        dose, rtext = _round(raw, round_to_mg)
        doses.append(
            AgentDose(
                agent=sched.agent,
                status=DoseStatus.COMPUTED.value,
                base_mg_per_m2=base,
                mg_per_m2=per_m2,
                value=dose,
                unit="mg/day",
                days=sched.days,
                reason=f"{adj.reason}: {fmt_rate(base)} -> {fmt_rate(per_m2)} mg/m2 x {bsa_text} "
                f"= {raw:.2f} mg{rtext}",
                reference=refs,
            )
        )
    if policy is RenalPolicy.GENERIC_LABEL_20PCT and crcl is not None:
        warnings.append(
            "Unit mismatch: Cockcroft-Gault gives mL/min; the generic label speaks of "
            "mL/min/1.73 m2 - flag to pharmacy."
        )
    return LymphodepletionPlan(
        product=facts.product,
        brand=facts.brand,
        renal_policy=policy,
        bsa=area,
        crcl=crcl_result,
        crcl_ml_min=crcl,
        agents=tuple(doses),
        infusion_gap_days=facts.infusion_gap_days,
        warnings=tuple(dict.fromkeys(warnings)),
        notes=facts.notes,
        reference="; ".join(cite(k) for k in facts.source),
    )
