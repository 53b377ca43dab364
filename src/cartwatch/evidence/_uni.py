"""The numerical engine behind ``rma``: metafor's ``rma.uni`` step by step, for any model matrix.

Every estimator follows metafor 3.8-1's own sequence (the same starting values, the same Fisher
scoring with step halving, threshold 1e-5 and 100 iterations, the same ``uniroot`` search) so that
iterative answers agree to far better than their tolerances. The k × k matrix ``P`` of metafor is
never formed: every trace it needs is computed from k × p pieces, so k = 10,000 studies fit in
milliseconds. [VIECHTBAUER2010]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from cartwatch.errors import ConvergenceError, InvalidValue, NotApplicable
from cartwatch.evidence._roots import R_UNIROOT_TOL, r_uniroot

FloatArray = NDArray[np.float64]

# [VIECHTBAUER2010] metafor 3.8-1 rma.uni control: threshold = 10^-5
FISHER_THRESHOLD = 1e-5
# [VIECHTBAUER2010] metafor 3.8-1 rma.uni control: maxiter = 100
FISHER_MAXITER = 100
# [VIECHTBAUER2010] metafor 3.8-1 rma.uni control: tau2.max = max(100, 10 * mad(yi)^2)
TAU2_MAX_FLOOR = 100.0
# [VIECHTBAUER2010] metafor 3.8-1 rma.uni control: tau2.min = 0 (τ² truncated at 0)
TAU2_MIN = 0.0
# [VIECHTBAUER2010] metafor 3.8-1 confint.rma.uni: maxiter = 1000 for the Q-profile search
QPROFILE_MAXITER = 1000
# [VIECHTBAUER2010] metafor 3.8-1 rma.uni: model matrix rank check, evtol = 1e-07
EIGEN_TOL = 1e-7
# R's mad() consistency constant (1/qnorm(3/4))
MAD_CONSTANT = 1.4826


class Method(StrEnum):
    """Estimators of the model (metafor's ``method`` names)."""

    FE = "FE"
    EE = "EE"
    CE = "CE"
    DL = "DL"
    HE = "HE"
    HS = "HS"
    SJ = "SJ"
    ML = "ML"
    REML = "REML"
    EB = "EB"
    PM = "PM"
    GLMM = "GLMM"


FIXED_METHODS: frozenset[Method] = frozenset({Method.FE, Method.EE, Method.CE})


class Test(StrEnum):
    """Inference for the fixed effects: normal (``z``), Hartung–Knapp (``knha``) or plain ``t``."""

    Z = "z"
    KNHA = "knha"
    T = "t"


def parse_method(method: str | Method) -> Method:
    """The estimator named by ``method`` (case-insensitive)."""
    try:
        return Method(str(method).upper())
    except ValueError:
        allowed = ", ".join(m.value for m in Method)
        raise InvalidValue(
            f"`method={method!r}` is not an estimator; expected one of {allowed}",
            field="method",
            value=method,
            expected=allowed,
        ) from None


def parse_test(test: str | Test) -> Test:
    """The inference named by ``test`` (case-insensitive)."""
    try:
        return Test(str(test).lower())
    except ValueError:
        allowed = ", ".join(t.value for t in Test)
        raise InvalidValue(
            f"`test={test!r}` is not a test; expected one of {allowed}",
            field="test",
            value=test,
            expected=allowed,
        ) from None


def check_level(level: float) -> float:
    """``level`` as a fraction in (0, 1); metafor's percentages (95) are accepted too."""
    value = float(level)
    if value > 1.0 and value < 100.0:
        value /= 100.0
    if not (0.0 < value < 1.0):
        raise InvalidValue(
            f"`level={level}` is not a confidence level; expected 0 < level < 1 (e.g. 0.95)",
            field="level",
            value=level,
            expected="0 < level < 1",
        )
    return value


class _Proj:
    """P = W − W X (X'WX)⁻¹ X'W for diagonal weights, kept as its k × p pieces."""

    __slots__ = ("a", "b", "w", "x")

    def __init__(self, x: FloatArray, w: FloatArray) -> None:
        self.x = x
        self.w = w
        self.b = w[:, None] * x
        xtwx = x.T @ self.b
        self.a = np.linalg.inv(xtwx)

    def coef(self, y: FloatArray) -> FloatArray:
        return np.asarray(self.a @ (self.b.T @ y), dtype=np.float64)

    def py(self, y: FloatArray) -> FloatArray:
        """P y = W (y − X β̂)."""
        return np.asarray(self.w * (y - self.x @ self.coef(y)), dtype=np.float64)

    def quad(self, y: FloatArray) -> float:
        """y' P y."""
        return float(y @ self.py(y))

    def quad2(self, y: FloatArray) -> float:
        """y' P P y."""
        v = self.py(y)
        return float(v @ v)

    def _m(self, d: FloatArray) -> FloatArray:
        return np.asarray(self.b.T @ (d[:, None] * self.b), dtype=np.float64)

    def tr_pd(self, d: FloatArray) -> float:
        """tr(P D) for diagonal D."""
        return float(np.sum(self.w * d) - np.sum(self.a * self._m(d)))

    def tr_pdpe(self, d: FloatArray, e: FloatArray) -> float:
        """tr(P D P E) for diagonal D, E."""
        t1 = float(np.sum(self.w * self.w * d * e))
        m_dew = self.b.T @ ((d * e * self.w)[:, None] * self.b)
        t2 = float(np.sum(self.a * m_dew))
        am_d = self.a @ self._m(d)
        am_e = self.a @ self._m(e)
        t3 = float(np.sum(am_d * am_e.T))
        return t1 - 2.0 * t2 + t3

    def logdet_xtwx(self) -> float:
        _sign, logdet = np.linalg.slogdet(self.x.T @ self.b)
        return float(logdet)


@dataclass(frozen=True, slots=True, kw_only=True)
class UniFit:
    """Everything metafor's rma.uni object holds that cartwatch reports."""

    method: Method
    test: Test
    level: float
    k: int
    p: int
    beta: FloatArray
    vb: FloatArray
    se: FloatArray
    zval: FloatArray
    pval: FloatArray
    ci_lb: FloatArray
    ci_ub: FloatArray
    crit: float
    ddf: int | None
    tau2: float
    se_tau2: float
    qe: float
    qe_pval: float
    i2: float
    h2: float
    vt: float
    qm: float
    qm_df: tuple[int, int | None]
    qm_pval: float
    s2w: float
    weights: FloatArray
    iterations: int
    tau2_max: float
    intercept_only: bool


def _mad(y: FloatArray) -> float:
    med = float(np.median(y))
    return MAD_CONSTANT * float(np.median(np.abs(y - med)))


def _btt(p: int) -> list[int]:
    return [0] if p == 1 else list(range(1, p))


def qe_at(tau2: float, y: FloatArray, vi: FloatArray, x: FloatArray) -> float:
    """Generalised Q at τ² (metafor's .QE.func with objective 0)."""
    return _Proj(x, 1.0 / (vi + tau2)).quad(y)


def _ll_at(tau2: float, y: FloatArray, vi: FloatArray, x: FloatArray, *, reml: bool) -> float:
    k, p = int(x.shape[0]), int(x.shape[1])
    pr = _Proj(x, 1.0 / (vi + tau2))
    beta = pr.coef(y)
    rss = float(np.sum(pr.w * (y - x @ beta) ** 2))
    if reml:
        return (
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * float(np.sum(np.log(vi + tau2)))
            - 0.5 * pr.logdet_xtwx()
            - 0.5 * rss
        )
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(vi + tau2))) - 0.5 * rss


