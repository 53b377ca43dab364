"""Plausibility checks and exact arithmetic shared by the dose calculators."""

from __future__ import annotations

import math
from decimal import Decimal

from cartwatch.errors import ImplausibleValue, InvalidValue

# Interpretation: plausibility ranges at the edge of the calculators, not clinical thresholds.
WEIGHT_KG_RANGE = (0.5, 350.0)
HEIGHT_CM_RANGE = (30.0, 250.0)
AGE_YEARS_RANGE = (0.0, 120.0)
CREATININE_MG_DL_RANGE = (0.05, 25.0)
CRCL_ML_MIN_RANGE = (0.0, 400.0)


def check_number(
    name: str, value: float, bounds: tuple[float, float], unit: str, hint: str = ""
) -> float:
    """``value`` as float when finite and within ``bounds``; otherwise a named error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(
            f"`{name}={value!r}` is not a number; expected {bounds[0]:g}–{bounds[1]:g} {unit}",
            field=name,
            value=value,
            expected=f"{bounds[0]:g}–{bounds[1]:g} {unit}",
        )
    x = float(value)
    if not math.isfinite(x) or x < bounds[0] or x > bounds[1]:
        raise ImplausibleValue(
            f"`{name}={value!r}` is implausible; expected {bounds[0]:g}–{bounds[1]:g} {unit}{hint}",
            field=name,
            value=value,
            expected=f"{bounds[0]:g}–{bounds[1]:g} {unit}",
        )
    return x


def exact_mul(a: float, b: float) -> float:
    """``a × b`` computed in decimal from the numbers as written (no binary noise, no rounding)."""
    return float(Decimal(repr(float(a))) * Decimal(repr(float(b))))


def fmt(x: float) -> str:
    """A number as the clinic reads it: shortest exact form with at least one decimal."""
    return repr(float(x))


def fmt_rate(x: float) -> str:
    """A rate such as mg/kg without a trailing ``.0``."""
    return f"{x:g}"
