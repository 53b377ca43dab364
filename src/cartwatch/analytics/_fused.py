"""The numba engine of :func:`cartwatch.analytics.columnar.regrade`: one compiled pass per call.

The frame's columns are handed to the kernel without per-row Python work and, where polars
allows, without copies (an Enum's physical codes, a float column with no nulls); the same
codecs, domain tables and tabulated combines as the numpy path are used, so the two agree by
construction (and a property test holds them equal). Whenever the kernel meets a value its
codecs refuse, the call is handed to the numpy path, which raises the same error naming the
column, the value, the row and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import polars as pl

from cartwatch import assessment as contract
from cartwatch.analytics import columnar as col
from cartwatch.grading.engine import Column

try:
    from numba import typed, types

    from cartwatch.analytics import _kernel
except ImportError:  # pragma: no cover - exercised only where numba is not installed
    AVAILABLE = False
else:
    AVAILABLE = True

Array = np.ndarray[Any, Any]
Encoders = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]
_IDENTITY = np.arange(256, dtype=np.uint8)


_PACKED: dict[tuple[tuple[int, int], ...], tuple[Array, Array]] = {}


class _Refused(Exception):
    """A column the fast encoders cannot take; the numpy path decides (and explains)."""


@dataclass
class _Inputs:
    """The kernel's code sources, one slot per distinct declared column present in the frame."""

    n: int
    byte_cols: list[Array] = field(default_factory=list)
    byte_luts: list[Array] = field(default_factory=list)
    byte_slot: list[int] = field(default_factory=list)
    byte_direct: list[bool] = field(default_factory=list)
    num_cols: list[Array] = field(default_factory=list)
    num_slot: list[int] = field(default_factory=list)
    num_kind: list[int] = field(default_factory=list)
    num_bounds: list[tuple[float, float]] = field(default_factory=list)
    num_cuts: list[Array] = field(default_factory=list)
    num_scale: list[int] = field(default_factory=list)
    num_null: list[int] = field(default_factory=list)
    num_nullable: list[bool] = field(default_factory=list)
    pre_cols: list[Array] = field(default_factory=list)
    pre_slot: list[int] = field(default_factory=list)
    slots: dict[Column, int] = field(default_factory=dict)
    constants: dict[Column, int] = field(default_factory=dict)

    @property
    def nslots(self) -> int:
        return len(self.slots)

    def add(self, codec: col._Codec, frame: pl.DataFrame) -> None:
        key = codec.column_key
        if key in self.slots or key in self.constants:
            return
        slot = len(self.slots)
        source = _source(codec, frame)
        if isinstance(source, int):
            self.constants[key] = source
            return
        self.slots[key] = slot
        kind = source[0]
        if kind == "byte":
            self.byte_cols.append(_readonly(source[1], np.uint8))
            self.byte_luts.append(source[2])
            self.byte_direct.append(source[3])
            self.byte_slot.append(slot)
        elif kind == "num":
            _, values, number_kind, low, high, cuts, scale, null, nullable = source
            self.num_cols.append(_readonly(values, np.float64))
            self.num_slot.append(slot)
            self.num_kind.append(number_kind)
            self.num_bounds.append((low, high))
            self.num_cuts.append(cuts)
            self.num_scale.append(scale)
            self.num_null.append(null)
            self.num_nullable.append(nullable)
        else:
            self.pre_cols.append(_readonly(source[1], np.int32))
            self.pre_slot.append(slot)

    def arguments(self) -> Encoders:
        """The encoder arguments, in the kernel's order."""
        width = max((len(c) for c in self.num_cuts), default=0)
        cuts = np.zeros((len(self.num_cuts), max(width, 1)), dtype=np.float64)
        for i, c in enumerate(self.num_cuts):
            cuts[i, : len(c)] = c
        return (
            _list(self.byte_cols, types.uint8),
            np.array(self.byte_luts, dtype=np.uint8).reshape(len(self.byte_luts), 256),
            np.array(self.byte_direct, dtype=np.bool_),
            np.array(self.byte_slot, dtype=np.int64),
            _list(self.num_cols, types.float64),
            np.array(self.num_slot, dtype=np.int64),
            np.array(self.num_kind, dtype=np.int64),
            np.array(self.num_bounds, dtype=np.float64).reshape(len(self.num_bounds), 2),
            cuts,
            np.array([len(c) for c in self.num_cuts], dtype=np.int64),
            np.array(self.num_scale, dtype=np.int64),
            np.array(self.num_null, dtype=np.int32),
            np.array(self.num_nullable, dtype=np.bool_),
            _list(self.pre_cols, types.int32),
            np.array(self.pre_slot, dtype=np.int64),
        )


