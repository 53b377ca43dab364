"""The binomial-normal model for single proportions (metafor ``rma.glmm(measure="PLO")``).

x_i ~ Binomial(n_i, ilogit(μ + u_i)), u_i ~ N(0, τ²), fitted by maximum likelihood. The likelihood
is integrated per study by adaptive Gauss–Hermite quadrature with 7 nodes centred at each study's
conditional mode — the approximation ``lme4::glmer(nAGQ = 7)`` maximises when metafor calls it —
and maximised here to full precision. Standard errors come from the Hessian of the deviance in
(τ, μ), as lme4's ``vcov`` does. I² and H² use the typical within-study variance of the PLO
effect sizes, as metafor. [VIECHTBAUER2010]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from cartwatch.errors import ConvergenceError, NotApplicable
from cartwatch.evidence._uni import Method, Test, _Proj
from cartwatch.evidence.effect_sizes import EffectSizes, Measure, escalc

if TYPE_CHECKING:
    from cartwatch.evidence.meta import MetaResult

FloatArray = NDArray[np.float64]

# [VIECHTBAUER2010] metafor 3.8-1 rma.glmm(): nAGQ = 7 (passed to lme4::glmer)
N_AGQ = 7
# Newton iterations for each study's conditional mode (converges in < 10 for any real table)
MODE_MAXITER = 100
MODE_TOL = 1e-12

_GH_X, _GH_W = special.roots_hermite(N_AGQ)
GH_NODES: FloatArray = np.asarray(_GH_X * math.sqrt(2.0), dtype=np.float64)
GH_WEIGHTS: FloatArray = np.asarray(_GH_W / math.sqrt(math.pi), dtype=np.float64)


def _g(u: FloatArray, mu: float, tau: float, x: FloatArray, n: FloatArray) -> FloatArray:
    eta = mu + tau * u
    return np.asarray(x * eta - n * np.logaddexp(0.0, eta) - 0.5 * u * u, dtype=np.float64)


def _modes(mu: float, tau: float, x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Conditional modes û and scales ŝ = (−g''(û))^(−1/2) of every study's integrand."""
    u = np.zeros_like(x)
    for _ in range(MODE_MAXITER):
        p = special.expit(mu + tau * u)
        grad = tau * (x - n * p) - u
        hess = -(tau * tau) * n * p * (1.0 - p) - 1.0
        step = -grad / hess
        u_new = u + step
        g_old = _g(u, mu, tau, x, n)
        g_new = _g(u_new, mu, tau, x, n)
        bad = g_new < g_old - 1e-12
        halvings = 0
        while bool(np.any(bad)) and halvings < 50:
            step = np.where(bad, step / 2.0, step)
            u_new = u + step
            g_new = _g(u_new, mu, tau, x, n)
            bad = g_new < g_old - 1e-12
            halvings += 1
        u = u_new
        if float(np.max(np.abs(step))) < MODE_TOL:
            break
    p = special.expit(mu + tau * u)
    scale = 1.0 / np.sqrt(tau * tau * n * p * (1.0 - p) + 1.0)
    return u, scale


def loglik(mu: float, tau: float, x: FloatArray, n: FloatArray) -> float:
    """Marginal log-likelihood by 7-node adaptive Gauss–Hermite quadrature (lme4 nAGQ = 7)."""
    tau = abs(tau)
    log_choose = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    if tau == 0.0:
        eta = np.full_like(x, mu)
        return float(np.sum(log_choose + x * eta - n * np.logaddexp(0.0, eta)))
    u, s = _modes(mu, tau, x, n)
    nodes = u[:, None] + s[:, None] * GH_NODES[None, :]
    vals = (
        _g(nodes, mu, tau, x[:, None], n[:, None])
        + 0.5 * GH_NODES[None, :] ** 2
        + np.log(GH_WEIGHTS)[None, :]
    )
    li = special.logsumexp(vals, axis=1) + np.log(s)
    return float(np.sum(li + log_choose))


