"""``cartwatch dose …``, ``cartwatch recommend``, ``cartwatch eligibility``, ``cartwatch calendar``.

Thin shell over ``cartwatch.management`` and ``cartwatch.pathway``: options and JSON files are
validated here (Pydantic at the edge), the core computes, Rich or JSON renders. A centre protocol
file is read here and passed to the core as text with its path as the origin.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.table import Table

from cartwatch.cli._app import fail, read_json_input
from cartwatch.errors import CartwatchError
from cartwatch.management import (
    Patient,
    Protocol,
    bsa_dubois,
    bsa_mosteller,
    creatinine_clearance_cockcroft_gault,
    load_protocol,
    lymphodepletion_regimen,
    recommend,
    tocilizumab_dose,
    tocilizumab_redose,
)
from cartwatch.pathway import (
    EligibilityCriteria,
    EligibilityInput,
    build_calendar,
    check_eligibility,
    to_ical,
)

console = Console(highlight=False, soft_wrap=True)
dose_app = typer.Typer(help="Dose calculators (tocilizumab, BSA, CrCl, lymphodepletion).")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _protocol(path: Path | None) -> Protocol | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read protocol file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"cannot read protocol file {path}: it is not UTF-8 text") from None
    try:
        return load_protocol(centre_toml=text, centre_origin=str(path))
    except CartwatchError as exc:
        raise fail(str(exc)) from None


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"`{loc}`: {err['msg']}")
    return "; ".join(parts)


def _floats(text: str | None, name: str) -> tuple[float, ...]:
    if text is None or text.strip() == "":
        return ()
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise fail(f"{name} must be comma-separated hours, e.g. 0,8; got {text!r}") from None


def _run(fn: Any) -> Any:
    try:
        return fn()
    except CartwatchError as exc:
        raise fail(str(exc)) from None


@dose_app.command("tocilizumab")
def dose_tocilizumab(
    weight_kg: float = typer.Option(..., "--weight-kg", help="Actual body weight in kg."),
    prior_doses_h: str | None = typer.Option(
        None, "--prior-doses-h", help="Times of prior doses in hours, comma-separated."
    ),
    proposed_h: float | None = typer.Option(
        None, "--proposed-h", help="Proposed time of the next dose (hours, same clock)."
    ),
    protocol_file: Path | None = typer.Option(None, "--protocol", help="Centre protocol TOML."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Tocilizumab dose for CRS and, with --proposed-h, whether a re-dose is allowed now."""
    protocol = _protocol(protocol_file)
    dose = _run(lambda: tocilizumab_dose(weight_kg=weight_kg, protocol=protocol))
    prior = _floats(prior_doses_h, "--prior-doses-h")
    redose = None
    if proposed_h is not None:
        redose = _run(
            lambda: tocilizumab_redose(
                prior_dose_times_h=prior, proposed_dose_time_h=proposed_h, protocol=protocol
            )
        )
    elif prior:
        raise fail("--prior-doses-h needs --proposed-h (the time of the dose being considered)")
    if as_json:
        _print_json(
            {"dose": dose.to_dict(), "redose": None if redose is None else redose.to_dict()}
        )
        return
    console.print(f"Tocilizumab: [bold]{dose.value:g} mg[/bold] {dose.route or ''}")
    console.print(f"  {dose.reason}")
    console.print(f"  origin: {dose.origin}")
    if redose is not None:
        verdict = "[green]allowed[/green]" if redose.value else "[red]refused[/red]"
        console.print(f"Re-dose at {proposed_h:g} h: {verdict} - {redose.reason}")
        if redose.earliest_next_h is not None:
            console.print(f"  earliest next dose: {redose.earliest_next_h:g} h")
    console.print(f"[dim]{dose.reference}[/dim]")


