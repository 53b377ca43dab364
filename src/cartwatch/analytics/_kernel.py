"""The compiled (numba) pass of the columnar engine: encode, look up and combine in one loop.

Everything clinical comes in as data built from the scalar scales by
:mod:`cartwatch.analytics.columnar` (threshold cuts, per-domain floor/ceiling tables, the
tabulated combine); this module only moves codes through those tables. Rows are processed in
blocks (one block per task, spread over the cores); within a block each step is a simple loop
over the block's rows, so the compiler can vectorise it and the scratch codes stay in cache.

Sources of codes (one *slot* each):

- byte columns: a ``uint8`` array (an Enum's physical codes, a Boolean as 0/1, nulls filled)
  mapped through a 256-entry table to the codec's code; ``BAD`` marks a value the codec refuses;
- number columns: ``float64`` values (NaN = not recorded when the column has nulls), checked
  against the plausible range and mapped to the region between thresholds or, for whole-number
  fields, to ``(value - low) * scale``;
- pre-encoded ``int32`` codes (the numpy codecs, for the rarer ICE-item shapes and strings).

A domain's key is the sum of its slots' codes times their strides plus a constant (codecs whose
column is absent from the frame); an unfilled table entry is reported back (``missed``) so the
caller can fill it from the scalar domain and run again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numba import prange

F = TypeVar("F", bound=Callable[..., Any])

BLOCK = 4096
BAD = 255
UNSET = 255
REGION = 0
WHOLE = 1


def _jit(parallel: bool) -> Callable[[F], F]:
    return cast(Callable[[F], F], numba.njit(parallel=parallel, cache=True, nogil=True))


@_jit(parallel=False)
def _encode_block(
    lo: int,
    m: int,
    codes: Any,
    byte_cols: Any,
    byte_luts: Any,
    byte_direct: Any,
    byte_slot: Any,
    num_cols: Any,
    num_slot: Any,
    num_kind: Any,
    num_bounds: Any,
    num_cuts: Any,
    num_ncuts: Any,
    num_scale: Any,
    num_null: Any,
    num_nullable: Any,
    pre_cols: Any,
    pre_slot: Any,
    bad_byte: Any,
    bad_num: Any,
) -> None:
    for j in range(len(byte_cols)):
        arr = byte_cols[j][lo : lo + m]
        out = codes[byte_slot[j]]
        if byte_direct[j]:
            for i in range(m):
                out[i] = arr[i]
            continue
        refused = False
        for i in range(m):
            code = byte_luts[j, arr[i]]
            refused |= code == BAD
            out[i] = 0 if code == BAD else code
        if refused:
            bad_byte[j] = True
    for j in range(len(num_cols)):
        arr = num_cols[j][lo : lo + m]
        out = codes[num_slot[j]]
        low = num_bounds[j, 0]
        high = num_bounds[j, 1]
        null_code = num_null[j]
        nullable = num_nullable[j]
        kind = num_kind[j]
        k = num_ncuts[j]
        first = num_cuts[j, 0]
        scale = num_scale[j]
        refused = False
        if kind == WHOLE and not nullable:
            for i in range(m):
                v = arr[i]
                plausible = low <= v <= high and v == np.floor(v)
                refused |= not plausible
                out[i] = int(v - low) * scale if plausible else 0
        elif kind == WHOLE:
            for i in range(m):
                v = arr[i]
                absent = nullable and v != v
                plausible = low <= v <= high and v == np.floor(v)
                refused |= not (plausible or absent)
                code = int(v - low) * scale if plausible else 0
                out[i] = null_code if absent else code
        elif k == 1 and not nullable:
            for i in range(m):
                v = arr[i]
                refused |= not (low <= v <= high)
                out[i] = 2 * (first < v) + (first == v)
        elif k == 2 and not nullable:
            second = num_cuts[j, 1]
            for i in range(m):
                v = arr[i]
                refused |= not (low <= v <= high)
                out[i] = 2 * (first < v) + (first == v) + 2 * (second < v) + (second == v)
        else:
            for i in range(m):
                v = arr[i]
                absent = nullable and v != v
                refused |= not (low <= v <= high or absent)
                code = 0
                for c in range(k):
                    cut = num_cuts[j, c]
                    code += 2 * (cut < v) + (cut == v)
                out[i] = null_code if absent else code
        if refused:
            bad_num[j] = True
    for j in range(len(pre_cols)):
        arr = pre_cols[j][lo : lo + m]
        out = codes[pre_slot[j]]
        for i in range(m):
            out[i] = arr[i]


@_jit(parallel=True)
def regrade_kernel(
    n: int,
    nslots: int,
    byte_cols: Any,
    byte_luts: Any,
    byte_direct: Any,
    byte_slot: Any,
    num_cols: Any,
    num_slot: Any,
    num_kind: Any,
    num_bounds: Any,
    num_cuts: Any,
    num_ncuts: Any,
    num_scale: Any,
    num_null: Any,
    num_nullable: Any,
    pre_cols: Any,
    pre_slot: Any,
    packed: Any,
    dom_base: Any,
    dom_const: Any,
    dom_ncol: Any,
    dom_slot: Any,
    dom_stride: Any,
    dom_cstride: Any,
    scale_start: Any,
    scale_ndom: Any,
    scale_cbase: Any,
    scale_base_low: Any,
    scale_base_high: Any,
    combine: Any,
    floor_out: Any,
    ceiling_out: Any,
    status_out: Any,
    missed: Any,
    bad_byte: Any,
    bad_num: Any,
) -> None:
    """Floor, ceiling and status (0 graded, 1 criteria not met, 2 not gradeable) per scale."""
    nblocks = (n + BLOCK - 1) // BLOCK
    nscales = len(scale_start)
    for b in prange(nblocks):
        lo = b * BLOCK
        m = min(BLOCK, n - lo)
        codes = np.empty((max(nslots, 1), BLOCK), dtype=np.int32)
        key = np.empty(BLOCK, dtype=np.int32)
        low_key = np.empty(BLOCK, dtype=np.int32)
        high_key = np.empty(BLOCK, dtype=np.int32)
        _encode_block(
            lo,
            m,
            codes,
            byte_cols,
            byte_luts,
            byte_direct,
            byte_slot,
            num_cols,
            num_slot,
            num_kind,
            num_bounds,
            num_cuts,
            num_ncuts,
            num_scale,
            num_null,
            num_nullable,
            pre_cols,
            pre_slot,
            bad_byte,
            bad_num,
        )
        for s in range(nscales):
            base_low = scale_base_low[s]
            base_high = scale_base_high[s]
            for i in range(m):
                low_key[i] = base_low
                high_key[i] = base_high
            for d in range(scale_start[s], scale_start[s] + scale_ndom[s]):
                ncol = dom_ncol[d]
                if ncol == 0:
                    continue
                constant = dom_const[d]
                for i in range(m):
                    key[i] = constant
                for c in range(ncol):
                    row = codes[dom_slot[d, c]]
                    stride = dom_stride[d, c]
                    for i in range(m):
                        key[i] += row[i] * stride
                table = packed[dom_base[d] : dom_base[d + 1]]
                cstride = dom_cstride[d]
                unset = False
                for i in range(m):
                    raw = table[key[i]]
                    unset |= raw == UNSET
                    p = 0 if raw == UNSET else np.int32(raw)
                    low_key[i] += (p & 7) * cstride
                    high_key[i] += (p >> 3) * cstride
                if unset:
                    missed[d] = True
            table = combine[scale_cbase[s] :]
            floors = floor_out[s, lo : lo + m]
            ceilings = ceiling_out[s, lo : lo + m]
            statuses = status_out[s, lo : lo + m]
            for i in range(m):
                f = table[low_key[i]]
                c = table[high_key[i]]
                floors[i] = f
                ceilings[i] = c
                statuses[i] = 2 * (f != c) + ((f == c) & (f < 1))


@_jit(parallel=True)
def domain_keys(
    n: int,
    nslots: int,
    byte_cols: Any,
    byte_luts: Any,
    byte_direct: Any,
    byte_slot: Any,
    num_cols: Any,
    num_slot: Any,
    num_kind: Any,
    num_bounds: Any,
    num_cuts: Any,
    num_ncuts: Any,
    num_scale: Any,
    num_null: Any,
    num_nullable: Any,
    pre_cols: Any,
    pre_slot: Any,
    constant: int,
    slots: Any,
    strides: Any,
    out: Any,
    bad_byte: Any,
    bad_num: Any,
) -> None:
    """One domain's table key for every row (to fill the combinations a run missed)."""
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        lo = b * BLOCK
        m = min(BLOCK, n - lo)
        codes = np.empty((max(nslots, 1), BLOCK), dtype=np.int32)
        _encode_block(
            lo,
            m,
            codes,
            byte_cols,
            byte_luts,
            byte_direct,
            byte_slot,
            num_cols,
            num_slot,
            num_kind,
            num_bounds,
            num_cuts,
            num_ncuts,
            num_scale,
            num_null,
            num_nullable,
            pre_cols,
            pre_slot,
            bad_byte,
            bad_num,
        )
        keys = out[lo : lo + m]
        for i in range(m):
            keys[i] = constant
        for c in range(len(slots)):
            row = codes[slots[c]]
            stride = strides[c]
            for i in range(m):
                keys[i] += row[i] * stride
