"""A cohort built from the registry and its report: tables and figures a paper prints."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from cartwatch.errors import InvalidValue
from cartwatch.registry.repository import Registry
from cartwatch.services.cohort import CohortFilter, build_cohort, write_report
from cartwatch.services.episodes import derive_patient_episodes
from cartwatch.services.record import record_assessment

DAY0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
CALM = {
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_edema": "none",
    "ice_total": 10,
}
AIR = {"hypotension": "none", "oxygen": {"device": "none"}}


def _patient(
    registry: Registry,
    ref: str,
    *,
    product: str,
    disease: str,
    category: str,
    crs_peak: str | None,
    died: bool,
    age: float,
) -> None:
    registry.add_patient(patient_ref=ref, sex="female", age_years_at_registration=age, weight_kg=70)
    registry.add_indication(ref, disease=disease, category=category)
    registry.add_infusion(ref, infusion_ref="I1", infused_at=DAY0, product=product)
    at = DAY0 + dt.timedelta(hours=20)
    if crs_peak is not None:
        record_assessment(
            registry,
            ref,
            assessed_at=at,
            data={
                "temperature_c": 39.0,
                **CALM,
                # the most severe CRS also has ICANS (ICE 6 → grade 2)
                "ice_total": 6 if crs_peak == "vasopressor_single" else 10,
                "hypotension": crs_peak,
                "oxygen": {"device": "none"},
                "age_years": age,
            },
        )
        registry.add_administration(
            ref, given_at=at + dt.timedelta(hours=1), drug="tocilizumab", dose_mg=560
        )
    record_assessment(
        registry,
        ref,
        assessed_at=DAY0 + dt.timedelta(days=5),
        data={"temperature_c": 36.8, **AIR, **CALM, "age_years": age},
    )
    registry.add_outcome(ref, kind="response", on_date=dt.date(2026, 4, 1), detail="CR")
    if died:
        registry.add_outcome(ref, kind="icu_transfer", on_date=dt.date(2026, 3, 3))
        registry.add_outcome(ref, kind="death", on_date=dt.date(2026, 5, 1))
    else:
        registry.add_outcome(ref, kind="last_contact", on_date=dt.date(2026, 9, 1))
    derive_patient_episodes(registry, ref)


@pytest.fixture()
def cohort_registry(registry: Registry) -> Registry:
    registry.ensure_product(name="axi-cel", targets=["CD19"], costimulatory_domain="CD28")
    registry.ensure_product(name="ide-cel", targets=["BCMA"], costimulatory_domain="4-1BB")
    _patient(
        registry,
        "P1",
        product="axi-cel",
        disease="DLBCL",
        category="haematological",
        crs_peak="vasopressor_single",
        died=True,
        age=60,
    )
    _patient(
        registry,
        "P2",
        product="axi-cel",
        disease="DLBCL",
        category="haematological",
        crs_peak="none",
        died=False,
        age=45,
    )
    _patient(
        registry,
        "P3",
        product="ide-cel",
        disease="MM",
        category="haematological",
        crs_peak=None,
        died=False,
        age=70,
    )
    return registry


def test_the_cohort_frame_has_what_the_analytics_read(cohort_registry: Registry) -> None:
    data = build_cohort(cohort_registry)
    rows = {r["patient_id"]: r for r in data.patients.to_dicts()}
    assert rows["P1"]["max_grade__astct_crs"] == 3 and rows["P2"]["max_grade__astct_crs"] == 1
    assert rows["P3"]["max_grade__astct_crs"] == 0
    assert rows["P1"]["tocilizumab_given"] is True and rows["P3"]["tocilizumab_given"] is False
    assert rows["P1"]["death"] is True and rows["P1"]["crs_cause"] == 1
    assert rows["P1"]["icu_transfer"] is True and rows["P2"]["icu_transfer"] is False
    assert rows["P3"]["crs_cause"] == 0 and rows["P3"]["os_days"] > 150
    assert rows["P1"]["targets"] == ["CD19"] and rows["P3"]["age_band"] == "≥65"


def test_selection_by_product_target_and_age(cohort_registry: Registry) -> None:
    assert build_cohort(cohort_registry, CohortFilter(product=("ide-cel",))).patients.height == 1
    assert build_cohort(cohort_registry, CohortFilter(target="CD19")).patients.height == 2
    assert build_cohort(cohort_registry, CohortFilter(age_band="40–64")).patients.height == 2
    with pytest.raises(InvalidValue):
        CohortFilter(age_band="old")


def test_report_writes_tables_and_figures(cohort_registry: Registry, tmp_path: Path) -> None:
    written = write_report(build_cohort(cohort_registry), tmp_path, group_by="product")
    names = {p.name for p in written}
    assert {
        "table_one.csv",
        "overall_survival.png",
        "overall_survival.svg",
        "swimmer.png",
        "max_grade_by_scale.svg",
        "crs_scale_concordance.csv",
        "crs_cumulative_incidence.svg",
        "icans_cumulative_incidence.svg",
        "onset_duration.csv",
        "survival.csv",
        "scale_agreement.csv",
    } <= names
    with (tmp_path / "table_one.csv").open() as fh:
        table = {r["group"]: r for r in csv.DictReader(fh)}
    assert table["All"]["n"] == "3" and table["axi-cel"]["crs_any_events"] == "2"
    assert (tmp_path / "overall_survival.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (tmp_path / "literature_comparison.csv").open() as fh:
        literature = {(r["disease_group"], r["outcome"]): r for r in csv.DictReader(fh)}
    lymphoma = literature[("high-grade lymphoma", "crs_grade3plus")]
    assert (lymphoma["centre_events"], lymphoma["centre_n"]) == ("1", "2")  # P1 grade 3 of 2
    assert 0 < float(lymphoma["literature_pct"]) < 100
    from cartwatch.evidence.compare import Position

    assert lymphoma["position"] in {p.value for p in Position}


def test_icaht_and_neutrophil_recovery_from_the_charted_counts(registry: Registry) -> None:
    registry.add_patient(patient_ref="H1", age_years_at_registration=50)
    registry.add_infusion("H1", infusion_ref="I1", infused_at=DAY0)
    counts = [1800, 300, 80, 60, 90, 200, 400, 600, 450, 700, 800, 900] + [1500] * 19  # days 0-30
    for day, anc in enumerate(counts):
        registry.add_lab("H1", taken_at=DAY0 + dt.timedelta(days=day), name="anc_per_ul", value=anc)
    row = build_cohort(registry).patients.to_dicts()[0]
    assert row["neutrophil_recovered"] is True
    assert row["neutrophil_recovery_days"] == 9.0  # first of 3 days > 500 (day 7 alone is bridged)
    # ANC ≤ 500 on days 1-8 (the one-day recovery on day 7 is bridged), ≤ 100 on 3 days → grade 2
    assert row["max_grade__icaht_early"] == 2


def test_platelet_recovery_and_cellular_kinetics(registry: Registry, tmp_path: Path) -> None:
    registry.ensure_product(name="axi-cel", targets=["CD19"], costimulatory_domain="CD28")
    for ref, crs in (("K1", "vasopressor_single"), ("K2", "none"), ("K3", "fluid_responsive")):
        _patient(
            registry,
            ref,
            product="axi-cel",
            disease="DLBCL",
            category="haematological",
            crs_peak=crs,
            died=False,
            age=55,
        )
        peak = {"K1": 90000.0, "K2": 20000.0, "K3": 45000.0}[ref]
        for day, fraction in ((0, 0.0), (7, 0.5), (10, 1.0), (14, 0.6), (28, 0.1)):
            registry.add_lab(
                ref,
                taken_at=DAY0 + dt.timedelta(days=day),
                name="car_transgene_copies_per_ug_dna",
                value=peak * fraction,
            )
    platelets = [150000, 30000, 15000, 12000, 18000, 22000, 25000, 30000, 40000]
    for day, count in enumerate(platelets):
        registry.add_lab(
            "K1", taken_at=DAY0 + dt.timedelta(days=day), name="platelets_per_ul", value=count
        )
    data = build_cohort(registry)
    k1 = next(r for r in data.patients.to_dicts() if r["patient_id"] == "K1")
    assert k1["platelet_recovered"] is True and k1["platelet_recovery_days"] == 5.0
    written = {p.name for p in write_report(data, tmp_path)}
    assert "kinetics_car_transgene_copies_per_ug_dna.csv" in written
    with (tmp_path / "kinetics_car_transgene_copies_per_ug_dna.csv").open() as fh:
        rows = {r["patient_id"]: r for r in csv.DictReader(fh)}
    assert float(rows["K1"]["cmax"]) == 90000.0 and float(rows["K1"]["tmax_day"]) == 10.0


def test_named_cohorts_are_saved_and_reused(cohort_registry: Registry) -> None:
    chosen = CohortFilter(name="CD19 adults", target="CD19", age_band="40–64")
    cohort_registry.save_cohort("CD19 adults", chosen.to_dict())
    again = CohortFilter.from_dict(cohort_registry.cohort_definition("CD19 adults"))
    assert again == chosen
    assert build_cohort(cohort_registry, again).patients["patient_id"].to_list() == ["P1", "P2"]
    assert [c["name"] for c in cohort_registry.cohorts()] == ["CD19 adults"]
    cohort_registry.save_cohort("CD19 adults", {**chosen.to_dict(), "age_band": None})
    assert cohort_registry.cohort_definition("CD19 adults")["age_band"] is None
    with pytest.raises(LookupError):
        cohort_registry.cohort_definition("nope")
