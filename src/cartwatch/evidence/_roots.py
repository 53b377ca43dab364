"""Brent's root finder exactly as R's ``uniroot`` runs it (R_zeroin2, stats/src/zeroin.c).

metafor finds the Paule–Mandel τ² and the Q-profile bounds with ``uniroot`` at a loose tolerance
(``.Machine$double.eps^0.25``), so the answer depends on the path the algorithm takes; following the
same steps gives the same answer to the last digits instead of a different point inside the
tolerance. [VIECHTBAUER2010]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from cartwatch.errors import ConvergenceError

_EPSILON = sys.float_info.epsilon
# [VIECHTBAUER2010] metafor control: tol = .Machine$double.eps^0.25
R_UNIROOT_TOL = _EPSILON**0.25


@dataclass(frozen=True, slots=True, kw_only=True)
class Root:
    """A root, the iterations used and the final bracket width."""

    root: float
    iterations: int
    estim_prec: float


def r_uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
    what: str = "root",
) -> Root:
    """The root of ``f`` in [lower, upper] found as R ``uniroot(f, c(lower, upper), tol, maxiter)``.

    Raises ConvergenceError when the end points do not bracket a root or ``maxiter`` is reached.
    """
    fa = f(lower)
    fb = f(upper)
    if fa * fb > 0:
        raise ConvergenceError(
            f"{what}: the search interval [{lower:g}, {upper:g}] does not bracket a root "
            f"(f={fa:g} and f={fb:g} have the same sign)",
            field=what,
            value=(lower, upper),
        )
    a, b = lower, upper
    c, fc = a, fa
    if fa == 0.0:
        return Root(root=a, iterations=0, estim_prec=0.0)
    if fb == 0.0:
        return Root(root=b, iterations=0, estim_prec=0.0)
    maxit = maxiter + 1
    used = 0
    while maxit > 0:
        maxit -= 1
        used += 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPSILON * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return Root(root=b, iterations=used - 1, estim_prec=abs(c - b))
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise ConvergenceError(
        f"{what}: Brent's root search did not converge in {maxiter} iterations "
        f"(last value {b:g}, bracket width {abs(c - b):g})",
        field=what,
        value=b,
    )
