"""Exports: toxicity episodes (CSV, JSON, FHIR AdverseEvent), CIBMTR-F4100 / EBMT-Day-100 shaped
CRS and ICANS records per patient and reporting period, and patients and assessments as CSV.

Field names and the items still unconfirmed against the current forms follow
``reference/registry-fields.md`` (items 5–15); every record lists its unconfirmed fields so that
nobody submits them without checking the form revision.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

from cartwatch.assessment import ALTERNATIVE_UNITS, FIELDS
from cartwatch.errors import InvalidValue
from cartwatch.interop.csv_io import write_csv
from cartwatch.interop.fhir import episodes_bundle, treatment_names
from cartwatch.interop.pseudonymise import DROPPED_PATIENT_FIELDS, METHOD, Pseudonymiser
from cartwatch.interop.records import (
    ASSESSMENT_KEYS,
    COLUMNS,
    NESTED_OBJECTS,
    cell_text,
    flatten,
    parse_timestamp,
)
from cartwatch.interop.store import source_keys
from cartwatch.registry.repository import Registry

EPISODE_COLUMNS = (
    "patient_id",
    "scale",
    "onset_at",
    "onset_day",
    "max_grade",
    "max_grade_at",
    "resolved_at",
    "duration_days",
    "treatments",
)
EpisodeFormat = Literal["csv", "json", "fhir"]
PSEUDED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
Form = Literal["cibmtr-f4100", "ebmt-day100"]
FORMS: tuple[Form, ...] = ("cibmtr-f4100", "ebmt-day100")

CRS_SCALE = "astct_crs"
ICANS_SCALE = "astct_icans"
GRADING_SYSTEM = {CRS_SCALE: "ASTCT 2019", ICANS_SCALE: "ASTCT 2019"}
FEVER_C = 38.0  # [LEE2019] Table 1: fever is temperature ≥38.0 °C (CIBMTR fever_onset_date, item 8)

# Form options (registry-fields.md item 10: tocilizumab, corticosteroids, siltuximab, anakinra,
# other; item 14 for ICANS: steroids, anti-seizure drugs, anakinra, other).
CRS_THERAPY_OPTIONS = ("tocilizumab", "corticosteroids", "siltuximab", "anakinra", "other")
ICANS_THERAPY_OPTIONS = ("corticosteroids", "antiseizure", "anakinra", "other")

UNCONFIRMED: dict[Form, tuple[str, ...]] = {
    # registry-fields.md: item 10 (option list), 12 (grade asked or derived), 13 (resolution
    # date for CIBMTR), 14 (F4100 ICANS question text and symptom list).
    "cibmtr-f4100": (
        "crs.therapies (complete option list)",
        "crs.max_grade (asked directly or derived from components)",
        "crs.resolution_date",
        "icans (question text, therapies and symptom list)",
    ),
    # registry-fields.md: item 10 (option list) and 12; EBMT confirms item 13 and item 14.
    "ebmt-day100": (
        "crs.therapies (complete option list)",
        "crs.max_grade (asked directly or derived from components)",
    ),
}


# --- episodes ------------------------------------------------------------------------------------


def episode_rows(episodes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The export columns of each episode (treatments as drug names)."""
    return [
        {
            **{c: e.get(c) for c in EPISODE_COLUMNS if c != "treatments"},
            "treatments": treatment_names(e.get("treatments")),
        }
        for e in episodes
    ]


def episodes_text(
    episodes: Sequence[Mapping[str, Any]],
    *,
    fmt: EpisodeFormat,
    pseudonymiser: Pseudonymiser | None = None,
) -> str:
    """Episodes as CSV (treatments ``;``-separated), JSON or a FHIR Bundle of AdverseEvent.

    With a ``pseudonymiser`` the patient is a keyed pseudonym and times are shifted per patient;
    the CSV starts with a ``#`` line, the JSON with a ``pseudonymisation`` member and the Bundle
    carries the HL7 security label PSEUDED, each stating the method.
    """
    if pseudonymiser is not None:
        episodes = pseudonymiser.episodes(episodes)
    if fmt == "fhir":
        bundle = episodes_bundle(episodes)
        if pseudonymiser is not None:
            bundle["meta"] = {"security": [PSEUDED], "tag": [{"display": METHOD}]}
        return json.dumps(bundle, indent=2) + "\n"
    rows = episode_rows(episodes)
    if fmt == "json":
        if pseudonymiser is not None:
            return json.dumps({"pseudonymisation": METHOD, "episodes": rows}, indent=2) + "\n"
        return json.dumps(rows, indent=2) + "\n"
    stream = io.StringIO()
    if pseudonymiser is not None:
        stream.write(f"# {METHOD}\n")
    write_csv(
        stream,
        EPISODE_COLUMNS,
        (
            {
                k: ";".join(v) if k == "treatments" else ("" if v is None else cell_text(v))
                for k, v in row.items()
            }
            for row in rows
        ),
    )
    return stream.getvalue()


