"""The cohort report for 5,000 patients × 200 assessments (issue 8).

Two parts, each against a baseline in the same run:
- analytics and rendering (Table 1, distributions, concordance, survival, cumulative incidence,
  figures, the self-contained HTML) on 5,000 synthetic patients with 200 graded assessments each,
  against writing the same frames to CSV (the floor of producing any tables);
- reading a cohort from a real registry (``build_cohort``), per patient, on a demo registry of
  ``CARTWATCH_BENCH_REPORT_REGISTRY`` patients (default 40), against listing its patients.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from cartwatch.services.cohort import (
    COHORT_SCALES,
    CohortData,
    CohortFilter,
    build_cohort,
    write_report,
)
from cartwatch.web.pages import cohort_report_html

PATIENTS = int(os.environ.get("CARTWATCH_BENCH_REPORT_PATIENTS", "5000"))
ASSESSMENTS = 200
REGISTRY_PATIENTS = int(os.environ.get("CARTWATCH_BENCH_REPORT_REGISTRY", "40"))
PRODUCTS = ["axi-cel", "tisa-cel", "liso-cel", "ide-cel", "cilta-cel"]
DISEASES = {
    "axi-cel": "LBCL",
    "tisa-cel": "B-ALL",
    "liso-cel": "LBCL",
    "ide-cel": "MM",
    "cilta-cel": "MM",
}


def synthetic(n: int, seed: int = 5) -> CohortData:
    rnd = random.Random(seed)
    patients: list[dict[str, Any]] = []
    episodes: list[dict[str, Any]] = []
    daily: list[dict[str, Any]] = []
    treatments: list[dict[str, Any]] = []
    follow: list[dict[str, Any]] = []
    for i in range(n):
        ref = f"S{i:05d}"
        product = rnd.choice(PRODUCTS)
        crs = rnd.choices([0, 1, 2, 3, 4], [20, 40, 25, 10, 5])[0]
        icans = rnd.choices([0, 1, 2, 3, 4], [60, 15, 12, 9, 4])[0]
        death = rnd.random() < 0.25
        os_days = float(rnd.randint(30, 900))
        row: dict[str, Any] = {
            "patient_id": ref,
            "product": product,
            "disease": DISEASES[product],
            "category": "haematological",
            "age_band": "40–64",
            "tocilizumab_given": crs >= 2,
            "steroids_given": icans >= 2,
            "anakinra_given": False,
            "icu_transfer": None,
            "best_response": rnd.choice(["CR", "PR", "SD", "PD"]),
            "os_days": os_days,
            "death": death,
            "pfs_days": os_days * 0.7,
            "progression_or_death": death or rnd.random() < 0.3,
            "crs_time_days": float(rnd.randint(1, 10)) if crs else os_days,
            "crs_cause": 1 if crs else (2 if death else 0),
            "icans_time_days": float(rnd.randint(2, 14)) if icans else os_days,
            "icans_cause": 1 if icans else (2 if death else 0),
            "max_grade__icaht_early": rnd.randint(0, 4),
            "max_grade__icaht_late": None,
            "neutrophil_recovered": True,
            "neutrophil_recovery_days": float(rnd.randint(5, 30)),
            "platelet_recovered": None,
            "platelet_recovery_days": None,
        }
        for scale in COHORT_SCALES:
            shift = rnd.choice([-1, 0, 0, 1])
            base = icans if "icans" in scale or "cres" in scale else crs
            row[f"max_grade__{scale}"] = max(0, min(4, base + shift)) if base else 0
        patients.append(row)
        if crs:
            episodes.append(
                {
                    "patient_id": ref,
                    "scale_id": "astct_crs",
                    "onset_day": row["crs_time_days"],
                    "duration_days": float(rnd.randint(1, 10)),
                }
            )
            treatments.append(
                {"patient_id": ref, "day": row["crs_time_days"] + 1, "treatment": "tocilizumab"}
            )
        for k in range(ASSESSMENTS):
            day = k * 30 // ASSESSMENTS
            daily.append({"patient_id": ref, "day": day, "grade": crs if day < 7 else 0})
        follow.append({"patient_id": ref, "last_day": min(os_days, 30.0)})
    return CohortData(
        patients=pl.DataFrame(patients, infer_schema_length=None),
        episodes=pl.DataFrame(episodes),
        daily=pl.DataFrame(daily).group_by("patient_id", "day").agg(pl.col("grade").max()),
        treatments=pl.DataFrame(treatments),
        follow_up=pl.DataFrame(follow),
        cohort_filter=CohortFilter(name="synthetic"),
    )


def run() -> dict[str, Any]:
    data = synthetic(PATIENTS)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        start = time.perf_counter()
        for frame, name in ((data.patients, "p"), (data.episodes, "e"), (data.daily, "d")):
            frame.write_csv(out / f"{name}.csv")
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        write_report(data, out / "report", group_by="product")
        tables_figures = time.perf_counter() - start
        start = time.perf_counter()
        html = cohort_report_html(data, links=False)
        html_s = time.perf_counter() - start
    figures: dict[str, Any] = {
        "patients": PATIENTS,
        "assessments_per_patient": ASSESSMENTS,
        "report_tables_and_figures_seconds": round(tables_figures, 2),
        "report_html_seconds": round(html_s, 2),
        "html_bytes": len(html),
        "csv_floor_seconds": round(baseline, 3),
        "ratio_csv_floor_over_report": round(baseline / tables_figures, 4),
    }
    from cartwatch.registry.db import make_engine
    from cartwatch.registry.demo import generate_cohort, write_cohort
    from cartwatch.registry.repository import Registry

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'r.db'}")
        registry = Registry(engine, actor="bench")
        write_cohort(registry, generate_cohort(patients=REGISTRY_PATIENTS, seed=2))
        start = time.perf_counter()
        registry.list_patients()
        listing = time.perf_counter() - start
        start = time.perf_counter()
        build_cohort(registry)
        read = time.perf_counter() - start
        engine.dispose()
    figures.update(
        {
            "registry_patients": REGISTRY_PATIENTS,
            "build_cohort_seconds_per_patient": round(read / REGISTRY_PATIENTS, 4),
            "build_cohort_5000_patients_estimate_seconds": round(
                read / REGISTRY_PATIENTS * PATIENTS, 1
            ),
            "list_patients_seconds": round(listing, 4),
        }
    )
    return figures
