"""FHIR R4 exchange: a Bundle of Patient, Observation and MedicationAdministration in and out of
the registry (with products as Medication and infusions as Procedure, under local codes), and
toxicity episodes as AdverseEvent. Other resource types in a Bundle are not read.

Resources are validated with the ``fhir.resources`` package (its R4B models: FHIR 4.3, which
keeps the R4 shape of every element used here). An Observation with a LOINC code becomes a
laboratory value or an assessment field, its unit converted through the contract's
alternative-unit names (``crp_mg_l``, ``platelets_10e9_l`` …); vital signs taken at the same time
for a patient form one assessment. Our own export writes each assessment as one Observation
whose components carry the contract's dotted field names (system :data:`FIELD_SYSTEM`), with the
LOINC code beside it where one is known, so registry → Bundle → registry gives the same records.
Codes: ``reference/registry-fields.md`` (LOINC table; NCIt value set of the FHIR CTC AE IG).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from cartwatch.assessment import ALTERNATIVE_UNITS, FIELDS
from cartwatch.errors import CartwatchError, InvalidValue
from cartwatch.interop.records import (
    Kind,
    Row,
    cell_text,
    flatten_values,
    parse_row,
    parse_timestamp,
)
from cartwatch.interop.report import ImportReport, RowError
from cartwatch.interop.store import product_records, source_keys, write_batches
from cartwatch.registry.repository import Registry

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"  # registry-fields.md, NCIt URI row
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
FIELD_SYSTEM = "urn:cartwatch:field"  # local: contract field names (dotted)
DRUG_SYSTEM = "urn:cartwatch:drug"  # local: drug names as recorded
PATIENT_REF_SYSTEM = "urn:cartwatch:patient_ref"
SOURCE_KEY_SYSTEM = "urn:cartwatch:source_key"
PRODUCT_SYSTEM = "urn:cartwatch:product"
INFUSION_REF_SYSTEM = "urn:cartwatch:infusion_ref"
PROCEDURE_SYSTEM = "urn:cartwatch:procedure"
INFUSION_CODE = "car-t-infusion"
EXT_TARGET = "urn:cartwatch:target"
EXT_COSTIMULATORY = "urn:cartwatch:costimulatory_domain"
EXT_ORIGIN = "urn:cartwatch:origin"
EXT_CELL_DOSE = "urn:cartwatch:cell_dose"
BUNDLE_KINDS: tuple[Kind, ...] = (
    "patients",
    "products",
    "infusions",
    "assessments",
    "labs",
    "administrations",
)
ASSESSMENT_CODE = "assessment"  # local code of a whole bedside assessment (components = fields)
EXT_AGE = "urn:cartwatch:age_years_at_registration"
EXT_MAX_GRADE = "urn:cartwatch:max_grade"
EXT_SCALE = "urn:cartwatch:scale"
EXT_RESOLVED_AT = "urn:cartwatch:resolved_at"
EXT_MAX_GRADE_AT = "urn:cartwatch:max_grade_at"
EXT_TREATMENTS = "urn:cartwatch:treatment"

# LOINC code → {UCUM unit → contract name (canonical or alternative-unit name)}.
# Source of every code: reference/registry-fields.md, LOINC tables (rows cited there).
LOINC_FIELDS: dict[str, dict[str, str]] = {
    "8310-5": {"Cel": "temperature_c", "[degF]": "temperature_f"},  # body temperature
    "8480-6": {"mm[Hg]": "sbp_mmhg"},  # systolic BP
    "3151-8": {"L/min": "oxygen.flow_l_min"},  # inhaled O2 flow rate
    # UNVERIFIED (registry-fields.md: 3150-0 only partly confirmed, once swapped with 3151-8)
    "3150-0": {"1": "oxygen.fio2", "%": "oxygen.fio2"},
    "29463-7": {"kg": "weight_kg"},  # body weight
    "8302-2": {"cm": "height_cm"},  # body height
    "2276-4": {"ng/mL": "ferritin_ng_ml", "ug/L": "ferritin_ng_ml"},  # ferritin
    "2160-0": {"mg/dL": "creatinine_mg_dl", "umol/L": "creatinine_umol_l"},  # creatinine
    "777-3": {
        "/uL": "platelets_per_ul",
        "10*9/L": "platelets_10e9_l",
        "10*3/uL": "platelets_10e9_l",
    },
    "26515-7": {
        "/uL": "platelets_per_ul",
        "10*9/L": "platelets_10e9_l",
        "10*3/uL": "platelets_10e9_l",
    },
    "751-8": {"/uL": "anc_per_ul", "10*9/L": "anc_10e9_l", "10*3/uL": "anc_10e9_l"},  # ANC
    "14804-9": {"U/L": "ldh_u_l"},  # LDH
    "1975-2": {"mg/dL": "bilirubin_mg_dl"},  # total bilirubin
    "718-7": {"g/dL": "hemoglobin_g_dl", "g/L": "hemoglobin_g_l"},  # haemoglobin
    "1988-5": {"mg/dL": "crp_mg_dl", "mg/L": "crp_mg_l"},  # CRP
    # UNVERIFIED (registry-fields.md: IL-6 26881-3 partly confirmed; one hit labelled procalcitonin)
    "26881-3": {"pg/mL": "il6_pg_ml"},
}
# Contract name → (LOINC code, UCUM unit) used on export.
FIELD_LOINC: dict[str, tuple[str, str]] = {
    "temperature_c": ("8310-5", "Cel"),
    "sbp_mmhg": ("8480-6", "mm[Hg]"),
    "oxygen.flow_l_min": ("3151-8", "L/min"),
    "oxygen.fio2": ("3150-0", "1"),
    "weight_kg": ("29463-7", "kg"),
    "height_cm": ("8302-2", "cm"),
    "ferritin_ng_ml": ("2276-4", "ng/mL"),
    "creatinine_mg_dl": ("2160-0", "mg/dL"),
    "platelets_per_ul": ("777-3", "/uL"),
    "anc_per_ul": ("751-8", "/uL"),
    "ldh_u_l": ("14804-9", "U/L"),
    "bilirubin_mg_dl": ("1975-2", "mg/dL"),
    "hemoglobin_g_dl": ("718-7", "g/dL"),
    "crp_mg_dl": ("1988-5", "mg/dL"),
    "il6_pg_ml": ("26881-3", "pg/mL"),
}
PERCENT_PER_FRACTION = 100.0  # FiO2 given in % is divided by 100 (a fraction is the contract's)

# Episodes → AdverseEvent: NCIt concepts (registry-fields.md, NCI Thesaurus table).
SCALE_EVENT: dict[str, tuple[str, str]] = {
    "crs": ("C143394", "Cytokine release syndrome"),
    "icans": (
        "C27961",
        "Neurotoxicity syndrome",
    ),  # generic; ICANS grades 2–4 have no confirmed code
}
# NCIt severity/grade 1–5 (registry-fields.md, AE severity/grade row).
NCIT_GRADE: dict[int, tuple[str, str]] = {
    1: ("C41338", "Mild Adverse Event"),
    2: ("C41339", "Moderate Adverse Event"),
    3: ("C41340", "Severe Adverse Event"),
    4: ("C41337", "Life Threatening Adverse Event"),
    5: ("C48275", "Death Related to Adverse Event"),
}
# ICD-10-CM by syndrome and grade (registry-fields.md, ICD-10-CM table).
ICD10_BY_GRADE: dict[str, str] = {"crs": "D89.83", "icans": "G92.0"}
# Interpretation: R4 AdverseEvent.severity has only mild|moderate|severe; grades ≥ 3 map to severe
# and the exact grade travels in the NCIt-coded extension.
R4_SEVERITY = {1: "mild", 2: "moderate", 3: "severe", 4: "severe", 5: "severe"}

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _bundle_model() -> Any:
    from fhir.resources.R4B.bundle import Bundle

    return Bundle


def _invalid(exc: Any, where: str) -> InvalidValue:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    name = f"{where}.{loc}" if loc else where
    return InvalidValue(
        f"not valid FHIR: {name}: {first.get('msg')}",
        field=name,
        value=None,
        expected=f"a FHIR R4 {where}",
    )


def validate_bundle(document: Mapping[str, Any]) -> dict[str, Any]:
    """Check a Bundle against the FHIR models; returns it as plain JSON (dicts)."""
    from pydantic import ValidationError

    try:
        bundle = _bundle_model().model_validate(dict(document))
    except ValidationError as exc:
        raise _invalid(exc, "Bundle") from None
    out: dict[str, Any] = json.loads(bundle.model_dump_json())
    return out


def validate_resource(resource: Mapping[str, Any]) -> None:
    """Check one resource against its FHIR model (raises InvalidValue naming the element)."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = str(resource.get("resourceType"))
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        raise InvalidValue(
            f"`{kind}` is not a FHIR resource type",
            field="resourceType",
            value=kind,
            expected="Patient, Observation, MedicationAdministration",
        ) from None
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        raise _invalid(exc, kind) from None


