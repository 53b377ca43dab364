"""A centre's own rate beside the pooled literature rate, each with its interval.

For the cohort report: the centre's proportion with its exact (Clopper–Pearson) and Wilson
intervals, the pooled published proportion with its CI and prediction interval, and where the
centre falls against that prediction interval — the range in which a new comparable study's
rate is expected to lie, which is the fair yardstick for one centre. [VIECHTBAUER2010]
[CLOPPER1934] [WILSON1927]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cartwatch.errors import NotApplicable
from cartwatch.evidence.effect_sizes import StudyInterval, clopper_pearson, wilson
from cartwatch.evidence.meta import MetaResult, Proportion


class Position(StrEnum):
    """Where the centre's observed rate lies against the literature's prediction interval."""

    BELOW = "below prediction interval"
    WITHIN = "within prediction interval"
    ABOVE = "above prediction interval"
    NO_INTERVAL = "no prediction interval (common-effect model)"


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortComparison:
    """The centre's rate and the pooled literature rate, side by side."""

    events: int
    total: int
    centre_exact: StudyInterval
    centre_wilson: StudyInterval
    literature: Proportion
    literature_k: int
    literature_method: str
    position: Position

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "events": self.events,
            "total": self.total,
            "centre_exact": self.centre_exact.to_dict(),
            "centre_wilson": self.centre_wilson.to_dict(),
            "literature": self.literature.to_dict(),
            "literature_k": self.literature_k,
            "literature_method": self.literature_method,
            "position": self.position.value,
        }


def compare_cohort(*, events: int, total: int, literature: MetaResult) -> CohortComparison:
    """The centre's ``events/total`` with its intervals beside the pooled ``literature`` rate."""
    if literature.proportion is None:
        raise NotApplicable(
            "the literature result has no proportion scale (pooled from yi/vi); expected a "
            "result of pool(events, totals)",
            field="literature",
            value=None,
            expected="pool(...) result",
        )
    exact = clopper_pearson(events=[events], totals=[total], level=literature.level)[0]
    score = wilson(events=[events], totals=[total], level=literature.level)[0]
    lit = literature.proportion
    rate = exact.proportion
    if math.isnan(lit.pi_lb) or math.isnan(lit.pi_ub):
        pos = Position.NO_INTERVAL
    elif rate < lit.pi_lb:
        pos = Position.BELOW
    elif rate > lit.pi_ub:
        pos = Position.ABOVE
    else:
        pos = Position.WITHIN
    return CohortComparison(
        events=int(events),
        total=int(total),
        centre_exact=exact,
        centre_wilson=score,
        literature=lit,
        literature_k=literature.k,
        literature_method=literature.method.value,
        position=pos,
    )
