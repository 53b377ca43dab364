"""Dose calculators for CAR-T toxicity management: tocilizumab and its re-dosing limits,
corticosteroids by syndrome and grade, siltuximab, levetiracetam and the anakinra order set.

Parameters are read from the protocol (consensus default or a centre's override), so each result
says which parameters a centre changed. Doses are rounded only where the protocol sets
``round_to_mg``. Actemra label; ASCO 2021; CARTOX (Neelapu 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cartwatch.errors import InvalidValue, NotApplicable
from cartwatch.management._validate import (
    WEIGHT_KG_RANGE,
    check_number,
    exact_mul,
    fmt,
    fmt_rate,
)
from cartwatch.management.protocol import (
    CONSENSUS_DEFAULT,
    ActionKind,
    ActionSpec,
    DrugSpec,
    Protocol,
    Syndrome,
    default_protocol,
    format_sources,
)

# [ACTEMRA_LABEL] CRS dosing: the 24-hour limit counts doses in a rolling window ending at the
# proposed dose. Interpretation: a dose given exactly 24 h before the proposed one is outside
# the window (so a q8h schedule 0, 8, 16, 24 h is allowed); spec §6.1 [I], D11.
TOCILIZUMAB_WINDOW_H = 24.0  # [ASCO2021] "maximum 3 doses in a 24-hour period"


class DoseStatus(StrEnum):
    """Whether a dose could be computed."""

    COMPUTED = "computed"
    MISSING_INPUT = "missing_input"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseResult:
    """One computed dose with how it was computed and where its parameters came from."""

    drug: str
    status: DoseStatus
    value: float | None
    unit: str
    reason: str
    reference: str
    mg_per_kg: float | None = None
    route: str | None = None
    interval_h: float | None = None
    frequency: str | None = None
    duration: str | None = None
    missing: tuple[str, ...] = ()
    origins: tuple[tuple[str, str], ...] = ()

    @property
    def origin(self) -> str:
        """``"consensus default"``, or the centre file path when it set a parameter used here."""
        centre = [o for _, o in self.origins if o != CONSENSUS_DEFAULT]
        return centre[0] if centre else CONSENSUS_DEFAULT

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "drug": self.drug,
            "status": self.status.value,
            "value": self.value,
            "unit": self.unit,
            "mg_per_kg": self.mg_per_kg,
            "route": self.route,
            "interval_h": self.interval_h,
            "frequency": self.frequency,
            "duration": self.duration,
            "reason": self.reason,
            "reference": self.reference,
            "missing": list(self.missing),
            "origin": self.origin,
            "origins": dict(self.origins),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RedoseDecision:
    """Whether a proposed tocilizumab dose is allowed, and why not when it is refused."""

    status: str
    value: bool
    unit: str
    reason: str
    reference: str
    prior_doses: int
    doses_in_window: int
    hours_since_last: float | None
    earliest_next_h: float | None
    notes: tuple[str, ...] = ()
    origins: tuple[tuple[str, str], ...] = ()

    @property
    def allowed(self) -> bool:
        """Same as ``value``."""
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "status": self.status,
            "value": self.value,
            "unit": self.unit,
            "reason": self.reason,
            "reference": self.reference,
            "prior_doses": self.prior_doses,
            "doses_in_window": self.doses_in_window,
            "hours_since_last": self.hours_since_last,
            "earliest_next_h": self.earliest_next_h,
            "notes": list(self.notes),
            "origins": dict(self.origins),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSet:
    """Free-text order-set lines for a drug without a consensus dose."""

    drug: str
    status: str
    lines: tuple[str, ...]
    route: str | None
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "drug": self.drug,
            "status": self.status,
            "lines": list(self.lines),
            "route": self.route,
            "reference": self.reference,
        }


def _weight(weight_kg: float) -> float:
    return check_number("weight_kg", weight_kg, WEIGHT_KG_RANGE, "kg")


def _round(dose: float, step: float | None) -> tuple[float, str]:
    if step is None or step <= 0:
        return dose, ""
    rounded = float(math.floor(dose / step + 0.5) * step)
    return rounded, f"; rounded to nearest {fmt_rate(step)} mg per protocol -> {fmt(rounded)} mg"


def _origins(spec: DrugSpec, keys: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, spec.origin_of(k)) for k in keys if dict(spec.values).get(k) is not None)


def tocilizumab_dose(*, weight_kg: float, protocol: Protocol | None = None) -> DoseResult:
    """Tocilizumab per infusion for CRS: 12 mg/kg under 30 kg, 8 mg/kg from 30 kg, cap 800 mg.

    Uses actual body weight (spec §6.1 [I]). Actemra label (TOCI-01..03); ASCO 2021.
    """
    w = _weight(weight_kg)
    spec = (protocol or default_protocol()).drug("tocilizumab")
    boundary = spec.number("weight_boundary_kg")  # [ACTEMRA_LABEL] <30 kg vs >=30 kg (TOCI-01/02)
    cap = spec.number("max_dose_mg")  # [ACTEMRA_LABEL] 800 mg per infusion (TOCI-03)
    if w >= boundary:
        rate = spec.number("mg_per_kg_from_boundary")
        band = f">={fmt_rate(boundary)} kg"
    else:
        rate = spec.number("mg_per_kg_below_boundary")
        band = f"<{fmt_rate(boundary)} kg"
    raw = exact_mul(rate, w)
    step = spec.optional_number("round_to_mg")
    rounded, round_text = _round(raw, step)
    dose = min(rounded, cap)
    reason = (
        f"{band} -> {fmt_rate(rate)} mg/kg x {fmt(w)} kg = {fmt(raw)} mg{round_text}; "
        f"cap {fmt_rate(cap)} mg -> {fmt(dose)} mg"
    )
    keys = [
        "weight_boundary_kg",
        "mg_per_kg_from_boundary" if w >= boundary else "mg_per_kg_below_boundary",
        "max_dose_mg",
        "round_to_mg",
        "route",
    ]
    return DoseResult(
        drug="tocilizumab",
        status=DoseStatus.COMPUTED,
        value=dose,
        unit="mg",
        mg_per_kg=rate,
        route=spec.text("route"),
        interval_h=spec.number("min_interval_h"),
        frequency=f"q{fmt_rate(spec.number('min_interval_h'))}h as needed",
        reason=reason,
        reference=format_sources(spec.source()),
        origins=_origins(spec, keys),
    )


def _gap(later: float, earlier: float) -> Decimal:
    """Hours between two clock times as written (8.2 − 0.2 is 8, not 7.999…; C-1 exactness)."""
    return Decimal(repr(later)) - Decimal(repr(earlier))


def _finite_time(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValue(
            f"`{name}={value!r}` is not a finite number of hours",
            field=name,
            value=value,
            expected="hours (finite number)",
        )
    return float(value)


def _after(base: float, offset: float) -> float:
    """The smallest time t at least ``offset`` hours after ``base``, as :func:`_gap` compares."""
    t = float(Decimal(repr(base)) + Decimal(repr(offset)))
    while _gap(t, base) < Decimal(repr(offset)):
        t = math.nextafter(t, math.inf)
    return t


def _earliest_allowed(
    prior: Sequence[float], start: float, interval: float, per_window: int
) -> float:
    t = max(start, _after(prior[-1], interval)) if prior else start
    for _ in range(len(prior) + 1):
        window = Decimal(repr(TOCILIZUMAB_WINDOW_H))
        inside = sorted(d for d in prior if _gap(t, d) < window and d <= t)
        if len(inside) + 1 <= per_window:
            return t
        t = max(t, _after(inside[len(inside) - per_window], TOCILIZUMAB_WINDOW_H))
    return t


def tocilizumab_redose(
    *,
    prior_dose_times_h: Sequence[float],
    proposed_dose_time_h: float,
    clinical_improvement: bool | None = None,
    protocol: Protocol | None = None,
) -> RedoseDecision:
    """Whether another tocilizumab dose may be given at ``proposed_dose_time_h``.

    Refused, with the reason, when the total would exceed 4 doses, when clinical improvement was
    recorded after an earlier dose (further doses are for patients without improvement), when the
    last dose was under 8 h earlier, or when more than 3 doses would fall in the rolling 24 h
    window ending at the proposed time. Times are hours on one common clock, compared as written.
    Actemra label (TOCI-04); ASCO 2021 (TOCI-05).
    """
    spec = (protocol or default_protocol()).drug("tocilizumab")
    interval = spec.number("min_interval_h")  # [ACTEMRA_LABEL] >=8 h between doses (TOCI-04), D11
    per_window = int(spec.number("max_doses_per_24_h"))  # [ASCO2021] <=3 per 24 h (TOCI-05)
    total_max = int(spec.number("max_doses_total"))  # [ACTEMRA_LABEL] <=4 in total (TOCI-04/05)
    proposed = _finite_time("proposed_dose_time_h", proposed_dose_time_h)
    prior = sorted(
        _finite_time(f"prior_dose_times_h[{i}]", t) for i, t in enumerate(prior_dose_times_h)
    )
    if prior and proposed < prior[-1]:
        raise InvalidValue(
            f"`proposed_dose_time_h={proposed_dose_time_h!r}` is before the last prior dose "
            f"({fmt(prior[-1])} h); expected a time >= {fmt(prior[-1])} h",
            field="proposed_dose_time_h",
            value=proposed_dose_time_h,
            expected=f">= {fmt(prior[-1])} h",
        )
    in_window = [d for d in prior if _gap(proposed, d) < Decimal(repr(TOCILIZUMAB_WINDOW_H))]
    since_last = float(_gap(proposed, prior[-1])) if prior else None
    notes: list[str] = []
    reference = format_sources(spec.source())
    origins = _origins(spec, ["min_interval_h", "max_doses_per_24_h", "max_doses_total"])
    allowed = False
    earliest: float | None = None
    if len(prior) >= total_max:
        reason = f"Maximum total of {total_max} doses already given"
    elif prior and clinical_improvement:
        # [ACTEMRA_LABEL] TOCI-04: "if no clinical improvement … up to 3 additional doses".
        reason = (
            "Clinical improvement recorded: additional doses are given only without clinical "
            "improvement after the first dose (TOCI-04)"
        )
    elif since_last is not None and _gap(proposed, prior[-1]) < Decimal(repr(interval)):
        reason = (
            f"Minimum interval {fmt_rate(interval)} h not reached: last dose {fmt(since_last)} h "
            f"before the proposed time"
        )
        earliest = _earliest_allowed(prior, proposed, interval, per_window)
    elif len(in_window) + 1 > per_window:
        reason = (
            f"Maximum {per_window} doses in 24 h would be exceeded: {len(in_window)} doses in the "
            f"24 h before {fmt(proposed)} h"
        )
        earliest = _earliest_allowed(prior, proposed, interval, per_window)
    else:
        allowed = True
        last = "no prior dose" if since_last is None else f"{fmt(since_last)} h since last dose"
        reason = (
            f"Allowed: dose {len(prior) + 1} of max {total_max}; {last} "
            f"(min {fmt_rate(interval)} h); {len(in_window) + 1} of max {per_window} in 24 h"
        )
    return RedoseDecision(
        status="computed",
        value=allowed,
        unit="allowed",
        reason=reason,
        reference=reference,
        prior_doses=len(prior),
        doses_in_window=len(in_window),
        hours_since_last=since_last,
        earliest_next_h=earliest,
        notes=tuple(notes),
        origins=origins,
    )


def siltuximab_dose(*, weight_kg: float, protocol: Protocol | None = None) -> DoseResult:
    """Siltuximab 11 mg/kg IV (off-label, refractory CRS). CARTOX (Neelapu 2018)."""
    w = _weight(weight_kg)
    spec = (protocol or default_protocol()).drug("siltuximab")
    rate = spec.number("mg_per_kg")  # [NEELAPU2018] 11 mg/kg IV
    raw = exact_mul(rate, w)
    dose, round_text = _round(raw, spec.optional_number("round_to_mg"))
    reason = f"{fmt_rate(rate)} mg/kg x {fmt(w)} kg = {fmt(raw)} mg{round_text}"
    cap = spec.optional_number("max_dose_mg")
    if cap is not None:
        dose = min(dose, cap)
        reason += f"; cap {fmt_rate(cap)} mg -> {fmt(dose)} mg"
    return DoseResult(
        drug="siltuximab",
        status=DoseStatus.COMPUTED,
        value=dose,
        unit="mg",
        mg_per_kg=rate,
        route=spec.text("route"),
        reason=reason,
        reference=format_sources(spec.source()),
        origins=_origins(spec, ["mg_per_kg", "max_dose_mg", "round_to_mg"]),
    )


def action_dose(*, action: ActionSpec, weight_kg: float | None) -> DoseResult | None:
    """The per-administration dose a protocol action states (fixed mg or mg/kg), or None.

    A mg/kg dose without a weight is reported as ``missing_input`` naming ``weight_kg``.
    """
    drug = action.drug or action.kind.value
    reference = format_sources(action.source)
    common: dict[str, Any] = {
        "drug": drug,
        "unit": "mg",
        "route": action.route,
        "interval_h": action.interval_h,
        "frequency": action.frequency,
        "duration": action.duration,
        "reference": reference,
    }
    keys = ("dose_mg", "dose_mg_per_kg", "max_dose_mg", "interval_h", "frequency")
    origins = tuple((k, action.origin_of(k)) for k in keys if getattr(action, k, None) is not None)
    if action.dose_mg_per_kg is not None:
        rate = action.dose_mg_per_kg
        if weight_kg is None:
            return DoseResult(
                status=DoseStatus.MISSING_INPUT,
                value=None,
                mg_per_kg=rate,
                reason=f"{fmt_rate(rate)} mg/kg; weight_kg not given",
                missing=("weight_kg",),
                origins=origins,
                **common,
            )
        w = _weight(weight_kg)
        raw = exact_mul(rate, w)
        reason = f"{fmt_rate(rate)} mg/kg x {fmt(w)} kg = {fmt(raw)} mg"
        dose = raw
        if action.max_dose_mg is not None:
            dose = min(raw, action.max_dose_mg)
            reason += f"; cap {fmt_rate(action.max_dose_mg)} mg -> {fmt(dose)} mg"
        return DoseResult(
            status=DoseStatus.COMPUTED,
            value=dose,
            mg_per_kg=rate,
            reason=reason,
            origins=origins,
            **common,
        )
    if action.dose_mg is not None:
        freq = f" {action.frequency}" if action.frequency else ""
        return DoseResult(
            status=DoseStatus.COMPUTED,
            value=action.dose_mg,
            reason=f"fixed dose {fmt(action.dose_mg)} mg{freq} per protocol",
            origins=origins,
            **common,
        )
    return None


def _steroid(
    kind: ActionKind, syndrome: Syndrome | str, grade: int, weight_kg: float | None, p: Protocol
) -> DoseResult:
    syn = Syndrome(syndrome)
    action = p.action(syn, grade, kind)
    result = None if action is None else action_dose(action=action, weight_kg=weight_kg)
    if result is None:
        raise NotApplicable(
            f"the protocol gives no {kind.value} dose for {syn.value} grade {grade}",
            field="grade",
            value=grade,
            expected=", ".join(
                f"{a.syndrome.value} grade {a.grade}"
                for a in p.actions
                if a.kind is kind and (a.dose_mg is not None or a.dose_mg_per_kg is not None)
            ),
        )
    return result


def dexamethasone_dose(
    *, syndrome: Syndrome | str, grade: int, protocol: Protocol | None = None
) -> DoseResult:
    """Dexamethasone per administration for ``syndrome`` at ``grade`` (e.g. CRS 3: 10 mg IV q6h).

    ASCO 2021; seed 001 Table 2.
    """
    return _steroid(ActionKind.DEXAMETHASONE, syndrome, grade, None, protocol or default_protocol())


def methylprednisolone_dose(
    *,
    syndrome: Syndrome | str,
    grade: int,
    weight_kg: float | None = None,
    protocol: Protocol | None = None,
) -> DoseResult:
    """Methylprednisolone per administration (CRS 4: 500 mg q12h; ICANS 2–3: 1 mg/kg q12h;
    ICANS 4: 1,000 mg/day). ASCO 2021; seed 001.
    """
    return _steroid(
        ActionKind.METHYLPREDNISOLONE, syndrome, grade, weight_kg, protocol or default_protocol()
    )


class LevetiracetamUse(StrEnum):
    """What the levetiracetam dose is for."""

    PROPHYLAXIS = "prophylaxis"
    STATUS_LOAD = "status_load"
    STATUS_MAINTENANCE = "status_maintenance"


# [NEELAPU2018] CARTOX doses are adult doses; no paediatric dose in the protocol.
LEVETIRACETAM_ADULT_AGE_YEARS = 18.0  # Interpretation: adult fixed dose applies from 18 y


def levetiracetam_dose(
    *,
    use: LevetiracetamUse | str = LevetiracetamUse.PROPHYLAXIS,
    age_years: float | None = None,
    protocol: Protocol | None = None,
) -> DoseResult:
    """Levetiracetam (adult fixed doses): prophylaxis 750 mg PO q12h (30 days, unverified);
    non-convulsive status 500 mg IV bolus; maintenance 1,000 mg IV q12h. CARTOX (Neelapu 2018).
    """
    purpose = LevetiracetamUse(use)
    if age_years is not None and age_years < LEVETIRACETAM_ADULT_AGE_YEARS:
        raise NotApplicable(
            f"`age_years={age_years}`: the protocol's levetiracetam doses are adult doses; "
            f"expected age >= {fmt_rate(LEVETIRACETAM_ADULT_AGE_YEARS)} y (paediatric dose per "
            f"centre)",
            field="age_years",
            value=age_years,
            expected=f">= {fmt_rate(LEVETIRACETAM_ADULT_AGE_YEARS)} y",
        )
    spec = (protocol or default_protocol()).drug("levetiracetam")
    if purpose is LevetiracetamUse.PROPHYLAXIS:
        dose = spec.number("prophylaxis_dose_mg")  # [NEELAPU2018] 750 mg PO q12h
        interval = spec.number("prophylaxis_interval_h")
        days = spec.optional_number("prophylaxis_duration_days")  # UNVERIFIED (spec §10 item 16)
        keys = ["prophylaxis_dose_mg", "prophylaxis_interval_h", "prophylaxis_duration_days"]
        route = "PO"
        duration = None if days is None else f"{fmt_rate(days)} days from day 0 (unverified)"
    elif purpose is LevetiracetamUse.STATUS_LOAD:
        dose = spec.number("status_load_dose_mg")  # [NEELAPU2018] 500 mg IV bolus
        interval = None
        keys = ["status_load_dose_mg"]
        route = "IV bolus"
        duration = "once, with lorazepam 0.5 mg IV"
    else:
        dose = spec.number("status_maintenance_dose_mg")  # [NEELAPU2018] 1,000 mg IV q12h
        interval = spec.number("status_maintenance_interval_h")
        keys = ["status_maintenance_dose_mg", "status_maintenance_interval_h"]
        route = "IV"
        duration = None
    freq = None if interval is None else f"q{fmt_rate(interval)}h"
    return DoseResult(
        drug="levetiracetam",
        status=DoseStatus.COMPUTED,
        value=dose,
        unit="mg",
        route=route,
        interval_h=interval,
        frequency=freq,
        duration=duration,
        reason=f"{purpose.value}: fixed adult dose {fmt(dose)} mg"
        + ("" if freq is None else f" {freq}"),
        reference=format_sources(spec.source()),
        origins=_origins(spec, keys),
    )


def anakinra_order_set(*, protocol: Protocol | None = None) -> OrderSet:
    """Anakinra as order-set text, not a calculator: no consensus dose exists (spec §6.1 [I]).

    Diorio 2022 (paediatric); Hines 2023 (IEC-HS).
    """
    spec = (protocol or default_protocol()).drug("anakinra")
    return OrderSet(
        drug="anakinra",
        status="order_set",
        lines=spec.lines("order_set"),
        route=spec.text("route"),
        reference=format_sources(spec.source()),
    )
