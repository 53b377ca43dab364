"""Episode derivation speed: the registry's default rule over pre-computed grades.

1,000 patients × 200 assessments (issue 5) and, with ``CARTWATCH_BENCH_LARGE=1``, 100,000 × 100
(issue 9). Per-patient: ``derive_episodes`` over Python points, against sorting the same points
by time in the same run (the floor any walk over unsorted records pays). Cohort frame:
``cartwatch.analytics.cohort_episodes.derive_cohort_episodes`` over one polars frame sorted by
patient and time (one process, and two worker processes), against the per-patient loop of the
same run (which starts from Python points already built, so the frame path also pays for
building them); it is checked equal to it. Memory: tracemalloc peak for the per-patient runs;
for the frame runs (timed without tracemalloc, which would slow them tenfold) the parent's
resident-set growth and the workers' maximum resident set.
"""

from __future__ import annotations

import os
import random
import resource
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from cartwatch import episodes as ep
from cartwatch.analytics.cohort_episodes import derive_cohort_episodes

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
INFUSIONS = [ep.Infusion(infusion_id="I1", at=DAY0)]
DRUGS = [ep.Administration(at=DAY0 + timedelta(days=2), drug="tocilizumab", dose_mg=560)]


def _patient(rnd: random.Random, n: int) -> list[tuple[datetime, int | None]]:
    points: list[tuple[datetime, int | None]] = []
    grade = 0
    for k in range(n):
        grade = max(0, min(4, grade + rnd.choice((-1, 0, 0, 1))))
        shown: int | None = grade if rnd.random() > 0.05 else None
        points.append((DAY0 + timedelta(hours=4 * k), shown))
    return points


def _measure(patients: int, per_patient: int) -> dict[str, Any]:
    rnd = random.Random(1)
    cohort = [_patient(rnd, per_patient) for _ in range(patients)]
    tracemalloc.start()
    start = time.perf_counter()
    episodes = 0
    for points in cohort:
        episodes += len(
            ep.derive_episodes(
                scale="astct_crs", points=points, infusions=INFUSIONS, administrations=DRUGS
            )
        )
    derive = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    for points in cohort:
        sorted(points, key=lambda p: p[0])
    baseline = time.perf_counter() - start
    total = patients * per_patient
    return {
        "patients": patients,
        "assessments_per_patient": per_patient,
        "episodes": episodes,
        "derive_seconds": round(derive, 3),
        "points_per_second": round(total / derive),
        "sort_only_seconds": round(baseline, 3),
        "ratio_sort_over_derive": round(baseline / derive, 4),
        "peak_mib": round(peak / 2**20, 1),
    }


def _cohort_frame(cohort: list[list[tuple[datetime, int | None]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": [i for i, points in enumerate(cohort) for _ in points],
            "assessed_at": [at for points in cohort for at, _ in points],
            "astct_crs.grade": [g for points in cohort for _, g in points],
        },
        schema={
            "patient_id": pl.Int64,
            "assessed_at": pl.Datetime("us", "UTC"),
            "astct_crs.grade": pl.Int8,
        },
    )


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(field)


def _measure_frame(patients: int, per_patient: int) -> dict[str, Any]:
    rnd = random.Random(1)
    cohort = [_patient(rnd, per_patient) for _ in range(patients)]
    frame = _cohort_frame(cohort)
    infusions = dict.fromkeys(range(patients), INFUSIONS)
    drugs = dict.fromkeys(range(patients), DRUGS)
    start = time.perf_counter()
    loop = {
        i: ep.derive_episodes(
            scale="astct_crs", points=points, infusions=INFUSIONS, administrations=DRUGS
        )
        for i, points in enumerate(cohort)
    }
    loop_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "patients": patients,
        "assessments_per_patient": per_patient,
        "per_patient_loop_seconds": round(loop_s, 3),
    }
    del cohort
    for processes in (1, 2):
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kib("VmRSS")
        start = time.perf_counter()
        got = derive_cohort_episodes(
            frame,
            scale="astct_crs",
            infusions=infusions,
            administrations=drugs,
            processes=processes,
        )
        took = time.perf_counter() - start
        grown = (_status_kib("VmHWM") - before) / 1024
        assert got == loop, "the cohort derivation disagrees with the per-patient loop"
        del got
        out[f"frame_{processes}proc_seconds"] = round(took, 3)
        out[f"frame_{processes}proc_points_per_second"] = round(patients * per_patient / took)
        out[f"ratio_loop_over_frame_{processes}proc"] = round(loop_s / took, 3)
        out[f"frame_{processes}proc_parent_rss_growth_mib"] = round(grown, 1)
    out["workers_max_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
    )
    out["episodes"] = sum(len(v) for v in loop.values())
    return out


def run() -> dict[str, Any]:
    out = {
        "registry_1000x200": _measure(1000, 200),
        "frame_1000x200": _measure_frame(1000, 200),
    }
    if os.environ.get("CARTWATCH_BENCH_LARGE"):
        out["cohort_100000x100"] = _measure(100_000, 100)
        out["frame_100000x100"] = _measure_frame(100_000, 100)
    return out
