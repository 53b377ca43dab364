"""Random and adversarial assessments and options for every registered scale and score: a clear
cartwatch error naming the field, or a result whose grade lies between its floor and ceiling —
never another exception (issue 10 item 1; extends tests/grading/test_bad_input_fuzz.py, which
samples scales, with a per-scale run, option choices and the plausible-range edges of
assessment.FIELDS). Hypothesis runs derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cartwatch
from cartwatch.assessment import FIELDS
from cartwatch.errors import CartwatchError, ConfigError, ImplausibleValue, InvalidValue
from cartwatch.grading.result import GradeResult, Status

SCALES = {s.id: s for s in cartwatch.scales()}
STATUSES = {s.value for s in Status}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

ENUMS = {name: [m.value for m in spec.enum] for name, spec in FIELDS.items() if spec.enum}
NUMERIC = {n: s for n, s in FIELDS.items() if s.kind in ("number", "int")}

adversarial_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324]),
    st.text(max_size=16),
    st.sampled_from(
        ["", " ", "38.5", "1e309", "NaN", "-inf", "0x10", "١٢", "３８", "\x00", "none"]
    ),
    st.sampled_from([v for values in ENUMS.values() for v in values]),
)
adversarial_values = st.recursive(
    adversarial_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
KEYS = [*FIELDS, "oxygen.device", "ice.orientation", "temprature_c", "", "__proto__", "é"]


def _near(name: str) -> st.SearchStrategy[Any]:
    """Values of the field's own kind, with unknown enum members and wrong types mixed in."""
    spec = FIELDS.get(name)
    if spec is None:
        return adversarial_values
    if spec.kind in ("number", "int") and spec.low is not None and spec.high is not None:
        return st.one_of(
            st.floats(min_value=spec.low, max_value=spec.high),
            st.sampled_from([spec.low, spec.high, spec.low - 1e-9, spec.high + 1e-9]),
            st.sampled_from([str(spec.low), str(spec.high), True, False, None]),
        )
    if spec.kind == "enum":
        return st.one_of(st.sampled_from(ENUMS[name]), st.sampled_from(["NONE", "unknown", 3]))
    if name == "oxygen":
        return st.dictionaries(
            st.sampled_from(["device", "flow_l_min", "fio2", "spo2", "junk"]),
            adversarial_values,
            max_size=3,
        )
    if name == "ice":
        return st.dictionaries(
            st.sampled_from(["orientation", "naming", "commands", "writing", "attention", "x"]),
            st.one_of(st.integers(-2, 6), adversarial_scalars),
            max_size=5,
        )
    return adversarial_values


@st.composite
def adversarial_assessments(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 7)) == 0:
        return draw(adversarial_values)
    names = draw(st.lists(st.sampled_from(KEYS), max_size=10, unique=True))
    return {n: draw(st.one_of(_near(n), adversarial_values)) for n in names}


@st.composite
def plausible_assessments(draw: st.DrawFn) -> dict[str, Any]:
    """Well-typed values inside each field's range (reaches the rules, not the parser)."""
    out: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        if draw(st.integers(0, 3)) != 0:
            continue
        if name in NUMERIC and spec.low is not None and spec.high is not None:
            value: float = draw(st.floats(min_value=spec.low, max_value=spec.high))
            out[name] = round(value) if spec.kind == "int" else value
        elif spec.kind == "bool":
            out[name] = draw(st.booleans())
        elif name in ENUMS:
            out[name] = draw(st.sampled_from(ENUMS[name]))
    if draw(st.booleans()):
        out["oxygen"] = {
            "device": draw(
                st.sampled_from(["none", "low_flow_nasal_cannula", "high_flow", "cpap", "bipap"])
            )
        }
    return out


