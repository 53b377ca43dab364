"""Columnar regrading of whole cohorts, derived from the scalar scales themselves.

``regrade(frame, scales)`` takes a polars DataFrame whose columns are the contract's field names
(nested fields dotted: ``oxygen.device``, ``ice.orientation``; enums as ``pl.Enum`` or strings;
null = not recorded) and adds ``<scale>.grade``, ``<scale>.floor``, ``<scale>.ceiling`` and
``<scale>.status`` for each scale.

One rule definition (design.md §3): nothing here knows a threshold or a grade. Each domain of a
table-shaped scale declares the contract fields its readers touch and, for numbers, the named
thresholds its rule compares them with (:class:`~cartwatch.grading.engine.Column`). Every row's
fields are encoded to small codes — an enum's member, a bool, the region of a number between
thresholds, an integer's value, the ICE items as a total range — and the domain's floor and
ceiling for each code combination are computed by running the scalar domain (its readers and its
rule) once on a representative assessment of that combination, then looked up for every row with
the same codes. The scale's own ``combine`` is tabulated over domain levels; because every
combine is monotone (checked when the table is built), the row's floor and ceiling are the
combination of its domains' floors and ceilings, exactly as in the scalar engine.

Two engines read those tables: the numba engine (:mod:`cartwatch.analytics._fused`, one
compiled pass per call: encode, look up, combine) when numba is installed, and the numpy path
below (array at a time), which is also the fallback and the source of every error message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from cartwatch import assessment as contract
from cartwatch.assessment import (
    FIELDS,
    FIO2_RANGE,
    ICE_ITEM_POINTS,
    OXYGEN_FLOW_RANGE,
    Assessment,
    Ice,
    Oxygen,
)
from cartwatch.errors import ConfigError, ConflictingValues, ImplausibleValue, InvalidValue
from cartwatch.grading.engine import Column, Domain, TableScale, _evaluate_domain
from cartwatch.grading.registry import get_scale

IntArray = np.ndarray[Any, Any]
KEY = np.int32
UNSET = 255

Engine = Literal["auto", "numba", "numpy"]
DEFAULT_SCALES = ("astct_crs", "astct_icans")
STATUS = pl.Enum(["graded", "criteria_not_met", "not_gradeable"])
MAX_LEVEL = 5
DENSE_LIMIT = 1 << 26  # combinations per domain held in a dense byte table
NESTED_RANGES = {"oxygen.flow_l_min": OXYGEN_FLOW_RANGE, "oxygen.fio2": FIO2_RANGE}
ICE_ITEMS = tuple(ICE_ITEM_POINTS)
ICE4_ITEMS = ("orientation", "naming", "writing", "attention")


# --------------------------------------------------------------------------------------------
# Codecs: a field (or a group of fields) → one small integer per row, and back
# --------------------------------------------------------------------------------------------


class _Codec:
    radix: int
    column_key: Column

    def encode(self, frame: pl.DataFrame) -> IntArray:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, code: int) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError


def _column(frame: pl.DataFrame, name: str) -> pl.Series | None:
    if name in frame.columns:
        return frame[name]
    return None


def _constant(code: int) -> IntArray:
    """A whole column of one code, as a 0-d array that broadcasts (no per-row memory)."""
    return np.asarray(code, dtype=KEY)


def _has_number(frame: pl.DataFrame, path: str) -> bool:
    if path in frame.columns:
        return True
    return any(
        target == path and alt in frame.columns
        for alt, (target, *_rest) in contract.ALTERNATIVE_UNITS.items()
    )


def _first_bad(mask: np.ndarray[Any, Any]) -> int:
    return int(np.flatnonzero(mask)[0])


def _set(out: dict[str, Any], path: str, value: Any) -> None:
    if "." in path:
        parent, child = path.split(".")
        out.setdefault(parent, {})[child] = value
    else:
        out[path] = value


@dataclass
class _EnumCodec(_Codec):
    path: str
    enum: type[StrEnum]

    def __post_init__(self) -> None:
        self.members = list(self.enum)
        self.radix = len(self.members) + 1

    def encode(self, frame: pl.DataFrame) -> IntArray:
        null = len(self.members)
        series = _column(frame, self.path)
        if series is None:
            return _constant(null)
        values = [m.value for m in self.members]
        if isinstance(series.dtype, pl.Enum):
            categories = series.dtype.categories.to_list()
            lut = np.array([values.index(c) if c in values else -1 for c in categories] + [null])
            physical = series.to_physical().fill_null(len(categories)).to_numpy()
            codes: IntArray = lut[physical].astype(KEY)
        else:
            strings = series.cast(pl.String)
            mapped = strings.replace_strict(values, list(range(len(values))), default=-1)
            codes = mapped.fill_null(null).to_numpy().astype(KEY)
            codes[strings.is_null().to_numpy()] = null
        if (codes < 0).any():
            row = _first_bad(codes < 0)
            raise InvalidValue(
                f"`{self.path}={series[row]!r}` (row {row}) is not one of: {', '.join(values)}",
                field=self.path,
                value=series[row],
                expected=", ".join(values),
            )
        return codes

    def decode(self, code: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if code < len(self.members):
            _set(out, self.path, self.members[code])
        return out


@dataclass
class _BoolCodec(_Codec):
    path: str
    radix: int = 3

    def encode(self, frame: pl.DataFrame) -> IntArray:
        series = _column(frame, self.path)
        if series is None:
            return _constant(2)
        if series.dtype != pl.Boolean:
            if series.null_count() == series.len():
                return _constant(2)
            raise InvalidValue(
                f"column `{self.path}` must be true/false (Boolean), not {series.dtype}",
                field=self.path,
                value=str(series.dtype),
                expected="Boolean",
            )
        codes: IntArray = series.cast(pl.Int64).fill_null(2).to_numpy().astype(KEY)
        return codes

    def decode(self, code: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if code < 2:
            _set(out, self.path, bool(code))
        return out


def _range_of(path: str) -> tuple[float, float]:
    if path in NESTED_RANGES:
        return NESTED_RANGES[path]
    spec = FIELDS[path]
    assert spec.low is not None and spec.high is not None
    return float(spec.low), float(spec.high)


def _numbers(frame: pl.DataFrame, path: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The column as float64 (alternative units converted once) and its null mask."""
    series = _column(frame, path)
    if series is None:
        for alt, (target, convert, _low, _high, _unit) in contract.ALTERNATIVE_UNITS.items():
            if target == path and alt in frame.columns:
                raw = frame[alt].cast(pl.Float64, strict=False)
                values = cast(Any, convert)(raw.to_numpy().astype(np.float64))
                return np.asarray(values, dtype=np.float64), raw.is_null().to_numpy()
        return np.zeros(frame.height), np.ones(frame.height, dtype=bool)
    try:
        numeric = series.cast(pl.Float64)
    except pl.exceptions.InvalidOperationError:
        raise InvalidValue(
            f"column `{path}` is not numeric ({series.dtype})",
            field=path,
            value=str(series.dtype),
            expected="a number",
        ) from None
    return numeric.fill_null(0.0).to_numpy().astype(np.float64), numeric.is_null().to_numpy()


