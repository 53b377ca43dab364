"""The patient page with 500 assessments (issue 6 part 5: p95 under 200 ms on this machine).

A patient whose record holds 500 graded assessments: the demo generator's charts (cohort seed 1)
laid one after another on one patient, each course 36 days after the previous one (its labs
start on day -6), with their treatments and labs, written by ``write_cohort`` (grades and
episodes stored as the ward stores them) into a temporary SQLite database. The app runs
in-process behind httpx's ASGI transport with a viewer's bearer token; after a warm-up, 200 GETs
of ``/patients/{ref}`` are timed one at a time, in wall-clock time and in process CPU time (the
machine is shared: CPU time is the figure other processes do not inflate; the 1-minute load
average is reported beside it), then 200 more after ``gc.freeze()`` (the app's startup objects
moved out of the collector's reach, as a server may do after start-up: the page allocates many
small objects, and full collections over the whole heap make its tail). Baselines measured in
the same run: ``GET /healthz`` (the floor of a request through the app) and the JSON
``GET /api/v1/patients/{ref}/assessments`` of the same patient.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from cartwatch.api.app import create_app
from cartwatch.registry.db import make_engine
from cartwatch.registry.demo import (
    DEFAULT_REFERENCE_DATE,
    Cohort,
    DemoPatient,
    generate_cohort,
    write_cohort,
)
from cartwatch.registry.repository import Registry
from cartwatch.registry.users import Users

ASSESSMENTS = 500
REQUESTS = int(os.environ.get("CARTWATCH_BENCH_PAGES_REQUESTS", "200"))
BASELINE_REQUESTS = int(os.environ.get("CARTWATCH_BENCH_PAGES_BASELINE_REQUESTS", "50"))
WARMUP = 10
COURSE_SHIFT = dt.timedelta(days=36)
SEED = 1


def long_stay_patient(assessments: int = ASSESSMENTS, seed: int = SEED) -> DemoPatient:
    """One demo patient carrying the consecutive demo charts up to ``assessments`` assessments."""
    courses: list[DemoPatient] = []
    total = 0
    size = 12
    while total < assessments:
        courses = list(generate_cohort(patients=size, seed=seed).patients)
        total = sum(len(p.assessments) for p in courses)
        size *= 2
    first = courses[0]
    charted: list[Any] = []
    given: list[Any] = []
    labs: list[Any] = []
    for k, course in enumerate(courses):
        if len(charted) >= assessments:
            break
        shift = first.infusions[0].infused_at + k * COURSE_SHIFT - course.infusions[0].infused_at
        charted += [
            dataclasses.replace(a, assessed_at=a.assessed_at + shift) for a in course.assessments
        ]
        given += [
            dataclasses.replace(a, given_at=a.given_at + shift) for a in course.administrations
        ]
        labs += [dataclasses.replace(x, taken_at=x.taken_at + shift) for x in course.labs]
    charted = charted[:assessments]
    until = charted[-1].assessed_at
    return dataclasses.replace(
        first,
        patient_ref="BENCH-500",
        assessments=tuple(charted),
        administrations=tuple(a for a in given if a.given_at <= until),
        labs=tuple(x for x in labs if x.taken_at <= until),
        outcomes=(),
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(samples), 2),
        "p95": round(_percentile(samples, 95), 2),
        "p99": round(_percentile(samples, 99), 2),
    }


async def _time(
    client: httpx.AsyncClient, path: str, n: int, headers: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU milliseconds of ``n`` sequential GETs of ``path``."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        r = await client.get(path, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    return wall, cpu


async def _measure(url: str, ref: str, token: str) -> dict[str, tuple[list[float], list[float]]]:
    app = create_app(url)
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        page = f"/patients/{ref}"
        json_path = f"/api/v1/patients/{ref}/assessments"
        for path in (page, json_path, "/healthz"):
            await _time(client, path, WARMUP if path != json_path else 2, headers)
        out = {
            "page": await _time(client, page, REQUESTS, headers),
            "healthz": await _time(client, "/healthz", REQUESTS, headers),
            "json": await _time(client, json_path, BASELINE_REQUESTS, headers),
        }
        gc.collect()
        gc.freeze()
        try:
            out["page_frozen"] = await _time(client, page, REQUESTS, headers)
        finally:
            gc.unfreeze()
        return out


def run() -> dict[str, Any]:
    patient = long_stay_patient()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'pages.db'}"
        engine = make_engine(url)
        registry = Registry(engine, actor="bench")
        started = time.perf_counter()
        write_cohort(
            registry,
            Cohort(seed=SEED, reference_date=DEFAULT_REFERENCE_DATE, patients=(patient,)),
        )
        written_s = time.perf_counter() - started
        users = Users(engine)
        users.add_user("bench-viewer", role="viewer", password="bench-viewer-password")
        token = users.create_token("bench-viewer")
        stored = len(registry.assessments(patient.patient_ref))
        engine.dispose()
        samples = asyncio.run(_measure(url, patient.patient_ref, token))
    page, healthz, as_json = (_figures(samples[k][0]) for k in ("page", "healthz", "json"))
    page_cpu, json_cpu = (_figures(samples[k][1]) for k in ("page", "json"))
    frozen, frozen_cpu = (_figures(samples["page_frozen"][i]) for i in (0, 1))
    return {
        "assessments": stored,
        "administrations": len(patient.administrations),
        "requests": REQUESTS,
        "baseline_json_requests": BASELINE_REQUESTS,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "write_seconds": round(written_s, 1),
        "patient_page_p50_ms": page["p50"],
        "patient_page_p95_ms": page["p95"],
        "patient_page_p99_ms": page["p99"],
        "patient_page_cpu_p50_ms": page_cpu["p50"],
        "patient_page_cpu_p95_ms": page_cpu["p95"],
        "patient_page_gc_frozen_p50_ms": frozen["p50"],
        "patient_page_gc_frozen_p95_ms": frozen["p95"],
        "patient_page_gc_frozen_cpu_p95_ms": frozen_cpu["p95"],
        "healthz_p95_ms": healthz["p95"],
        "assessments_json_p50_ms": as_json["p50"],
        "assessments_json_p95_ms": as_json["p95"],
        "assessments_json_cpu_p95_ms": json_cpu["p95"],
        "ratio_patient_page_p95_over_healthz_p95": round(page["p95"] / healthz["p95"], 2),
        "ratio_patient_page_p95_over_assessments_json_p95": round(page["p95"] / as_json["p95"], 3),
        "ratio_patient_page_cpu_p95_over_assessments_json_cpu_p95": round(
            page_cpu["p95"] / json_cpu["p95"], 3
        ),
        "target_patient_page_p95_ms": 200,
        "meets_target": page["p95"] < 200,
    }
