"""Episode derivation speed: the registry's default rule over pre-computed grades.

1,000 patients × 200 assessments (issue 5) and, with ``CARTWATCH_BENCH_LARGE=1``, 100,000 × 100
(issue 9). The baseline in the same run is sorting the same points by time (the floor any walk
over unsorted records pays). Memory peak from tracemalloc.
"""

from __future__ import annotations

import os
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from cartwatch import episodes as ep

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


def run() -> dict[str, Any]:
    out = {"registry_1000x200": _measure(1000, 200)}
    if os.environ.get("CARTWATCH_BENCH_LARGE"):
        out["cohort_100000x100"] = _measure(100_000, 100)
    return out