def _check_range(path: str, values: np.ndarray[Any, Any], nulls: np.ndarray[Any, Any]) -> None:
    low, high = _range_of(path)
    bad = ~nulls & ~((values >= low) & (values <= high))
    if bad.any():
        row = _first_bad(bad)
        raise ImplausibleValue(
            f"`{path}={values[row]:g}` (row {row}) is implausible; expected {low:g}–{high:g}",
            field=path,
            value=float(values[row]),
            expected=f"{low:g}–{high:g}",
        )


@dataclass
class _NumberCodec(_Codec):
    """Regions of the number line cut by the thresholds (each open interval and each point)."""

    path: str
    thresholds: tuple[float, ...]

    def __post_init__(self) -> None:
        self.cuts = np.array(sorted(set(self.thresholds)), dtype=np.float64)
        self.k = len(self.cuts)
        self.radix = 2 * self.k + 2
        self.low, self.high = _range_of(self.path)

    def encode(self, frame: pl.DataFrame) -> IntArray:
        if not _has_number(frame, self.path):
            return _constant(self.radix - 1)
        values, nulls = _numbers(frame, self.path)
        _check_range(self.path, values, nulls)
        if self.k == 0:
            return np.where(nulls, 1, 0).astype(KEY)
        index = np.searchsorted(self.cuts, values, side="left")
        at = (index < self.k) & (self.cuts[np.minimum(index, self.k - 1)] == values)
        codes: IntArray = (2 * index + at).astype(KEY)
        codes[nulls] = self.radix - 1
        return codes

    def decode(self, code: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if code == self.radix - 1:
            return out
        if code % 2 == 1:
            value = float(self.cuts[code // 2])
        else:
            i = code // 2
            left = self.low if i == 0 else float(self.cuts[i - 1])
            right = self.high if i == self.k else float(self.cuts[i])
            value = (left + right) / 2.0
        _set(out, self.path, value)
        return out


@dataclass
class _IntegerCodec(_Codec):
    """Small whole-number fields (ICE total, CAPD, CARTOX-10): every value its own code."""

    path: str

    def __post_init__(self) -> None:
        low, high = _range_of(self.path)
        self.low, self.high = int(low), int(high)
        self.radix = self.high - self.low + 2

    def encode(self, frame: pl.DataFrame) -> IntArray:
        if not _has_number(frame, self.path):
            return _constant(self.radix - 1)
        values, nulls = _numbers(frame, self.path)
        _check_range(self.path, values, nulls)
        whole = values == np.floor(values)
        if (~whole & ~nulls).any():
            row = _first_bad(~whole & ~nulls)
            raise InvalidValue(
                f"`{self.path}={values[row]:g}` (row {row}) must be a whole number",
                field=self.path,
                value=float(values[row]),
                expected=f"a whole number {self.low}–{self.high}",
            )
        codes: IntArray = (values - self.low).astype(KEY)
        codes[nulls] = self.radix - 1
        return codes

    def decode(self, code: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if code < self.radix - 1:
            _set(out, self.path, code + self.low)
        return out


@dataclass
class _PresentCodec(_Codec):
    """A free-text field read only for being charted (e.g. a sedating agent)."""

    path: str
    radix: int = 2

    def encode(self, frame: pl.DataFrame) -> IntArray:
        series = _column(frame, self.path)
        if series is None:
            return _constant(1)
        return series.is_null().cast(pl.Int64).to_numpy().astype(KEY)

    def decode(self, code: int) -> dict[str, Any]:
        return {self.path: "charted"} if code == 0 else {}


@dataclass
class _AbsentCodec(_Codec):
    """A list or mapping field the columnar engine does not take: it must be absent or null."""

    path: str
    radix: int = 1

    def encode(self, frame: pl.DataFrame) -> IntArray:
        series = _column(frame, self.path)
        if series is not None and series.null_count() < series.len():
            raise ConfigError(
                f"the columnar engine does not read `{self.path}`; grade rows that record it "
                "with cartwatch.grade",
                field=self.path,
                value=None,
                expected="the column absent or null",
            )
        return _constant(0)

    def decode(self, code: int) -> dict[str, Any]:
        return {}


def _ice_items(
    frame: pl.DataFrame, items: Sequence[str]
) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    out = []
    for item in items:
        path = f"ice.{item}"
        series = _column(frame, path)
        if series is None:
            out.append((np.zeros(frame.height), np.ones(frame.height, dtype=bool)))
            continue
        values, nulls = _numbers(frame, path)
        points = ICE_ITEM_POINTS[item]
        bad = ~nulls & ((values < 0) | (values > points) | (values != np.floor(values)))
        if bad.any():
            row = _first_bad(bad)
            raise ImplausibleValue(
                f"`{path}={values[row]:g}` (row {row}) is implausible; expected 0–{points}",
                field=path,
                value=float(values[row]),
                expected=f"0–{points}",
            )
        out.append((values, nulls))
    return out


def _split(total: int, items: Sequence[str]) -> dict[str, int]:
    """Item scores summing to ``total`` within each item's points."""
    out = {}
    left = total
    for item in items:
        value = min(ICE_ITEM_POINTS[item], left)
        out[item] = value
        left -= value
    assert left == 0
    return out


_SUBSETS: dict[int, tuple[str, ...]] = {}
for _mask in range(1 << len(ICE_ITEMS)):
    _chosen = tuple(item for bit, item in enumerate(ICE_ITEMS) if _mask >> bit & 1)
    _SUBSETS.setdefault(sum(ICE_ITEM_POINTS[i] for i in _chosen), _chosen)


@dataclass
class _IceRangeCodec(_Codec):
    """ICE as (lowest total, points not assessed) from the items, or the recorded ICE total."""

    radix: int = 11 * 11 + 1

    def encode(self, frame: pl.DataFrame) -> IntArray:
        items = _ice_items(frame, ICE_ITEMS)
        low = np.zeros(frame.height)
        width = np.zeros(frame.height)
        assessed = np.zeros(frame.height, dtype=bool)
        for (values, nulls), item in zip(items, ICE_ITEMS, strict=True):
            low += np.where(nulls, 0, values)
            width += np.where(nulls, ICE_ITEM_POINTS[item], 0)
            assessed |= ~nulls
        total, total_null = _numbers(frame, "ice_total")
        _check_range("ice_total", total, total_null)
        complete = assessed & (width == 0)
        clash = complete & ~total_null & (total != low)
        if clash.any():
            row = _first_bad(clash)
            raise ConflictingValues(
                f"`ice_total={total[row]:g}` (row {row}) disagrees with the ICE items "
                f"(sum {low[row]:g})",
                field="ice_total",
                value=float(total[row]),
                expected=f"{low[row]:g}",
            )
        low = np.where(total_null, low, total)
        width = np.where(total_null, width, 0)
        codes: IntArray = (low * 11 + width).astype(KEY)
        codes[total_null & ~assessed] = self.radix - 1
        return codes

    def decode(self, code: int) -> dict[str, Any]:
        if code == self.radix - 1:
            return {}
        low, width = divmod(code, 11)
        missing = _SUBSETS[width]
        known = [i for i in ICE_ITEMS if i not in missing]
        items: dict[str, Any] = dict.fromkeys(missing)
        items.update(_split(low, known))
        return {"ice": items}


@dataclass
class _Ice4Codec(_Codec):
    """The four ICE items CARTOX-10 shares (orientation, naming, writing, attention): their sum
    when all four are recorded, else open."""

    radix: int = 11

    def encode(self, frame: pl.DataFrame) -> IntArray:
        items = _ice_items(frame, ICE4_ITEMS)
        total = np.zeros(frame.height)
        complete = np.ones(frame.height, dtype=bool)
        for values, nulls in items:
            total += np.where(nulls, 0, values)
            complete &= ~nulls
        codes: IntArray = np.where(complete, total, self.radix - 1).astype(KEY)
        return codes

    def decode(self, code: int) -> dict[str, Any]:
        if code == self.radix - 1:
            return {}
        return {"ice": _split(code, ICE4_ITEMS)}


def _codec(column: Column) -> _Codec:
    codec = _make_codec(column)
    codec.column_key = column
    return codec


def _make_codec(column: Column) -> _Codec:
    if column.kind == "enum":
        assert column.enum is not None
        return _EnumCodec(column.path, column.enum)
    if column.kind == "bool":
        return _BoolCodec(column.path)
    if column.kind == "number":
        return _NumberCodec(column.path, column.thresholds)
    if column.kind == "integer":
        if column.thresholds:
            return _NumberCodec(column.path, column.thresholds)
        return _IntegerCodec(column.path)
    if column.kind == "present":
        return _PresentCodec(column.path)
    if column.kind == "absent":
        return _AbsentCodec(column.path)
    if column.kind == "ice_range":
        return _IceRangeCodec()
    return _Ice4Codec()


# --------------------------------------------------------------------------------------------
# Domain and combine tables
# --------------------------------------------------------------------------------------------


_ENUM_FIELDS = {
    name: spec.enum for name, spec in FIELDS.items() if spec.kind == "enum" and spec.enum
}


def _assessment(values: dict[str, Any]) -> Assessment:
    """An assessment of decoded (already typed, already plausible) values."""
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key == "oxygen":
            kwargs[key] = Oxygen(**value)
        elif key == "ice":
            kwargs[key] = Ice(**value)
        else:
            kwargs[key] = value
    return Assessment(**kwargs)


class _DomainTable:
    """Floor and ceiling levels of one domain for every code combination met so far, packed as
    ``floor | ceiling << 3`` in one byte per combination (255 = not computed yet)."""

    def __init__(self, domain: Domain, options: Mapping[str, str]) -> None:
        self.domain = domain
        self.options = dict(options)
        self.codecs = [_codec(c) for c in domain.columns]
        self.radices = [c.radix for c in self.codecs]
        self.size = math.prod(self.radices)
        strides = []
        step = 1
        for radix in self.radices:
            strides.append(step)
            step *= radix
        self.strides = strides
        self.dense = self.size <= DENSE_LIMIT
        if self.dense:
            self.packed = np.full(self.size, UNSET, dtype=np.uint8)
        self.sparse: dict[int, int] = {}
        self.filled = 0

    def keys(self, frame: pl.DataFrame, cache: dict[Column, IntArray]) -> IntArray:
        key: IntArray | None = None
        constant = 0
        for codec, stride in zip(self.codecs, self.strides, strict=True):
            codes = cache.get(codec.column_key)
            if codes is None:
                codes = codec.encode(frame)
                cache[codec.column_key] = codes
            if codes.ndim == 0:
                constant += int(codes) * stride
            elif key is None:
                key = codes * np.int32(stride) if stride != 1 else codes.copy()
            else:
                key += codes * np.int32(stride) if stride != 1 else codes
        if key is None:
            return np.asarray(constant, dtype=KEY)
        if constant:
            key += constant
        return key

    def _levels(self, key: int) -> int:
        self.filled += 1
        values: dict[str, Any] = {}
        for codec, radix in zip(self.codecs, self.radices, strict=True):
            key, code = divmod(key, radix)
            for name, value in codec.decode(code).items():
                if isinstance(value, dict):
                    values.setdefault(name, {}).update(value)
                else:
                    values[name] = value
        levels = _evaluate_domain(self.domain, _assessment(values), self.options).levels
        return min(levels) | max(levels) << 3

    def lookup(self, keys: IntArray) -> np.ndarray[Any, Any]:
        """Packed floor/ceiling levels for each key (computing combinations not met before)."""
        if keys.ndim == 0:
            k = int(keys)
            if not self.dense:
                if k not in self.sparse:
                    self.sparse[k] = self._levels(k)
                return np.asarray(self.sparse[k], dtype=np.uint8)
            if self.packed[k] == UNSET:
                self.packed[k] = self._levels(k)
            return np.asarray(self.packed[k], dtype=np.uint8)
        if self.dense:
            packed = self.packed[keys]
            missing = packed == UNSET
            if missing.any():
                for key in np.unique(keys[missing]):
                    self.packed[key] = self._levels(int(key))
                packed = self.packed[keys]
            return packed
        unique, inverse = np.unique(keys, return_inverse=True)
        found = np.empty(len(unique), dtype=np.uint8)
        for i, key in enumerate(unique):
            k = int(key)
            if k not in self.sparse:
                self.sparse[k] = self._levels(k)
            found[i] = self.sparse[k]
        return found[inverse]


def _combine_table(scale: TableScale, options: Mapping[str, str]) -> np.ndarray[Any, Any]:
    """The scale's combine over every tuple of domain levels; refuses a non-monotone combine."""
    names = [d.name for d in scale.domains]
    shape = (MAX_LEVEL + 1,) * len(names)
    table = np.empty(shape, dtype=np.int8)
    for index in np.ndindex(*shape):
        table[index] = scale.combine(dict(zip(names, index, strict=True)), options)
    for axis in range(len(names)):
        if (np.diff(table.astype(np.int16), axis=axis) < 0).any():
            raise ConfigError(
                f"scale `{scale.id}` combines its domains non-monotonically; the columnar engine "
                "cannot take it",
                field="scale",
                value=scale.id,
                expected="a monotone combine",
            )
    return table.reshape(-1)


_TABLES: dict[
    tuple[str, tuple[tuple[str, str], ...]], tuple[list[_DomainTable], np.ndarray[Any, Any]]
] = {}


def _tables(
    scale_id: str, options: Mapping[str, str] | None
) -> tuple[TableScale, list[_DomainTable], np.ndarray[Any, Any]]:
    info = get_scale(scale_id)
    table_scale = getattr(info.evaluate, "__self__", None)
    if not isinstance(table_scale, TableScale) or table_scale.applicable is not None:
        raise ConfigError(
            f"scale `{scale_id}` is not table-shaped; grade it with cartwatch.grade",
            field="scale",
            value=scale_id,
            expected="a table-shaped scale",
        )
    chosen = info.resolve_options(options)
    if any(not d.columns for d in table_scale.domains):
        raise ConfigError(
            f"scale `{scale_id}` does not declare its columns for the columnar engine",
            field="scale",
            value=scale_id,
            expected="declared Column sets",
        )
    key = (info.id, tuple(sorted(chosen.items())))
    if key not in _TABLES:
        domains = [_DomainTable(d, chosen) for d in table_scale.domains]
        _TABLES[key] = (domains, _combine_table(table_scale, chosen))
    domains, combine = _TABLES[key]
    return table_scale, domains, combine


def regrade(
    frame: pl.DataFrame,
    scales: Sequence[str] = DEFAULT_SCALES,
    *,
    options: Mapping[str, Mapping[str, str]] | None = None,
    engine: Engine = "auto",
) -> pl.DataFrame:
    """Grade every row under each scale; adds ``<scale>.grade/.floor/.ceiling/.status``.

    Agrees with ``cartwatch.grade`` row by row (held by a property test). Rows that record a
    list or mapping field the engine does not take (``vasopressors``, ``organ_toxicity_ctcae``)
    are refused with an error naming the column.

    ``engine``: ``"numba"`` runs the compiled single pass (:mod:`._kernel`), ``"numpy"`` the
    array-at-a-time path; ``"auto"`` (default) uses numba when it is installed. Both read the
    same tables and give the same results and errors.
    """
    if engine not in ("auto", "numba", "numpy"):
        raise ConfigError(
            f"unknown regrade engine `{engine}`; expected one of: auto, numba, numpy",
            field="engine",
            value=engine,
            expected="auto, numba, numpy",
        )
    if engine != "numpy":
        from cartwatch.analytics import _fused

        if _fused.AVAILABLE:
            return _fused.regrade(frame, scales, options=options)
        if engine == "numba":
            raise ConfigError(
                "the numba engine is not available (numba is not installed); use "
                "engine='numpy' or 'auto'",
                field="engine",
                value=engine,
                expected="auto, numpy",
            )
    return _regrade_numpy(frame, scales, options=options)


def _regrade_numpy(
    frame: pl.DataFrame,
    scales: Sequence[str],
    *,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> pl.DataFrame:
    """The array-at-a-time path: encode each column, look each domain up, combine."""
    new: list[pl.Series] = []
    cache: dict[Column, IntArray] = {}
    for scale_id in scales:
        _, domains, combine = _tables(scale_id, (options or {}).get(scale_id))
        low_key: IntArray = np.zeros(frame.height, dtype=KEY)
        high_key: IntArray = np.zeros(frame.height, dtype=KEY)
        for position, table in enumerate(domains):
            stride = KEY((MAX_LEVEL + 1) ** (len(domains) - 1 - position))
            packed = table.lookup(table.keys(frame, cache))
            low_key += (packed & 7).astype(KEY) * stride
            high_key += (packed >> 3).astype(KEY) * stride
        floor = combine[low_key]
        ceiling = combine[high_key]
        determined = floor == ceiling
        status = np.where(determined, np.where(floor >= 1, 0, 1), 2).astype(np.int8)
        grade = pl.Series(f"{scale_id}.grade", floor, dtype=pl.Int8)
        if not determined.all():
            grade = grade.scatter(np.flatnonzero(~determined), None)
        new.extend(
            [
                grade,
                pl.Series(f"{scale_id}.floor", floor, dtype=pl.Int8),
                pl.Series(f"{scale_id}.ceiling", ceiling, dtype=pl.Int8),
                pl.Series(f"{scale_id}.status", status, dtype=pl.Int8).replace_strict(
                    [0, 1, 2], STATUS.categories.to_list(), return_dtype=STATUS
                ),
            ]
        )
    return frame.with_columns(new)


def frame_from_assessments(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame of contract columns (nested fields dotted) from assessment dicts."""
    flat: list[dict[str, Any]] = []
    for row in rows:
        out: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, Mapping) and key in ("oxygen", "ice"):
                for sub, v in value.items():
                    out[f"{key}.{sub}"] = v
            else:
                out[key] = value.value if isinstance(value, StrEnum) else value
        flat.append(out)
    columns = sorted({k for r in flat for k in r}) or ["note"]
    data = {c: [r.get(c) for r in flat] for c in columns}
    schema: dict[str, Any] = {}
    for c in columns:
        spec = FIELDS.get(c)
        if spec is not None and spec.kind == "bool":
            schema[c] = pl.Boolean
        elif (spec is not None and spec.kind in ("number", "int")) or c.startswith(
            ("oxygen.flow", "oxygen.fio2", "ice.")
        ):
            schema[c] = pl.Float64
        elif spec is not None and spec.kind == "enum" and spec.enum is not None:
            schema[c] = pl.Enum([m.value for m in spec.enum])
        elif c == "oxygen.device":
            schema[c] = pl.Enum([m.value for m in contract.OxygenDevice])
        else:
            schema[c] = pl.String
    return pl.DataFrame(data, schema=schema)


__all__ = ["DEFAULT_SCALES", "Engine", "frame_from_assessments", "regrade"]