# --- registry forms ------------------------------------------------------------------------------


def _time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return parse_timestamp("time", str(value))


def _therapies(episodes: Sequence[Mapping[str, Any]], options: tuple[str, ...]) -> dict[str, Any]:
    from cartwatch.episodes import DrugClass, drug_class, normalise_drug

    chosen: set[str] = set()
    other: set[str] = set()
    for episode in episodes:
        for name in treatment_names(episode.get("treatments")):
            drug = normalise_drug(name)
            kind = drug_class(drug)
            if drug in options:
                chosen.add(drug)
            elif kind == DrugClass.CORTICOSTEROID:
                chosen.add("corticosteroids")
            elif kind == DrugClass.ANTISEIZURE and "antiseizure" in options:
                chosen.add("antiseizure")
            elif kind == DrugClass.ANTIPYRETIC:
                # Interpretation: antipyretics are supportive care, not a CRS/ICANS-directed
                # therapy of the form's list; they are not reported.
                continue
            else:
                chosen.add("other")
                other.add(drug)
    return {
        "therapy_given": bool(chosen),
        "therapies": [o for o in options if o in chosen],
        "therapies_other_specify": sorted(other),
    }


def _syndrome_block(
    episodes: Sequence[Mapping[str, Any]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    scale: str,
    options: tuple[str, ...],
    tz: dt.tzinfo,
    fever_at: dt.datetime | None,
) -> dict[str, Any]:
    def day(value: dt.datetime | None) -> str | None:
        return None if value is None else value.astimezone(tz).date().isoformat()

    in_period = []
    for e in episodes:
        onset = _time(e.get("onset_at"))
        resolved = _time(e.get("resolved_at"))
        if onset is None or onset > end or (resolved is not None and resolved < start):
            continue
        in_period.append((onset, resolved, e))
    block: dict[str, Any] = {"present": bool(in_period), "grading_system": GRADING_SYSTEM[scale]}
    if not in_period:
        return block
    first_onset = min(o for o, _, _ in in_period)
    previously = first_onset < start
    resolutions = [r for _, r, _ in in_period]
    block |= {
        "dx_previously_reported": previously,
        "dx_date": None if previously else day(first_onset),
        "max_grade": max(int(e["max_grade"]) for _, _, e in in_period),
        "resolution_date": None if None in resolutions else day(max(r for r in resolutions if r)),
        "ongoing_at_period_end": any(r is None or r > end for r in resolutions),
        "episodes": len(in_period),
    }
    if scale == CRS_SCALE:
        block["fever_onset_date"] = None if previously else day(fever_at)
    block |= _therapies([e for _, _, e in in_period], options)
    return block


def registry_form(
    registry: Registry,
    *,
    form: Form,
    period_start: dt.date,
    period_end: dt.date,
    episodes: Sequence[Mapping[str, Any]],
    tz: str = "UTC",
) -> list[dict[str, Any]]:
    """One CRS/ICANS record per patient with an infusion, for the reporting period (inclusive).

    ``episodes`` are the stored episodes (``cohort_episodes``); dates are calendar dates in
    ``tz``. A syndrome that began before the period but persisted into it is present with
    ``dx_previously_reported`` true and no diagnosis date, as CIBMTR asks (registry-fields.md
    items 5–7). Blank means not recorded; nothing is guessed.
    """
    if form not in FORMS:
        raise InvalidValue(
            f"`form={form}` is not a registry form",
            field="form",
            value=form,
            expected=", ".join(FORMS),
        )
    if period_end < period_start:
        raise InvalidValue(
            f"`period_end={period_end}` is before `period_start={period_start}`",
            field="period_end",
            value=period_end.isoformat(),
            expected=f"on or after {period_start}",
        )
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(period_start, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(), zone).astimezone(
        dt.UTC
    ) - dt.timedelta(microseconds=1)
    by_patient: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for e in episodes:
        by_patient.setdefault(str(e["patient_id"]), {}).setdefault(str(e["scale"]), []).append(e)
    out = []
    for patient in registry.list_patients():
        infusions = registry.infusions(patient.patient_ref)
        if not infusions:
            continue
        mine = by_patient.get(patient.patient_ref, {})
        crs = mine.get(CRS_SCALE, [])
        fever_at = _first_fever(registry, patient.patient_ref, crs, infusions[0].infused_at)
        out.append(
            {
                "form": form,
                "patient_id": patient.patient_ref,
                "centre": patient.centre,
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
                "infusion_dates": [
                    i.infused_at.astimezone(zone).date().isoformat() for i in infusions
                ],
                "products": [i.product for i in infusions],
                "crs": _syndrome_block(
                    crs,
                    start=start,
                    end=end,
                    scale=CRS_SCALE,
                    options=CRS_THERAPY_OPTIONS,
                    tz=zone,
                    fever_at=fever_at,
                ),
                "icans": _syndrome_block(
                    mine.get(ICANS_SCALE, []),
                    start=start,
                    end=end,
                    scale=ICANS_SCALE,
                    options=ICANS_THERAPY_OPTIONS,
                    tz=zone,
                    fever_at=None,
                ),
                "unconfirmed_fields": list(UNCONFIRMED[form]),
            }
        )
    return out


def _first_fever(
    registry: Registry,
    patient_ref: str,
    crs: Sequence[Mapping[str, Any]],
    first_infusion: dt.datetime,
) -> dt.datetime | None:
    """The first recorded temperature ≥ 38.0 °C after the first infusion and up to the end of
    the first CRS episode (None when no episode or no such temperature was charted)."""
    if not crs:
        return None
    first = min(crs, key=lambda e: str(e["onset_at"]))
    until = _time(first.get("resolved_at"))
    for view in registry.assessments(patient_ref):
        if view.assessed_at < first_infusion or (until is not None and view.assessed_at > until):
            continue
        temperature = view.data.get("temperature_c")
        if isinstance(temperature, int | float) and temperature >= FEVER_C:
            return view.assessed_at
    return None


def registry_form_text(records: Sequence[Mapping[str, Any]], *, fmt: Literal["csv", "json"]) -> str:
    """Registry-form records as JSON, or as CSV with dotted columns (``crs.max_grade``)."""
    if fmt == "json":
        return json.dumps(list(records), indent=2) + "\n"
    flat = [_flat_record(r) for r in records]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    stream = io.StringIO()
    write_csv(stream, columns, flat)
    return stream.getvalue()


def _flat_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= _flat_record(value, f"{name}.")
        elif isinstance(value, list):
            out[name] = ";".join("" if v is None else str(v) for v in value)
        else:
            out[name] = "" if value is None else cell_text(value)
    return out


# --- patients and assessments --------------------------------------------------------------------


def patients_csv(registry: Registry, *, pseudonymiser: Pseudonymiser | None = None) -> str:
    """Every patient under the import columns (re-importable); with a ``pseudonymiser``, keyed
    pseudonyms without date of birth or centre, under a ``#`` line stating the method."""
    rows = [
        {c: "" if (v := p.to_dict().get(c)) is None else cell_text(v) for c in COLUMNS["patients"]}
        for p in registry.list_patients()
    ]
    columns: Sequence[str] = COLUMNS["patients"]
    stream = io.StringIO()
    if pseudonymiser is not None:
        rows = [pseudonymiser.patient_row(r) for r in rows]
        columns = [c for c in columns if c not in DROPPED_PATIENT_FIELDS]
        stream.write(f"# {METHOD}\n")
    write_csv(stream, columns, rows)
    return stream.getvalue()


def _column_order() -> dict[str, int]:
    names: list[str] = [*ASSESSMENT_KEYS]
    for name in FIELDS:
        children = NESTED_OBJECTS.get(name, ())
        if name in NESTED_OBJECTS:
            names.extend(f"{name}.{c}" for c in children or ())
        names.append(name)
    names.extend(ALTERNATIVE_UNITS)
    return {n: i for i, n in reversed(list(enumerate(names)))}


def assessments_csv(registry: Registry, *, pseudonymiser: Pseudonymiser | None = None) -> str:
    """Every assessment as contract columns (re-importable: the import's own format); with a
    ``pseudonymiser``, keyed pseudonyms, shifted times, no free text, under a ``#`` line."""
    keys = source_keys(registry)
    rows: list[dict[str, str]] = []
    for patient in registry.list_patients():
        for view in registry.assessments(patient.patient_ref):
            data = dict(view.data)
            data.pop("assessed_at", None)
            rows.append(
                {
                    "patient_ref": patient.patient_ref,
                    "assessed_at": view.assessed_at.isoformat().replace("+00:00", "Z"),
                    "source_key": keys.get(view.id, ""),
                    **flatten(data),
                }
            )
    order = _column_order()
    present: set[str] = set(ASSESSMENT_KEYS)
    stream = io.StringIO()
    if pseudonymiser is not None:
        rows = [pseudonymiser.assessment_row(r) for r in rows]
        stream.write(f"# {METHOD}\n")
    for row in rows:
        present.update(row)
    columns = sorted(present, key=lambda c: (order.get(c, len(order)), c))
    write_csv(stream, columns, rows)
    return stream.getvalue()
