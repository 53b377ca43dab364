"""Pooling single proportions: ``pool``, ``rma``, ``subgroups``, ``metareg`` and their results.

The results are named like metafor's output (``estimate``, ``se``, ``zval``, ``pval``, ``ci_lb``,
``ci_ub``, ``tau2``, ``se_tau2``, ``i2``, ``h2``, ``qe``, ``qe_pval``, ``pi_lb``, ``pi_ub``) and are
checked against metafor 3.8-1 fixtures. [VIECHTBAUER2010]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from cartwatch.errors import CartwatchError, InvalidValue, NotApplicable
from cartwatch.evidence._uni import (
    FIXED_METHODS,
    Method,
    Test,
    UniFit,
    check_level,
    fit_uni,
    parse_method,
    parse_test,
    q_profile,
)
from cartwatch.evidence.effect_sizes import (
    AddTo,
    EffectSizes,
    Measure,
    Numbers,
    back_transform,
    escalc,
    parse_measure,
)
from cartwatch.references import cite

FloatArray = NDArray[np.float64]

PFT_WARNING = (
    "The Freeman–Tukey back-transformation with the harmonic mean of the sample sizes can give "
    "seriously misleading pooled proportions (Schwarzer et al. 2019); prefer measure='PLO' or "
    "method='GLMM'. " + cite("SCHWARZER2019")
)


class PftBackTransformWarning(UserWarning):
    """The Freeman–Tukey double-arcsine back-transformation was used. [SCHWARZER2019]"""


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    value = float(x)
    return None if math.isnan(value) else value


def _tuple(a: Numbers) -> tuple[float, ...]:
    return tuple(float(v) for v in a)


@dataclass(frozen=True, slots=True, kw_only=True)
class Proportion:
    """The pooled value, its CI and PI back-transformed to the proportion scale."""

    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "estimate": _num(self.estimate),
            "ci_lb": _num(self.ci_lb),
            "ci_ub": _num(self.ci_ub),
            "pi_lb": _num(self.pi_lb),
            "pi_ub": _num(self.pi_ub),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HeterogeneityCI:
    """τ², τ, I² (%) and H² with Q-profile confidence bounds (metafor ``confint``)."""

    level: float
    tau2: float
    tau2_lb: float
    tau2_ub: float
    tau: float
    tau_lb: float
    tau_ub: float
    i2: float
    i2_lb: float
    i2_ub: float
    h2: float
    h2_lb: float
    h2_ub: float
    lb_sign: str
    ub_sign: str
    ci_null: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        out: dict[str, Any] = {}
        for name in (
            "level",
            "tau2",
            "tau2_lb",
            "tau2_ub",
            "tau",
            "tau_lb",
            "tau_ub",
            "i2",
            "i2_lb",
            "i2_ub",
            "h2",
            "h2_lb",
            "h2_ub",
        ):
            out[name] = _num(getattr(self, name))
        out["lb_sign"] = self.lb_sign
        out["ub_sign"] = self.ub_sign
        out["ci_null"] = self.ci_null
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class EggerTest:
    """Funnel-plot asymmetry test (metafor ``regtest``, model "rma", predictor "sei")."""

    zval: float
    pval: float
    ddf: int | None
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float
    method: Method
    test: Test

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "zval": _num(self.zval),
            "pval": _num(self.pval),
            "ddf": self.ddf,
            "limit_estimate": _num(self.limit_estimate),
            "limit_ci_lb": _num(self.limit_ci_lb),
            "limit_ci_ub": _num(self.limit_ci_ub),
            "method": self.method.value,
            "test": self.test.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveOneOut:
    """The model refitted without each study in turn (metafor ``leave1out``)."""

    labels: tuple[str, ...]
    estimate: tuple[float, ...]
    se: tuple[float, ...]
    zval: tuple[float, ...]
    pval: tuple[float, ...]
    ci_lb: tuple[float, ...]
    ci_ub: tuple[float, ...]
    qe: tuple[float, ...]
    qe_pval: tuple[float, ...]
    tau2: tuple[float, ...]
    i2: tuple[float, ...]
    h2: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (one list per column)."""
        out: dict[str, Any] = {"labels": list(self.labels)}
        for name in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "qe", "qe_pval"):
            out[name] = [_num(v) for v in getattr(self, name)]
        for name in ("tau2", "i2", "h2"):
            out[name] = [_num(v) for v in getattr(self, name)]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaResult:
    """A pooled estimate: the intercept-only model of metafor ``rma`` (or ``rma.glmm``).

    ``estimate`` … ``pi_ub`` are on the measure's scale; ``proportion`` holds them back-transformed.
    ``zval`` is a t value when ``test`` is ``knha`` or ``t`` (``ddf`` then gives its df), as in
    metafor. ``weights`` are percentages. [VIECHTBAUER2010]
    """

    measure: Measure | None
    method: Method
    test: Test
    level: float
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    ddf: int | None
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    qe: float
    qe_df: int
    qe_pval: float
    vt: float
    pi_lb: float
    pi_ub: float
    proportion: Proportion | None
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    weights: tuple[float, ...]
    labels: tuple[str, ...]
    events: tuple[float, ...] | None = None
    totals: tuple[float, ...] | None = None
    add: float | None = None
    to: AddTo | None = None
    iterations: int = 0
    qe_lrt: float | None = None
    qe_lrt_pval: float | None = None

    @property
    def zval_or_tval(self) -> float:
        """The test statistic (z, or t under Hartung–Knapp)."""
        return self.zval

    @property
    def tau(self) -> float:
        """√τ²."""
        return math.sqrt(self.tau2)

    def _arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        yi = np.asarray(self.yi, dtype=np.float64)
        vi = np.asarray(self.vi, dtype=np.float64)
        return yi, vi, np.ones((yi.size, 1))

    def confint(self) -> HeterogeneityCI:
        """Q-profile CIs for τ², τ, I² and H², as metafor ``confint.rma.uni`` (type "QP")."""
        if self.method is Method.GLMM:
            raise NotApplicable(
                "Q-profile intervals are defined for rma.uni models, not for method='GLMM'",
                field="method",
                value="GLMM",
                expected="an rma.uni estimator",
            )
        if self.k == 1:
            raise NotApplicable(
                "no heterogeneity interval with k=1 study; expected at least 2 studies",
                field="k",
                value=1,
                expected="≥ 2",
            )
        if self.method in FIXED_METHODS:
            raise NotApplicable(
                f"method={self.method.value} has no random-effects component to bound",
                field="method",
                value=self.method.value,
                expected="a random-effects estimator",
            )
        yi, vi, x = self._arrays()
        qp = q_profile(yi=yi, vi=vi, x=x, tau2=self.tau2, level=self.level)
        vt = self.vt

        def i2(t: float) -> float:
            return 100.0 * t / (vt + t)

        def h2(t: float) -> float:
            return t / vt + 1.0

        def root(t: float) -> float:
            return math.sqrt(t) if t >= 0 else math.nan

        return HeterogeneityCI(
            level=self.level,
            tau2=self.tau2,
            tau2_lb=qp.tau2_lb,
            tau2_ub=qp.tau2_ub,
            tau=root(self.tau2),
            tau_lb=root(qp.tau2_lb),
            tau_ub=root(qp.tau2_ub),
            i2=self.i2,
            i2_lb=i2(qp.tau2_lb),
            i2_ub=i2(qp.tau2_ub),
            h2=self.h2,
            h2_lb=h2(qp.tau2_lb),
            h2_ub=h2(qp.tau2_ub),
            lb_sign=qp.lb_sign,
            ub_sign=qp.ub_sign,
            ci_null=qp.ci_null,
        )

    def leave_one_out(self) -> LeaveOneOut:
        """Refit without each study in turn (metafor ``leave1out``; failed fits give NaN)."""
        if self.method is Method.GLMM:
            raise NotApplicable(
                "leave_one_out() is available for rma.uni models, not method='GLMM'",
                field="method",
                value="GLMM",
                expected="an rma.uni estimator",
            )
        yi, vi, _ = self._arrays()
        rows: list[tuple[float, ...]] = []
        nan_row = (math.nan,) * 11
        for i in range(self.k):
            keep = np.arange(self.k) != i
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = fit_uni(
                        yi=yi[keep],
                        vi=vi[keep],
                        x=np.ones((int(keep.sum()), 1)),
                        method=self.method,
                        test=self.test,
                        level=self.level,
                    )
            except CartwatchError:
                rows.append(nan_row)
                continue
            rows.append(
                (
                    float(f.beta[0]),
                    float(f.se[0]),
                    float(f.zval[0]),
                    float(f.pval[0]),
                    float(f.ci_lb[0]),
                    float(f.ci_ub[0]),
                    f.qe,
                    f.qe_pval,
                    f.tau2,
                    f.i2,
                    f.h2,
                )
            )
        cols = list(zip(*rows, strict=True)) if rows else [()] * 11
        return LeaveOneOut(
            labels=self.labels,
            estimate=tuple(cols[0]),
            se=tuple(cols[1]),
            zval=tuple(cols[2]),
            pval=tuple(cols[3]),
            ci_lb=tuple(cols[4]),
            ci_ub=tuple(cols[5]),
            qe=tuple(cols[6]),
            qe_pval=tuple(cols[7]),
            tau2=tuple(cols[8]),
            i2=tuple(cols[9]),
            h2=tuple(cols[10]),
        )

    def egger_test(self) -> EggerTest:
        """Egger-type regression test (metafor ``regtest``: model "rma", predictor "sei")."""
        method = Method.REML if self.method is Method.GLMM else self.method
        yi, vi, _ = self._arrays()
        x = np.column_stack([np.ones(self.k), np.sqrt(vi)])
        f = fit_uni(yi=yi, vi=vi, x=x, method=method, test=self.test, level=self.level)
        return EggerTest(
            zval=float(f.zval[1]),
            pval=float(f.pval[1]),
            ddf=f.ddf,
            limit_estimate=float(f.beta[0]),
            limit_ci_lb=float(f.ci_lb[0]),
            limit_ci_ub=float(f.ci_ub[0]),
            method=method,
            test=self.test,
        )

    def forest_plot(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a forest plot (PNG or SVG by suffix) and return its path."""
        from cartwatch.evidence.plots import forest_plot

        return forest_plot(self, path=path, title=title)

    def funnel_plot(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a funnel plot (PNG or SVG by suffix) and return its path."""
        from cartwatch.evidence.plots import funnel_plot

        return funnel_plot(self, path=path, title=title)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "measure": self.measure.value if self.measure else None,
            "method": self.method.value,
            "test": self.test.value,
            "level": self.level,
            "k": self.k,
            "estimate": _num(self.estimate),
            "se": _num(self.se),
            "zval": _num(self.zval),
            "pval": _num(self.pval),
            "ci_lb": _num(self.ci_lb),
            "ci_ub": _num(self.ci_ub),
            "ddf": self.ddf,
            "tau2": _num(self.tau2),
            "se_tau2": _num(self.se_tau2),
            "i2": _num(self.i2),
            "h2": _num(self.h2),
            "qe": _num(self.qe),
            "qe_df": self.qe_df,
            "qe_pval": _num(self.qe_pval),
            "qe_lrt": _num(self.qe_lrt),
            "qe_lrt_pval": _num(self.qe_lrt_pval),
            "pi_lb": _num(self.pi_lb),
            "pi_ub": _num(self.pi_ub),
            "proportion": self.proportion.to_dict() if self.proportion else None,
            "studies": [
                {
                    "label": lab,
                    "yi": _num(y),
                    "vi": _num(v),
                    "weight_pct": _num(wt),
                    "events": self.events[i] if self.events else None,
                    "total": self.totals[i] if self.totals else None,
                }
                for i, (lab, y, v, wt) in enumerate(
                    zip(self.labels, self.yi, self.vi, self.weights, strict=True)
                )
            ],
            "add": self.add,
            "to": self.to.value if self.to else None,
            "reference": cite("VIECHTBAUER2010"),
        }