def _readonly(values: Array, dtype: Any) -> Array:
    out = np.ascontiguousarray(values, dtype=dtype).view()
    out.flags.writeable = False
    return out


def _list(arrays: list[Array], dtype: Any) -> Any:
    out = typed.List.empty_list(types.Array(dtype, 1, "C", readonly=True))
    for a in arrays:
        out.append(a)
    return out


def _byte_lut(mapping: Mapping[int, int]) -> Array:
    lut = np.full(256, _kernel.BAD, dtype=np.uint8)
    for raw, code in mapping.items():
        lut[raw] = code
    return lut


def _float_values(frame: pl.DataFrame, path: str) -> tuple[Array, bool]:
    """The number column as float64 with NaN where not recorded (alternative units converted)."""
    if path in frame.columns:
        series = frame[path]
        convert = None
    else:
        alt = next(
            a
            for a, (target, *_rest) in contract.ALTERNATIVE_UNITS.items()
            if target == path and a in frame.columns
        )
        series = frame[alt].cast(pl.Float64, strict=False)
        convert = contract.ALTERNATIVE_UNITS[alt][1]
    if not (series.dtype.is_numeric() or series.dtype == pl.Null):
        raise _Refused(path)
    nullable = series.null_count() > 0
    if series.dtype.is_float() and nullable and bool(series.is_nan().any()):
        raise _Refused(path)
    values = series.cast(pl.Float64).to_numpy()
    if convert is not None:
        values = np.asarray(cast(Any, convert)(values), dtype=np.float64)
    return values, nullable


Source = int | tuple[Any, ...]


def _source(codec: col._Codec, frame: pl.DataFrame) -> Source:
    """How the kernel gets this codec's codes: a constant, a byte column, a number column or
    codes pre-encoded by the numpy codec."""
    if isinstance(codec, col._EnumCodec):
        series = col._column(frame, codec.path)
        if series is None:
            return codec.radix - 1
        if isinstance(series.dtype, pl.Enum):
            categories = series.dtype.categories.to_list()
            physical = series.to_physical()
            if physical.dtype == pl.UInt8 and len(categories) < 255:
                members = [m.value for m in codec.members]
                mapping = {i: members.index(c) for i, c in enumerate(categories) if c in members}
                mapping[255] = codec.radix - 1
                direct = physical.null_count() == 0 and all(
                    mapping.get(i) == i for i in range(len(categories))
                )
                if physical.null_count():
                    physical = physical.fill_null(255)
                return ("byte", physical.to_numpy(), _byte_lut(mapping), direct)
    elif isinstance(codec, col._BoolCodec):
        series = col._column(frame, codec.path)
        if series is None:
            return 2
        if series.dtype == pl.Boolean:
            if series.null_count():
                return ("byte", series.cast(pl.UInt8).fill_null(2).to_numpy(), _IDENTITY, True)
            return ("byte", series.to_numpy().view(np.uint8), _IDENTITY, True)
    elif isinstance(codec, col._PresentCodec):
        series = col._column(frame, codec.path)
        if series is None:
            return 1
        return ("byte", series.is_null().to_numpy().view(np.uint8), _IDENTITY, True)
    elif isinstance(codec, col._NumberCodec | col._IntegerCodec):
        if not col._has_number(frame, codec.path):
            return codec.radix - 1
        values, nullable = _float_values(frame, codec.path)
        if isinstance(codec, col._NumberCodec):
            return ("num", values, _kernel.REGION, codec.low, codec.high, codec.cuts, 1,
                    codec.radix - 1, nullable)  # fmt: skip
        return ("num", values, _kernel.WHOLE, float(codec.low), float(codec.high), np.zeros(0),
                1, codec.radix - 1, nullable)  # fmt: skip
    elif isinstance(codec, col._IceRangeCodec):
        if not any(f"ice.{i}" in frame.columns for i in col.ICE_ITEMS):
            if "ice_total" not in frame.columns:
                return codec.radix - 1
            values, nullable = _float_values(frame, "ice_total")
            low, high = col._range_of("ice_total")
            return ("num", values, _kernel.WHOLE, low, high, np.zeros(0), 11, codec.radix - 1,
                    nullable)  # fmt: skip
    elif isinstance(codec, col._Ice4Codec) and not any(
        f"ice.{i}" in frame.columns for i in col.ICE4_ITEMS
    ):
        return codec.radix - 1
    codes = codec.encode(frame)
    if codes.ndim == 0:
        return int(codes)
    return ("pre", codes)