def check_answer(scale: str, payload: Any, options: dict[str, str] | None = None) -> None:
    """A result that is internally consistent, or a cartwatch error that explains itself."""
    try:
        result = cartwatch.grade(scale, payload, options=options)
    except CartwatchError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        if exc.field is not None:
            assert str(exc.field) in message or exc.expected, message
        return
    data = result.to_dict()
    assert data["scale"] == scale
    assert data["status"] in STATUSES
    if isinstance(result, GradeResult):
        if result.grade is not None:
            assert result.floor == result.ceiling == result.grade
            assert result.status in (Status.GRADED, Status.CRITERIA_NOT_MET)
        elif result.status is Status.NOT_GRADEABLE:
            assert result.floor is not None and result.ceiling is not None
            assert result.floor < result.ceiling
            assert result.missing, "an open grade names the fields that would decide it"
        if result.floor is not None and result.ceiling is not None:
            assert 0 <= result.floor <= result.ceiling <= 5


@pytest.mark.parametrize("scale", sorted(SCALES))
@FUZZ
@given(payload=adversarial_assessments())
def test_adversarial_assessments_get_a_result_or_a_clear_error(scale: str, payload: Any) -> None:
    check_answer(scale, payload)


@pytest.mark.slow
@pytest.mark.parametrize("scale", sorted(SCALES))
@settings(FUZZ, max_examples=2000)
@given(payload=adversarial_assessments())
def test_adversarial_assessments_under_a_longer_fuzz(scale: str, payload: Any) -> None:
    check_answer(scale, payload)


@pytest.mark.parametrize("scale", sorted(SCALES))
@FUZZ
@given(payload=plausible_assessments(), data=st.data())
def test_every_option_choice_grades_plausible_charts(
    scale: str, payload: dict[str, Any], data: st.DataObject
) -> None:
    options = {o.name: data.draw(st.sampled_from(o.choices)) for o in SCALES[scale].options}
    check_answer(scale, payload, options)


@pytest.mark.parametrize("scale", sorted(SCALES))
@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(
    name=st.one_of(st.text(max_size=10), st.sampled_from(["", "niv_grade", "__class__"])),
    value=st.one_of(st.text(max_size=10), st.sampled_from(["", "YES", " 4", "None"])),
)
def test_an_unknown_option_or_choice_is_a_config_error_naming_it(
    scale: str, name: str, value: str
) -> None:
    info = SCALES[scale]
    option = next((o for o in info.options if o.name == name), None)
    if option is not None and value in option.choices:
        return
    with pytest.raises(ConfigError) as raised:
        cartwatch.grade(scale, {}, options={name: value})
    assert raised.value.field == name
    expected = ", ".join(option.choices) if option else ", ".join(o.name for o in info.options)
    assert raised.value.expected == (expected or "none")


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_every_choice_of_a_wrong_option_is_listed(scale: str) -> None:
    for option in SCALES[scale].options:
        with pytest.raises(ConfigError) as raised:
            cartwatch.grade(scale, {}, options={option.name: option.default + "_typo"})
        for choice in option.choices:
            assert choice in str(raised.value)


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_range_edges_are_accepted_and_just_beyond_is_implausible(name: str) -> None:
    spec = FIELDS[name]
    assert spec.low is not None and spec.high is not None
    for scale in SCALES:
        for edge in (spec.low, spec.high):
            check_answer(scale, {name: int(edge) if spec.kind == "int" else edge})
    step = 1 if spec.kind == "int" else max(abs(spec.low), abs(spec.high), 1) * 1e-9
    for beyond in (spec.low - step, spec.high + step):
        value = int(beyond) if spec.kind == "int" else beyond
        with pytest.raises(ImplausibleValue) as raised:
            cartwatch.grade("astct_crs", {name: value})
        assert raised.value.field == name
        assert name in str(raised.value)


@pytest.mark.parametrize("scale", ["easix", "m_easix", "easix_pre_korell"])
@pytest.mark.parametrize("platelets", [0, 5e-324, 1e-306])
def test_a_platelet_count_too_small_to_divide_by_is_named(scale: str, platelets: float) -> None:
    """Regression: a subnormal platelet count underflowed to 0 ×10⁹/L and EASIX raised
    ZeroDivisionError (or, a little larger, returned an infinite score)."""
    chart = {"platelets_per_ul": platelets, "ldh_u_l": 250, "creatinine_mg_dl": 1.0}
    with pytest.raises(InvalidValue) as raised:
        cartwatch.grade(scale, {**chart, "crp_mg_dl": 2.0, "day_post_infusion": -5})
    assert raised.value.field == "platelets_per_ul"