# --- import --------------------------------------------------------------------------------------


def import_bundle(
    registry: Registry,
    source: str | Path | Mapping[str, Any],
    *,
    skip_bad_rows: bool = False,
) -> list[ImportReport]:
    """Import a FHIR Bundle (file, JSON text or dict) in one transaction.

    Returns one report per kind (patients, assessments, labs, administrations); an error's
    ``line`` is the 1-based index of the Bundle entry.
    """
    name = "bundle"
    if isinstance(source, Mapping):
        document: Any = source
    else:
        text = source
        if isinstance(source, Path) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            name = str(source)
            try:
                text = Path(source).read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidValue(
                    f"`{Path(source).name}` is not UTF-8 text (byte {exc.start}: {exc.reason})",
                    field="Bundle",
                    value=str(source),
                    expected="a FHIR R4 Bundle in JSON, encoded as UTF-8",
                ) from None
        try:
            document = json.loads(str(text))
        except json.JSONDecodeError as exc:
            raise InvalidValue(
                f"not JSON: {exc.msg} at line {exc.lineno}",
                field="Bundle",
                value=None,
                expected="a FHIR R4 Bundle in JSON",
            ) from None
        except RecursionError:
            raise InvalidValue(
                "the JSON is nested too deeply to be a FHIR Bundle",
                field="Bundle",
                value=None,
                expected="a FHIR R4 Bundle in JSON",
            ) from None
    if not isinstance(document, Mapping) or document.get("resourceType") != "Bundle":
        raise InvalidValue(
            "the document is not a FHIR Bundle",
            field="resourceType",
            value=document.get("resourceType") if isinstance(document, Mapping) else None,
            expected="Bundle",
        )
    entries = document.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InvalidValue(
            "Bundle.entry must be a list of entries",
            field="Bundle.entry",
            value=None,
            expected="a list of {resource: …}",
        )
    validate_bundle({**document, "entry": []})
    reports: dict[Kind, ImportReport] = {k: ImportReport(kind=k, source=name) for k in BUNDLE_KINDS}
    usable: list[Mapping[str, Any]] = []
    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") or {}
        try:
            validate_resource(resource)
        except InvalidValue as exc:
            kind = _REPORT_OF.get(str(resource.get("resourceType")), "labs")
            reports[kind].rows_read += 1
            reports[kind].errors.append(RowError.from_error(index, exc))
            usable.append({})
            continue
        usable.append(entry)
    rows = _rows_from_entries(usable, reports)
    write_batches(
        registry,
        [(kind, rows[kind], reports[kind]) for kind in BUNDLE_KINDS],
        skip_bad_rows=skip_bad_rows,
        note=f"import {Path(name).name}",
    )
    return list(reports.values())


