"""The metafor reference values (fixtures/metafor.json, made by make_fixtures.R)."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "metafor.json"

# Tolerances of the issue: 1e-6 relative; 1e-4 for iterative estimators and Q-profile bounds.
RTOL_EXACT = 1e-6
RTOL_ITERATIVE = 1e-4
ITERATIVE = frozenset({"ML", "REML", "EB", "PM"})
# values this close to 0 are compared absolutely (R prints 1e-17 where we compute 0)
ATOL = 1e-10


_SPECIAL = {"NA": None, "NaN": None, "Inf": math.inf, "-Inf": -math.inf}


def _decode(v: Any) -> Any:
    if isinstance(v, str):
        return _SPECIAL.get(v, v)
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        return {k: _decode(x) for k, x in v.items()}
    return v


@cache
def fixtures() -> dict[str, Any]:
    """The fixture file, with R's NA/NaN as None and Inf/-Inf as floats."""
    return _decode(json.loads(FIXTURE.read_text()))  # type: ignore[no-any-return]


def dataset(name: str) -> dict[str, Any]:
    return fixtures()["datasets"][name]  # type: ignore[no-any-return]


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def close(actual: float | None, expected: Any, rtol: float, atol: float = ATOL) -> bool:
    if expected == []:
        expected = None
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if actual is None or math.isnan(actual):
        return False
    if math.isinf(expected) or math.isinf(actual):
        return bool(expected == actual)
    return bool(abs(actual - expected) <= rtol * abs(expected) + atol)


def assert_close(actual: float | None, expected: Any, rtol: float, what: str) -> None:
    assert close(actual, expected, rtol), f"{what}: got {actual!r}, metafor {expected!r}"
