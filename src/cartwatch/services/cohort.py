"""Cohorts from the registry: selection, the per-patient frame the analytics read, and the report.

A cohort is one row per patient (the columns ``cartwatch.analytics`` expects), selected by
disease, indication category, product, target, costimulatory domain, infusion dates and age band.
Maximum grades come from the stored grades of assessments after the first infusion (null when no
assessment was gradeable: "not assessable" is never merged with grade 0); treatments from the
administrations after the first infusion; survival and competing-risk times from the outcomes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cartwatch import episodes as ep
from cartwatch.errors import InvalidValue
from cartwatch.registry.repository import Registry

COHORT_SCALES = (
    "astct_crs",
    "astct_icans",
    "lee2014_crs",
    "cartox_crs",
    "penn_crs",
    "mskcc_crs",
    "ctcae5_crs",
    "cartox_cres",
)
CRS_SCALES = ("astct_crs", "lee2014_crs", "cartox_crs", "penn_crs", "mskcc_crs", "ctcae5_crs")
ICANS_SCALES = ("astct_icans", "cartox_cres")
RESPONSE_ORDER = ("sCR", "CR", "CRi", "VGPR", "PR", "MR", "SD", "PD", "NE")
AGE_BANDS = (
    (0, 12, "<12"),
    (12, 18, "12–17"),
    (18, 40, "18–39"),
    (40, 65, "40–64"),
    (65, 200, "≥65"),
)
STEROIDS = ep.DrugClass.CORTICOSTEROID
TOXICITY_WINDOW_DAYS = 30  # the swimmer plot's window (acute toxicity; spec §7 timing facts)
MAX_LANES = 100  # patients drawn in the swimmer plot and the heatmap


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortFilter:
    """Which patients a cohort holds (every given criterion must match)."""

    name: str = "all patients"
    disease: tuple[str, ...] = ()
    category: str | None = None
    product: tuple[str, ...] = ()
    target: str | None = None
    costimulatory_domain: str | None = None
    infused_from: dt.date | None = None
    infused_to: dt.date | None = None
    age_band: str | None = None

    def __post_init__(self) -> None:
        bands = [b[2] for b in AGE_BANDS]
        if self.age_band is not None and self.age_band not in bands:
            raise InvalidValue(
                f"`age_band={self.age_band}` is not one of: {', '.join(bands)}",
                field="age_band",
                value=self.age_band,
                expected=", ".join(bands),
            )
        if self.category is not None and self.category not in ("haematological", "autoimmune"):
            raise InvalidValue(
                f"`category={self.category}` is not haematological or autoimmune",
                field="category",
                value=self.category,
                expected="haematological, autoimmune",
            )

    def to_dict(self) -> dict[str, Any]:
        """The criteria as JSON (for saving a named cohort)."""
        return {
            "name": self.name,
            "disease": list(self.disease),
            "category": self.category,
            "product": list(self.product),
            "target": self.target,
            "costimulatory_domain": self.costimulatory_domain,
            "infused_from": self.infused_from.isoformat() if self.infused_from else None,
            "infused_to": self.infused_to.isoformat() if self.infused_to else None,
            "age_band": self.age_band,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CohortFilter:
        """Criteria saved by :meth:`to_dict`."""
        return cls(
            name=str(data.get("name") or "cohort"),
            disease=tuple(data.get("disease") or ()),
            category=data.get("category"),
            product=tuple(data.get("product") or ()),
            target=data.get("target"),
            costimulatory_domain=data.get("costimulatory_domain"),
            infused_from=dt.date.fromisoformat(data["infused_from"])
            if data.get("infused_from")
            else None,
            infused_to=dt.date.fromisoformat(data["infused_to"])
            if data.get("infused_to")
            else None,
            age_band=data.get("age_band"),
        )

    def keeps(self, row: dict[str, Any]) -> bool:
        checks = [
            not self.disease or row["disease"] in self.disease,
            self.category is None or row["category"] == self.category,
            not self.product or row["product"] in self.product,
            self.target is None or self.target in (row["targets"] or ()),
            self.costimulatory_domain is None
            or row["costimulatory_domain"] == self.costimulatory_domain,
            self.infused_from is None
            or (row["infusion_date"] is not None and row["infusion_date"] >= self.infused_from),
            self.infused_to is None
            or (row["infusion_date"] is not None and row["infusion_date"] <= self.infused_to),
            self.age_band is None or row["age_band"] == self.age_band,
        ]
        return all(checks)


@dataclass(slots=True)
class CohortData:
    """The frames of one cohort: patients, episodes, daily grades, treatments."""

    patients: pl.DataFrame
    episodes: pl.DataFrame
    daily: pl.DataFrame
    treatments: pl.DataFrame
    follow_up: pl.DataFrame
    kinetics: pl.DataFrame = field(default_factory=pl.DataFrame)
    cohort_filter: CohortFilter = field(default_factory=CohortFilter)
    data_cut: dt.date | None = None


def _response_category(detail: str) -> str | None:
    """The response category in an outcome's detail ("CR", or "day 28: CR"); an ALL
    "remission" (CR or CR with incomplete recovery) counts as CRi."""
    word = detail.split(":")[-1].strip()
    if word.lower() == "remission":
        return "CRi"
    return next((r for r in RESPONSE_ORDER if r.lower() == word.lower()), None)


def _age_band(age: float | None) -> str | None:
    if age is None:
        return None
    return next(label for low, high, label in AGE_BANDS if low <= age < high)


def _days(at: dt.datetime, day0: dt.datetime) -> float:
    return (at - day0).total_seconds() / 86400.0


def build_cohort(
    registry: Registry,
    cohort_filter: CohortFilter | None = None,
    *,
    scales: Sequence[str] = COHORT_SCALES,
) -> CohortData:
    """The per-patient frame and its companions for every patient the filter keeps."""
    chosen = cohort_filter or CohortFilter()
    products = registry.products()
    rows: list[dict[str, Any]] = []
    episode_rows: list[dict[str, Any]] = []
    daily_rows: list[dict[str, Any]] = []
    treatment_rows: list[dict[str, Any]] = []
    follow_rows: list[dict[str, Any]] = []
    kinetics_rows: list[dict[str, Any]] = []
    data_cut: dt.date | None = None
    for patient in registry.list_patients():
        infusions = registry.infusions(patient.patient_ref)
        if not infusions:
            continue
        day0 = infusions[0].infused_at
        indications = registry.indications(patient.patient_ref)
        first = indications[0] if indications else {}
        product = infusions[0].product
        facts = products.get(product or "", {})
        age = patient.age_years_at_registration
        if age is None and patient.date_of_birth is not None:
            from cartwatch.assessment import exact_age_years

            age = exact_age_years(patient.date_of_birth, day0.date())
        row: dict[str, Any] = {
            "patient_id": patient.patient_ref,
            "sex": patient.sex,
            "age_years": age,
            "age_band": _age_band(age),
            "disease": first.get("disease"),
            "category": first.get("category"),
            "disease_group": first.get("disease_group"),
            "product": product,
            "targets": facts.get("targets"),
            "costimulatory_domain": facts.get("costimulatory_domain"),
            "infusion_date": day0.date(),
        }
        if not chosen.keeps(row):
            continue
        assessments = [
            a for a in registry.assessments(patient.patient_ref) if a.assessed_at >= day0
        ]
        last_seen = max((a.assessed_at for a in assessments), default=day0)
        for scale in scales:
            grades = [
                a.grades[scale]["grade"]
                for a in assessments
                if scale in a.grades and a.grades[scale].get("grade") is not None
            ]
            row[f"max_grade__{scale}"] = max(grades) if grades else None
        for a in assessments:
            g = (a.grades.get("astct_crs") or {}).get("grade")
            if g is not None:
                daily_rows.append(
                    {
                        "patient_id": patient.patient_ref,
                        "day": int(_days(a.assessed_at, day0)),
                        "grade": g,
                    }
                )
        drugs = [d for d in registry.administrations(patient.patient_ref) if d.given_at >= day0]
        classes = [(d, ep.drug_class(d.drug)) for d in drugs]
        charted = bool(assessments) or bool(drugs)
        row["tocilizumab_given"] = (
            any(ep.normalise_drug(d.drug) == "tocilizumab" for d in drugs) if charted else None
        )
        row["steroids_given"] = any(c is STEROIDS for _, c in classes) if charted else None
        row["anakinra_given"] = (
            any(ep.normalise_drug(d.drug) == "anakinra" for d in drugs) if charted else None
        )
        row["icu_transfer"] = None  # set from the outcomes below
        for d, c in classes:
            name = ep.normalise_drug(d.drug)
            label = "steroids" if c is STEROIDS else name
            if name in ("tocilizumab", "anakinra") or c is STEROIDS:
                treatment_rows.append(
                    {
                        "patient_id": patient.patient_ref,
                        "day": _days(d.given_at, day0),
                        "treatment": label,
                    }
                )
        outcomes = registry.outcomes(patient.patient_ref)
        if any(kind == "icu_transfer" for kind, _, _ in outcomes):
            row["icu_transfer"] = True
        elif charted:
            row["icu_transfer"] = False
        responses = [
            _response_category(detail)
            for kind, _, detail in outcomes
            if kind == "response" and detail
        ]
        ranked = [r for r in RESPONSE_ORDER if r in responses]
        row["best_response"] = ranked[0] if ranked else None
        death = next((on for kind, on, _ in outcomes if kind == "death"), None)
        contact = max((on for kind, on, _ in outcomes), default=last_seen.date())
        end = death or max(contact, last_seen.date())
        row["os_days"] = float((end - day0.date()).days)
        row["death"] = death is not None
        progressed = min(
            (on for kind, on, _ in outcomes if kind in ("relapse", "progression")), default=None
        )
        pfs_end = min(d for d in (progressed, death, end) if d is not None)
        row["pfs_days"] = float((pfs_end - day0.date()).days)
        row["progression_or_death"] = progressed is not None or death is not None
        data_cut = max(d for d in (data_cut, end) if d is not None)
        stored = {
            scale: registry.episodes(patient.patient_ref, scale=scale)
            for scale in ("astct_crs", "astct_icans")
        }
        for scale, name in (("astct_crs", "crs"), ("astct_icans", "icans")):
            onsets = [
                e["onset_days_after_infusion"]
                for e in stored[scale]
                if e.get("onset_days_after_infusion") is not None
            ]
            if onsets:
                row[f"{name}_time_days"], row[f"{name}_cause"] = min(onsets), 1
            elif death is not None:
                row[f"{name}_time_days"], row[f"{name}_cause"] = row["os_days"], 2
            else:
                row[f"{name}_time_days"], row[f"{name}_cause"] = row["os_days"], 0
            for e in stored[scale]:
                episode_rows.append(
                    {
                        "patient_id": patient.patient_ref,
                        "scale_id": scale,
                        "onset_day": e.get("onset_days_after_infusion"),
                        "duration_days": e.get("duration_days"),
                    }
                )
        row.update(_haematotoxicity(registry, patient.patient_ref, day0))
        for marker in KINETIC_MARKERS:
            for day, value in row.pop(f"kinetics__{marker}") or ():
                kinetics_rows.append(
                    {
                        "patient_id": patient.patient_ref,
                        "marker": marker,
                        "day": day,
                        "value": value,
                    }
                )
        follow_rows.append({"patient_id": patient.patient_ref, "last_day": row["os_days"]})
        rows.append(row)
    return CohortData(
        patients=pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(),
        episodes=_frame(
            episode_rows,
            {
                "patient_id": pl.String,
                "scale_id": pl.String,
                "onset_day": pl.Float64,
                "duration_days": pl.Float64,
            },
        ),
        daily=_frame(daily_rows, {"patient_id": pl.String, "day": pl.Int64, "grade": pl.Int64}),
        treatments=_frame(
            treatment_rows, {"patient_id": pl.String, "day": pl.Float64, "treatment": pl.String}
        ),
        follow_up=_frame(follow_rows, {"patient_id": pl.String, "last_day": pl.Float64}),
        kinetics=_frame(
            kinetics_rows,
            {"patient_id": pl.String, "marker": pl.String, "day": pl.Float64, "value": pl.Float64},
        ),
        cohort_filter=chosen,
        data_cut=data_cut,
    )


STABLE_RECOVERY_SAMPLES = 3  # [REJESKI2023] recoveries of < 3 days with ANC > 500/µL are bridged
NEUTROPENIA_ANC_PER_UL = 500.0  # [REJESKI2023] ANC ≤ 500/µL
DAILY_GAP_DAYS = 1.5  # consecutive daily counts: no more than a day and a half apart
# Interpretation: platelet recovery = the first of 3 consecutive daily counts ≥ 20,000/µL after a
# count below it (the CTCAE grade 4 boundary is 25,000; 20,000 is the registries' usual threshold;
# transfusion independence is not charted, so it is not required).
PLATELET_RECOVERY_PER_UL = 20_000.0
KINETIC_MARKERS = ("car_transgene_copies_per_ug_dna", "car_t_cells_per_ul")


def _haematotoxicity(registry: Registry, patient_ref: str, day0: dt.datetime) -> dict[str, Any]:
    """ICAHT grades from the charted ANC series, and the day of stable neutrophil recovery.

    Interpretation: recovery is the first of 3 consecutive daily counts > 500/µL after the first
    count ≤ 500/µL — the stability the EHA/EBMT rule uses when it bridges shorter recoveries.
    """
    import cartwatch

    labs = registry.labs(patient_ref)

    def days(marker: str) -> list[tuple[float, float]]:
        return sorted(
            ((t - day0).total_seconds() / 86400.0, value)
            for t, name, value in labs
            if name == marker
        )

    series = days("anc_per_ul")
    out: dict[str, Any] = {"max_grade__icaht_early": None, "max_grade__icaht_late": None}
    early = [{"day": d, "anc_per_ul": v} for d, v in series if d >= 0]
    late = [{"day": d, "anc_per_ul": v} for d, v in series if d > 30]
    if early:
        result = cartwatch.grade("icaht_early", {"anc_series": early}).to_dict()
        out["max_grade__icaht_early"] = result["grade"]
    if late:
        result = cartwatch.grade("icaht_late", {"anc_after_day30": late}).to_dict()
        out["max_grade__icaht_late"] = result["grade"]
    out.update(_recovery(series, "neutrophil", NEUTROPENIA_ANC_PER_UL, strict_above=True))
    out.update(
        _recovery(
            days("platelets_per_ul"), "platelet", PLATELET_RECOVERY_PER_UL, strict_above=False
        )
    )
    for marker in KINETIC_MARKERS:
        out[f"kinetics__{marker}"] = days(marker) or None
    return out


def _recovery(
    series: list[tuple[float, float]], label: str, threshold: float, *, strict_above: bool
) -> dict[str, Any]:
    """First of 3 consecutive daily counts above ``threshold`` after a count at or below it."""
    out: dict[str, Any] = {f"{label}_recovery_days": None, f"{label}_recovered": None}

    def good(value: float) -> bool:
        return value > threshold if strict_above else value >= threshold

    after = [(d, v) for d, v in series if d >= 0]
    onset = next((i for i, (_, v) in enumerate(after) if not good(v)), None)
    if onset is None:
        return out
    run, run_start, previous = 0, 0.0, None
    for day, value in after[onset:]:
        if good(value):
            if run and previous is not None and day - previous <= DAILY_GAP_DAYS:
                run += 1
            else:
                run, run_start = 1, day
        else:
            run = 0
        previous = day
        if run == STABLE_RECOVERY_SAMPLES:
            out[f"{label}_recovery_days"] = run_start
            out[f"{label}_recovered"] = True
            return out
    out[f"{label}_recovered"] = False
    out[f"{label}_recovery_days"] = after[-1][0]
    return out


def _cumulative_incidence_figure(
    cohort: pl.DataFrame, syndrome: str, label: str, out: Path, *, group_by: str | None
) -> list[Path]:
    """Aalen–Johansen curves of ``syndrome`` (death competing) per group, with numbers at risk."""
    from cartwatch.analytics import plots, survival

    time_column, cause_column = f"{syndrome}_time_days", f"{syndrome}_cause"
    curves = survival.cumulative_incidence_by_group(
        cohort, time_column=time_column, cause_column=cause_column, group_by=group_by
    )
    toxicity = {group: by_cause[1] for group, by_cause in curves.items() if 1 in by_cause}
    if not toxicity:
        return []
    times = {
        group: (cohort.filter(pl.col(group_by) == group) if group_by else cohort)[
            time_column
        ].to_list()
        for group in toxicity
    }
    figure = plots.cumulative_incidence_plot(
        toxicity,
        time_days=times,
        risk_times=[0, 7, 14, 21, 28],
        title=f"Cumulative incidence of {label} (death as competing risk)",
    )
    return plots.save_figure(figure, stem=out / f"{syndrome}_cumulative_incidence")


def _lanes(data: CohortData) -> list[str]:
    """The patients drawn in per-patient figures: all of them up to ``MAX_LANES``, else those
    with the highest maximum CRS grade first (a figure of thousands of lanes cannot be read)."""
    ranked = data.patients.sort(
        pl.col("max_grade__astct_crs").fill_null(-1), descending=True, maintain_order=True
    )["patient_id"].to_list()
    return ranked[:MAX_LANES]


def _days_row(values: dict[str, float | None]) -> dict[str, float | None]:
    return {
        "median_days": values.get("median"),
        "lower_days": values.get("lower"),
        "upper_days": values.get("upper"),
    }


def _kinetics_report(data: CohortData, out: Path) -> list[Path]:
    """Cmax, Tmax, AUC0-28 and persistence per patient and marker, and their association with the
    maximum ASTCT CRS grade (when CAR transgene or CAR+ cell counts are charted)."""
    from cartwatch.analytics import kinetics

    written: list[Path] = []
    if data.kinetics.height == 0:
        return written
    for marker in KINETIC_MARKERS:
        samples = data.kinetics.filter(pl.col("marker") == marker).drop("marker")
        if samples.height == 0:
            continue
        table = kinetics.kinetics_table(samples).join(
            data.patients.select("patient_id", "max_grade__astct_crs"), on="patient_id", how="left"
        )
        table.write_csv(out / f"kinetics_{marker}.csv")
        association = kinetics.association_with_grade(table)
        (out / f"kinetics_{marker}_vs_crs.json").write_text(
            json.dumps(association.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
        )
        written += [out / f"kinetics_{marker}.csv", out / f"kinetics_{marker}_vs_crs.json"]
    return written


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema)


# Cohort disease → the trial table's disease group, for the literature comparison.
LITERATURE_GROUPS = {
    "LBCL": "high-grade lymphoma",
    "DLBCL": "high-grade lymphoma",
    "PMBCL": "high-grade lymphoma",
    "HGBL": "high-grade lymphoma",
    "B-ALL": "leukemia",
    "ALL": "leukemia",
    "CLL": "leukemia",
    "MM": "multiple myeloma",
}
LITERATURE_OUTCOMES = {
    "crs_any": ("max_grade__astct_crs", 1),
    "crs_grade3plus": ("max_grade__astct_crs", 3),
    "icans_any": ("max_grade__astct_icans", 1),
    "icans_grade3plus": ("max_grade__astct_icans", 3),
}


def literature_comparison(cohort: pl.DataFrame) -> pl.DataFrame:
    """Each disease group's CRS and ICANS rates beside the pooled published rate (REML, logit).

    The literature pools grade ≥ 3 counts graded under several scales (Lee 2014, Penn, CTCAE,
    ASTCT); the centre's rates here are ASTCT. Groups with no matching trials are left out.
    """
    from cartwatch.evidence import compare_cohort, outcome_table, pool

    rows: list[dict[str, Any]] = []
    mapped = cohort.with_columns(
        pl.col("disease")
        .cast(pl.Utf8)
        .replace_strict(LITERATURE_GROUPS, default=None)
        .alias("literature_group")
    )
    for group in sorted(g for g in mapped["literature_group"].unique().to_list() if g):
        sub = mapped.filter(pl.col("literature_group") == group)
        for outcome, (column, threshold) in LITERATURE_OUTCOMES.items():
            grades = sub[column].drop_nulls()
            if grades.len() == 0:
                continue
            table = outcome_table(outcome=outcome)
            keep = [i for i, g in enumerate(table.groups) if g == group]
            if not keep:
                continue
            literature = pool(
                [table.events[i] for i in keep],
                [table.totals[i] for i in keep],
                measure="PLO",
                method="REML",
            )
            events = int((grades >= threshold).sum())
            compared = compare_cohort(events=events, total=grades.len(), literature=literature)
            data = compared.to_dict()
            rows.append(
                {
                    "disease_group": group,
                    "outcome": outcome,
                    "centre_events": events,
                    "centre_n": grades.len(),
                    "centre_pct": 100 * data["centre_exact"]["proportion"],
                    "centre_lower_pct": 100 * data["centre_exact"]["ci_lb"],
                    "centre_upper_pct": 100 * data["centre_exact"]["ci_ub"],
                    "literature_pct": 100 * data["literature"]["estimate"],
                    "literature_lower_pct": 100 * data["literature"]["ci_lb"],
                    "literature_upper_pct": 100 * data["literature"]["ci_ub"],
                    "literature_pi_lower_pct": 100 * data["literature"]["pi_lb"],
                    "literature_pi_upper_pct": 100 * data["literature"]["pi_ub"],
                    "literature_trials": data["literature_k"],
                    "position": data["position"],
                }
            )
    return pl.DataFrame(rows)


def write_report(data: CohortData, out: Path, *, group_by: str | None = None) -> list[Path]:
    """Write the cohort's tables (CSV) and figures (PNG and SVG) into ``out``."""
    from cartwatch.analytics import concordance, incidence, plots, survival

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    cohort = data.patients
    if cohort.height == 0:
        raise InvalidValue(
            f"cohort `{data.cohort_filter.name}` has no patients",
            field="cohort",
            value=data.cohort_filter.name,
            expected="at least one infused patient",
        )
    table = incidence.table_one(cohort, group_by=group_by, response_column="best_response")
    table.write_csv(out / "table_one.csv")
    written.append(out / "table_one.csv")
    grade_columns = {
        s: f"max_grade__{s}" for s in COHORT_SCALES if f"max_grade__{s}" in cohort.columns
    }
    distributions = pl.concat(
        [
            incidence.grade_distribution(cohort, grade_column=c).with_columns(
                pl.lit(s).alias("scale")
            )
            for s, c in grade_columns.items()
        ],
        how="diagonal_relaxed",
    )
    distributions.write_csv(out / "max_grade_distribution.csv")
    written.append(out / "max_grade_distribution.csv")
    crs_columns = [grade_columns[s] for s in CRS_SCALES if s in grade_columns]
    kappas = concordance.pairwise_kappa(cohort, scale_columns=crs_columns, categories=range(6))
    kappas.write_csv(out / "crs_scale_concordance.csv")
    written.append(out / "crs_scale_concordance.csv")
    comparison = literature_comparison(cohort)
    if comparison.height:
        comparison.write_csv(out / "literature_comparison.csv")
        written.append(out / "literature_comparison.csv")
    if "max_grade__icaht_early" in cohort.columns:
        icaht = pl.concat(
            [
                incidence.grade_distribution(
                    cohort, grade_column=f"max_grade__{scale}"
                ).with_columns(pl.lit(scale).alias("scale"))
                for scale in ("icaht_early", "icaht_late")
            ],
            how="diagonal_relaxed",
        )
        icaht.write_csv(out / "icaht_distribution.csv")
        written.append(out / "icaht_distribution.csv")
        for label in ("neutrophil", "platelet"):
            flag, days = f"{label}_recovered", f"{label}_recovery_days"
            recovered = cohort.filter(pl.col(flag) == True)  # noqa: E712
            if recovered.height:
                summary = incidence.median_iqr(values=recovered[days].to_list())
                pl.DataFrame(
                    [
                        {
                            "recovered": recovered.height,
                            "with_cytopenia": int(cohort[flag].is_not_null().sum()),
                            **summary.to_dict(),
                        }
                    ]
                ).write_csv(out / f"{label}_recovery.csv")
                written.append(out / f"{label}_recovery.csv")
    written += _kinetics_report(data, out)
    treatments = incidence.event_rates(cohort, group_by=group_by)
    treatments.write_csv(out / "treatments.csv")
    written.append(out / "treatments.csv")
    if data.episodes.height:
        incidence.onset_duration(data.episodes).write_csv(out / "onset_duration.csv")
        written.append(out / "onset_duration.csv")
    agreement_rows = []
    for label, scales in (("CRS", CRS_SCALES), ("ICANS", ICANS_SCALES)):
        columns = [grade_columns[s] for s in scales if s in grade_columns]
        if len(columns) >= 2:
            agreement = concordance.overall_agreement(cohort, scale_columns=columns)
            agreement_rows.append(
                {
                    "syndrome": label,
                    "scales": " ".join(scales),
                    "patients_assessable_under_all": agreement.n,
                    "percent_same_grade": agreement.percent_same_grade,
                    "percent_same_presence": agreement.percent_same_presence,
                }
            )
    if agreement_rows:
        pl.DataFrame(agreement_rows).write_csv(out / "scale_agreement.csv")
        written.append(out / "scale_agreement.csv")
    os_curve = survival.kaplan_meier(
        time_days=cohort["os_days"].to_numpy(), event=cohort["death"].to_numpy()
    )
    pfs_curve = survival.kaplan_meier(
        time_days=cohort["pfs_days"].to_numpy(), event=cohort["progression_or_death"].to_numpy()
    )
    follow = survival.median_follow_up(
        time_days=cohort["os_days"].to_numpy(), event=cohort["death"].to_numpy()
    )
    survival_rows = [
        {"measure": "overall survival", **_days_row(os_curve.median())},
        {"measure": "progression-free survival", **_days_row(pfs_curve.median())},
        {"measure": "follow-up (reverse Kaplan–Meier)", **_days_row(follow)},
    ]
    pl.DataFrame(survival_rows).write_csv(out / "survival.csv")
    written.append(out / "survival.csv")
    km = survival.kaplan_meier_by_group(cohort, group_by=group_by)
    risk_times = [0, 30, 90, 180, 365]
    written += plots.save_figure(
        plots.km_plot(km, risk_times=risk_times), stem=out / "overall_survival"
    )
    for syndrome, label in (("crs", "CRS"), ("icans", "ICANS")):
        written += _cumulative_incidence_figure(cohort, syndrome, label, out, group_by=group_by)
    written += plots.save_figure(
        plots.max_grade_bars(cohort, grade_columns=grade_columns), stem=out / "max_grade_by_scale"
    )
    if data.daily.height:
        lanes = _lanes(data)
        daily = data.daily.filter(pl.col("patient_id").is_in(lanes))
        segments = plots.segments_from_daily(daily)
        window = pl.col("day") <= TOXICITY_WINDOW_DAYS
        shown = f"{len(lanes)} of {cohort.height} patients, highest grades first"
        written += plots.save_figure(
            plots.swimmer_plot(
                segments.filter(pl.col("start_day") <= TOXICITY_WINDOW_DAYS),
                treatments=data.treatments.filter(window & pl.col("patient_id").is_in(lanes)),
                follow_up=data.follow_up.filter(pl.col("patient_id").is_in(lanes)).with_columns(
                    pl.col("last_day").clip(upper_bound=TOXICITY_WINDOW_DAYS)
                ),
                title=f"Toxicity episodes, days 0–{TOXICITY_WINDOW_DAYS} ({shown})",
            ),
            stem=out / "swimmer",
        )
        written += plots.save_figure(
            plots.grade_heatmap(daily, title=f"Daily maximum grade ({shown})"),
            stem=out / "daily_grade_heatmap",
        )
    return written
