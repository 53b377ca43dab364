"""Random and adversarial input to every registered scale: a result or a clear cartwatch error,
never a crash (issue 10 item 1, for the grading entry point)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cartwatch
from cartwatch.assessment import FIELDS, field_names
from cartwatch.errors import CartwatchError

SCALES = [s.id for s in cartwatch.scales()]
NAMES = [*field_names(), "oxygen.device", "temprature_c", "", "ice", "__class__"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["none", "CRS", "alert", "vasopressor_single", "cpap", "1e309", "NaN"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)


def _plausible(name: str) -> st.SearchStrategy[Any]:
    spec = FIELDS.get(name)
    if spec is None or spec.kind not in ("number", "int"):
        return json_values
    assert spec.low is not None and spec.high is not None
    return st.one_of(
        st.floats(min_value=spec.low, max_value=spec.high),
        st.sampled_from([spec.low, spec.high, spec.low - 1, spec.high + 1]),
    )


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    names = draw(st.lists(st.sampled_from(NAMES), max_size=8, unique=True))
    return {n: draw(st.one_of(_plausible(n), json_values)) for n in names}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.sampled_from(SCALES), payload=payloads())
def test_every_scale_answers_or_explains(scale: str, payload: Any) -> None:
    try:
        result = cartwatch.grade(scale, payload)
    except CartwatchError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    data = result.to_dict()
    assert data["scale"] == scale and data["status"]


ENUM_VALUES = {
    name: [m.value for m in spec.enum] for name, spec in FIELDS.items() if spec.enum is not None
}


@st.composite
def valid_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Well-typed, plausible values of many fields at once: reaches the rules, not the parser."""
    out: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        if draw(st.integers(0, 3)) != 0:
            continue
        if spec.kind in ("number", "int") and spec.low is not None and spec.high is not None:
            value: Any = draw(st.floats(min_value=spec.low, max_value=spec.high))
            out[name] = round(value) if spec.kind == "int" else value
        elif spec.kind == "bool":
            out[name] = draw(st.booleans())
        elif name in ENUM_VALUES:
            out[name] = draw(st.sampled_from(ENUM_VALUES[name]))
    if draw(st.booleans()):
        out["anc_series"] = [
            {"day": d, "anc_per_ul": draw(st.sampled_from([0, 50, 100, 499, 500, 1200, 3000]))}
            for d in sorted(draw(st.sets(st.integers(-5, 60), max_size=12)))
        ]
    if draw(st.booleans()):
        out["organ_toxicity_ctcae"] = {"alt_increased": draw(st.integers(0, 4))}
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.sampled_from(SCALES), payload=valid_payloads())
def test_plausible_charts_reach_the_rules_without_crashing(
    scale: str, payload: dict[str, Any]
) -> None:
    try:
        result = cartwatch.grade(scale, payload)
    except CartwatchError as exc:
        assert str(exc)
        return
    data = result.to_dict()
    assert data["status"] in {
        "graded",
        "criteria_not_met",
        "criteria_met",
        "not_gradeable",
        "not_applicable",
        "computed",
    }
