"""cartwatch.evidence agrees with metafor 3.8-1 on every fixture (made by make_fixtures.R)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from cartwatch.errors import CartwatchError
from cartwatch.evidence import clopper_pearson, escalc, metareg, pool, subgroups, wilson

from ._fixtures import (
    ITERATIVE,
    RTOL_EXACT,
    RTOL_ITERATIVE,
    as_list,
    assert_close,
    dataset,
    fixtures,
)


def _id(case: dict[str, Any]) -> str:
    keys = ("dataset", "measure", "method", "test", "add", "to", "control")
    return "-".join(str(case[k]) for k in keys if k in case and case[k] is not None)


def _cases(section: str) -> list[Any]:
    return [pytest.param(c, id=_id(c)) for c in fixtures()[section]]


def _rtol(method: str) -> float:
    return RTOL_ITERATIVE if method in ITERATIVE else RTOL_EXACT


@pytest.mark.parametrize("case", _cases("escalc"))
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    d = dataset(case["dataset"])
    es = escalc(
        events=as_list(d["xi"]),
        totals=as_list(d["ni"]),
        measure=case["measure"],
        add=case["add"],
        to=case["to"],
    )
    for i, (y, v) in enumerate(zip(as_list(case["yi"]), as_list(case["vi"]), strict=True)):
        if y is None or v is None:
            assert not (math.isfinite(es.yi[i]) and math.isfinite(es.vi[i]) and es.vi[i] > 0)
            continue
        assert_close(es.yi[i], y, RTOL_EXACT, f"yi[{i}]")
        assert_close(es.vi[i], v, RTOL_EXACT, f"vi[{i}]")


@pytest.mark.parametrize("case", _cases("ci"))
def test_study_intervals_match_binom_and_prop_test(case: dict[str, Any]) -> None:
    d = dataset(case["dataset"])
    cp = clopper_pearson(events=as_list(d["xi"]), totals=as_list(d["ni"]))
    wl = wilson(events=as_list(d["xi"]), totals=as_list(d["ni"]))
    for i in range(len(cp)):
        assert_close(cp[i].ci_lb, as_list(case["cp_lb"])[i], RTOL_EXACT, "clopper-pearson lb")
        assert_close(cp[i].ci_ub, as_list(case["cp_ub"])[i], RTOL_EXACT, "clopper-pearson ub")
        assert_close(wl[i].ci_lb, as_list(case["wilson_lb"])[i], RTOL_EXACT, "wilson lb")
        assert_close(wl[i].ci_ub, as_list(case["wilson_ub"])[i], RTOL_EXACT, "wilson ub")


def _pool(case: dict[str, Any]) -> Any:
    d = dataset(case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(
            as_list(d["xi"]),
            as_list(d["ni"]),
            measure=case["measure"],
            method=case["method"],
            test=case["test"],
        )


@pytest.mark.parametrize("case", _cases("rma"))
def test_rma_matches_metafor(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(CartwatchError):
            _pool(case)
        return
    r = _pool(case)
    tol = _rtol(case["method"])
    assert_close(r.estimate, case["b"], tol, "estimate")
    assert_close(r.se, case["se"], tol, "se")
    assert_close(r.zval, case["zval"], tol, "zval")
    assert_close(r.pval, case["pval"], tol, "pval")
    assert_close(r.ci_lb, case["ci_lb"], tol, "ci_lb")
    assert_close(r.ci_ub, case["ci_ub"], tol, "ci_ub")
    assert_close(r.tau2, case["tau2"], tol, "tau2")
    assert_close(r.se_tau2, case["se_tau2"], tol, "se_tau2")
    assert_close(r.i2, case["I2"], tol, "I2")
    assert_close(r.h2, case["H2"], tol, "H2")
    assert_close(r.qe, case["QE"], RTOL_EXACT, "QE")
    assert_close(r.qe_pval, case["QEp"], RTOL_EXACT, "QEp")
    assert r.ddf == (None if case["ddf"] is None else int(case["ddf"]))
    pred = case["pred"]
    assert_close(r.pi_lb, pred["pi_lb"], tol, "pi_lb")
    assert_close(r.pi_ub, pred["pi_ub"], tol, "pi_ub")
    for i, w in enumerate(as_list(case["weights"])):
        assert_close(r.weights[i], w, tol, f"weight[{i}]")
    if "pred_transf" in case:
        pt = case["pred_transf"]
        assert r.proportion is not None
        assert_close(r.proportion.estimate, pt["pred"], tol, "proportion")
        assert_close(r.proportion.ci_lb, pt["ci_lb"], tol, "proportion ci_lb")
        assert_close(r.proportion.ci_ub, pt["ci_ub"], tol, "proportion ci_ub")
        assert_close(r.proportion.pi_lb, pt["pi_lb"], tol, "proportion pi_lb")
        assert_close(r.proportion.pi_ub, pt["pi_ub"], tol, "proportion pi_ub")
    else:
        assert r.proportion is not None
        assert r.proportion.estimate == r.estimate
    ci = case.get("confint")
    if ci is None:
        return
    if "error" in ci:
        with pytest.raises(CartwatchError):
            r.confint()
        return
    c = r.confint()
    for name, (est, lb, ub) in (
        ("tau2", (c.tau2, c.tau2_lb, c.tau2_ub)),
        ("I2", (c.i2, c.i2_lb, c.i2_ub)),
        ("H2", (c.h2, c.h2_lb, c.h2_ub)),
        ("tau", (c.tau, c.tau_lb, c.tau_ub)),
    ):
        ref = ci[name]
        assert_close(est, ref[0], tol, f"confint {name}")
        assert_close(lb, ref[1], RTOL_ITERATIVE, f"confint {name} lb")
        assert_close(ub, ref[2], RTOL_ITERATIVE, f"confint {name} ub")


@pytest.mark.filterwarnings("ignore:Knapp & Hartung method is not meant")
@pytest.mark.parametrize("case", _cases("leave1out"))
def test_leave_one_out_matches_metafor(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(CartwatchError):
            _pool(case).leave_one_out()
        return
    loo = _pool(case).leave_one_out()
    tol = _rtol(case["method"])
    for name, ours in (
        ("estimate", loo.estimate),
        ("se", loo.se),
        ("zval", loo.zval),
        ("pval", loo.pval),
        ("ci_lb", loo.ci_lb),
        ("ci_ub", loo.ci_ub),
        ("Q", loo.qe),
        ("Qp", loo.qe_pval),
        ("tau2", loo.tau2),
        ("I2", loo.i2),
        ("H2", loo.h2),
    ):
        for i, ref in enumerate(as_list(case[name])):
            assert_close(ours[i], ref, tol, f"leave1out {name}[{i}]")


@pytest.mark.filterwarnings("ignore:Knapp & Hartung method is not meant")
@pytest.mark.parametrize("case", _cases("regtest"))
def test_egger_test_matches_regtest(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(CartwatchError):
            _pool(case).egger_test()
        return
    eg = _pool(case).egger_test()
    tol = _rtol(case["method"])
    assert_close(eg.zval, case["zval"], tol, "regtest zval")
    assert_close(eg.pval, case["pval"], tol, "regtest pval")
    assert_close(eg.limit_estimate, case["est"], tol, "regtest limit estimate")
    assert_close(eg.limit_ci_lb, case["ci_lb"], tol, "regtest limit ci_lb")
    assert_close(eg.limit_ci_ub, case["ci_ub"], tol, "regtest limit ci_ub")


@pytest.mark.parametrize("case", _cases("subgroups"))
def test_subgroups_match_metafor(case: dict[str, Any]) -> None:
    d = dataset(case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroups(
            as_list(d["xi"]),
            as_list(d["ni"]),
            by=as_list(d["grp"]),
            measure=case["measure"],
            method=case["method"],
            test=case["test"],
        )
    tol = _rtol(case["method"])
    for ref in case["groups"]:
        g = res[ref["group"]]
        assert_close(g.estimate, ref["b"], tol, f"group {ref['group']} estimate")
        assert_close(g.se, ref["se"], tol, f"group {ref['group']} se")
        assert_close(g.tau2, ref["tau2"], tol, f"group {ref['group']} tau2")
    assert_close(res.q_between, case["Q_between"], tol, "Q between (separate tau2)")
    assert_close(res.q_between_pval, case["Q_between_p"], tol, "Q between p")
    mixed = case["mixed"]
    if "error" in mixed:
        assert res.qm is None
    else:
        assert_close(res.qm, mixed["QM"], tol, "QM (common tau2)")
        assert_close(res.qm_pval, mixed["QMp"], tol, "QM p")


@pytest.mark.parametrize("case", _cases("metareg"))
def test_metareg_matches_metafor(case: dict[str, Any]) -> None:
    d = dataset(case["dataset"])
    xi, ni = as_list(d["xi"]), as_list(d["ni"])
    mods: dict[str, Any]
    if case["dataset"] == "hetero":
        mods = {"x1": as_list(d["x1"]), "grp": as_list(d["grp"])}
    else:
        mods = {"grp": as_list(d["grp"]), "log_n": list(np.log(np.asarray(ni, dtype=float)))}
    kwargs = {"measure": case["measure"], "method": case["method"], "test": case["test"]}
    if "error" in case:
        with pytest.raises(CartwatchError):
            metareg(xi, ni, moderators=mods, **kwargs)
        return
    res = metareg(xi, ni, moderators=mods, **kwargs)
    tol = _rtol(case["method"])
    for name, ours in (
        ("b", res.coef),
        ("se", res.se),
        ("zval", res.zval),
        ("pval", res.pval),
        ("ci_lb", res.ci_lb),
        ("ci_ub", res.ci_ub),
    ):
        for i, ref in enumerate(as_list(case[name])):
            assert_close(ours[i], ref, tol, f"metareg {name}[{i}]")
    assert_close(res.qm, case["QM"], tol, "QM")
    assert_close(res.qm_pval, case["QMp"], tol, "QMp")
    assert_close(res.qe, case["QE"], RTOL_EXACT, "QE")
    assert_close(res.tau2, case["tau2"], tol, "tau2")
    assert_close(res.se_tau2, case["se_tau2"], tol, "se_tau2")
    assert_close(res.i2, case["I2"], tol, "I2")
    assert_close(res.r2, case["R2"], tol, "R2")
