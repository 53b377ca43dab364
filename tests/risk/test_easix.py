"""EASIX, m-EASIX and EASIX-pre (Korell): formulas, units, log2, the 4.67 cut-off, ranges."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cartwatch
from cartwatch.errors import InvalidValue
from cartwatch.grading.result import Status
from cartwatch.risk.result import ScoreResult


def score(scale: str, data: dict[str, Any]) -> ScoreResult:
    result = cartwatch.grade(scale, data)
    assert isinstance(result, ScoreResult)
    return result


def test_easix_is_ldh_times_creatinine_over_platelets_in_10e9_per_l() -> None:
    result = score("easix", {"ldh_u_l": 250, "creatinine_mg_dl": 0.8, "platelets_per_ul": 200_000})
    assert result.value == pytest.approx(250 * 0.8 / 200)
    assert result.to_dict()["log2"] == pytest.approx(math.log2(1.0))
    assert result.risk is None and "no_published_band" in result.reasons


def test_m_easix_uses_crp_in_mg_per_dl() -> None:
    mg_dl = score("m_easix", {"ldh_u_l": 400, "crp_mg_dl": 5.0, "platelets_per_ul": 100_000})
    mg_l = score("m_easix", {"ldh_u_l": 400, "crp_mg_l": 50, "platelets_per_ul": 100_000})
    assert mg_dl.value == pytest.approx(400 * 5.0 / 100) == mg_l.value
    assert mg_dl.to_dict()["log2"] == pytest.approx(math.log2(20.0))


def test_creatinine_in_umol_per_l_and_platelets_in_10e9_per_l_are_converted() -> None:
    si = score("easix", {"ldh_u_l": 300, "creatinine_umol_l": 88.4, "platelets_10e9_l": 150})
    assert si.value == pytest.approx(300 * 1.0 / 150)


@pytest.mark.parametrize(
    ("ldh", "risk"),
    [(467, "low"), (467.1, "high"), (466.9, "low")],
)
def test_korell_cut_off_is_strictly_above_4_67(ldh: float, risk: str) -> None:
    # creatinine 1.0 mg/dL, platelets 100 ×10⁹/L: EASIX = LDH / 100
    result = score(
        "easix_pre_korell", {"ldh_u_l": ldh, "creatinine_mg_dl": 1.0, "platelets_per_ul": 100_000}
    )
    assert result.risk == risk
    assert result.high_risk is (risk == "high")
    assert result.to_dict()["cutoff"] == 4.67


def test_missing_platelets_give_an_unbounded_range_but_may_still_decide_high() -> None:
    result = score("easix_pre_korell", {"ldh_u_l": 5000, "creatinine_mg_dl": 3.0})
    assert result.value is None
    assert result.value_range is not None and result.value_range[1] is None
    assert result.value_range[0] == pytest.approx(15000 / 3000)
    assert result.risk == "high" and result.risk_determined
    assert result.missing == ("platelets_per_ul",)


def test_missing_ldh_leaves_the_korell_band_open() -> None:
    result = score("easix_pre_korell", {"creatinine_mg_dl": 1.0, "platelets_per_ul": 100_000})
    assert result.risk is None and not result.risk_determined
    assert result.missing == ("ldh_u_l",)


def test_zero_platelets_is_an_error_naming_the_field() -> None:
    with pytest.raises(InvalidValue, match="platelets_per_ul"):
        score("easix", {"ldh_u_l": 300, "creatinine_mg_dl": 1.0, "platelets_per_ul": 0})


def test_easix_pre_is_not_applicable_after_infusion() -> None:
    data = {"ldh_u_l": 300, "creatinine_mg_dl": 1.0, "platelets_per_ul": 100_000}
    assert score("easix_pre_korell", {**data, "day_post_infusion": 3}).status is (
        Status.NOT_APPLICABLE
    )
    assert score("easix", {**data, "day_post_infusion": 3}).status is Status.COMPUTED


ldh = st.floats(1, 100_000, allow_nan=False)
creat = st.floats(0.05, 30, allow_nan=False)
plt = st.floats(1, 3_000_000, allow_nan=False)


@given(ldh, creat, plt, st.floats(1, 10, allow_nan=False))
def test_worse_labs_never_lower_easix_or_the_korell_band(
    ldh_value: float, c: float, p: float, factor: float
) -> None:
    base = score(
        "easix_pre_korell", {"ldh_u_l": ldh_value, "creatinine_mg_dl": c, "platelets_per_ul": p}
    )
    worse_ldh = score(
        "easix_pre_korell",
        {"ldh_u_l": min(ldh_value * factor, 100_000), "creatinine_mg_dl": c, "platelets_per_ul": p},
    )
    worse_plt = score(
        "easix_pre_korell",
        {"ldh_u_l": ldh_value, "creatinine_mg_dl": c, "platelets_per_ul": p / factor},
    )
    order = {"low": 0, "high": 1}
    for worse in (worse_ldh, worse_plt):
        assert base.value is not None and worse.value is not None
        assert worse.value >= base.value
        assert order[worse.risk or ""] >= order[base.risk or ""]


@given(ldh, creat, plt, st.sampled_from(["ldh_u_l", "creatinine_mg_dl", "platelets_per_ul"]))
def test_recording_a_missing_input_keeps_easix_within_its_range(
    ldh_value: float, c: float, p: float, dropped: str
) -> None:
    values = {"ldh_u_l": ldh_value, "creatinine_mg_dl": c, "platelets_per_ul": p}
    full = score("easix_pre_korell", values)
    partial = score("easix_pre_korell", {k: v for k, v in values.items() if k != dropped})
    assert full.value is not None and partial.value_range is not None
    low, high = partial.value_range
    assert low is not None
    assert low <= full.value * (1 + 1e-12)
    assert high is None or full.value <= high * (1 + 1e-12)
    if partial.risk_determined:
        assert partial.risk == full.risk
