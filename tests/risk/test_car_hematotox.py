"""CAR-HEMATOTOX: every cut-off under each boundary rule, the band, and missing values (C-4)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch.errors import ConfigError
from cartwatch.grading.result import Status
from cartwatch.risk.result import ScoreResult
from tests.conftest import load_examples

NORMAL = {
    "platelets_per_ul": 250_000,
    "anc_per_ul": 3000,
    "hemoglobin_g_dl": 13.0,
    "crp_mg_dl": 0.5,
    "ferritin_ng_ml": 200,
}


def score(data: dict[str, Any], **options: str) -> ScoreResult:
    result = cartwatch.grade("car_hematotox", data, options=options or None)
    assert isinstance(result, ScoreResult)
    return result


def points(result: ScoreResult, name: str) -> float | None:
    return next(c.points for c in result.components if c.name == name)


def test_V112_ferritin_missing_but_platelets_give_2_points_is_already_high() -> None:
    ex = next(e for e in load_examples() if e["id"] == "V112")
    expected = ex["expected"]["CAR_HEMATOTOX"]
    result = score(ex["input"])
    assert result.status is Status.COMPUTED
    assert result.value is None
    assert list(result.value_range or ()) == expected["score_range"] == [2, 4]
    assert result.risk == expected["risk"] == "high"
    assert result.risk_determined is True
    assert result.missing == ("ferritin_ng_ml",)
    assert points(result, "platelets_per_ul") == 2
    assert result.to_dict()["score_range"] == [2, 4]


def test_all_normal_is_0_points_ht_low() -> None:
    result = score(NORMAL)
    assert result.value == 0
    assert result.risk == "low" and result.high_risk is False


def test_maximum_is_7_points() -> None:
    result = score(
        {
            "platelets_per_ul": 20_000,
            "anc_per_ul": 100,
            "hemoglobin_g_dl": 7.0,
            "crp_mg_dl": 10.0,
            "ferritin_ng_ml": 5000,
        }
    )
    assert result.value == 7


def test_one_point_is_low_and_two_points_high() -> None:
    assert score({**NORMAL, "crp_mg_dl": 3.1}).risk == "low"
    result = score({**NORMAL, "crp_mg_dl": 3.1, "anc_per_ul": 1000})
    assert result.value == 2 and result.risk == "high"


# (field, value, points by rule: impl_ht_boundary, cutoff_to_lower_points, cutoff_to_higher_points)
BOUNDARIES = [
    ("platelets_per_ul", 175_001, (0, 0, 0)),
    ("platelets_per_ul", 175_000, (1, 0, 1)),
    ("platelets_per_ul", 174_999, (1, 1, 1)),
    ("platelets_per_ul", 75_001, (1, 1, 1)),
    ("platelets_per_ul", 75_000, (1, 1, 2)),
    ("platelets_per_ul", 74_999, (2, 2, 2)),
    ("anc_per_ul", 1201, (0, 0, 0)),
    ("anc_per_ul", 1200, (0, 0, 1)),
    ("anc_per_ul", 1199, (1, 1, 1)),
    ("hemoglobin_g_dl", 9.01, (0, 0, 0)),
    ("hemoglobin_g_dl", 9.0, (0, 0, 1)),
    ("hemoglobin_g_dl", 8.99, (1, 1, 1)),
    ("crp_mg_dl", 2.99, (0, 0, 0)),
    ("crp_mg_dl", 3.0, (0, 0, 1)),
    ("crp_mg_dl", 3.01, (1, 1, 1)),
    ("ferritin_ng_ml", 649, (0, 0, 0)),
    ("ferritin_ng_ml", 650, (1, 0, 1)),
    ("ferritin_ng_ml", 1999, (1, 1, 1)),
    ("ferritin_ng_ml", 2000, (1, 1, 2)),
    ("ferritin_ng_ml", 2001, (2, 2, 2)),
]
RULES = ("impl_ht_boundary", "cutoff_to_lower_points", "cutoff_to_higher_points")


@pytest.mark.parametrize(("field", "value", "expected"), BOUNDARIES)
def test_cut_off_points_under_each_boundary_rule(
    field: str, value: float, expected: tuple[int, int, int]
) -> None:
    for rule, want in zip(RULES, expected, strict=True):
        result = score({**NORMAL, field: value}, boundary_rule=rule)
        assert points(result, field) == want, rule
        assert result.value == want


def test_unknown_boundary_rule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="boundary_rule"):
        score(NORMAL, boundary_rule="nearest")


def test_missing_value_that_could_cross_the_band_leaves_it_open() -> None:
    data = {**NORMAL, "crp_mg_dl": 3.5}
    del data["anc_per_ul"]
    result = score(data)
    assert result.value is None
    assert result.value_range == (1, 2)
    assert result.risk is None and result.risk_determined is False
    assert result.missing == ("anc_per_ul",)


def test_nothing_recorded_spans_0_to_7() -> None:
    result = score({})
    assert result.value_range == (0, 7)
    assert result.risk is None


def test_not_applicable_after_infusion() -> None:
    result = score({**NORMAL, "day_post_infusion": 0})
    assert result.status is Status.NOT_APPLICABLE
    assert score({**NORMAL, "day_post_infusion": -5}).status is Status.COMPUTED


def test_si_units_are_converted_at_the_edge() -> None:
    si = {
        "platelets_10e9_l": 75,
        "anc_10e9_l": 1.2,
        "hemoglobin_g_l": 90,
        "crp_mg_l": 30,
        "ferritin_ng_ml": 650,
    }
    conventional = {
        "platelets_per_ul": 75_000,
        "anc_per_ul": 1200,
        "hemoglobin_g_dl": 9.0,
        "crp_mg_dl": 3.0,
        "ferritin_ng_ml": 650,
    }
    assert score(si).value == score(conventional).value == 2


def test_components_explain_each_contribution() -> None:
    result = score({**NORMAL, "platelets_per_ul": 60_000})
    rules = [c.rule for c in result.components]
    assert any("60,000/µL" in r and "2 points" in r for r in rules)
    assert len(result.components) == 5


lab = {
    "platelets_per_ul": st.floats(0, 3_000_000, allow_nan=False),
    "anc_per_ul": st.floats(0, 200_000, allow_nan=False),
    "hemoglobin_g_dl": st.floats(0.5, 25, allow_nan=False),
    "crp_mg_dl": st.floats(0, 100, allow_nan=False),
    "ferritin_ng_ml": st.floats(0, 1_000_000, allow_nan=False),
}
WORSE_IS_LOWER = {"platelets_per_ul", "anc_per_ul", "hemoglobin_g_dl"}
BAND = {"low": 0, "high": 1}


@given(st.fixed_dictionaries(lab), st.sampled_from(sorted(lab)), st.data())
def test_a_worse_lab_never_lowers_points_or_band(
    values: dict[str, float], field: str, data: st.DataObject
) -> None:
    other = data.draw(lab[field])
    worse_value = (
        min(values[field], other) if field in WORSE_IS_LOWER else max(values[field], other)
    )
    for rule in RULES:
        base = score(values, boundary_rule=rule)
        worse = score({**values, field: worse_value}, boundary_rule=rule)
        assert base.value is not None and worse.value is not None
        assert worse.value >= base.value
        assert BAND[worse.risk or ""] >= BAND[base.risk or ""]


@given(st.fixed_dictionaries(lab), st.sets(st.sampled_from(sorted(lab)), min_size=1))
def test_recording_missing_values_keeps_the_score_within_its_range(
    values: dict[str, float], dropped: set[str]
) -> None:
    full = score(values)
    partial = score({k: v for k, v in values.items() if k not in dropped})
    assert full.value is not None and partial.value_range is not None
    low, high = partial.value_range
    assert low is not None and high is not None
    assert low <= full.value <= high
    if partial.risk_determined:
        assert partial.risk == full.risk
