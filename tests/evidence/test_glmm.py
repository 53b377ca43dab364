"""The binomial-normal GLMM agrees with metafor rma.glmm(measure="PLO") (lme4, nAGQ = 7)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cartwatch.errors import NotApplicable
from cartwatch.evidence import pool

from ._fixtures import RTOL_ITERATIVE, as_list, assert_close, dataset, fixtures

# lme4's glm/IRLS for the saturated model stops at its own tolerance (about 1e-8 on the deviance)
RTOL_WALD = 1e-5


def _cases() -> list[Any]:
    return [
        pytest.param(c, id=f"{c['dataset']}-{c['test']}-{c['control']}")
        for c in fixtures()["glmm"]
        if "error" not in c
    ]


@pytest.mark.parametrize("case", _cases())
def test_glmm_matches_rma_glmm(case: dict[str, Any]) -> None:
    d = dataset(case["dataset"])
    r = pool(as_list(d["xi"]), as_list(d["ni"]), method="GLMM", test=case["test"])
    tol = RTOL_ITERATIVE
    assert_close(r.estimate, case["b"], tol, "estimate")
    assert_close(r.se, case["se"], tol, "se")
    assert_close(r.zval, case["zval"], tol, "zval")
    assert_close(r.pval, case["pval"], tol, "pval")
    # a bound near 0 is compared on the scale of its half-width (relative error is ill-posed there)
    assert abs(r.ci_lb - case["ci_lb"]) <= tol * max(abs(case["ci_lb"]), case["se"])
    assert abs(r.ci_ub - case["ci_ub"]) <= tol * max(abs(case["ci_ub"]), case["se"])
    # τ² near 0 is compared absolutely: lme4 stops its optimiser within ~1e-5 of the boundary
    assert abs(r.tau2 - case["tau2"]) <= tol * abs(case["tau2"]) + 1e-6
    assert abs(r.i2 - case["I2"]) <= tol * abs(case["I2"]) + 1e-4
    assert_close(r.h2, case["H2"], tol, "H2")
    assert abs(r.pi_lb - case["pi_lb"]) <= tol * max(abs(case["pi_lb"]), case["se"])
    assert abs(r.pi_ub - case["pi_ub"]) <= tol * max(abs(case["pi_ub"]), case["se"])
    assert r.proportion is not None
    assert_close(r.proportion.estimate, case["pred_transf"], tol, "proportion")
    assert_close(r.qe_lrt, case["QE_LRT"], 1e-6, "QE.LRT")
    assert_close(r.qe, case["QE_Wld"], RTOL_WALD, "QE.Wld")


def test_glmm_with_identical_proportions_gives_tau2_zero_where_lme4_fails() -> None:
    # metafor/lme4 stop with "Cannot fit ML model" on these data; the likelihood is maximal at τ²=0
    d = dataset("homog")
    r = pool(as_list(d["xi"]), as_list(d["ni"]), method="GLMM")
    assert r.tau2 == 0.0
    assert math.isclose(r.estimate, math.log(0.1 / 0.9), rel_tol=1e-8)


def test_glmm_needs_the_logit_measure() -> None:
    with pytest.raises(NotApplicable, match="PLO"):
        pool([1, 2, 3], [10, 10, 10], method="GLMM", measure="PFT")


def test_glmm_refuses_knha() -> None:
    with pytest.raises(NotApplicable, match="knha"):
        pool([1, 2, 3], [10, 10, 10], method="GLMM", test="knha")
