"""Alert rules over a patient's dated observations after CAR-T infusion.

New fever in the first 3 weeks (suspect CRS), ferritin above 10,000 ng/mL, a drop in the ICE
score, CAPD >= 9, and tocilizumab re-dosing (next dose possible / maximum reached). Thresholds are
an ``AlertThresholds`` a centre may change. Measured values are compared unrounded.
ASTCT 2019; seeds 001, 002; CARTOX; Traube 2014; Actemra label; ASCO 2021.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from cartwatch.errors import InvalidValue
from cartwatch.management.doses import tocilizumab_redose
from cartwatch.management.protocol import Protocol, default_protocol
from cartwatch.references import cite

FEVER_C = 38.0  # [LEE2019] fever: temperature >= 38.0 °C
FEVER_WINDOW_DAYS = 21  # [SEED002_FAQ] fever within 3 weeks of infusion: suspect CRS
FERRITIN_NG_ML = 10_000.0  # [SEED001_TABLE2] ferritin >1×10⁴ ng/mL (strict >, spec §4.1, §5.6)
ICE_DROP_POINTS = 1  # [LEE2019] any fall below 10 is ICANS; Interpretation: alert on a fall >= 1
CAPD_POSITIVE = 9  # [TRAUBE2014] CAPD >= 9 indicates delirium


class ObservationKind(StrEnum):
    """What an observation measures (units in the names)."""

    TEMPERATURE_C = "temperature_c"
    FERRITIN_NG_ML = "ferritin_ng_ml"
    ICE_SCORE = "ice_score"
    CAPD_SCORE = "capd_score"
    TOCILIZUMAB_DOSE = "tocilizumab_dose"


class AlertRule(StrEnum):
    """The alert rules."""

    NEW_FEVER = "new_fever_suspect_crs"
    FERRITIN = "ferritin_above_threshold"
    ICE_DROP = "ice_drop"
    CAPD = "capd_positive"
    TOCILIZUMAB_DUE = "tocilizumab_next_dose_possible"
    TOCILIZUMAB_EXHAUSTED = "tocilizumab_exhausted"


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One dated observation; for a tocilizumab dose ``value`` is the dose in mg (or 0)."""

    at: datetime
    kind: ObservationKind
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertThresholds:
    """Configurable thresholds (defaults are the cited constants)."""

    fever_c: float = FEVER_C
    fever_window_days: int = FEVER_WINDOW_DAYS
    ferritin_ng_ml: float = FERRITIN_NG_ML
    ice_drop_points: float = ICE_DROP_POINTS
    capd_positive: float = CAPD_POSITIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One raised alert."""

    rule: AlertRule
    at: datetime
    severity: str
    message: str
    value: float | None
    threshold: float | None
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "rule": self.rule.value,
            "at": self.at.isoformat(),
            "severity": self.severity,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "reference": self.reference,
        }


def _check(obs: Observation) -> None:
    if not isinstance(obs.at, datetime):
        raise InvalidValue(
            f"`at={obs.at!r}` is not a datetime", field="at", value=obs.at, expected="datetime"
        )
    v = obs.value
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InvalidValue(
            f"`{obs.kind.value}={v!r}` is not a finite number",
            field=obs.kind.value,
            value=v,
            expected="a finite number",
        )


def evaluate_alerts(
    *,
    observations: Sequence[Observation],
    infusion_date: date,
    as_of: datetime | None = None,
    thresholds: AlertThresholds | None = None,
    protocol: Protocol | None = None,
    current_crs_grade: int | None = None,
) -> tuple[Alert, ...]:
    """The alerts raised by ``observations`` (any order), in time order.

    ``as_of`` (the time of evaluation, given by the caller) lets the tocilizumab rule say whether
    the next dose is already possible. ``current_crs_grade`` (the latest ASTCT CRS grade, None
    when not graded): at 0 CRS has improved, and re-dosing is only for CRS without clinical
    improvement (Actemra label, TOCI-04), so the "next dose possible" alert is not raised; the
    maximum-reached alert always is. ASTCT 2019; seeds 001/002; Traube 2014; Actemra label.
    """
    t = thresholds or AlertThresholds()
    obs = sorted(observations, key=lambda o: o.at)
    for o in obs:
        _check(o)
    alerts: list[Alert] = []
    febrile = False
    last_ice: float | None = None
    for o in obs:
        day = (o.at.date() - infusion_date).days
        if o.kind is ObservationKind.TEMPERATURE_C:
            is_fever = o.value >= t.fever_c
            if is_fever and not febrile and 0 <= day <= t.fever_window_days:
                alerts.append(
                    Alert(
                        rule=AlertRule.NEW_FEVER,
                        at=o.at,
                        severity="warning",
                        message=f"New fever {o.value:g} °C on day {day} (>= {t.fever_c:g} °C "
                        f"within {t.fever_window_days} days): suspect CRS, grade it.",
                        value=o.value,
                        threshold=t.fever_c,
                        reference=cite("LEE2019", "SEED002_FAQ"),
                    )
                )
            febrile = is_fever
        elif o.kind is ObservationKind.FERRITIN_NG_ML:
            if o.value > t.ferritin_ng_ml:
                alerts.append(
                    Alert(
                        rule=AlertRule.FERRITIN,
                        at=o.at,
                        severity="warning",
                        message=f"Ferritin {o.value:g} ng/mL > {t.ferritin_ng_ml:g}: consider "
                        f"HLH/MAS or IEC-HS.",
                        value=o.value,
                        threshold=t.ferritin_ng_ml,
                        reference=cite("SEED001_TABLE2", "NEELAPU2018"),
                    )
                )
        elif o.kind is ObservationKind.ICE_SCORE:
            if last_ice is not None and last_ice - o.value >= t.ice_drop_points:
                alerts.append(
                    Alert(
                        rule=AlertRule.ICE_DROP,
                        at=o.at,
                        severity="warning",
                        message=f"ICE fell from {last_ice:g} to {o.value:g}: assess for ICANS.",
                        value=o.value,
                        threshold=t.ice_drop_points,
                        reference=cite("LEE2019"),
                    )
                )
            last_ice = o.value
        elif o.kind is ObservationKind.CAPD_SCORE and o.value >= t.capd_positive:
            alerts.append(
                Alert(
                    rule=AlertRule.CAPD,
                    at=o.at,
                    severity="warning",
                    message=f"CAPD {o.value:g} >= {t.capd_positive:g}: delirium, assess for ICANS.",
                    value=o.value,
                    threshold=t.capd_positive,
                    reference=cite("TRAUBE2014", "LEE2019"),
                )
            )
    alerts.extend(
        _tocilizumab_alerts(obs, as_of, protocol or default_protocol(), current_crs_grade)
    )
    alerts.sort(key=lambda a: a.at)
    return tuple(alerts)


def _tocilizumab_alerts(
    obs: Sequence[Observation], as_of: datetime | None, p: Protocol, crs_grade: int | None
) -> list[Alert]:
    doses = [o.at for o in obs if o.kind is ObservationKind.TOCILIZUMAB_DOSE]
    if not doses:
        return []
    first = doses[0]
    hours = [(d - first).total_seconds() / 3600.0 for d in doses]
    spec = p.drug("tocilizumab")
    total = int(spec.number("max_doses_total"))
    ref = cite("ACTEMRA_LABEL", "ASCO2021")
    if len(doses) >= total:
        return [
            Alert(
                rule=AlertRule.TOCILIZUMAB_EXHAUSTED,
                at=doses[-1],
                severity="critical",
                message=f"Tocilizumab maximum of {total} doses reached: escalate "
                f"corticosteroids; consider siltuximab or anakinra.",
                value=float(len(doses)),
                threshold=float(total),
                reference=ref,
            )
        ]
    if crs_grade == 0:
        return []
    probe = hours[-1] + spec.number("min_interval_h")
    decision = tocilizumab_redose(prior_dose_times_h=hours, proposed_dose_time_h=probe, protocol=p)
    next_h = probe if decision.value else decision.earliest_next_h
    if next_h is None:
        return []
    next_at = first + timedelta(hours=next_h)
    possible_now = as_of is not None and as_of >= next_at
    when = "now" if possible_now else f"from {next_at.isoformat()}"
    return [
        Alert(
            rule=AlertRule.TOCILIZUMAB_DUE,
            at=as_of if possible_now and as_of is not None else next_at,
            severity="info",
            message=f"Next tocilizumab dose possible {when} if CRS has not improved "
            f"({len(doses)} of {total} given).",
            value=float(len(doses)),
            threshold=float(total),
            reference=ref,
        )
    ]
