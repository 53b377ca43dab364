"""Effect sizes, continuity corrections and per-study intervals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.errors import ImplausibleValue, InvalidValue
from cartwatch.evidence import AddTo, Measure, back_transform, clopper_pearson, escalc, wilson


def test_default_correction_adds_half_only_to_zero_and_all_event_studies_for_plo() -> None:
    es = escalc(events=[0, 3, 10], totals=[10, 10, 10], measure="PLO")
    assert es.corrected == (True, False, True)
    assert es.add == 0.5
    assert math.isclose(es.yi[0], math.log(0.5 / 10.5))
    assert math.isclose(es.vi[0], 1 / 0.5 + 1 / 10.5)
    assert math.isclose(es.yi[1], math.log(3 / 7))


@pytest.mark.parametrize("measure", ["PR", "PLN", "PLO"])
def test_metafor_adds_half_by_default_for_pr_pln_plo(measure: str) -> None:
    assert escalc(events=[0, 2], totals=[5, 5], measure=measure).add == 0.5


@pytest.mark.parametrize("measure", ["PAS", "PFT"])
def test_metafor_adds_nothing_by_default_for_pas_pft(measure: str) -> None:
    es = escalc(events=[0, 5], totals=[5, 5], measure=measure)
    assert es.add == 0.0
    assert all(math.isfinite(v) and v > 0 for v in es.vi)


def test_add_and_to_are_selectable() -> None:
    es = escalc(events=[0, 3], totals=[10, 10], measure="PLO", add=1.0, to="if0all")
    assert es.corrected == (True, True)
    assert math.isclose(es.yi[1], math.log(4 / 8))
    none = escalc(events=[0, 3], totals=[10, 10], measure="PLO", to=AddTo.NONE)
    assert none.yi[0] == -math.inf


def test_pas_and_pft_formulas() -> None:
    es = escalc(events=[3], totals=[12], measure=Measure.PAS)
    assert math.isclose(es.yi[0], math.asin(math.sqrt(0.25)))
    assert math.isclose(es.vi[0], 1 / 48)
    ft = escalc(events=[3], totals=[12], measure=Measure.PFT)
    expected = 0.5 * (math.asin(math.sqrt(3 / 13)) + math.asin(math.sqrt(4 / 13)))
    assert math.isclose(ft.yi[0], expected)
    assert math.isclose(ft.vi[0], 1 / 50)


@pytest.mark.parametrize(
    ("events", "totals", "error"),
    [
        ([-1], [10], ImplausibleValue),
        ([11], [10], ImplausibleValue),
        ([1], [0], ImplausibleValue),
        ([1, 2], [10], InvalidValue),
        ([float("nan")], [10], InvalidValue),
        ([], [], InvalidValue),
    ],
)
def test_bad_counts_are_refused_with_the_field_named(
    events: list[float], totals: list[float], error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"events|totals"):
        escalc(events=events, totals=totals)


def test_unknown_measure_lists_the_choices() -> None:
    with pytest.raises(InvalidValue, match="PR, PLN, PLO, PAS, PFT"):
        escalc(events=[1], totals=[2], measure="OR")


def test_clopper_pearson_is_exact_at_the_edges() -> None:
    zero, alln = clopper_pearson(events=[0, 10], totals=[10, 10])
    assert zero.ci_lb == 0.0
    assert math.isclose(zero.ci_ub, 1 - 0.025 ** (1 / 10))
    assert alln.ci_ub == 1.0
    assert math.isclose(alln.ci_lb, 0.025 ** (1 / 10))


@given(st.integers(min_value=1, max_value=400), st.data())
def test_intervals_contain_the_observed_proportion(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(min_value=0, max_value=n))
    for ci in (clopper_pearson(events=[x], totals=[n])[0], wilson(events=[x], totals=[n])[0]):
        assert 0.0 <= ci.ci_lb <= x / n <= ci.ci_ub <= 1.0


@given(st.integers(min_value=2, max_value=300), st.data())
def test_more_events_never_lower_the_effect_size(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(min_value=0, max_value=n - 1))
    for m in Measure:
        lo = escalc(events=[x], totals=[n], measure=m).yi[0]
        hi = escalc(events=[x + 1], totals=[n], measure=m).yi[0]
        assert hi > lo


@given(st.floats(min_value=0.001, max_value=0.999), st.integers(min_value=5, max_value=500))
def test_back_transform_inverts_each_measure(p: float, n: int) -> None:
    for m, y in (
        (Measure.PR, p),
        (Measure.PLN, math.log(p)),
        (Measure.PLO, math.log(p / (1 - p))),
        (Measure.PAS, math.asin(math.sqrt(p))),
    ):
        assert math.isclose(float(back_transform(y, measure=m, totals=[n])), p, rel_tol=1e-9)
