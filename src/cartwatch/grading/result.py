"""The result every grading scale returns, and the result protocol scores share.

A result explains itself (reference/assessment.md, "The result of grading"): the grade when it
is determined, the floor and ceiling still possible, the fields whose values would decide it, the
criteria that set it, the findings the scale ignores, the assumptions it made about unrecorded
supplementary findings, and its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class Status(StrEnum):
    GRADED = "graded"
    CRITERIA_NOT_MET = "criteria_not_met"
    CRITERIA_MET = "criteria_met"
    NOT_GRADEABLE = "not_gradeable"
    NOT_APPLICABLE = "not_applicable"
    COMPUTED = "computed"


@runtime_checkable
class Result(Protocol):
    """What every grade, score and calculator result offers."""

    @property
    def scale(self) -> str: ...

    @property
    def status(self) -> Status: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class GradeResult:
    """One scale's verdict on one assessment."""

    scale: str
    status: Status
    grade: int | None
    floor: int | None
    ceiling: int | None
    missing: tuple[str, ...] = ()
    drivers: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    assumed: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    reference: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def determined(self) -> bool:
        """True when every admissible value of the missing fields gives the same grade."""
        return self.grade is not None

    def to_dict(self) -> dict[str, Any]:
        """The result as contract JSON."""
        return {
            "scale": self.scale,
            "status": self.status.value,
            "grade": self.grade,
            "floor": self.floor,
            "ceiling": self.ceiling,
            "missing": list(self.missing),
            "drivers": list(self.drivers),
            "ignored": list(self.ignored),
            "assumed": list(self.assumed),
            "reasons": list(self.reasons),
            "reference": self.reference,
            "options": dict(self.options),
        }


def not_applicable(
    scale: str, *, reason: str, reference: str, options: Mapping[str, str] | None = None
) -> GradeResult:
    """A result for an assessment outside the scale's population or time window."""
    return GradeResult(
        scale=scale,
        status=Status.NOT_APPLICABLE,
        grade=None,
        floor=None,
        ceiling=None,
        drivers=(reason,),
        reasons=(reason,),
        reference=reference,
        options=dict(options or {}),
    )
