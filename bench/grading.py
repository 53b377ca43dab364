"""Scalar grading speed: `cartwatch.grade` per call against a plain-dict function of one rule.

The baseline is the ASTCT CRS decision list of clinical-spec §1.3 written directly over a dict
(no parsing, no missing-data reasoning, no explanations). The ratio says what the contract's
guarantees (validation, exact floor/ceiling, drivers) cost per call.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import cartwatch
from cartwatch.assessment import parse_assessment
from cartwatch.grading.crs.astct_2019 import DEFAULTS
from cartwatch.grading.crs.astct_2019 import SCALE as ASTCT_CRS

DEVICES = ["none", "low_flow_nasal_cannula", "high_flow_nasal_cannula", "facemask", "cpap"]
HYPO = ["none", "fluid_responsive", "vasopressor_single", "vasopressor_multiple"]
H_GRADE = {"none": 1, "fluid_responsive": 2, "vasopressor_single": 3, "vasopressor_multiple": 4}
O_GRADE = {
    "none": 1,
    "low_flow_nasal_cannula": 2,
    "high_flow_nasal_cannula": 3,
    "facemask": 3,
    "cpap": 4,
}


def plain_astct_crs(d: dict[str, Any]) -> int:
    """The §1.3 decision list over a complete dict: the practical floor of a scalar call."""
    fever = d["temperature_c"] >= 38.0
    if not fever:
        return 0
    flow = d["oxygen"]["flow_l_min"]
    o = O_GRADE[d["oxygen"]["device"]]
    if d["oxygen"]["device"].endswith("nasal_cannula") and flow is not None:
        o = 2 if flow <= 6 else 3
    return max(H_GRADE[d["hypotension"]], o)


def _cases(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    return [
        {
            "temperature_c": round(rnd.uniform(36.5, 40.5), 1),
            "crs_previously_established": False,
            "antipyretic_or_anticytokine_given": False,
            "hypotension": rnd.choice(HYPO),
            "oxygen": {"device": rnd.choice(DEVICES), "flow_l_min": rnd.choice([None, 2.0, 8.0])},
        }
        for _ in range(n)
    ]


def _per_call(fn: Callable[[Any], Any], items: list[Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items)


def run() -> dict[str, Any]:
    cases = _cases(5000)
    for case in cases[:200]:
        result = cartwatch.grade("astct_crs", case)
        assert result.to_dict()["grade"] == plain_astct_crs(case)
    parsed = [parse_assessment(c) for c in cases]
    baseline = _per_call(plain_astct_crs, cases)
    full = _per_call(lambda c: cartwatch.grade("astct_crs", c), cases)
    engine_only = _per_call(lambda a: ASTCT_CRS.evaluate(a, DEFAULTS), parsed)
    parse_only = _per_call(parse_assessment, cases)
    partial = [
        {"temperature_c": c["temperature_c"], "hypotension": c["hypotension"]} for c in cases
    ]
    missing = _per_call(lambda c: cartwatch.grade("astct_crs", c), partial)
    icans = [
        {
            "age_years": 50,
            "ice_total": i % 11,
            "consciousness": "alert",
            "seizure": "none",
            "motor": "none",
            "icp_edema": "none",
        }
        for i in range(2000)
    ]
    icans_call = _per_call(lambda c: cartwatch.grade("astct_icans", c), icans)
    return {
        "plain_dict_astct_crs_us": round(baseline * 1e6, 3),
        "cartwatch_grade_astct_crs_us": round(full * 1e6, 2),
        "of_which_parse_us": round(parse_only * 1e6, 2),
        "of_which_engine_us": round(engine_only * 1e6, 2),
        "cartwatch_grade_astct_crs_oxygen_missing_us": round(missing * 1e6, 2),
        "cartwatch_grade_astct_icans_us": round(icans_call * 1e6, 2),
        "ratio_plain_over_cartwatch": round(baseline / full, 5),
        "calls_per_second_astct_crs": round(1 / full),
    }
