"""Body-surface area (Mosteller, DuBois) and creatinine clearance (Cockcroft–Gault).

Unrounded results; the caller decides any display rounding. Mosteller 1987; Du Bois 1916;
Cockcroft & Gault 1976.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cartwatch.errors import InvalidValue, NotApplicable
from cartwatch.management._validate import (
    AGE_YEARS_RANGE,
    CREATININE_MG_DL_RANGE,
    HEIGHT_CM_RANGE,
    WEIGHT_KG_RANGE,
    check_number,
    fmt,
)
from cartwatch.references import cite

MOSTELLER_DIVISOR = 3600.0  # [MOSTELLER1987] √(height_cm × weight_kg / 3600)
DUBOIS_CONSTANT = 0.007184  # [DUBOIS1916] 0.007184 × W^0.425 × H^0.725
DUBOIS_WEIGHT_EXPONENT = 0.425  # [DUBOIS1916]
DUBOIS_HEIGHT_EXPONENT = 0.725  # [DUBOIS1916]
CG_AGE_CONSTANT = 140.0  # [COCKCROFT1976] (140 − age)
CG_DIVISOR = 72.0  # [COCKCROFT1976] 72 × serum creatinine (mg/dL)
CG_FEMALE_FACTOR = 0.85  # [COCKCROFT1976] × 0.85 for women
# [COCKCROFT1976] derived in adults. Interpretation: refused under 18 y (use Schwartz/measured).
CG_MIN_AGE_YEARS = 18.0


class Sex(StrEnum):
    """Sex as used by the Cockcroft–Gault equation."""

    MALE = "male"
    FEMALE = "female"


class BsaFormula(StrEnum):
    """Body-surface-area formulas offered."""

    MOSTELLER = "mosteller"
    DUBOIS = "dubois"


@dataclass(frozen=True, slots=True, kw_only=True)
class FormulaResult:
    """A computed formula value with how it was computed."""

    name: str
    status: str
    value: float
    unit: str
    reason: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "name": self.name,
            "status": self.status,
            "value": self.value,
            "unit": self.unit,
            "reason": self.reason,
            "reference": self.reference,
        }


def _hw(height_cm: float, weight_kg: float) -> tuple[float, float]:
    h = check_number("height_cm", height_cm, HEIGHT_CM_RANGE, "cm", " (did you give inches?)")
    w = check_number("weight_kg", weight_kg, WEIGHT_KG_RANGE, "kg")
    return h, w


def bsa_mosteller(*, height_cm: float, weight_kg: float) -> FormulaResult:
    """Body-surface area in m² = √(height_cm × weight_kg / 3600). Mosteller 1987."""
    h, w = _hw(height_cm, weight_kg)
    value = math.sqrt(h * w / MOSTELLER_DIVISOR)
    return FormulaResult(
        name="bsa_mosteller",
        status="computed",
        value=value,
        unit="m2",
        reason=f"sqrt({fmt(h)} cm x {fmt(w)} kg / 3600) = {value:.4f} m2",
        reference=cite("MOSTELLER1987"),
    )


def bsa_dubois(*, height_cm: float, weight_kg: float) -> FormulaResult:
    """Body-surface area in m² = 0.007184 × weight^0.425 × height^0.725. Du Bois 1916."""
    h, w = _hw(height_cm, weight_kg)
    value = DUBOIS_CONSTANT * w**DUBOIS_WEIGHT_EXPONENT * h**DUBOIS_HEIGHT_EXPONENT
    return FormulaResult(
        name="bsa_dubois",
        status="computed",
        value=value,
        unit="m2",
        reason=f"0.007184 x {fmt(w)}^0.425 x {fmt(h)}^0.725 = {value:.4f} m2",
        reference=cite("DUBOIS1916"),
    )


def bsa(*, height_cm: float, weight_kg: float, formula: BsaFormula | str) -> FormulaResult:
    """Body-surface area by the named formula."""
    chosen = BsaFormula(formula)
    if chosen is BsaFormula.MOSTELLER:
        return bsa_mosteller(height_cm=height_cm, weight_kg=weight_kg)
    return bsa_dubois(height_cm=height_cm, weight_kg=weight_kg)


def _sex(sex: Sex | str) -> Sex:
    try:
        return Sex(str(sex).lower())
    except ValueError:
        raise InvalidValue(
            f"`sex={sex!r}` is not allowed; expected male or female",
            field="sex",
            value=sex,
            expected="male, female",
        ) from None


def creatinine_clearance_cockcroft_gault(
    *, age_years: float, weight_kg: float, creatinine_mg_dl: float, sex: Sex | str
) -> FormulaResult:
    """Creatinine clearance in mL/min = (140 − age) × weight / (72 × SCr), × 0.85 if female.

    Actual body weight (spec §6.7 [I]); adults only. Note: mL/min, not mL/min/1.73 m².
    Cockcroft & Gault 1976.
    """
    age = check_number("age_years", age_years, AGE_YEARS_RANGE, "years")
    if age < CG_MIN_AGE_YEARS:
        raise NotApplicable(
            f"`age_years={age_years}`: Cockcroft–Gault is defined for adults; expected age >= "
            f"{CG_MIN_AGE_YEARS:g} y (give a measured or paediatric CrCl instead)",
            field="age_years",
            value=age_years,
            expected=f">= {CG_MIN_AGE_YEARS:g} y",
        )
    w = check_number("weight_kg", weight_kg, WEIGHT_KG_RANGE, "kg")
    scr = check_number(
        "creatinine_mg_dl",
        creatinine_mg_dl,
        CREATININE_MG_DL_RANGE,
        "mg/dL",
        " (did you give µmol/L? divide by 88.4)",
    )
    s = _sex(sex)
    base = (CG_AGE_CONSTANT - age) * w / (CG_DIVISOR * scr)
    value = base * CG_FEMALE_FACTOR if s is Sex.FEMALE else base
    female = " x 0.85 (female)" if s is Sex.FEMALE else ""
    return FormulaResult(
        name="crcl_cockcroft_gault",
        status="computed",
        value=value,
        unit="mL/min",
        reason=(
            f"(140 - {fmt(age)}) x {fmt(w)} kg / (72 x {fmt(scr)} mg/dL){female} = "
            f"{value:.2f} mL/min"
        ),
        reference=cite("COCKCROFT1976"),
    )
