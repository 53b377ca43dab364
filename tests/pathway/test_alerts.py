"""Alert rules over dated observations (fever, ferritin, ICE drop, CAPD, tocilizumab)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.errors import InvalidValue
from cartwatch.management import load_protocol
from cartwatch.pathway import (
    AlertRule,
    AlertThresholds,
    Observation,
    ObservationKind,
    evaluate_alerts,
)

DAY0 = date(2025, 9, 10)
T0 = datetime(2025, 9, 10, 8, 0)


def _obs(kind: ObservationKind, hours: float, value: float) -> Observation:
    return Observation(at=T0 + timedelta(hours=hours), kind=kind, value=value)


def _temp(hours: float, c: float) -> Observation:
    return _obs(ObservationKind.TEMPERATURE_C, hours, c)


def _rules(alerts) -> list[AlertRule]:  # type: ignore[no-untyped-def]
    return [a.rule for a in alerts]


@pytest.mark.parametrize(("temp", "fires"), [(37.99, False), (38.0, True), (38.01, True)])
def test_fever_threshold_is_exact(temp: float, fires: bool) -> None:
    alerts = evaluate_alerts(observations=[_temp(24, temp)], infusion_date=DAY0)
    assert (AlertRule.NEW_FEVER in _rules(alerts)) is fires


@pytest.mark.parametrize(("day", "fires"), [(-1, False), (0, True), (21, True), (22, False)])
def test_fever_window_is_the_first_3_weeks(day: int, fires: bool) -> None:
    alerts = evaluate_alerts(observations=[_temp(24 * day, 39.0)], infusion_date=DAY0)
    assert (AlertRule.NEW_FEVER in _rules(alerts)) is fires


def test_only_a_new_fever_alerts() -> None:
    obs = [_temp(10, 38.5), _temp(14, 39.0), _temp(20, 37.0), _temp(30, 38.2)]
    alerts = evaluate_alerts(observations=list(reversed(obs)), infusion_date=DAY0)
    fevers = [a for a in alerts if a.rule is AlertRule.NEW_FEVER]
    assert [a.at for a in fevers] == [obs[0].at, obs[3].at]
    assert "suspect CRS" in fevers[0].message


@pytest.mark.parametrize(("ferritin", "fires"), [(10_000.0, False), (10_000.01, True)])
def test_ferritin_strictly_above_10000(ferritin: float, fires: bool) -> None:
    alerts = evaluate_alerts(
        observations=[_obs(ObservationKind.FERRITIN_NG_ML, 48, ferritin)], infusion_date=DAY0
    )
    assert (AlertRule.FERRITIN in _rules(alerts)) is fires


def test_ice_drop() -> None:
    obs = [
        _obs(ObservationKind.ICE_SCORE, 0, 10),
        _obs(ObservationKind.ICE_SCORE, 12, 10),
        _obs(ObservationKind.ICE_SCORE, 24, 8),
        _obs(ObservationKind.ICE_SCORE, 36, 9),
    ]
    alerts = [a for a in evaluate_alerts(observations=obs, infusion_date=DAY0)]
    assert _rules(alerts) == [AlertRule.ICE_DROP]
    assert alerts[0].at == obs[2].at and "10 to 8" in alerts[0].message


def test_ice_drop_threshold_is_configurable() -> None:
    obs = [_obs(ObservationKind.ICE_SCORE, 0, 10), _obs(ObservationKind.ICE_SCORE, 12, 9)]
    assert (
        evaluate_alerts(
            observations=obs, infusion_date=DAY0, thresholds=AlertThresholds(ice_drop_points=2)
        )
        == ()
    )


@pytest.mark.parametrize(("capd", "fires"), [(8, False), (9, True)])
def test_capd_9_or_more(capd: float, fires: bool) -> None:
    alerts = evaluate_alerts(
        observations=[_obs(ObservationKind.CAPD_SCORE, 30, capd)], infusion_date=DAY0
    )
    assert (AlertRule.CAPD in _rules(alerts)) is fires


def test_fever_threshold_is_configurable() -> None:
    alerts = evaluate_alerts(
        observations=[_temp(5, 38.2)],
        infusion_date=DAY0,
        thresholds=AlertThresholds(fever_c=38.3),
    )
    assert alerts == ()


def test_tocilizumab_next_dose_time() -> None:
    obs = [_obs(ObservationKind.TOCILIZUMAB_DOSE, 30, 576)]
    (alert,) = evaluate_alerts(observations=obs, infusion_date=DAY0)
    assert alert.rule is AlertRule.TOCILIZUMAB_DUE
    assert alert.at == T0 + timedelta(hours=38)
    now = evaluate_alerts(observations=obs, infusion_date=DAY0, as_of=T0 + timedelta(hours=40))[0]
    assert "now" in now.message and now.at == T0 + timedelta(hours=40)


def test_tocilizumab_exhausted_after_four() -> None:
    obs = [_obs(ObservationKind.TOCILIZUMAB_DOSE, h, 576) for h in (30, 38, 46, 60)]
    alerts = evaluate_alerts(observations=obs, infusion_date=DAY0)
    assert _rules(alerts) == [AlertRule.TOCILIZUMAB_EXHAUSTED]
    assert alerts[0].severity == "critical"


def test_tocilizumab_redose_alert_only_while_crs_has_not_improved() -> None:
    one = [_obs(ObservationKind.TOCILIZUMAB_DOSE, 30, 576)]
    four = [_obs(ObservationKind.TOCILIZUMAB_DOSE, h, 576) for h in (30, 38, 46, 60)]
    for grade in (None, 1, 2, 3, 4):
        alerts = evaluate_alerts(observations=one, infusion_date=DAY0, current_crs_grade=grade)
        assert _rules(alerts) == [AlertRule.TOCILIZUMAB_DUE]
    assert evaluate_alerts(observations=one, infusion_date=DAY0, current_crs_grade=0) == ()
    resolved = evaluate_alerts(observations=four, infusion_date=DAY0, current_crs_grade=0)
    assert _rules(resolved) == [AlertRule.TOCILIZUMAB_EXHAUSTED]


def test_tocilizumab_rules_follow_the_centre_protocol() -> None:
    protocol = load_protocol(centre_toml="[drugs.tocilizumab]\nmax_doses_total = 3\n")
    obs = [_obs(ObservationKind.TOCILIZUMAB_DOSE, h, 576) for h in (30, 38, 46)]
    alerts = evaluate_alerts(observations=obs, infusion_date=DAY0, protocol=protocol)
    assert _rules(alerts) == [AlertRule.TOCILIZUMAB_EXHAUSTED]


def test_non_finite_value_is_an_error() -> None:
    with pytest.raises(InvalidValue):
        evaluate_alerts(observations=[_temp(1, float("nan"))], infusion_date=DAY0)


@given(st.floats(min_value=10_000.0001, max_value=1e6), st.floats(min_value=0, max_value=10_000))
def test_higher_ferritin_alerts_whenever_lower_does(high: float, low: float) -> None:
    hi = evaluate_alerts(
        observations=[_obs(ObservationKind.FERRITIN_NG_ML, 1, high)], infusion_date=DAY0
    )
    lo = evaluate_alerts(
        observations=[_obs(ObservationKind.FERRITIN_NG_ML, 1, low)], infusion_date=DAY0
    )
    assert len(hi) == 1 and len(lo) == 0