@dataclass
class _Plan:
    """The scales' domains laid out for the kernel (keys, strides, tables, combines)."""

    tables: list[col._DomainTable]
    dom_const: Array
    dom_ncol: Array
    dom_slot: Array
    dom_stride: Array
    dom_cstride: Array
    scale_start: Array
    scale_ndom: Array
    scale_cbase: Array
    combine: Array

    def packed(self) -> tuple[Array, Array]:
        """Every domain table end to end (current contents) and each one's offset; reused
        while no table has gained an entry since."""
        key = tuple((id(t), t.filled) for t in self.tables)
        cached = _PACKED.get(key)
        if cached is None:
            sizes = [t.size for t in self.tables]
            base = np.zeros(len(sizes) + 1, dtype=np.int64)
            base[1:] = np.cumsum(sizes)
            cached = (np.concatenate([t.packed for t in self.tables]), base)
            _PACKED.clear()
            _PACKED[key] = cached
        return cached

    def constant_levels(self) -> tuple[Array, Array]:
        """Each scale's combine key contributed by domains whose columns are all constant."""
        low = np.zeros(len(self.scale_start), dtype=np.int32)
        high = np.zeros(len(self.scale_start), dtype=np.int32)
        for s, start in enumerate(self.scale_start):
            for d in range(start, start + self.scale_ndom[s]):
                if self.dom_ncol[d] == 0:
                    packed = int(self.tables[d].lookup(np.asarray(self.dom_const[d])))
                    low[s] += (packed & 7) * self.dom_cstride[d]
                    high[s] += (packed >> 3) * self.dom_cstride[d]
        return low, high


def _plan(
    frame: pl.DataFrame,
    scales: Sequence[str],
    options: Mapping[str, Mapping[str, str]] | None,
    inputs: _Inputs,
) -> _Plan | None:
    tables: list[col._DomainTable] = []
    consts: list[int] = []
    slot_lists: list[list[tuple[int, int]]] = []
    cstrides: list[int] = []
    starts: list[int] = []
    counts: list[int] = []
    cbases: list[int] = []
    combines: list[Array] = []
    offset = 0
    for scale_id in scales:
        _, domains, combine = col._tables(scale_id, (options or {}).get(scale_id))
        if not all(t.dense for t in domains):
            return None
        starts.append(len(tables))
        counts.append(len(domains))
        cbases.append(offset)
        combines.append(combine.astype(np.int8))
        offset += len(combine)
        for position, table in enumerate(domains):
            constant = 0
            pairs: list[tuple[int, int]] = []
            for codec, stride in zip(table.codecs, table.strides, strict=True):
                inputs.add(codec, frame)
                if codec.column_key in inputs.constants:
                    constant += inputs.constants[codec.column_key] * stride
                else:
                    pairs.append((inputs.slots[codec.column_key], stride))
            tables.append(table)
            consts.append(constant)
            slot_lists.append(pairs)
            cstrides.append((col.MAX_LEVEL + 1) ** (len(domains) - 1 - position))
    width = max((len(p) for p in slot_lists), default=0)
    dom_slot = np.zeros((len(tables), max(width, 1)), dtype=np.int64)
    dom_stride = np.zeros((len(tables), max(width, 1)), dtype=np.int32)
    for d, pairs in enumerate(slot_lists):
        for c, (slot, stride) in enumerate(pairs):
            dom_slot[d, c] = slot
            dom_stride[d, c] = stride
    return _Plan(
        tables=tables,
        dom_const=np.array(consts, dtype=np.int32),
        dom_ncol=np.array([len(p) for p in slot_lists], dtype=np.int64),
        dom_slot=dom_slot,
        dom_stride=dom_stride,
        dom_cstride=np.array(cstrides, dtype=np.int32),
        scale_start=np.array(starts, dtype=np.int64),
        scale_ndom=np.array(counts, dtype=np.int64),
        scale_cbase=np.array(cbases, dtype=np.int64),
        combine=np.concatenate(combines) if combines else np.zeros(1, dtype=np.int8),
    )