def _labels(labels: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    out = tuple(str(v) for v in labels)
    if len(out) != k:
        raise InvalidValue(
            f"`labels` has {len(out)} values for {k} studies; expected one label per study",
            field="labels",
            value=len(out),
            expected=f"{k} labels",
        )
    return out


def prediction_interval(fit: UniFit) -> tuple[float, float]:
    """Prediction interval of the intercept-only model (metafor ``predict``, pi.type default).

    A common-effect model has no prediction interval (metafor gives none): NaN.
    """
    if fit.method in FIXED_METHODS:
        return math.nan, math.nan
    vpred = float(fit.vb[0, 0])
    half = fit.crit * math.sqrt(vpred + fit.tau2)
    return float(fit.beta[0]) - half, float(fit.beta[0]) + half


def _result_from_fit(
    fit: UniFit,
    *,
    yi: FloatArray,
    vi: FloatArray,
    labels: tuple[str, ...],
    es: EffectSizes | None,
) -> MetaResult:
    pi_lb, pi_ub = prediction_interval(fit)
    est = float(fit.beta[0])
    ci_lb, ci_ub = float(fit.ci_lb[0]), float(fit.ci_ub[0])
    proportion = None
    if es is not None:
        proportion = _proportion(es, est, ci_lb, ci_ub, pi_lb, pi_ub)
    w = fit.weights
    return MetaResult(
        measure=es.measure if es else None,
        method=fit.method,
        test=fit.test,
        level=fit.level,
        k=fit.k,
        estimate=est,
        se=float(fit.se[0]),
        zval=float(fit.zval[0]),
        pval=float(fit.pval[0]),
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        ddf=fit.ddf,
        tau2=fit.tau2,
        se_tau2=None if math.isnan(fit.se_tau2) else fit.se_tau2,
        i2=fit.i2,
        h2=fit.h2,
        qe=fit.qe,
        qe_df=fit.k - fit.p,
        qe_pval=fit.qe_pval,
        vt=fit.vt,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        proportion=proportion,
        yi=_tuple(yi),
        vi=_tuple(vi),
        weights=_tuple(100.0 * w / float(np.sum(w))),
        labels=labels,
        events=es.events if es else None,
        totals=es.totals if es else None,
        add=es.add if es else None,
        to=es.to if es else None,
        iterations=fit.iterations,
    )


def _proportion(
    es: EffectSizes, est: float, ci_lb: float, ci_ub: float, pi_lb: float, pi_ub: float
) -> Proportion:
    if es.measure is Measure.PFT:
        warnings.warn(PFT_WARNING, PftBackTransformWarning, stacklevel=4)
    vals = back_transform(
        np.array([est, ci_lb, ci_ub, pi_lb, pi_ub]), measure=es.measure, totals=es.totals
    )
    lo_ci, hi_ci = sorted((float(vals[1]), float(vals[2])))
    lo_pi, hi_pi = sorted((float(vals[3]), float(vals[4])))
    return Proportion(estimate=float(vals[0]), ci_lb=lo_ci, ci_ub=hi_ci, pi_lb=lo_pi, pi_ub=hi_pi)


def rma(
    *,
    yi: Numbers,
    vi: Numbers,
    method: str | Method = Method.REML,
    test: str | Test = Test.Z,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> MetaResult:
    """Pool effect sizes ``yi`` with sampling variances ``vi`` (metafor ``rma(yi, vi)``).

    [VIECHTBAUER2010]
    """
    y = np.asarray(yi, dtype=np.float64).reshape(-1)
    v = np.asarray(vi, dtype=np.float64).reshape(-1)
    fit = fit_uni(
        yi=y,
        vi=v,
        x=np.ones((y.size, 1)),
        method=parse_method(method),
        test=parse_test(test),
        level=check_level(level),
    )
    return _result_from_fit(fit, yi=y, vi=v, labels=_labels(labels, y.size), es=None)


def pool(
    events: Numbers,
    totals: Numbers,
    *,
    measure: str | Measure = Measure.PLO,
    method: str | Method = Method.REML,
    test: str | Test = Test.Z,
    level: float = 0.95,
    add: float | None = None,
    to: str | AddTo = AddTo.ONLY0,
    labels: Sequence[str] | None = None,
) -> MetaResult:
    """Pool single proportions ``events/totals`` (metafor ``rma(measure=, xi=, ni=, method=)``).

    ``method="GLMM"`` fits the binomial-normal model of metafor ``rma.glmm(measure="PLO")``.
    [VIECHTBAUER2010]
    """
    m = parse_measure(measure)
    meth = parse_method(method)
    tst = parse_test(test)
    lvl = check_level(level)
    es = escalc(events=events, totals=totals, measure=m, add=add, to=to)
    labs = _labels(labels, es.k)
    if meth is Method.GLMM:
        from cartwatch.evidence.glmm import fit_glmm

        return fit_glmm(es=es, test=tst, level=lvl, labels=labs)
    y = np.asarray(es.yi, dtype=np.float64)
    v = np.asarray(es.vi, dtype=np.float64)
    fit = fit_uni(yi=y, vi=v, x=np.ones((es.k, 1)), method=meth, test=tst, level=lvl)
    return _result_from_fit(fit, yi=y, vi=v, labels=labs, es=es)


# --- meta-regression -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaRegression:
    """A mixed-effects meta-regression (metafor ``rma(yi, vi, mods=...)``).

    ``qm`` tests all coefficients but the intercept (an F value with ``qm_df`` under knha/t);
    ``qe`` is the test for residual heterogeneity; ``r2`` is metafor's pseudo-R² in percent
    (``None`` when it is not defined). [VIECHTBAUER2010]
    """

    measure: Measure | None
    method: Method
    test: Test
    level: float
    k: int
    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    zval: tuple[float, ...]
    pval: tuple[float, ...]
    ci_lb: tuple[float, ...]
    ci_ub: tuple[float, ...]
    ddf: int | None
    qm: float
    qm_df: tuple[int, int | None]
    qm_pval: float
    qe: float
    qe_df: int
    qe_pval: float
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    r2: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "measure": self.measure.value if self.measure else None,
            "method": self.method.value,
            "test": self.test.value,
            "level": self.level,
            "k": self.k,
            "coefficients": [
                {
                    "name": n,
                    "estimate": _num(b),
                    "se": _num(s),
                    "zval": _num(z),
                    "pval": _num(pv),
                    "ci_lb": _num(lo),
                    "ci_ub": _num(hi),
                }
                for n, b, s, z, pv, lo, hi in zip(
                    self.names,
                    self.coef,
                    self.se,
                    self.zval,
                    self.pval,
                    self.ci_lb,
                    self.ci_ub,
                    strict=True,
                )
            ],
            "ddf": self.ddf,
            "qm": _num(self.qm),
            "qm_df": list(self.qm_df),
            "qm_pval": _num(self.qm_pval),
            "qe": _num(self.qe),
            "qe_df": self.qe_df,
            "qe_pval": _num(self.qe_pval),
            "tau2": _num(self.tau2),
            "se_tau2": _num(self.se_tau2),
            "i2": _num(self.i2),
            "h2": _num(self.h2),
            "r2": _num(self.r2),
            "reference": cite("VIECHTBAUER2010"),
        }


def design_matrix(
    moderators: Mapping[str, Sequence[Any]], k: int
) -> tuple[FloatArray, tuple[str, ...]]:
    """Intercept plus moderators; text columns become treatment-coded factors.

    Levels are sorted (R's ``factor()`` default for plain ASCII labels); the first is the
    reference, and a column is named ``<moderator><level>`` as R names it.
    """
    cols: list[FloatArray] = [np.ones(k)]
    names: list[str] = ["intrcpt"]
    for name, values in moderators.items():
        vals = list(values)
        if len(vals) != k:
            raise InvalidValue(
                f"moderator `{name}` has {len(vals)} values for {k} studies; expected {k}",
                field=name,
                value=len(vals),
                expected=f"{k} values",
            )
        if any(v is None for v in vals):
            i = next(i for i, v in enumerate(vals) if v is None)
            raise InvalidValue(
                f"moderator `{name}` is missing for study {i}; expected a value for every study",
                field=name,
                value=None,
                expected="a value",
            )
        if all(isinstance(v, int | float | np.integer | np.floating) for v in vals) and not any(
            isinstance(v, bool) for v in vals
        ):
            cols.append(np.asarray(vals, dtype=np.float64))
            names.append(name)
            continue
        text = [str(v) for v in vals]
        levels = sorted(set(text))
        for lev in levels[1:]:
            cols.append(np.array([1.0 if t == lev else 0.0 for t in text]))
            names.append(f"{name}{lev}")
    return np.column_stack(cols), tuple(names)


def _r2(fit: UniFit, *, yi: FloatArray, vi: FloatArray, x: FloatArray) -> float | None:
    """metafor's pseudo-R² (r2def "1"; weighted-lm adjusted R² for fixed-effect models)."""
    if fit.p == 1:
        return None
    if fit.method in FIXED_METHODS:
        if float(np.var(yi)) == 0.0:
            return 0.0
        w = 1.0 / vi
        beta = np.linalg.lstsq(x * np.sqrt(w)[:, None], yi * np.sqrt(w), rcond=None)[0]
        rss = float(np.sum(w * (yi - x @ beta) ** 2))
        mean_w = float(np.sum(w * yi) / np.sum(w))
        tss = float(np.sum(w * (yi - mean_w) ** 2))
        r2 = 1.0 - rss / tss
        k, p = int(x.shape[0]), int(x.shape[1])
        adj = 1.0 - (1.0 - r2) * (k - 1) / (k - p)
        return max(0.0, 100.0 * adj)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f0 = fit_uni(
                yi=yi,
                vi=vi,
                x=np.ones((yi.size, 1)),
                method=fit.method,
                test=fit.test,
                level=fit.level,
            )
    except CartwatchError:
        return None
    if f0.tau2 == 0.0:
        return 0.0
    return max(0.0, 100.0 * (f0.tau2 - fit.tau2) / f0.tau2)


def _metareg_from(
    *,
    yi: FloatArray,
    vi: FloatArray,
    x: FloatArray,
    names: tuple[str, ...],
    method: Method,
    test: Test,
    level: float,
    measure: Measure | None,
) -> MetaRegression:
    fit = fit_uni(yi=yi, vi=vi, x=x, method=method, test=test, level=level)
    return MetaRegression(
        measure=measure,
        method=method,
        test=test,
        level=level,
        k=fit.k,
        names=names,
        coef=_tuple(fit.beta),
        se=_tuple(fit.se),
        zval=_tuple(fit.zval),
        pval=_tuple(fit.pval),
        ci_lb=_tuple(fit.ci_lb),
        ci_ub=_tuple(fit.ci_ub),
        ddf=fit.ddf,
        qm=fit.qm,
        qm_df=fit.qm_df,
        qm_pval=fit.qm_pval,
        qe=fit.qe,
        qe_df=fit.k - fit.p,
        qe_pval=fit.qe_pval,
        tau2=fit.tau2,
        se_tau2=None if math.isnan(fit.se_tau2) else fit.se_tau2,
        i2=fit.i2,
        h2=fit.h2,
        r2=_r2(fit, yi=yi, vi=vi, x=x),
    )


def metareg(
    events: Numbers,
    totals: Numbers,
    *,
    moderators: Mapping[str, Sequence[Any]],
    measure: str | Measure = Measure.PLO,
    method: str | Method = Method.REML,
    test: str | Test = Test.Z,
    level: float = 0.95,
    add: float | None = None,
    to: str | AddTo = AddTo.ONLY0,
) -> MetaRegression:
    """Mixed-effects meta-regression of proportions on ``moderators`` (column name → values).

    As metafor ``rma(measure=, xi=, ni=, mods=~ ..., method=, test=)``. [VIECHTBAUER2010]
    """
    m = parse_measure(measure)
    meth = parse_method(method)
    es = escalc(events=events, totals=totals, measure=m, add=add, to=to)
    if not moderators:
        raise InvalidValue(
            "`moderators` is empty; expected at least one moderator column",
            field="moderators",
            value={},
            expected="≥ 1 column",
        )
    x, names = design_matrix(moderators, es.k)
    return _metareg_from(
        yi=np.asarray(es.yi, dtype=np.float64),
        vi=np.asarray(es.vi, dtype=np.float64),
        x=x,
        names=names,
        method=meth,
        test=parse_test(test),
        level=check_level(level),
        measure=m,
    )


# --- subgroups ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SubgroupResult:
    """Per-group pooled results and two tests of subgroup differences.

    ``qm`` / ``qm_pval``: metafor ``rma(yi, vi, mods = ~ factor(by))`` — one τ² shared by all
    groups (an F value with ``qm_df`` under knha/t). ``q_between`` / ``q_between_pval``: the
    separate-τ² test, i.e. the fixed-effect Q across the group estimates and their SEs
    (metafor ``rma(estimates, sei=se, method="FE")`` QE; R ``meta``'s "test for subgroup
    differences"). [VIECHTBAUER2010]
    """

    groups: tuple[str, ...]
    results: tuple[MetaResult, ...]
    qm: float | None
    qm_df: tuple[int, int | None] | None
    qm_pval: float | None
    q_between: float
    q_between_df: int
    q_between_pval: float

    def __getitem__(self, group: str) -> MetaResult:
        return self.results[self.groups.index(group)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "groups": {g: r.to_dict() for g, r in zip(self.groups, self.results, strict=True)},
            "qm": _num(self.qm),
            "qm_df": list(self.qm_df) if self.qm_df else None,
            "qm_pval": _num(self.qm_pval),
            "q_between": _num(self.q_between),
            "q_between_df": self.q_between_df,
            "q_between_pval": _num(self.q_between_pval),
        }


def subgroups(
    events: Numbers,
    totals: Numbers,
    *,
    by: Sequence[str],
    measure: str | Measure = Measure.PLO,
    method: str | Method = Method.REML,
    test: str | Test = Test.Z,
    level: float = 0.95,
    add: float | None = None,
    to: str | AddTo = AddTo.ONLY0,
    labels: Sequence[str] | None = None,
) -> SubgroupResult:
    """Pool each subgroup of ``by`` separately and test the differences between them.

    Effect sizes are computed once on the whole table (as metafor does) and split by group.
    [VIECHTBAUER2010]
    """
    m = parse_measure(measure)
    meth = parse_method(method)
    tst = parse_test(test)
    lvl = check_level(level)
    es = escalc(events=events, totals=totals, measure=m, add=add, to=to)
    groups_all = [str(g) for g in by]
    if len(groups_all) != es.k:
        raise InvalidValue(
            f"`by` has {len(groups_all)} labels for {es.k} studies; expected one per study",
            field="by",
            value=len(groups_all),
            expected=f"{es.k} labels",
        )
    labs = _labels(labels, es.k)
    levels = tuple(sorted(set(groups_all)))
    if len(levels) < 2:
        raise NotApplicable(
            f"`by` has a single group ({levels[0]!r}); expected at least 2 groups to compare",
            field="by",
            value=list(levels),
            expected="≥ 2 groups",
        )
    yi = np.asarray(es.yi, dtype=np.float64)
    vi = np.asarray(es.vi, dtype=np.float64)
    results: list[MetaResult] = []
    for g in levels:
        idx = [i for i, v in enumerate(groups_all) if v == g]
        sub = EffectSizes(
            measure=es.measure,
            events=tuple(es.events[i] for i in idx),
            totals=tuple(es.totals[i] for i in idx),
            yi=tuple(es.yi[i] for i in idx),
            vi=tuple(es.vi[i] for i in idx),
            add=es.add,
            to=es.to,
            corrected=tuple(es.corrected[i] for i in idx),
        )
        if meth is Method.GLMM:
            from cartwatch.evidence.glmm import fit_glmm

            results.append(
                fit_glmm(es=sub, test=tst, level=lvl, labels=tuple(labs[i] for i in idx))
            )
            continue
        fit = fit_uni(
            yi=yi[idx], vi=vi[idx], x=np.ones((len(idx), 1)), method=meth, test=tst, level=lvl
        )
        results.append(
            _result_from_fit(
                fit, yi=yi[idx], vi=vi[idx], labels=tuple(labs[i] for i in idx), es=sub
            )
        )
    est = np.array([r.estimate for r in results])
    var = np.array([r.se**2 for r in results])
    w = 1.0 / var
    mu = float(np.sum(w * est) / np.sum(w))
    q_between = float(np.sum(w * (est - mu) ** 2))
    qb_df = len(levels) - 1
    qm: float | None = None
    qm_df: tuple[int, int | None] | None = None
    qm_pval: float | None = None
    if meth is not Method.GLMM:
        x, _ = design_matrix({"by": groups_all}, es.k)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mfit = fit_uni(yi=yi, vi=vi, x=x, method=meth, test=tst, level=lvl)
            qm, qm_df, qm_pval = mfit.qm, mfit.qm_df, mfit.qm_pval
        except CartwatchError:
            qm = qm_df = qm_pval = None
    return SubgroupResult(
        groups=levels,
        results=tuple(results),
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        q_between=q_between,
        q_between_df=qb_df,
        q_between_pval=float(stats.chi2.sf(q_between, qb_df)),
    )
