"""Pathway: eligibility, the treatment calendar around day 0, and alert rules."""

from cartwatch.pathway.alerts import (
    Alert,
    AlertRule,
    AlertThresholds,
    Observation,
    ObservationKind,
    evaluate_alerts,
)
from cartwatch.pathway.calendar import (
    CalendarConfig,
    CalendarEvent,
    EventKind,
    LabelEra,
    TreatmentCalendar,
    build_calendar,
    label_era_for,
    to_ical,
)
from cartwatch.pathway.eligibility import (
    CheckStatus,
    EligibilityCriteria,
    EligibilityInput,
    EligibilityResult,
    Overall,
    check_eligibility,
)

__all__ = [
    "Alert",
    "AlertRule",
    "AlertThresholds",
    "CalendarConfig",
    "CalendarEvent",
    "CheckStatus",
    "EligibilityCriteria",
    "EligibilityInput",
    "EligibilityResult",
    "EventKind",
    "LabelEra",
    "Observation",
    "ObservationKind",
    "Overall",
    "TreatmentCalendar",
    "build_calendar",
    "check_eligibility",
    "evaluate_alerts",
    "label_era_for",
    "to_ical",
]