def _hessian(fn: Callable[[FloatArray], float], z: FloatArray, h: FloatArray) -> FloatArray:
    """Central-difference Hessian of ``fn`` at ``z`` with steps ``h``."""
    d = z.size
    out = np.zeros((d, d))
    f0 = fn(z)
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = h[i]
        out[i, i] = (fn(z + ei) - 2 * f0 + fn(z - ei)) / h[i] ** 2
        for j in range(i + 1, d):
            ej = np.zeros(d)
            ej[j] = h[j]
            val = (fn(z + ei + ej) - fn(z + ei - ej) - fn(z - ei + ej) + fn(z - ei - ej)) / (
                4 * h[i] * h[j]
            )
            out[i, j] = out[j, i] = val
    return out


def fit_glmm(*, es: EffectSizes, test: Test, level: float, labels: tuple[str, ...]) -> MetaResult:
    """Fit the binomial-normal model; returns a ``MetaResult`` with ``method=GLMM``."""
    from cartwatch.evidence.meta import MetaResult, Proportion, _tuple

    if es.measure is not Measure.PLO:
        raise NotApplicable(
            f"`method='GLMM'` is the binomial-normal model on the logit scale; "
            f"measure={es.measure.value} given, expected measure='PLO'",
            field="measure",
            value=es.measure.value,
            expected="PLO",
        )
    if test is Test.KNHA:
        raise NotApplicable(
            "`test='knha'` is not defined for method='GLMM' (metafor rma.glmm allows 'z' or "
            "'t'); expected test='z' or 't'",
            field="test",
            value="knha",
            expected="z or t",
        )
    x = np.asarray(es.events, dtype=np.float64)
    n = np.asarray(es.totals, dtype=np.float64)
    k = x.size
    p_fe = float(np.sum(x) / np.sum(n))
    if p_fe in (0.0, 1.0):
        raise NotApplicable(
            "every study has 0 events (or every patient is an event); the binomial-normal "
            "model has no finite estimate",
            field="events",
            value=float(np.sum(x)),
            expected="at least one event and one non-event",
        )
    mu0 = math.log(p_fe / (1.0 - p_fe))

    def negll(z: FloatArray) -> float:
        return -loglik(float(z[0]), float(z[1]), x, n)

    if k == 1:
        tau = 0.0
        mu = mu0
    else:
        best: optimize.OptimizeResult | None = None
        for tau_start in (0.1, 0.5, 1.5):
            res = optimize.minimize(
                negll,
                np.array([mu0, tau_start]),
                method="L-BFGS-B",
                bounds=[(None, None), (0.0, None)],
                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
            )
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        polished = optimize.minimize(
            negll,
            best.x,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000},
        )
        z = polished.x if polished.fun <= best.fun else best.x
        if not np.all(np.isfinite(z)):
            raise ConvergenceError(
                "GLMM: the likelihood maximisation returned non-finite estimates",
                field="tau2",
                value=None,
            )
        mu, tau = float(z[0]), abs(float(z[1]))
        if tau < 1e-5:
            prof = optimize.minimize_scalar(
                lambda m: -loglik(float(m), 0.0, x, n),
                bracket=(mu - 1, mu + 1),
                options={"xtol": 1e-12},
            )
            if -float(prof.fun) >= -negll(np.array([mu, tau])) - 1e-9:
                mu, tau = float(prof.x), 0.0
    tau2 = tau * tau
    # standard error of μ from the Hessian of the deviance in (τ, μ) (lme4 vcov, use.hessian)
    if tau > 0.0:
        h = np.array([1e-4 * max(1.0, abs(mu)), 1e-4 * max(1.0, tau)])
        hess = _hessian(negll, np.array([mu, tau]), h)
        try:
            cov = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov = np.full((2, 2), math.nan)
        var_mu = float(cov[0, 0])
    else:
        pm = special.expit(mu)
        var_mu = 1.0 / float(np.sum(n * pm * (1.0 - pm)))
    se = math.sqrt(var_mu) if var_mu > 0 else math.nan
    zval = mu / se
    alpha = 1.0 - level
    ddf: int | None
    if test is Test.T:
        ddf = k - 1
        pval = float(2 * stats.t.sf(abs(zval), ddf)) if ddf > 0 else math.nan
        crit = float(stats.t.isf(alpha / 2, ddf)) if ddf > 0 else math.nan
    else:
        ddf = None
        pval = float(2 * stats.norm.sf(abs(zval)))
        crit = float(stats.norm.isf(alpha / 2))
    ci_lb, ci_ub = mu - crit * se, mu + crit * se
    half = crit * math.sqrt(var_mu + tau2)
    pi_lb, pi_ub = mu - half, mu + half
    # heterogeneity: LRT (saturated vs common proportion) and Wald from the saturated model
    with np.errstate(divide="ignore", invalid="ignore"):
        ph = x / n
        ll_sat = float(
            np.sum(
                np.where(x > 0, x * np.log(ph), 0.0) + np.where(x < n, (n - x) * np.log1p(-ph), 0.0)
            )
        )
    ll_fe = float(np.sum(x * math.log(p_fe) + (n - x) * math.log1p(-p_fe)))
    qe_lrt = max(0.0, -2.0 * (ll_fe - ll_sat)) if k > 1 else math.nan
    qe_lrt_p = float(stats.chi2.sf(qe_lrt, k - 1)) if k > 1 else math.nan
    # Wald test of the saturated model: glm's study contrasts for a 0 or n event study run off
    # to ±∞ with infinite variance, so the statistic is the Wald homogeneity Q of the others.
    qe_wald = math.nan
    inner = (x > 0) & (x < n)
    if k > 1:
        if int(np.sum(inner)) >= 2:
            pj = ph[inner]
            wj = n[inner] * pj * (1.0 - pj)
            lo = np.log(pj / (1.0 - pj))
            qe_wald = float(np.sum(wj * (lo - np.sum(wj * lo) / np.sum(wj)) ** 2))
        else:
            qe_wald = 0.0
    qe_wald_p = float(stats.chi2.sf(qe_wald, k - 1)) if not math.isnan(qe_wald) else math.nan
    plo = escalc(events=x, totals=n, measure=Measure.PLO, add=es.add, to=es.to)
    vi = np.asarray(plo.vi, dtype=np.float64)
    yi = np.asarray(plo.yi, dtype=np.float64)
    if k > 1:
        vt = (k - 1) / _Proj(np.ones((k, 1)), 1.0 / vi).tr_pd(np.ones(k))
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0
    else:
        vt, i2, h2 = 0.0, 0.0, 1.0
    w = 1.0 / (vi + tau2)
    vals = special.expit(np.array([mu, ci_lb, ci_ub, pi_lb, pi_ub]))
    return MetaResult(
        measure=Measure.PLO,
        method=Method.GLMM,
        test=test,
        level=level,
        k=k,
        estimate=mu,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        ddf=ddf,
        tau2=tau2,
        se_tau2=None,
        i2=i2,
        h2=h2,
        qe=qe_wald,
        qe_df=k - 1,
        qe_pval=qe_wald_p,
        vt=vt,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        proportion=Proportion(
            estimate=float(vals[0]),
            ci_lb=float(vals[1]),
            ci_ub=float(vals[2]),
            pi_lb=float(vals[3]),
            pi_ub=float(vals[4]),
        ),
        yi=_tuple(yi),
        vi=_tuple(vi),
        weights=_tuple(100.0 * w / float(np.sum(w))),
        labels=labels,
        events=es.events,
        totals=es.totals,
        add=es.add,
        to=es.to,
        iterations=0,
        qe_lrt=qe_lrt,
        qe_lrt_pval=qe_lrt_p,
    )
