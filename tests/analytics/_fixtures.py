"""The R reference values written by ``fixtures/make_fixtures.R`` (tests only read them)."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "r_reference.json"


@cache
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def as_array(values: Any) -> np.ndarray[Any, Any]:
    """R vector (scalar, list, nulls for NA) as a float array with NaN for NA."""
    if not isinstance(values, list):
        values = [values]
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def assert_close(actual: Any, expected: Any, *, tol: float, what: str) -> float:
    """Equal within ``tol`` with NaN in the same places; returns the largest difference."""
    a, e = as_array(list(actual)), as_array(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != R {e.shape}"
    assert (np.isnan(a) == np.isnan(e)).all(), f"{what}: NA pattern {a} != R {e}"
    keep = ~np.isnan(a)
    worst = float(np.max(np.abs(a[keep] - e[keep]), initial=0.0))
    assert worst <= tol, f"{what}: max |diff| {worst:.3g} > {tol:g}\n{a}\n{e}"
    return worst