def _reference(value: Any) -> str | None:
    if isinstance(value, Mapping):
        ref = value.get("reference")
        return str(ref) if ref else None
    return None


_REPORT_OF: dict[str, Kind] = {
    "Patient": "patients",
    "Medication": "products",
    "Procedure": "infusions",
    "Observation": "labs",
    "MedicationAdministration": "administrations",
}


def _rows_from_entries(
    entries: Sequence[Mapping[str, Any]], reports: dict[Kind, ImportReport]
) -> dict[Kind, list[Row]]:
    out: dict[Kind, list[Row]] = {k: [] for k in reports}
    patients: dict[str, str] = {}
    products: dict[str, str] = {}
    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Medication":
            continue
        reports["products"].rows_read += 1
        product_cells = _product_cells(resource)
        for key in (f"Medication/{resource.get('id')}", entry.get("fullUrl")):
            if key and product_cells["name"]:
                products[str(key)] = str(product_cells["name"])
        row, errors = parse_row("products", index, product_cells)
        out["products"].extend([row] if row else [])
        reports["products"].errors.extend(errors)
    patient_cells: dict[str, dict[str, str | None]] = {}
    patient_line: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Patient":
            continue
        ref = _patient_ref(resource)
        for key in (f"Patient/{resource.get('id')}", entry.get("fullUrl")):
            if key:
                patients[str(key)] = ref
        org = resource.get("managingOrganization") or {}
        age = next(
            (
                e.get("valueDecimal")
                for e in resource.get("extension") or []
                if e.get("url") == EXT_AGE
            ),
            None,
        )
        patient_cells[ref] = {
            "patient_ref": ref,
            "sex": resource.get("gender"),
            "date_of_birth": resource.get("birthDate"),
            "age_years_at_registration": None if age is None else cell_text(float(age)),
            "centre": org.get("display"),
        }
        patient_line[ref] = index
        reports["patients"].rows_read += 1
    groups: dict[tuple[str, str, str], dict[str, str | None]] = {}
    group_line: dict[tuple[str, str, str], int] = {}
    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        if kind not in ("Observation", "MedicationAdministration", "Procedure"):
            continue
        if kind == "Procedure" and not _is_infusion(resource):
            continue
        original = resource
        subject = _reference(resource.get("subject"))
        owner: str | None = patients.get(subject or "")
        if owner is None and subject and subject.startswith("Patient/"):
            owner = subject.split("/", 1)[1]
        report = reports[_REPORT_OF[str(kind)]]
        if owner is None:
            report.rows_read += 1
            report.errors.append(
                RowError(
                    line=index,
                    field=f"{kind}.subject",
                    value=subject,
                    reason=f"{kind} has no subject Patient reference",
                    expected="Patient/ID",
                )
            )
            continue
        try:
            if kind == "Procedure":
                report.rows_read += 1
                row, errors = parse_row(
                    "infusions", index, _infusion_cells(owner, resource, products)
                )
                out["infusions"].extend([row] if row else [])
                report.errors.extend(errors)
                continue
            if kind == "MedicationAdministration":
                report.rows_read += 1
                row, errors = parse_row(
                    "administrations", index, _administration_cells(owner, resource, original)
                )
                out["administrations"].extend([row] if row else [])
                report.errors.extend(errors)
                continue
            _observation(
                index, owner, resource, original, out, reports, patient_cells, groups, group_line
            )
        except CartwatchError as exc:
            report.errors.append(RowError.from_error(index, exc))
    for ref, cells in patient_cells.items():
        row, errors = parse_row("patients", patient_line[ref], cells)
        out["patients"].extend([row] if row else [])
        reports["patients"].errors.extend(errors)
    for key, cells in groups.items():
        row, errors = parse_row("assessments", group_line[key], cells)
        out["assessments"].extend([row] if row else [])
        reports["assessments"].errors.extend(errors)
    return out


