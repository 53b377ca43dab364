"""Behaviour of the pooled result a user relies on (beyond the metafor fixtures)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartwatch.errors import ConvergenceError, InvalidValue, NotApplicable
from cartwatch.evidence import Method, PftBackTransformWarning, metareg, pool, rma, subgroups
from cartwatch.evidence._roots import r_uniroot

EVENTS = [2, 15, 30, 5, 45, 20, 8, 60]
TOTALS = [40, 30, 50, 60, 55, 100, 10, 70]

studies = st.lists(
    st.tuples(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=60)),
    min_size=3,
    max_size=12,
).map(lambda rows: [(min(x, n), n) for x, n in rows])


def test_pft_back_transform_warns_and_cites_schwarzer() -> None:
    with pytest.warns(PftBackTransformWarning, match="Schwarzer"):
        pool(EVENTS, TOTALS, measure="PFT")


def test_result_is_json_ready() -> None:
    r = pool(EVENTS, TOTALS, labels=[f"s{i}" for i in range(8)])
    text = json.dumps(r.to_dict())
    assert "NaN" not in text
    assert json.loads(text)["studies"][0]["label"] == "s0"
    assert json.dumps(r.confint().to_dict())
    assert json.dumps(r.leave_one_out().to_dict())
    assert json.dumps(r.egger_test().to_dict())


def test_common_effect_model_has_no_prediction_interval() -> None:
    r = pool(EVENTS, TOTALS, method="FE")
    assert math.isnan(r.pi_lb) and math.isnan(r.pi_ub)
    assert r.to_dict()["pi_lb"] is None
    with pytest.raises(NotApplicable):
        r.confint()


def test_k1_pools_to_the_single_study_and_switches_knha_to_z() -> None:
    with pytest.warns(UserWarning, match='test="z"'):
        r = pool([5], [20], test="knha")
    assert r.ddf is None
    assert math.isclose(r.estimate, math.log(5 / 15))
    assert r.tau2 == 0.0
    with pytest.raises(NotApplicable, match="k=1"):
        r.confint()


def test_paule_mandel_without_a_root_below_tau2_max_says_why() -> None:
    with pytest.raises(ConvergenceError, match=r"tau2\.max"):
        rma(yi=[0.0, 0.0, 0.0, 0.0, 1000.0], vi=[0.01] * 5, method="PM")


def test_reml_that_does_not_converge_says_so_as_metafor_does() -> None:
    # metafor 3.8-1: "Fisher scoring algorithm did not converge" on the same counts
    with pytest.raises(ConvergenceError, match="Fisher scoring did not converge in 100"):
        pool([1, 1, 1, 1, 2], [1, 1, 1, 1, 7], method="REML")


def test_root_search_that_cannot_bracket_raises_convergence_error() -> None:
    with pytest.raises(ConvergenceError, match="bracket"):
        r_uniroot(lambda t: t * t + 1.0, -1.0, 1.0, what="demo")


def test_zero_variance_without_correction_is_refused() -> None:
    with pytest.raises(InvalidValue, match="continuity correction"):
        pool([0, 3, 4], [10, 10, 10], measure="PR", to="none")


def test_unknown_method_and_test_are_refused() -> None:
    with pytest.raises(InvalidValue, match="REML"):
        pool(EVENTS, TOTALS, method="REMLX")
    with pytest.raises(InvalidValue, match="knha"):
        pool(EVENTS, TOTALS, test="f")


def test_knha_widens_or_narrows_the_ci_by_the_residual_scale() -> None:
    z = pool(EVENTS, TOTALS, method="DL")
    k = pool(EVENTS, TOTALS, method="DL", test="knha")
    assert k.estimate == z.estimate
    assert k.ddf == 7
    assert k.pval > z.pval


def test_subgroups_need_two_groups_and_one_label_per_study() -> None:
    with pytest.raises(NotApplicable):
        subgroups(EVENTS, TOTALS, by=["a"] * 8)
    with pytest.raises(InvalidValue):
        subgroups(EVENTS, TOTALS, by=["a", "b"])


def test_metareg_r2_is_a_percentage_and_names_factor_levels_as_r() -> None:
    res = metareg(EVENTS, TOTALS, moderators={"grp": list("aabbbccc")})
    assert res.names == ("intrcpt", "grpb", "grpc")
    assert res.r2 is not None and 0.0 <= res.r2 <= 100.0


def test_metareg_refuses_a_constant_moderator() -> None:
    with pytest.raises(InvalidValue, match="full rank"):
        metareg(EVENTS, TOTALS, moderators={"x": [1.0] * 8})


@settings(max_examples=60, deadline=None)
@given(studies, st.sampled_from(["DL", "REML", "PM", "HE", "SJ", "ML", "EB", "HS"]))
def test_pooled_value_lies_within_the_studies_and_intervals_nest(
    rows: list[tuple[int, int]], method: str
) -> None:
    xi = [x for x, _ in rows]
    ni = [n for _, n in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = pool(xi, ni, method=method)
        except ConvergenceError:
            return
    assert min(r.yi) - 1e-9 <= r.estimate <= max(r.yi) + 1e-9
    assert r.tau2 >= 0.0
    assert 0.0 <= r.i2 < 100.0
    assert r.ci_lb <= r.estimate <= r.ci_ub
    assert r.pi_lb <= r.ci_lb + 1e-12 and r.ci_ub <= r.pi_ub + 1e-12
    assert r.proportion is not None
    p = r.proportion
    assert 0.0 <= p.pi_lb <= p.ci_lb <= p.estimate <= p.ci_ub <= p.pi_ub <= 1.0
    c = r.confint()
    assert c.tau2_lb <= c.tau2_ub


@settings(max_examples=40, deadline=None)
@given(studies, st.randoms(use_true_random=False))
def test_order_of_studies_does_not_change_the_result(rows: list[tuple[int, int]], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    try:
        a = pool([x for x, _ in rows], [n for _, n in rows], method="REML")
    except ConvergenceError:
        with pytest.raises(ConvergenceError):
            pool([x for x, _ in shuffled], [n for _, n in shuffled], method="REML")
        return
    b = pool([x for x, _ in shuffled], [n for _, n in shuffled], method="REML")
    assert math.isclose(a.estimate, b.estimate, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(a.tau2, b.tau2, rel_tol=1e-7, abs_tol=1e-12)


def test_large_k_fits_without_forming_k_by_k_matrices() -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(20, 400, size=10_000)
    x = rng.binomial(n, 0.2)
    r = pool(x, n, method=Method.REML)
    assert 0.15 < r.proportion.estimate < 0.25  # type: ignore[union-attr]


def test_centre_rate_is_placed_against_the_literature_prediction_interval() -> None:
    from cartwatch.evidence import Position, compare_cohort

    lit = pool(EVENTS, TOTALS)
    assert lit.proportion is not None
    low = compare_cohort(events=0, total=200, literature=lit)
    assert low.position is Position.BELOW
    assert low.centre_exact.ci_lb == 0.0
    mid = compare_cohort(events=round(200 * lit.proportion.estimate), total=200, literature=lit)
    assert mid.position is Position.WITHIN
    assert json.loads(json.dumps(mid.to_dict()))["literature"]["estimate"] == pytest.approx(
        lit.proportion.estimate
    )
    fe = compare_cohort(events=5, total=50, literature=pool(EVENTS, TOTALS, method="FE"))
    assert fe.position is Position.NO_INTERVAL
