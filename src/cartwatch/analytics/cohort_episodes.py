"""Episodes for a whole cohort from one frame of graded assessments (issue 9 part 3).

The frame holds one row per assessment, grouped by patient (each patient's rows contiguous, as
when sorted by patient and time), with the assessment time (a time-zone-aware ``Datetime``) and
one scale's grade (``<scale>.grade`` as :func:`cartwatch.analytics.columnar.regrade` writes it;
null = not gradeable). Each patient's episodes are derived by the one episode rule,
:func:`cartwatch.episodes.derive_episodes` (the registry's default :class:`EpisodeRule` unless
another is given), so the cohort result equals the per-patient derivation by construction; a
property test holds them equal.

Times are handed to the walk in UTC (the same instants; an episode's ``onset_day`` is counted
in the infusion's time zone either way). The walk itself stays the scalar one (its onset,
resolution, infusion and treatment rules are not re-implemented here); what scales is the
plumbing: patients are found by run boundaries of the patient column, converted to Python
values one block of patients at a time (bounded memory), and blocks are spread over worker
processes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from cartwatch.episodes import Administration, Episode, EpisodeRule, Infusion, derive_episodes
from cartwatch.errors import ConfigError, InvalidValue

BLOCK_ROWS = 200_000

_SHARED: dict[str, Any] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def derive_cohort_episodes(
    frame: pl.DataFrame,
    *,
    scale: str,
    infusions: Mapping[Any, Sequence[Infusion]],
    administrations: Mapping[Any, Sequence[Administration]] | None = None,
    rule: EpisodeRule | None = None,
    patient_column: str = "patient_id",
    time_column: str = "assessed_at",
    grade_column: str | None = None,
    processes: int = 1,
    block_rows: int = BLOCK_ROWS,
) -> dict[Any, tuple[Episode, ...]]:
    """Every patient's episodes under ``scale``, keyed by patient id (patients in frame order).

    ``infusions`` and ``administrations`` map a patient id to that patient's records (a patient
    missing from ``infusions`` has none, hence no episodes). ``processes`` > 1 spreads blocks of
    patients over that many worker processes (0 = one per core); ``block_rows`` is the size of a
    block (whole patients, about that many rows).
    """
    grades = grade_column or f"{scale}.grade"
    for name in (patient_column, time_column, grades):
        if name not in frame.columns:
            raise ConfigError(
                f"the frame has no column `{name}`; columns: {', '.join(frame.columns)}",
                field=name,
                value=None,
                expected=f"a `{name}` column",
            )
    times = frame[time_column]
    if not isinstance(times.dtype, pl.Datetime) or times.dtype.time_zone is None:
        raise InvalidValue(
            f"column `{time_column}` must be a time-zone-aware Datetime, not {times.dtype}",
            field=time_column,
            value=str(times.dtype),
            expected="Datetime with a time zone",
        )
    starts = _patient_starts(frame[patient_column])
    if processes == 0:
        processes = os.cpu_count() or 1
    blocks = list(_blocks(starts, frame.height, block_rows))
    _SHARED.update(
        frame=frame.select(
            patient_column,
            pl.col(time_column).dt.epoch("us"),
            grades,
        ),
        scale=scale,
        infusions=infusions,
        administrations=administrations or {},
        rule=rule,
    )
    try:
        if processes <= 1 or len(blocks) <= 1:
            parts = [_derive_block(b) for b in blocks]
        else:
            context = multiprocessing.get_context("fork")
            with context.Pool(processes) as pool:
                parts = pool.map(_derive_block, blocks, chunksize=1)
    finally:
        _SHARED.clear()
    out: dict[Any, tuple[Episode, ...]] = {}
    for part in parts:
        out.update(part)
    return out


def _patient_starts(patients: pl.Series) -> np.ndarray[Any, Any]:
    """Row index where each patient's run begins; refuses a patient split over two runs."""
    if patients.null_count():
        row = int(patients.is_null().arg_max() or 0)
        raise InvalidValue(
            f"`{patients.name}` is not recorded on row {row}; every assessment needs its patient",
            field=patients.name,
            value=None,
            expected="a patient id on every row",
        )
    runs = patients.rle_id().to_numpy()
    if len(runs) and int(runs[-1]) + 1 != patients.n_unique():
        raise InvalidValue(
            f"the frame's rows are not grouped by `{patients.name}` (a patient's rows are split); "
            f"sort it by {patients.name} and time first",
            field=patients.name,
            value=None,
            expected="rows sorted by patient and time",
        )
    starts: np.ndarray[Any, Any] = np.flatnonzero(np.diff(runs, prepend=-1))
    return starts


def _blocks(starts: np.ndarray[Any, Any], height: int, size: int) -> Iterator[tuple[int, int]]:
    """Row ranges holding whole patients, about ``size`` rows each."""
    bounds = [*starts.tolist(), height]
    begin = 0
    for i in range(1, len(bounds)):
        if bounds[i] - bounds[begin] >= size or i == len(bounds) - 1:
            yield bounds[begin], bounds[i]
            begin = i


def _derive_block(block: tuple[int, int]) -> dict[Any, tuple[Episode, ...]]:
    start, stop = block
    frame: pl.DataFrame = _SHARED["frame"]
    part = frame.slice(start, stop - start)
    patients, micros, grades = (part[c].to_list() for c in part.columns)
    times = [_EPOCH + timedelta(microseconds=us) for us in micros]
    infusions: Mapping[Any, Sequence[Infusion]] = _SHARED["infusions"]
    administrations: Mapping[Any, Sequence[Administration]] = _SHARED["administrations"]
    out: dict[Any, tuple[Episode, ...]] = {}
    begin = 0
    for i in range(1, len(patients) + 1):
        if i < len(patients) and patients[i] == patients[begin]:
            continue
        patient = patients[begin]
        out[patient] = derive_episodes(
            scale=_SHARED["scale"],
            points=zip(times[begin:i], grades[begin:i], strict=True),
            infusions=infusions.get(patient, ()),
            administrations=administrations.get(patient, ()),
            rule=_SHARED["rule"],
        )
        begin = i
    return out


__all__ = ["derive_cohort_episodes"]