@dose_app.command("bsa")
def dose_bsa(
    height_cm: float = typer.Option(..., "--height-cm"),
    weight_kg: float = typer.Option(..., "--weight-kg"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Body-surface area by Mosteller and DuBois."""
    results = [
        _run(lambda: bsa_mosteller(height_cm=height_cm, weight_kg=weight_kg)),
        _run(lambda: bsa_dubois(height_cm=height_cm, weight_kg=weight_kg)),
    ]
    if as_json:
        _print_json([r.to_dict() for r in results])
        return
    for r in results:
        console.print(f"{r.name}: [bold]{r.value:.4f} m2[/bold]  ({r.reason})")


@dose_app.command("crcl")
def dose_crcl(
    age_years: float = typer.Option(..., "--age-years"),
    weight_kg: float = typer.Option(..., "--weight-kg"),
    creatinine_mg_dl: float = typer.Option(..., "--creatinine-mg-dl"),
    sex: str = typer.Option(..., "--sex", help="male or female"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Creatinine clearance by Cockcroft–Gault (mL/min, actual body weight)."""
    r = _run(
        lambda: creatinine_clearance_cockcroft_gault(
            age_years=age_years, weight_kg=weight_kg, creatinine_mg_dl=creatinine_mg_dl, sex=sex
        )
    )
    if as_json:
        _print_json(r.to_dict())
        return
    console.print(f"CrCl (Cockcroft-Gault): [bold]{r.value:.2f} mL/min[/bold]  ({r.reason})")


@dose_app.command("lymphodepletion")
def dose_lymphodepletion(
    product: str = typer.Option(..., "--product", help="e.g. axi-cel, brexu-cel-all, tisa-cel-all"),
    height_cm: float = typer.Option(..., "--height-cm"),
    weight_kg: float = typer.Option(..., "--weight-kg"),
    age_years: float | None = typer.Option(None, "--age-years"),
    sex: str | None = typer.Option(None, "--sex"),
    creatinine_mg_dl: float | None = typer.Option(None, "--creatinine-mg-dl"),
    crcl_ml_min: float | None = typer.Option(
        None, "--crcl-ml-min", help="Measured or paediatric CrCl (overrides Cockcroft-Gault)."
    ),
    renal_policy: str = typer.Option(
        "fludara_label_proportional",
        "--renal-policy",
        help="fludara_label_proportional | generic_label_20pct | institutional_dfci | none",
    ),
    bsa_formula: str = typer.Option("mosteller", "--bsa-formula", help="mosteller | dubois"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Daily fludarabine and cyclophosphamide doses for a labelled product."""
    plan = _run(
        lambda: lymphodepletion_regimen(
            product=product,
            height_cm=height_cm,
            weight_kg=weight_kg,
            age_years=age_years,
            sex=sex,
            creatinine_mg_dl=creatinine_mg_dl,
            crcl_ml_min=crcl_ml_min,
            renal_policy=renal_policy,
            bsa_formula=bsa_formula,
        )
    )
    if as_json:
        _print_json(plan.to_dict())
        return
    console.print(f"[bold]{plan.brand}[/bold] - BSA {plan.bsa.value:.4f} m2 ({plan.bsa.name})")
    if plan.crcl_ml_min is not None:
        console.print(f"CrCl {plan.crcl_ml_min:.2f} mL/min; renal policy {plan.renal_policy.value}")
    table = Table("agent", "status", "mg/m2", "mg/day", "days", "how")
    for a in plan.agents:
        table.add_row(
            a.agent,
            a.status,
            "-" if a.mg_per_m2 is None else f"{a.mg_per_m2:g}",
            "-" if a.value is None else f"{a.value:.1f}",
            ", ".join(str(d) for d in a.days) or "per centre",
            a.reason,
        )
    console.print(table)
    for w in plan.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    for n in plan.notes:
        console.print(f"note: {n}")


class _PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight_kg: float | None = None
    age_years: float | None = None
    product: str | None = None
    tocilizumab_dose_times_h: list[float] = []
    current_time_h: float | None = None


class _RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crs_grade: int | None = None
    icans_grade: int | None = None
    iechs_grade: int | None = None
    patient: _PatientIn = _PatientIn()


def recommend_cmd(
    json_file: str = typer.Option(
        ..., "--json", help="Input JSON file (- for stdin): grades and patient."
    ),
    protocol_file: Path | None = typer.Option(None, "--protocol", help="Centre protocol TOML."),
    out_json: bool = typer.Option(False, "--out-json", help="Print the result as JSON."),
) -> None:
    """Actions for the current CRS, ICANS and IEC-HS grades, with doses and sources."""
    try:
        data = _RecommendIn.model_validate(read_json_input(json_file))
    except ValidationError as exc:
        raise fail(_validation_message(exc)) from None
    protocol = _protocol(protocol_file)
    patient = Patient(
        weight_kg=data.patient.weight_kg,
        age_years=data.patient.age_years,
        product=data.patient.product,
        tocilizumab_dose_times_h=tuple(data.patient.tocilizumab_dose_times_h),
        current_time_h=data.patient.current_time_h,
    )
    rec = _run(
        lambda: recommend(
            crs_grade=data.crs_grade,
            icans_grade=data.icans_grade,
            iechs_grade=data.iechs_grade,
            patient=patient,
            protocol=protocol,
        )
    )
    if out_json:
        _print_json(rec.to_dict())
        return
    console.print(
        f"CRS {rec.crs_grade}  ICANS {rec.icans_grade}  IEC-HS {rec.iechs_grade}  "
        f"(protocol: {' + '.join(rec.protocol_layers)})"
    )
    table = Table("action", "level", "what", "dose", "origin")
    for a in rec.actions:
        dose = ""
        if a.dose is not None:
            dose = (
                f"{a.dose.value:g} {a.dose.unit} {a.dose.frequency or ''}".strip()
                if a.dose.value is not None
                else f"needs {', '.join(a.dose.missing)}"
            )
        table.add_row(a.kind.value, a.level.value, a.text, dose, a.origin)
    console.print(table)
    for n in rec.notes:
        console.print(f"note: {n}")


class _EligibilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    history_of_epilepsy_or_cns_disease: bool | None = None
    gvhd_requiring_immunosuppression: bool | None = None
    qt_prolongation_or_severe_heart_disease: bool | None = None
    pregnant_or_lactating: bool | None = None
    active_uncontrolled_infection: bool | None = None
    active_hepatitis_b: bool | None = None
    active_hepatitis_c: bool | None = None
    hbv_hcv_hiv_screening_done: bool | None = None
    systemic_corticosteroids_within_2_weeks: bool | None = None
    last_systemic_corticosteroid_date: date | None = None
    planned_infusion_date: date | None = None
    lvef_percent: float | None = None
    lung_function_normal_without_mass: bool | None = None
    liver_function_normal: bool | None = None
    renal_function_normal: bool | None = None
    platelets_per_ul: float | None = None
    unresolved_serious_toxicity_from_prior_therapy: bool | None = None


class _CriteriaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lvef_min_percent: float | None = None
    apheresis_platelets_min_per_ul: float | None = None
    systemic_steroid_washout_days: int | None = None
    disabled_items: list[str] = []


class _EligibilityFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate: _EligibilityIn
    criteria: _CriteriaIn | None = None


def eligibility_cmd(
    json_file: str = typer.Option(
        ..., "--json", help='Input JSON (- for stdin): {"candidate": {...}, "criteria": {...}}.'
    ),
    out_json: bool = typer.Option(False, "--out-json", help="Print the result as JSON."),
) -> None:
    """Eligibility checklist: pass, fail or unknown per item."""
    try:
        data = _EligibilityFile.model_validate(read_json_input(json_file))
    except ValidationError as exc:
        raise fail(_validation_message(exc)) from None
    criteria = None
    if data.criteria is not None:
        given = {
            k: v
            for k, v in data.criteria.model_dump().items()
            if v is not None and k != "disabled_items"
        }
        criteria = EligibilityCriteria(**given, disabled_items=tuple(data.criteria.disabled_items))
    result = _run(
        lambda: check_eligibility(
            candidate=EligibilityInput(**data.candidate.model_dump()), criteria=criteria
        )
    )
    if out_json:
        _print_json(result.to_dict())
        return
    table = Table("item", "status", "reason")
    colour = {"pass": "green", "fail": "red", "unknown": "yellow"}
    for item in result.items:
        table.add_row(
            item.label, f"[{colour[item.status.value]}]{item.status.value}[/]", item.reason
        )
    console.print(table)
    console.print(f"overall: [bold]{result.overall.value}[/bold]")


def _parse_date(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{name}={text!r} is not a date; expected YYYY-MM-DD") from None


def calendar_cmd(
    infusion_date: str = typer.Option(..., "--infusion-date", help="Planned day 0, YYYY-MM-DD."),
    apheresis_date: str | None = typer.Option(None, "--apheresis-date", help="YYYY-MM-DD."),
    product: str | None = typer.Option(None, "--product", help="e.g. axi-cel, cilta-cel."),
    labels_as_of: str | None = typer.Option(
        None, "--labels-as-of", help="Label era date (default: infusion date)."
    ),
    ics: Path | None = typer.Option(None, "--ics", help="Write the calendar as iCalendar here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The calendar around day 0 (LD days, monitoring, risk windows, follow-up)."""
    day0 = _parse_date(infusion_date, "--infusion-date")
    assert day0 is not None
    cal = _run(
        lambda: build_calendar(
            infusion_date=day0,
            apheresis_date=_parse_date(apheresis_date, "--apheresis-date"),
            product=product,
            labels_as_of=_parse_date(labels_as_of, "--labels-as-of"),
        )
    )
    if ics is not None:
        try:
            ics.write_text(to_ical(cal, dtstamp=datetime.now(UTC)), encoding="utf-8", newline="")
        except OSError as exc:
            raise fail(f"cannot write {ics}: {exc.strerror}") from None
    if as_json:
        _print_json(cal.to_dict())
        return
    table = Table("from", "to", "days", "what")
    for e in cal.events:
        days = f"{e.day_from}" if e.day_from == e.day_to else f"{e.day_from}..{e.day_to}"
        table.add_row(e.start.isoformat(), e.end.isoformat(), days, e.title)
    console.print(table)
    console.print(f"label era: {cal.label_era}")
    for n in cal.notes:
        console.print(f"note: {n}")
    if ics is not None:
        console.print(f"iCalendar written to {ics}")


def register(app: typer.Typer) -> None:
    """Add ``dose``, ``recommend``, ``eligibility`` and ``calendar`` to the main app."""
    app.add_typer(dose_app, name="dose")
    app.command("recommend")(recommend_cmd)
    app.command("eligibility")(eligibility_cmd)
    app.command("calendar")(calendar_cmd)