def regrade(
    frame: pl.DataFrame,
    scales: Sequence[str],
    *,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> pl.DataFrame:
    """:func:`cartwatch.analytics.columnar.regrade` through the compiled kernel."""
    n = frame.height
    inputs = _Inputs(n)
    try:
        plan = _plan(frame, scales, options, inputs)
    except _Refused:
        plan = None
    if plan is None:
        return col._regrade_numpy(frame, scales, options=options)
    encoders = inputs.arguments()
    bad_byte = np.zeros(len(inputs.byte_cols), dtype=np.bool_)
    bad_num = np.zeros(len(inputs.num_cols), dtype=np.bool_)
    nscales = len(scales)
    floor = np.empty((nscales, n), dtype=np.int8)
    ceiling = np.empty((nscales, n), dtype=np.int8)
    status = np.empty((nscales, n), dtype=np.uint8)
    for _attempt in range(3):
        base_low, base_high = plan.constant_levels()
        packed, base = plan.packed()
        missed = np.zeros(len(plan.tables), dtype=np.bool_)
        _kernel.regrade_kernel(
            n,
            inputs.nslots,
            *encoders,
            packed,
            base,
            plan.dom_const,
            plan.dom_ncol,
            plan.dom_slot,
            plan.dom_stride,
            plan.dom_cstride,
            plan.scale_start,
            plan.scale_ndom,
            plan.scale_cbase,
            base_low,
            base_high,
            plan.combine,
            floor,
            ceiling,
            status,
            missed,
            bad_byte,
            bad_num,
        )
        if bad_byte.any() or bad_num.any():
            return col._regrade_numpy(frame, scales, options=options)
        if not missed.any():
            break
        for d in np.flatnonzero(missed):
            keys = np.empty(n, dtype=np.int32)
            _kernel.domain_keys(
                n,
                inputs.nslots,
                *encoders,
                int(plan.dom_const[d]),
                plan.dom_slot[d, : plan.dom_ncol[d]].copy(),
                plan.dom_stride[d, : plan.dom_ncol[d]].copy(),
                keys,
                bad_byte,
                bad_num,
            )
            plan.tables[d].lookup(keys)
    else:  # pragma: no cover - every missed combination is filled after one round
        raise AssertionError("regrade: domain tables still incomplete after filling")
    return frame.with_columns(_outputs(scales, floor, ceiling, status))


def _outputs(scales: Sequence[str], floor: Array, ceiling: Array, status: Array) -> list[pl.Series]:
    new: list[pl.Series] = []
    for s, scale_id in enumerate(scales):
        floor_s = pl.Series(f"{scale_id}.floor", floor[s])
        determined = pl.Series(status[s]) != 2
        grade = floor_s.alias(f"{scale_id}.grade")
        if not determined.all():
            grade = grade.zip_with(determined, pl.Series([None], dtype=pl.Int8))
        new.extend(
            [
                grade,
                floor_s,
                pl.Series(f"{scale_id}.ceiling", ceiling[s]),
                pl.Series(f"{scale_id}.status", status[s]).cat.to(col.STATUS, strict=False),
            ]
        )
    return new
