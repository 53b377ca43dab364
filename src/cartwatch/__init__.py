"""cartwatch: CAR-T toxicity grading, management, registry and evidence synthesis.

>>> import cartwatch
>>> cartwatch.grade("astct_crs", {"temperature_c": 38.4, "hypotension": "none",
...                               "oxygen": {"device": "none"}}).grade
1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import Assessment, parse_assessment
from cartwatch.errors import CartwatchError
from cartwatch.grading.registry import ScaleInfo, all_scales, get_scale
from cartwatch.grading.result import GradeResult, Result, Status

__version__ = "0.1.0"


def grade(
    scale_id: str,
    assessment: Assessment | Mapping[str, Any],
    *,
    options: Mapping[str, str] | None = None,
) -> Result:
    """Apply scale ``scale_id`` to one assessment (a contract dict or an :class:`Assessment`).

    ``options`` selects documented alternatives of the scale (see :func:`scales`).
    """
    info = get_scale(scale_id)
    chosen = info.resolve_options(options)
    return info.evaluate(parse_assessment(assessment), chosen)


def grade_all(
    assessment: Assessment | Mapping[str, Any],
    *,
    syndromes: tuple[str, ...] | None = None,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Result]:
    """Grade one assessment under every registered scale (optionally only some syndromes)."""
    parsed = parse_assessment(assessment)
    out: dict[str, Result] = {}
    for info in all_scales():
        if syndromes is not None and info.syndrome not in syndromes:
            continue
        chosen = info.resolve_options((options or {}).get(info.id))
        out[info.id] = info.evaluate(parsed, chosen)
    return out


def scales() -> tuple[ScaleInfo, ...]:
    """Every registered scale and score, with its options and reference."""
    return all_scales()


__all__ = [
    "Assessment",
    "CartwatchError",
    "GradeResult",
    "Result",
    "ScaleInfo",
    "Status",
    "__version__",
    "grade",
    "grade_all",
    "parse_assessment",
    "scales",
]