def _validate(yi: FloatArray, vi: FloatArray, x: FloatArray) -> None:
    if yi.size != vi.size or x.shape[0] != yi.size:
        raise InvalidValue(
            f"`yi` has {yi.size} values but `vi` has {vi.size}; expected one of each per study",
            field="vi",
            value=vi.size,
            expected=f"{yi.size} values",
        )
    for name, arr in (("yi", yi), ("vi", vi)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise InvalidValue(
                f"`{name}[{i}]={arr[i]}` is not finite; expected a finite number (a 0 or n "
                "event count needs a continuity correction for this measure: use add > 0)",
                field=name,
                value=float(arr[i]),
                expected="finite",
            )
    nonpos = np.flatnonzero(vi <= 0)
    if nonpos.size:
        i = int(nonpos[0])
        raise InvalidValue(
            f"`vi[{i}]={vi[i]:g}` is not a positive sampling variance; expected vi > 0 "
            "(a 0 or n event count needs a continuity correction for this measure: use add > 0)",
            field="vi",
            value=float(vi[i]),
            expected="> 0",
        )
    bad_x = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad_x.size:
        i = int(bad_x[0])
        raise InvalidValue(
            f"moderators of study {i} are missing or not finite; expected finite numbers",
            field="moderators",
            value=i,
            expected="finite",
        )


def fit_uni(
    *,
    yi: FloatArray,
    vi: FloatArray,
    x: FloatArray,
    method: Method,
    test: Test,
    level: float,
) -> UniFit:
    """Fit the (mixed-effects) model as metafor ``rma.uni(yi, vi, mods, method, test, level)``."""
    if method is Method.GLMM:
        raise NotApplicable(
            "`method='GLMM'` needs event counts, not effect sizes; use pool(events, totals, "
            "method='GLMM')",
            field="method",
            value="GLMM",
            expected="an rma.uni estimator",
        )
    _validate(yi, vi, x)
    k, p = int(x.shape[0]), int(x.shape[1])
    if k == 1 and test is not Test.Z:
        warnings.warn(
            f'Setting test="z" since k=1 (as metafor does; test={test.value!r} given)', stacklevel=3
        )
        test = Test.Z
    fixed = method in FIXED_METHODS
    if not (p == 1 and k == 1):
        need = p if fixed else p + 1
        if need > k:
            raise NotApplicable(
                f"{k} studies cannot estimate {need} parameters with method={method.value}; "
                f"expected at least {need} studies",
                field="k",
                value=k,
                expected=f"≥ {need}",
            )
    if np.any(np.linalg.eigvalsh(x.T @ x) <= EIGEN_TOL):
        raise InvalidValue(
            "the model matrix is not of full rank (a moderator is constant or duplicates "
            "another); expected linearly independent moderators",
            field="moderators",
            value=None,
            expected="full-rank model matrix",
        )
    ymc = yi - float(np.mean(yi))
    tau2_max = max(TAU2_MAX_FLOOR, 10.0 * _mad(yi) ** 2)
    tau2 = 0.0
    se_tau2 = math.nan
    iterations = 0
    ones = np.ones(k)
    if k == 1:
        tau2 = 0.0
    elif not fixed:
        tau2, se_tau2, iterations = _estimate_tau2(
            method=method, ymc=ymc, vi=vi, x=x, tau2_max=tau2_max
        )
    w = 1.0 / (vi + tau2)
    pr = _Proj(x, w)
    beta = pr.coef(yi)
    vb = pr.a.copy()
    s2w = 1.0
    if test is Test.KNHA:
        rss = float(np.sum(w * (yi - x @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if fixed:
            warnings.warn(
                f"Knapp & Hartung method is not meant to be used in the context of "
                f"{method.value} models (metafor warns the same)",
                stacklevel=3,
            )
    vb = s2w * vb
    ddf: int | None = k - p if test in (Test.KNHA, Test.T) else None
    btt = _btt(p)
    m = len(btt)
    try:
        sub = vb[np.ix_(btt, btt)]
        np.linalg.cholesky(sub)
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
    except np.linalg.LinAlgError:
        qm = math.nan
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    alpha = 1.0 - level
    if ddf is not None:
        qm = qm / m
        qm_df: tuple[int, int | None] = (m, k - p)
        qm_pval = float(stats.f.sf(qm, m, k - p)) if k - p > 0 else math.nan
        pval = 2.0 * stats.t.sf(np.abs(zval), ddf) if ddf > 0 else np.full(p, math.nan)
        crit = float(stats.t.isf(alpha / 2.0, ddf)) if ddf > 0 else math.nan
    else:
        qm_df = (m, None)
        qm_pval = float(stats.chi2.sf(qm, m))
        pval = 2.0 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.isf(alpha / 2.0))
    ci_lb = beta - crit * se
    ci_ub = beta + crit * se
    if k > p:
        pfe = _Proj(x, 1.0 / vi)
        qe = max(0.0, pfe.quad(ymc))
        qe_pval = float(stats.chi2.sf(qe, k - p))
        vt = (k - p) / pfe.tr_pd(ones)
        if fixed:
            i2 = max(0.0, 100.0 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        qe, qe_pval, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    return UniFit(
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        beta=beta,
        vb=np.asarray(vb, dtype=np.float64),
        se=se,
        zval=np.asarray(zval, dtype=np.float64),
        pval=np.asarray(pval, dtype=np.float64),
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        crit=crit,
        ddf=ddf,
        tau2=tau2,
        se_tau2=se_tau2,
        qe=qe,
        qe_pval=qe_pval,
        i2=i2,
        h2=h2,
        vt=vt,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        s2w=s2w,
        weights=w,
        iterations=iterations,
        tau2_max=tau2_max,
        intercept_only=p == 1,
    )


def _estimate_tau2(
    *, method: Method, ymc: FloatArray, vi: FloatArray, x: FloatArray, tau2_max: float
) -> tuple[float, float, int]:
    """τ², its standard error and the iterations used, as metafor 3.8-1 computes them."""
    k, p = int(x.shape[0]), int(x.shape[1])
    ones = np.ones(k)
    iterations = 0
    tau2 = 0.0
    if method is Method.HS:
        pr = _Proj(x, 1.0 / vi)
        tau2 = (pr.quad(ymc) - k) / float(np.sum(pr.w))
        t = max(tau2, 0.0)
        se = math.sqrt(
            1.0
            / float(np.sum(pr.w)) ** 2
            * (2 * (k - p) + 4 * t * pr.tr_pd(ones) + 2 * t * t * pr.tr_pdpe(ones, ones))
        )
        return max(TAU2_MIN, tau2), se, 0
    if method is Method.DL:
        pr = _Proj(x, 1.0 / vi)
        tr_p = pr.tr_pd(ones)
        tau2 = (pr.quad(ymc) - (k - p)) / tr_p
        t = max(tau2, 0.0)
        se = math.sqrt(
            1.0 / tr_p**2 * (2 * (k - p) + 4 * t * tr_p + 2 * t * t * pr.tr_pdpe(ones, ones))
        )
        return max(TAU2_MIN, tau2), se, 0
    if method is Method.SJ:
        tau2_0 = float(np.mean((ymc - np.mean(ymc)) ** 2))
        pr = _Proj(x, 1.0 / (vi + tau2_0))
        tau2 = tau2_0 * pr.quad(ymc) / (k - p)
        t = max(tau2, 0.0)
        se = math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (
                2 * pr.tr_pdpe(vi, vi)
                + 4 * t * pr.tr_pdpe(ones, vi)
                + 2 * t * t * pr.tr_pdpe(ones, ones)
            )
        )
        return max(TAU2_MIN, tau2), se, 0
    if method is Method.PM:
        target = float(k - p)
        if qe_at(TAU2_MIN, ymc, vi, x) < target:
            tau2 = TAU2_MIN
        else:
            if qe_at(tau2_max, ymc, vi, x) > target:
                raise ConvergenceError(
                    f"Paule–Mandel: Q(τ²) is still above its target {target:g} at "
                    f"tau2.max={tau2_max:g}, so no root lies in [0, tau2.max] (metafor: "
                    "'Value of tau2.max too low'); use another method",
                    field="tau2",
                    value=tau2_max,
                )
            root = r_uniroot(
                lambda t: qe_at(t, ymc, vi, x) - target,
                TAU2_MIN,
                tau2_max,
                tol=R_UNIROOT_TOL,
                maxiter=FISHER_MAXITER,
                what="Paule–Mandel τ²",
            )
            tau2, iterations = root.root, root.iterations
        tau2 = max(TAU2_MIN, tau2)
        w = 1.0 / (vi + tau2)
        se = math.sqrt(2.0 * k * k / (k - p) / float(np.sum(w)) ** 2)
        return tau2, se, iterations
    # HE, and the starting value of ML / REML / EB
    p0 = _Proj(x, ones)
    tr_pv = p0.tr_pd(vi)
    tau2 = (p0.quad(ymc) - tr_pv) / (k - p)
    if method is Method.HE:
        t = max(tau2, 0.0)
        se = math.sqrt(
            1.0 / (k - p) ** 2 * (2 * p0.tr_pdpe(vi, vi) + 4 * t * tr_pv + 2 * t * t * (k - p))
        )
        return max(TAU2_MIN, tau2), se, 0
    tau2 = max(0.0, tau2, TAU2_MIN)
    change = FISHER_THRESHOLD + 1.0
    converged = True
    while change > FISHER_THRESHOLD:
        iterations += 1
        old = tau2
        w = 1.0 / (vi + tau2)
        pr = _Proj(x, w)
        if method is Method.ML:
            adj = (pr.quad2(ymc) - float(np.sum(w))) / float(np.sum(w * w))
        elif method is Method.REML:
            adj = (pr.quad2(ymc) - pr.tr_pd(ones)) / pr.tr_pdpe(ones, ones)
        else:
            adj = (pr.quad(ymc) * k / (k - p) - k) / float(np.sum(w))
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < TAU2_MIN:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > FISHER_MAXITER:
            converged = False
            break
    if not converged:
        raise ConvergenceError(
            f"{method.value}: Fisher scoring did not converge in {FISHER_MAXITER} iterations "
            f"(last change in τ² {change:.3g} > threshold {FISHER_THRESHOLD:g}; τ² = {tau2:.6g}); "
            "the likelihood may be flat — try method='PM' or 'DL'",
            field="tau2",
            value=tau2,
        )
    if method in (Method.ML, Method.REML):
        reml = method is Method.REML
        ll0 = _ll_at(0.0, ymc, vi, x, reml=reml)
        ll = _ll_at(tau2, ymc, vi, x, reml=reml)
        if ll0 - ll > R_UNIROOT_TOL and tau2 > FISHER_THRESHOLD:
            warnings.warn(
                "Fisher scoring may have got stuck at a local maximum; setting τ² = 0 "
                "(as metafor does)",
                stacklevel=4,
            )
            tau2 = 0.0
    tau2 = max(TAU2_MIN, tau2)
    w = 1.0 / (vi + tau2)
    if method is Method.ML:
        se = math.sqrt(2.0 / float(np.sum(w * w)))
    elif method is Method.REML:
        se = math.sqrt(2.0 / _Proj(x, w).tr_pdpe(ones, ones))
    else:
        se = math.sqrt(2.0 * k * k / (k - p) / float(np.sum(w)) ** 2)
    return tau2, se, iterations


@dataclass(frozen=True, slots=True, kw_only=True)
class QProfile:
    """Q-profile bounds for τ² (metafor confint.rma.uni, type "QP")."""

    tau2_lb: float
    tau2_ub: float
    lb_sign: str
    ub_sign: str
    ci_null: bool


def q_profile(
    *, yi: FloatArray, vi: FloatArray, x: FloatArray, tau2: float, level: float
) -> QProfile:
    """Q-profile confidence bounds for τ², step for step as metafor confint.rma.uni."""
    k, p = int(x.shape[0]), int(x.shape[1])
    alpha = 1.0 - level
    tau2_min = min(0.0, tau2)
    tau2_max = max(100.0, tau2 * 10.0, tau2_min * 10.0)
    crit_u = float(stats.chi2.isf(alpha / 2.0, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2.0, k - p))
    q_max = qe_at(tau2_max, yi, vi, x)
    q_min = qe_at(tau2_min, yi, vi, x)
    lb = math.nan
    ub = math.nan
    lb_sign = ""
    ub_sign = ""
    ci_null = False
    if q_min < crit_l:
        lb = ub = tau2_min
        lb_sign = ub_sign = "<"
        ci_null = tau2_min <= 0
    elif q_max > crit_l:
        ub = tau2_max
        ub_sign = ">"
    else:
        ub = r_uniroot(
            lambda t: qe_at(t, yi, vi, x) - crit_l,
            tau2_min,
            tau2_max,
            tol=R_UNIROOT_TOL,
            maxiter=QPROFILE_MAXITER,
            what="Q-profile upper bound of τ²",
        ).root
    if q_max > crit_u:
        lb = ub = tau2_max
        lb_sign = ub_sign = ">"
    elif q_min < crit_u:
        lb = tau2_min
        if tau2_min > 0:
            lb_sign = "<"
    else:
        lb = r_uniroot(
            lambda t: qe_at(t, yi, vi, x) - crit_u,
            tau2_min,
            tau2_max,
            tol=R_UNIROOT_TOL,
            maxiter=QPROFILE_MAXITER,
            what="Q-profile lower bound of τ²",
        ).root
    return QProfile(tau2_lb=lb, tau2_ub=ub, lb_sign=lb_sign, ub_sign=ub_sign, ci_null=ci_null)