def _extension_values(resource: Mapping[str, Any], url: str) -> list[Any]:
    return [
        next((v for k, v in e.items() if k.startswith("value")), None)
        for e in resource.get("extension") or []
        if e.get("url") == url
    ]


def _product_cells(resource: Mapping[str, Any]) -> dict[str, str | None]:
    name = next(
        (
            i.get("value")
            for i in resource.get("identifier") or []
            if i.get("system") == PRODUCT_SYSTEM
        ),
        None,
    ) or (resource.get("code") or {}).get("text")
    targets = [str(t) for t in _extension_values(resource, EXT_TARGET) if t]
    domain = _extension_values(resource, EXT_COSTIMULATORY)
    origin = _extension_values(resource, EXT_ORIGIN)
    return {
        "name": None if name is None else str(name),
        "targets": ";".join(targets),
        "costimulatory_domain": str(domain[0]) if domain and domain[0] else None,
        "origin": str(origin[0]) if origin and origin[0] else None,
    }


def _is_infusion(resource: Mapping[str, Any]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or []
    return any(
        c.get("system") == PROCEDURE_SYSTEM and c.get("code") == INFUSION_CODE for c in codings
    )


def _infusion_cells(
    ref: str, resource: Mapping[str, Any], products: Mapping[str, str]
) -> dict[str, str | None]:
    infusion_ref = next(
        (
            i.get("value")
            for i in resource.get("identifier") or []
            if i.get("system") == INFUSION_REF_SYSTEM
        ),
        None,
    )
    product: str | None = None
    for used in resource.get("usedReference") or []:
        product = products.get(str(used.get("reference"))) or used.get("display")
    dose = next(iter(_extension_values(resource, EXT_CELL_DOSE)), None) or {}
    return {
        "patient_ref": ref,
        "infusion_ref": None if infusion_ref is None else str(infusion_ref),
        "infused_at": _effective(resource, "performedDateTime"),
        "product": product,
        "cell_dose": None if dose.get("value") is None else cell_text(float(dose["value"])),
        "cell_dose_unit": dose.get("unit"),
    }


def _patient_ref(resource: Mapping[str, Any]) -> str:
    for identifier in resource.get("identifier") or []:
        if identifier.get("system") == PATIENT_REF_SYSTEM and identifier.get("value"):
            return str(identifier["value"])
    return str(resource.get("id") or "")


def _effective(original: Mapping[str, Any], name: str) -> str | None:
    value = original.get(name)
    return None if value is None else str(value)


def _observation(
    index: int,
    ref: str,
    resource: Mapping[str, Any],
    original: Mapping[str, Any],
    out: dict[Kind, list[Row]],
    reports: dict[Kind, ImportReport],
    patient_cells: dict[str, dict[str, str | None]],
    groups: dict[tuple[str, str, str], dict[str, str | None]],
    group_line: dict[tuple[str, str, str], int],
) -> None:
    codings = (resource.get("code") or {}).get("coding") or []
    when = _effective(original, "effectiveDateTime")
    if any(c.get("system") == FIELD_SYSTEM and c.get("code") == ASSESSMENT_CODE for c in codings):
        reports["assessments"].rows_read += 1
        if when is None:
            raise InvalidValue(
                "an assessment Observation needs effectiveDateTime",
                field="Observation.effectiveDateTime",
                value=None,
                expected="ISO 8601 date-time with zone",
            )
        source_key = next(
            (
                str(i.get("value"))
                for i in resource.get("identifier") or []
                if i.get("system") == SOURCE_KEY_SYSTEM
            ),
            "",
        )
        cells: dict[str, str | None] = {
            "patient_ref": ref,
            "assessed_at": when,
            "source_key": source_key,
        }
        for component in resource.get("component") or []:
            name, value = _field_value(component)
            cells[name] = value
        groups[(ref, when, source_key)] = cells
        group_line[(ref, when, source_key)] = index
        return
    name, value = _field_value(resource)
    if when is None and name in ("weight_kg", "height_cm") and ref in patient_cells:
        patient_cells[ref][name] = value
        return
    top = name.split(".")[0]
    spec = FIELDS.get(ALTERNATIVE_UNITS[top][0] if top in ALTERNATIVE_UNITS else top)
    if (spec is None or spec.group == "laboratory") and "." not in name:
        reports["labs"].rows_read += 1
        row, errors = parse_row(
            "labs",
            index,
            {"patient_ref": ref, "taken_at": when, "name": name, "value": value},
        )
        out["labs"].extend([row] if row else [])
        reports["labs"].errors.extend(errors)
        return
    if when is None:
        raise InvalidValue(
            f"Observation `{name}` needs effectiveDateTime",
            field="Observation.effectiveDateTime",
            value=None,
            expected="ISO 8601 date-time with zone",
        )
    key = (ref, when, "fhir")
    if key not in groups:
        reports["assessments"].rows_read += 1
        groups[key] = {"patient_ref": ref, "assessed_at": when, "source_key": "fhir"}
        group_line[key] = index
    groups[key][name] = value


def _field_value(element: Mapping[str, Any]) -> tuple[str, str]:
    """(contract name, value as text) of an Observation or a component."""
    codings = (element.get("code") or {}).get("coding") or []
    local = next((c.get("code") for c in codings if c.get("system") == FIELD_SYSTEM), None)
    quantity = element.get("valueQuantity")
    if local:
        name = str(local)
    else:
        loinc = next((c.get("code") for c in codings if c.get("system") == LOINC), None)
        if loinc is None or loinc not in LOINC_FIELDS:
            shown = loinc or ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings)
            raise InvalidValue(
                f"no mapping for the Observation code {shown}",
                field="Observation.code",
                value=shown,
                expected="a LOINC code of registry-fields.md or a " + FIELD_SYSTEM + " code",
            )
        unit = str((quantity or {}).get("code") or (quantity or {}).get("unit") or "")
        by_unit = LOINC_FIELDS[loinc]
        if unit not in by_unit:
            raise InvalidValue(
                f"LOINC {loinc} in unit `{unit}` cannot be converted",
                field="Observation.valueQuantity.code",
                value=unit,
                expected=", ".join(by_unit),
            )
        name = by_unit[unit]
        if unit == "%" and name == "oxygen.fio2" and quantity is not None:
            return name, cell_text(float(Decimal(str(quantity["value"]))) / PERCENT_PER_FRACTION)
    for key in ("valueBoolean", "valueInteger", "valueString"):
        if key in element:
            return name, cell_text(element[key])
    if quantity is not None and quantity.get("value") is not None:
        return name, cell_text(float(Decimal(str(quantity["value"]))))
    raise InvalidValue(
        f"`{name}` has no value",
        field=name,
        value=None,
        expected="valueQuantity, valueInteger, valueBoolean or valueString",
    )


