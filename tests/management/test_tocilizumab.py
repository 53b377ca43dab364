"""Tocilizumab dose and re-dose rules (TOCI-01..05) at their boundaries, and examples V127/V134."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.errors import ImplausibleValue, InvalidValue
from cartwatch.management import load_protocol, tocilizumab_dose, tocilizumab_redose


def _example(examples: list[dict[str, Any]], ex_id: str) -> dict[str, Any]:
    return next(e for e in examples if e["id"] == ex_id)


def test_V127_tocilizumab_dose_weight_30_kg(examples: list[dict[str, Any]]) -> None:
    ex = _example(examples, "V127")
    expected = ex["expected"]["TOCILIZUMAB_DOSE"]
    result = tocilizumab_dose(weight_kg=ex["input"]["weight_kg"])
    assert result.status == expected["status"]
    assert result.value == expected["value"]
    assert result.unit == expected["unit"]
    assert result.mg_per_kg == expected["mg_per_kg"]
    assert result.reason == expected["reason"]
    assert "Actemra" in result.reference and "Santomasso" in result.reference


def test_V134_redose_refused_after_four_doses(examples: list[dict[str, Any]]) -> None:
    ex = _example(examples, "V134")
    expected = ex["expected"]["TOCILIZUMAB_REDOSE"]
    decision = tocilizumab_redose(
        prior_dose_times_h=ex["input"]["prior_dose_times_h"],
        proposed_dose_time_h=ex["input"]["proposed_dose_time_h"],
        clinical_improvement=ex["input"]["clinical_improvement"],
    )
    assert decision.status == expected["status"]
    assert decision.value is expected["value"]
    assert decision.unit == expected["unit"]
    assert decision.reason == expected["reason"]
    assert decision.earliest_next_h is None


@pytest.mark.parametrize(
    ("weight_kg", "mg_per_kg", "dose_mg"),
    [
        (29.9, 12.0, 358.8),  # just below 30 kg: 12 mg/kg
        (29.99, 12.0, 359.88),
        (30.0, 8.0, 240.0),  # at 30 kg: 8 mg/kg
        (30.1, 8.0, 240.8),
        (10.0, 12.0, 120.0),
        (99.9, 8.0, 799.2),  # just below the cap
        (100.0, 8.0, 800.0),  # at the cap
        (100.1, 8.0, 800.0),  # above: capped
        (180.0, 8.0, 800.0),
    ],
)
def test_dose_bands_and_cap(weight_kg: float, mg_per_kg: float, dose_mg: float) -> None:
    result = tocilizumab_dose(weight_kg=weight_kg)
    assert result.mg_per_kg == mg_per_kg
    assert result.value == dose_mg


def test_child_band_dose_is_exact_and_not_rounded() -> None:
    result = tocilizumab_dose(weight_kg=29.95)
    assert result.value == 359.4
    assert "<30 kg -> 12 mg/kg x 29.95 kg = 359.4 mg" in result.reason


@pytest.mark.parametrize("bad", [-3.0, 0.0, 0.49, 351.0, float("nan"), float("inf")])
def test_implausible_weight_is_refused_with_the_field_named(bad: float) -> None:
    with pytest.raises(ImplausibleValue) as err:
        tocilizumab_dose(weight_kg=bad)
    assert err.value.field == "weight_kg"
    assert "0.5–350 kg" in str(err.value)


def test_boolean_weight_is_refused() -> None:
    with pytest.raises(InvalidValue):
        tocilizumab_dose(weight_kg=True)


@given(st.floats(min_value=0.5, max_value=350.0))
def test_dose_never_exceeds_cap_and_matches_band(weight_kg: float) -> None:
    result = tocilizumab_dose(weight_kg=weight_kg)
    assert result.value is not None
    assert 0 < result.value <= 800.0
    expected = min((12.0 if weight_kg < 30.0 else 8.0) * weight_kg, 800.0)
    assert result.value == pytest.approx(expected, rel=1e-12)


@given(
    st.floats(min_value=30.0, max_value=350.0),
    st.floats(min_value=30.0, max_value=350.0),
)
def test_heavier_adult_never_gets_less(w1: float, w2: float) -> None:
    lo, hi = sorted((w1, w2))
    a, b = tocilizumab_dose(weight_kg=lo).value, tocilizumab_dose(weight_kg=hi).value
    assert a is not None and b is not None and a <= b


# --- re-dosing ---------------------------------------------------------------------------


def test_first_dose_is_allowed() -> None:
    decision = tocilizumab_redose(prior_dose_times_h=[], proposed_dose_time_h=0)
    assert decision.value is True
    assert decision.prior_doses == 0


@pytest.mark.parametrize(("proposed", "allowed"), [(7.99, False), (8.0, True), (8.01, True)])
def test_minimum_interval_8_h(proposed: float, allowed: bool) -> None:
    decision = tocilizumab_redose(prior_dose_times_h=[0], proposed_dose_time_h=proposed)
    assert decision.value is allowed
    if not allowed:
        assert decision.reason.startswith("Minimum interval 8 h not reached")
        assert decision.earliest_next_h == 8.0


def test_q8h_schedule_reaches_four_doses_then_stops() -> None:
    assert tocilizumab_redose(prior_dose_times_h=[0, 8], proposed_dose_time_h=16).value
    assert tocilizumab_redose(prior_dose_times_h=[0, 8, 16], proposed_dose_time_h=24).value
    refused = tocilizumab_redose(prior_dose_times_h=[0, 8, 16, 24], proposed_dose_time_h=100)
    assert not refused.value
    assert refused.reason == "Maximum total of 4 doses already given"


def test_prior_doses_may_be_given_in_any_order() -> None:
    decision = tocilizumab_redose(prior_dose_times_h=[16, 0, 8], proposed_dose_time_h=20)
    assert not decision.value
    assert decision.hours_since_last == 4.0


def test_proposed_before_last_dose_is_an_error() -> None:
    with pytest.raises(InvalidValue) as err:
        tocilizumab_redose(prior_dose_times_h=[0, 10], proposed_dose_time_h=5)
    assert err.value.field == "proposed_dose_time_h"


def test_non_finite_time_is_an_error() -> None:
    with pytest.raises(InvalidValue):
        tocilizumab_redose(prior_dose_times_h=[float("nan")], proposed_dose_time_h=5)


_SIX_HOURS = """
[drugs.tocilizumab]
min_interval_h = 6.0
"""


@pytest.mark.parametrize(
    ("proposed", "allowed", "earliest"),
    [
        (18.0, False, 24.0),  # 0, 6, 12 in the 24 h before 18 h: a 4th would exceed 3/24 h
        (23.99, False, 24.0),
        (24.0, True, None),  # the dose at 0 h is exactly 24 h earlier: outside the window
    ],
)
def test_three_doses_per_rolling_24_h_with_a_6_h_centre_interval(
    proposed: float, allowed: bool, earliest: float | None
) -> None:
    protocol = load_protocol(centre_toml=_SIX_HOURS, centre_origin="centre.toml")
    decision = tocilizumab_redose(
        prior_dose_times_h=[0, 6, 12], proposed_dose_time_h=proposed, protocol=protocol
    )
    assert decision.value is allowed
    assert decision.earliest_next_h == earliest
    if not allowed:
        assert decision.reason.startswith("Maximum 3 doses in 24 h would be exceeded")
    assert dict(decision.origins)["min_interval_h"] == "centre.toml"
    assert dict(decision.origins)["max_doses_per_24_h"] == "consensus default"


def test_total_limit_is_checked_before_the_interval() -> None:
    decision = tocilizumab_redose(prior_dose_times_h=[0, 8, 16, 24], proposed_dose_time_h=25)
    assert decision.reason == "Maximum total of 4 doses already given"


def test_clinical_improvement_refuses_a_further_dose() -> None:
    """TOCI-04: additional doses only "if no clinical improvement after the first dose"."""
    improving = tocilizumab_redose(
        prior_dose_times_h=[0], proposed_dose_time_h=8, clinical_improvement=True
    )
    assert improving.value is False and "improvement" in improving.reason
    assert tocilizumab_redose(
        prior_dose_times_h=[0], proposed_dose_time_h=8, clinical_improvement=False
    ).value
    first = tocilizumab_redose(
        prior_dose_times_h=[], proposed_dose_time_h=0, clinical_improvement=True
    )
    assert first.value is True  # the first dose is not a re-dose


@given(
    st.lists(st.floats(min_value=0, max_value=200), max_size=6),
    st.floats(min_value=0, max_value=300),
)
def test_an_allowed_dose_respects_every_limit(prior: list[float], extra: float) -> None:
    proposed = (max(prior) if prior else 0.0) + extra
    decision = tocilizumab_redose(prior_dose_times_h=prior, proposed_dose_time_h=proposed)
    if decision.value:
        assert len(prior) < 4
        assert all(proposed - t >= 8.0 for t in prior)
        assert sum(1 for t in prior if proposed - t < 24.0) + 1 <= 3
    elif decision.earliest_next_h is not None:
        later = tocilizumab_redose(
            prior_dose_times_h=prior, proposed_dose_time_h=decision.earliest_next_h
        )
        assert later.value


def test_to_dict_is_json_ready() -> None:
    import json

    d = tocilizumab_dose(weight_kg=72).to_dict()
    assert json.loads(json.dumps(d))["value"] == 576.0
    assert d["origin"] == "consensus default"
