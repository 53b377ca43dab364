"""Checks shared by the analytics functions: a cohort frame has the columns a function reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from cartwatch.errors import InvalidValue

FloatArray = npt.NDArray[np.float64]


def require_columns(frame: pl.DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise when ``frame`` lacks any of ``columns`` (naming the missing ones and those present)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidValue(
            f"the {what} frame has no column(s) {', '.join(repr(m) for m in missing)}; "
            f"it has {', '.join(repr(c) for c in frame.columns) or 'no columns'}",
            field=missing[0],
            value=None,
            expected=f"columns {', '.join(columns)}",
        )


def as_float_array(values: Sequence[float] | FloatArray, *, field: str) -> FloatArray:
    """``values`` as a 1-D float array; raises for NaN or infinite entries."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidValue(
            f"`{field}` must be one-dimensional; got shape {arr.shape}",
            field=field,
            value=list(arr.shape),
            expected="a 1-D sequence of numbers",
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidValue(
            f"`{field}[{index}]={arr[index]}` is not a finite number; expected finite values "
            "(drop missing rows before the analysis and report how many)",
            field=field,
            value=float(arr[index]),
            expected="finite numbers",
        )
    return arr