def _administration_cells(
    ref: str, resource: Mapping[str, Any], original: Mapping[str, Any]
) -> dict[str, str | None]:
    concept = resource.get("medicationCodeableConcept") or {}
    codings = concept.get("coding") or []
    drug = next((c.get("code") for c in codings if c.get("system") == DRUG_SYSTEM), None)
    drug = drug or concept.get("text") or next((c.get("display") for c in codings), None)
    dosage = resource.get("dosage") or {}
    dose = dosage.get("dose") or {}
    unit = dose.get("code") or dose.get("unit")
    if dose.get("value") is not None and unit != "mg":
        raise InvalidValue(
            f"dose unit `{unit}` is not mg",
            field="MedicationAdministration.dosage.dose",
            value=unit,
            expected="mg",
        )
    return {
        "patient_ref": ref,
        "given_at": _effective(original, "effectiveDateTime"),
        "drug": None if drug is None else str(drug),
        "dose_mg": None
        if dose.get("value") is None
        else cell_text(float(Decimal(str(dose["value"])))),
        "route": (dosage.get("route") or {}).get("text"),
    }


# --- export --------------------------------------------------------------------------------------


def _fhir_id(ref: str, prefix: str, index: int) -> str:
    return ref if _FHIR_ID.match(ref) else f"{prefix}-{index}"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _quantity(name: str, value: float) -> dict[str, Any]:
    if name in FIELD_LOINC:
        unit = FIELD_LOINC[name][1]
        return {"value": value, "unit": unit, "system": UCUM, "code": unit}
    spec = FIELDS.get(name.split(".")[0])
    return {"value": value, "unit": (spec.unit if spec is not None else None) or "1"}


def _code(name: str) -> dict[str, Any]:
    codings: list[dict[str, Any]] = [{"system": FIELD_SYSTEM, "code": name}]
    if name in FIELD_LOINC:
        codings.append({"system": LOINC, "code": FIELD_LOINC[name][0]})
    return {"coding": codings, "text": name}


def _typed_value(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueQuantity": _quantity(name, value)}
    return {"valueString": str(value)}


def export_bundle(
    registry: Registry, *, patient_refs: Sequence[str] | None = None
) -> dict[str, Any]:
    """The registry (or some patients) as a FHIR Bundle of type collection, validated."""
    entries: list[dict[str, Any]] = []
    keys = source_keys(registry)
    product_ids: dict[str, str] = {}
    for n, product in enumerate(product_records(registry), start=1):
        product_ids[product["name"]] = f"product-{n}"
        extensions: list[dict[str, Any]] = [
            {"url": EXT_TARGET, "valueString": t} for t in product["targets"]
        ]
        if product["costimulatory_domain"]:
            extensions.append(
                {"url": EXT_COSTIMULATORY, "valueString": product["costimulatory_domain"]}
            )
        extensions.append({"url": EXT_ORIGIN, "valueString": product["origin"]})
        entries.append(
            {
                "resource": {
                    "resourceType": "Medication",
                    "id": f"product-{n}",
                    "identifier": [{"system": PRODUCT_SYSTEM, "value": product["name"]}],
                    "code": {"text": product["name"]},
                    "extension": extensions,
                }
            }
        )
    patients = [
        p for p in registry.list_patients() if patient_refs is None or p.patient_ref in patient_refs
    ]
    for n, patient in enumerate(patients, start=1):
        pid = _fhir_id(patient.patient_ref, "patient", n)
        subject = {"reference": f"Patient/{pid}"}
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": PATIENT_REF_SYSTEM, "value": patient.patient_ref}],
        }
        if patient.sex:
            resource["gender"] = patient.sex
        if patient.date_of_birth:
            resource["birthDate"] = patient.date_of_birth.isoformat()
        if patient.centre:
            resource["managingOrganization"] = {"display": patient.centre}
        if patient.age_years_at_registration is not None:
            resource["extension"] = [
                {"url": EXT_AGE, "valueDecimal": patient.age_years_at_registration}
            ]
        entries.append({"fullUrl": f"urn:cartwatch:patient:{pid}", "resource": resource})
        for name, value in (("weight_kg", patient.weight_kg), ("height_cm", patient.height_cm)):
            if value is not None:
                entries.append(_observation_entry(subject, name, value, None, "vital-signs"))
        for assessment in registry.assessments(patient.patient_ref):
            data = dict(assessment.data)
            data.pop("assessed_at", None)
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "status": "final",
                "code": {
                    "coding": [{"system": FIELD_SYSTEM, "code": ASSESSMENT_CODE}],
                    "text": "cartwatch bedside assessment",
                },
                "subject": subject,
                "effectiveDateTime": _iso(assessment.assessed_at),
                "component": [
                    {"code": _code(name), **_typed_value(name, value)}
                    for name, value in flatten_values(data).items()
                ],
            }
            key = keys.get(assessment.id, "")
            if key:
                obs["identifier"] = [{"system": SOURCE_KEY_SYSTEM, "value": key}]
            entries.append({"resource": obs})
        for taken_at, name, value in registry.labs(patient.patient_ref):
            entries.append(_observation_entry(subject, name, value, taken_at, "laboratory"))
        for infusion in registry.infusions(patient.patient_ref):
            procedure: dict[str, Any] = {
                "resourceType": "Procedure",
                "status": "completed",
                "identifier": [{"system": INFUSION_REF_SYSTEM, "value": infusion.infusion_ref}],
                "code": {
                    "coding": [{"system": PROCEDURE_SYSTEM, "code": INFUSION_CODE}],
                    "text": "CAR-T cell infusion",
                },
                "subject": subject,
                "performedDateTime": _iso(infusion.infused_at),
            }
            if infusion.product is not None:
                procedure["usedReference"] = [
                    {
                        "reference": f"Medication/{product_ids[infusion.product]}",
                        "display": infusion.product,
                    }
                ]
            if infusion.cell_dose is not None:
                quantity: dict[str, Any] = {"value": infusion.cell_dose}
                if infusion.cell_dose_unit:
                    quantity["unit"] = infusion.cell_dose_unit
                procedure["extension"] = [{"url": EXT_CELL_DOSE, "valueQuantity": quantity}]
            entries.append({"resource": procedure})
        for given in registry.administrations(patient.patient_ref):
            med: dict[str, Any] = {
                "resourceType": "MedicationAdministration",
                "status": "completed",
                "medicationCodeableConcept": {
                    "coding": [{"system": DRUG_SYSTEM, "code": given.drug}],
                    "text": given.drug,
                },
                "subject": subject,
                "effectiveDateTime": _iso(given.given_at),
            }
            dosage: dict[str, Any] = {}
            if given.dose_mg is not None:
                dosage["dose"] = {
                    "value": given.dose_mg,
                    "unit": "mg",
                    "system": UCUM,
                    "code": "mg",
                }
            if given.route:
                dosage["route"] = {"text": given.route}
            if dosage:
                med["dosage"] = dosage
            entries.append({"resource": med})
    document = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate_bundle(document)
    return document


def _observation_entry(
    subject: Mapping[str, Any], name: str, value: float, when: dt.datetime | None, category: str
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": _code(name),
        "subject": dict(subject),
        "valueQuantity": _quantity(name, value),
    }
    if when is not None:
        resource["effectiveDateTime"] = _iso(when)
    return {"resource": resource}


def episodes_bundle(episodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Toxicity episodes as a Bundle of R4 AdverseEvent (NCIt event and grade, ICD-10-CM)."""
    entries = []
    for episode in episodes:
        scale = str(episode["scale"])
        syndrome = "icans" if "icans" in scale else "crs"
        code, display = SCALE_EVENT[syndrome]
        grade = int(episode["max_grade"])
        coding: list[dict[str, Any]] = [{"system": NCIT, "code": code, "display": display}]
        if 1 <= grade <= 5:
            coding.append({"system": ICD10CM, "code": f"{ICD10_BY_GRADE[syndrome]}{grade}"})
        extensions: list[dict[str, Any]] = [
            {"url": EXT_SCALE, "valueString": scale},
            {"url": EXT_MAX_GRADE, "valueInteger": grade},
        ]
        if grade in NCIT_GRADE:
            grade_code, grade_display = NCIT_GRADE[grade]
            extensions[1]["valueInteger"] = grade
            extensions.append(
                {
                    "url": EXT_MAX_GRADE + ":ncit",
                    "valueCodeableConcept": {
                        "coding": [{"system": NCIT, "code": grade_code, "display": grade_display}]
                    },
                }
            )
        if episode.get("max_grade_at"):
            extensions.append(
                {"url": EXT_MAX_GRADE_AT, "valueDateTime": _when(episode["max_grade_at"])}
            )
        if episode.get("resolved_at"):
            extensions.append(
                {"url": EXT_RESOLVED_AT, "valueDateTime": _when(episode["resolved_at"])}
            )
        for drug in treatment_names(episode.get("treatments")):
            extensions.append({"url": EXT_TREATMENTS, "valueString": drug})
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "actuality": "actual",
            "event": {"coding": coding, "text": display},
            "subject": _subject(str(episode["patient_id"])),
            "date": _when(episode["onset_at"]),
            "outcome": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                        "code": "resolved" if episode.get("resolved_at") else "ongoing",
                    }
                ]
            },
            "extension": extensions,
        }
        if grade in R4_SEVERITY:
            resource["severity"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                        "code": R4_SEVERITY[grade],
                    }
                ]
            }
        entries.append({"resource": resource})
    document = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate_bundle(document)
    return document


def _subject(patient_ref: str) -> dict[str, Any]:
    subject: dict[str, Any] = {"identifier": {"system": PATIENT_REF_SYSTEM, "value": patient_ref}}
    if _FHIR_ID.match(patient_ref):
        subject["reference"] = f"Patient/{patient_ref}"
    return subject


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return _iso(value)
    return _iso(parse_timestamp("time", str(value)))


def treatment_names(treatments: Any) -> list[str]:
    """Drug names of an episode's ``treatments`` (names, or dicts with ``drug``)."""
    if not treatments:
        return []
    if isinstance(treatments, str):
        return [t for t in treatments.split(";") if t]
    names = []
    for item in treatments:
        if isinstance(item, Mapping):
            names.append(str(item.get("drug") or item.get("name") or ""))
        else:
            names.append(str(item))
    return [n for n in names if n]


__all__ = [
    "LOINC_FIELDS",
    "episodes_bundle",
    "export_bundle",
    "import_bundle",
    "treatment_names",
    "validate_bundle",
]
