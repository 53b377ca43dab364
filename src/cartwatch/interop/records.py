"""Validated records of each importable kind, built from flat cells (CSV rows, FHIR resources).

A cell left blank means *not recorded*. Timestamps must be ISO 8601 with a zone (``Z`` or an
offset): a naive time is refused, never assumed to be local or UTC. Assessment columns are the
contract's names (reference/assessment.md); nested fields are dotted (``oxygen.device``,
``ice.orientation``, ``organ_toxicity_ctcae.ast_increased``); lists of text (``other_findings``,
``anticytokine_agents``) are ``;``-separated (``[]`` when recorded as empty); lists of objects
(``vasopressors``, ``anc_series``) are JSON, and so is a nested object recorded empty (``{}``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cartwatch.assessment import ALTERNATIVE_UNITS, FIELDS, ICE_ITEM_POINTS, parse_assessment
from cartwatch.errors import CartwatchError, InvalidValue, UnknownField, closest_name
from cartwatch.interop.report import RowError
from cartwatch.registry.repository import OUTCOME_KINDS

Kind = Literal[
    "patients", "products", "infusions", "assessments", "administrations", "labs", "outcomes"
]
KINDS: tuple[Kind, ...] = (
    "patients",
    "products",
    "infusions",
    "assessments",
    "administrations",
    "labs",
    "outcomes",
)

SEXES = ("female", "male")
ORIGINS = ("autologous", "allogeneic")
DOSE_MG_RANGE = (0.0, 100_000.0)  # the repository's plausible range for one dose
CELL_DOSE_RANGE = (0.0, 1e13)  # Interpretation: cells or cells/kg; any positive count below 10^13
NESTED_OBJECTS: dict[str, tuple[str, ...] | None] = {
    "oxygen": ("device", "flow_l_min", "fio2"),
    "ice": tuple(ICE_ITEM_POINTS),
    "organ_toxicity_ctcae": None,  # any CTCAE term
}
ASSESSMENT_KEYS = ("patient_ref", "assessed_at", "source_key")

COLUMNS: dict[Kind, tuple[str, ...]] = {
    "patients": (
        "patient_ref",
        "sex",
        "date_of_birth",
        "age_years_at_registration",
        "weight_kg",
        "height_cm",
        "centre",
    ),
    "products": ("name", "targets", "costimulatory_domain", "origin"),
    "infusions": (
        "patient_ref",
        "infusion_ref",
        "infused_at",
        "product",
        "cell_dose",
        "cell_dose_unit",
    ),
    "assessments": ASSESSMENT_KEYS,
    "administrations": ("patient_ref", "given_at", "drug", "dose_mg", "route"),
    "labs": ("patient_ref", "taken_at", "name", "value"),
    "outcomes": ("patient_ref", "kind", "on_date", "detail"),
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "patients": ("patient_ref",),
    "products": ("name", "targets"),
    "infusions": ("patient_ref", "infusion_ref", "infused_at"),
    "assessments": ("patient_ref", "assessed_at"),
    "administrations": ("patient_ref", "given_at", "drug"),
    "labs": ("patient_ref", "taken_at", "name", "value"),
    "outcomes": ("patient_ref", "kind", "on_date"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientRow:
    line: int
    patient_ref: str
    sex: str | None
    date_of_birth: dt.date | None
    age_years_at_registration: float | None
    weight_kg: float | None
    height_cm: float | None
    centre: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductRow:
    line: int
    name: str
    targets: tuple[str, ...]
    costimulatory_domain: str | None
    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionRow:
    line: int
    patient_ref: str
    infusion_ref: str
    infused_at: dt.datetime
    product: str | None
    cell_dose: float | None
    cell_dose_unit: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentRow:
    line: int
    patient_ref: str
    assessed_at: dt.datetime
    source_key: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdministrationRow:
    line: int
    patient_ref: str
    given_at: dt.datetime
    drug: str
    dose_mg: float | None
    route: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LabRow:
    line: int
    patient_ref: str
    taken_at: dt.datetime
    name: str
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeRow:
    line: int
    patient_ref: str
    kind: str
    on_date: dt.date
    detail: str | None


Row = (
    PatientRow | ProductRow | InfusionRow | AssessmentRow | AdministrationRow | LabRow | OutcomeRow
)
Cells = Mapping[str, str | None]


# --- headers -------------------------------------------------------------------------------------


def assessment_column_names() -> tuple[str, ...]:
    """Every column an assessment file may have (keys, contract fields, dotted nested fields)."""
    nested = [
        f"{parent}.{child}"
        for parent, children in NESTED_OBJECTS.items()
        if children is not None
        for child in children
    ]
    return (*ASSESSMENT_KEYS, *FIELDS, *ALTERNATIVE_UNITS, *nested)


def check_header(kind: Kind, header: list[str]) -> list[RowError]:
    """Faults of a header (line 1): unknown, repeated or missing columns. Any fault is fatal."""
    errors: list[RowError] = []
    seen: set[str] = set()
    allowed = assessment_column_names() if kind == "assessments" else COLUMNS[kind]
    for name in header:
        if name in seen:
            errors.append(
                RowError(line=1, field=name, value=name, reason=f"column `{name}` appears twice")
            )
        seen.add(name)
        fault: CartwatchError | None
        if kind == "assessments":
            fault = _assessment_column_fault(name, allowed)
        elif name not in allowed:
            fault = UnknownField(
                name, suggestion=closest_name(name, allowed), allowed=", ".join(allowed)
            )
        else:
            fault = None
        if fault is not None:
            errors.append(RowError.from_error(1, fault))
    for name in REQUIRED[kind]:
        if name not in seen:
            errors.append(
                RowError(
                    line=1,
                    field=name,
                    value=None,
                    reason=f"required column `{name}` is missing",
                    expected=", ".join(REQUIRED[kind]),
                )
            )
    return errors


def _assessment_column_fault(name: str, allowed: tuple[str, ...]) -> CartwatchError | None:
    if name in ASSESSMENT_KEYS or name in FIELDS or name in ALTERNATIVE_UNITS:
        return None
    parent, dot, child = name.partition(".")
    if dot and parent in NESTED_OBJECTS:
        children = NESTED_OBJECTS[parent]
        if children is None:
            return None if child.replace("_", "").isalnum() else _unknown(name, allowed)
        if child in children:
            return None
    return _unknown(name, allowed)


def _unknown(name: str, allowed: tuple[str, ...]) -> UnknownField:
    return UnknownField(
        name,
        suggestion=closest_name(name, allowed),
        allowed="the fields of reference/assessment.md (nested as oxygen.device, ice.naming …)",
    )


# --- cells ---------------------------------------------------------------------------------------


def _blank(raw: str | None) -> bool:
    return raw is None or raw.strip() == ""


def _text(cells: Cells, name: str) -> str | None:
    raw = cells.get(name)
    return None if raw is None or raw.strip() == "" else raw.strip()


def _required(cells: Cells, name: str, expected: str) -> str:
    value = _text(cells, name)
    if value is None:
        raise InvalidValue(f"`{name}` is required", field=name, value=None, expected=expected)
    return value


def parse_ref(name: str, raw: str) -> str:
    """A pseudonymous id: 1–64 characters without spaces."""
    if not raw or len(raw) > 64 or any(c.isspace() for c in raw):
        raise InvalidValue(
            f"`{name}={raw!r}` must be 1–64 characters without spaces",
            field=name,
            value=raw,
            expected="a pseudonymous id such as P-0001",
        )
    return raw


def parse_timestamp(name: str, raw: str) -> dt.datetime:
    """An ISO 8601 date-time with a zone, returned in UTC; a naive time is an error."""
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidValue(
            f"`{name}={raw!r}` is not an ISO 8601 date-time; expected e.g. 2026-05-01T08:00:00Z",
            field=name,
            value=raw,
            expected="ISO 8601 date-time with Z or an offset",
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(
            f"`{name}={raw}` has no time zone; expected Z or an offset such as +01:00",
            field=name,
            value=raw,
            expected="ISO 8601 date-time with Z or an offset",
        )
    return value.astimezone(dt.UTC)


def parse_date(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidValue(
            f"`{name}={raw!r}` is not a date; expected YYYY-MM-DD",
            field=name,
            value=raw,
            expected="YYYY-MM-DD",
        ) from None


def parse_number(name: str, raw: str, low: float, high: float, unit: str) -> float:
    expected = f"{low:g}–{high:g} {unit}".rstrip()
    try:
        value = float(raw.strip())
    except ValueError:
        raise InvalidValue(
            f"`{name}={raw!r}` is not a number; expected {expected}",
            field=name,
            value=raw,
            expected=expected,
        ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidValue(
            f"`{name}={raw}` is implausible; expected {expected}",
            field=name,
            value=raw,
            expected=expected,
        )
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        near = closest_name(value, allowed)
        hint = f" (did you mean {near}?)" if near else ""
        raise InvalidValue(
            f"`{name}={raw!r}` is not one of: {', '.join(allowed)}{hint}",
            field=name,
            value=raw,
            expected=", ".join(allowed),
        )
    return value


def _contract_number(contract_name: str, name: str, raw: str) -> float:
    """A patient number validated by the contract's range (``weight_kg`` …) under our name."""
    try:
        parsed = parse_assessment({contract_name: raw}).to_dict()[contract_name]
    except CartwatchError as exc:
        exc.field = name
        raise
    return float(parsed)


# --- one row of each kind ------------------------------------------------------------------------


def _field_errors(
    line: int, cells: Cells, checks: dict[str, Any]
) -> tuple[dict[str, Any], list[RowError]]:
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for name, check in checks.items():
        try:
            values[name] = check()
        except CartwatchError as exc:
            errors.append(RowError.from_error(line, exc))
    return values, errors


def _opt(cells: Cells, name: str, parse: Any) -> Any:
    raw = _text(cells, name)
    return None if raw is None else parse(raw)


def parse_row(kind: Kind, line: int, cells: Cells) -> tuple[Row | None, list[RowError]]:
    """Validate one row of ``kind``; every fault of the row is reported, not only the first."""
    if kind == "assessments":
        return _assessment(line, cells)
    checks: dict[str, Any]
    if kind == "patients":
        checks = {
            "patient_ref": lambda: parse_ref(
                "patient_ref", _required(cells, "patient_ref", "a pseudonymous id")
            ),
            "sex": lambda: _opt(cells, "sex", lambda r: _choice("sex", r, SEXES)),
            "date_of_birth": lambda: _opt(
                cells, "date_of_birth", lambda r: parse_date("date_of_birth", r)
            ),
            "age_years_at_registration": lambda: _opt(
                cells,
                "age_years_at_registration",
                lambda r: _contract_number("age_years", "age_years_at_registration", r),
            ),
            "weight_kg": lambda: _opt(
                cells, "weight_kg", lambda r: _contract_number("weight_kg", "weight_kg", r)
            ),
            "height_cm": lambda: _opt(
                cells, "height_cm", lambda r: _contract_number("height_cm", "height_cm", r)
            ),
            "centre": lambda: _text(cells, "centre"),
        }
        values, errors = _field_errors(line, cells, checks)
        return (None if errors else PatientRow(line=line, **values)), errors
    if kind == "products":
        checks = {
            "name": lambda: _required(cells, "name", "the product's name"),
            "targets": lambda: _targets(_required(cells, "targets", "antigens, ;-separated")),
            "costimulatory_domain": lambda: _text(cells, "costimulatory_domain"),
            "origin": lambda: _choice("origin", _text(cells, "origin") or "autologous", ORIGINS),
        }
        values, errors = _field_errors(line, cells, checks)
        return (None if errors else ProductRow(line=line, **values)), errors
    checks = {
        "patient_ref": lambda: parse_ref(
            "patient_ref", _required(cells, "patient_ref", "a pseudonymous id")
        )
    }
    if kind == "infusions":
        checks |= {
            "infusion_ref": lambda: parse_ref(
                "infusion_ref", _required(cells, "infusion_ref", "an infusion id")
            ),
            "infused_at": lambda: parse_timestamp(
                "infused_at", _required(cells, "infused_at", "ISO 8601 date-time")
            ),
            "product": lambda: _text(cells, "product"),
            "cell_dose": lambda: _opt(
                cells, "cell_dose", lambda r: parse_number("cell_dose", r, *CELL_DOSE_RANGE, "")
            ),
            "cell_dose_unit": lambda: _text(cells, "cell_dose_unit"),
        }
        values, errors = _field_errors(line, cells, checks)
        return (None if errors else InfusionRow(line=line, **values)), errors
    if kind == "administrations":
        checks |= {
            "given_at": lambda: parse_timestamp(
                "given_at", _required(cells, "given_at", "ISO 8601 date-time")
            ),
            "drug": lambda: _required(cells, "drug", "a drug name").lower(),
            "dose_mg": lambda: _opt(
                cells, "dose_mg", lambda r: parse_number("dose_mg", r, *DOSE_MG_RANGE, "mg")
            ),
            "route": lambda: _text(cells, "route"),
        }
        values, errors = _field_errors(line, cells, checks)
        return (None if errors else AdministrationRow(line=line, **values)), errors
    if kind == "labs":
        checks |= {
            "taken_at": lambda: parse_timestamp(
                "taken_at", _required(cells, "taken_at", "ISO 8601 date-time")
            ),
            "lab": lambda: lab_value(
                _required(cells, "name", "a laboratory name of the contract"),
                _required(cells, "value", "a number"),
            ),
        }
        values, errors = _field_errors(line, cells, checks)
        if errors:
            return None, errors
        name, value = values.pop("lab")
        return LabRow(line=line, name=name, value=value, **values), []
    checks |= {
        "kind": lambda: _choice("kind", _required(cells, "kind", "an outcome"), OUTCOME_KINDS),
        "on_date": lambda: parse_date("on_date", _required(cells, "on_date", "YYYY-MM-DD")),
        "detail": lambda: _text(cells, "detail"),
    }
    values, errors = _field_errors(line, cells, checks)
    return (None if errors else OutcomeRow(line=line, **values)), errors


def _targets(raw: str) -> tuple[str, ...]:
    targets = tuple(t.strip() for t in raw.split(";") if t.strip())
    if not targets:
        raise InvalidValue(
            "`targets` is empty", field="targets", value=raw, expected="antigens, ;-separated"
        )
    return targets


def lab_value(name: str, raw: Any) -> tuple[str, float]:
    """A laboratory value under its contract name, alternative units converted (``crp_mg_l``)."""
    spec = FIELDS.get(name)
    if name not in ALTERNATIVE_UNITS and (spec is None or spec.kind not in ("number", "int")):
        numeric = [n for n, s in FIELDS.items() if s.kind in ("number", "int")]
        raise UnknownField(
            name,
            suggestion=closest_name(name, [*numeric, *ALTERNATIVE_UNITS]),
            allowed="the numeric fields of reference/assessment.md",
        )
    canonical = parse_assessment({name: raw}).to_dict()
    ((field_name, value),) = canonical.items()
    return field_name, float(value)


# --- assessments ---------------------------------------------------------------------------------


def unflatten(cells: Cells) -> dict[str, Any]:
    """Contract JSON from flat columns: dotted names nest, blanks are left out, lists split."""
    data: dict[str, Any] = {}
    for column, raw in cells.items():
        if column in ("patient_ref", "source_key") or _blank(raw):
            continue
        assert raw is not None
        value = raw.strip()
        parent, dot, child = column.partition(".")
        if dot:
            nested = data.setdefault(parent, {})
            if isinstance(nested, dict):
                nested[child] = value
            continue
        spec = FIELDS.get(column)
        if spec is not None and spec.kind == "str_list":
            if value.startswith("["):
                data[column] = _json_cell(column, value)
            else:
                data[column] = [v.strip() for v in value.split(";") if v.strip()]
        elif spec is not None and spec.kind in ("list", "object"):
            data[column] = _json_cell(column, value)
        else:
            data[column] = value
    return data


def _json_cell(column: str, value: str) -> Any:
    if column == "capd_items" and not value.startswith("["):
        return [v.strip() for v in value.split(";")]
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise InvalidValue(
            f"`{column}` must be JSON here, not {value!r}",
            field=column,
            value=value,
            expected='JSON, e.g. [{"agent": "norepinephrine", "dose": 0.1, "unit": "mcg/kg/min"}]',
        ) from None


def flatten(data: Mapping[str, Any]) -> dict[str, str]:
    """Flat text columns from canonical contract JSON (the inverse of :func:`unflatten`)."""
    return {name: cell_text(value) for name, value in flatten_values(data).items()}


def flatten_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flat columns with their JSON types kept (lists of text ``;``-joined, object lists JSON)."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            continue
        spec = FIELDS.get(name)
        if name in NESTED_OBJECTS and isinstance(value, Mapping):
            recorded = {child: inner for child, inner in value.items() if inner is not None}
            if not recorded:
                out[name] = "{}"  # recorded, but empty: distinct from a blank (not recorded)
            for child, inner in recorded.items():
                out[f"{name}.{child}"] = inner
        elif spec is not None and spec.kind == "str_list":
            items = [str(v) for v in value]
            plain = items and not any(";" in v or v != v.strip() for v in items)
            plain = plain and not items[0].startswith("[")
            out[name] = ";".join(items) if plain else json.dumps(items)
        elif spec is not None and spec.kind in ("list", "object"):
            out[name] = json.dumps(value, separators=(",", ":"))
        else:
            out[name] = value
    return out


def cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _assessment(line: int, cells: Cells) -> tuple[AssessmentRow | None, list[RowError]]:
    errors: list[RowError] = []
    keys: dict[str, Any] = {}
    for name, check in (
        (
            "patient_ref",
            lambda: parse_ref("patient_ref", _required(cells, "patient_ref", "a pseudonymous id")),
        ),
        (
            "assessed_at",
            lambda: parse_timestamp(
                "assessed_at", _required(cells, "assessed_at", "ISO 8601 date-time")
            ),
        ),
        ("source_key", lambda: _source_key(_text(cells, "source_key") or "")),
    ):
        try:
            keys[name] = check()
        except CartwatchError as exc:
            errors.append(RowError.from_error(line, exc))
    data: dict[str, Any] | None = None
    try:
        raw = unflatten(cells)
        raw.pop("assessed_at", None)
        data = parse_assessment(raw).to_dict()
    except CartwatchError as exc:
        errors.extend(_every_field_error(line, cells, exc))
    if errors or data is None:
        return None, errors
    return AssessmentRow(line=line, data=data, **keys), []


def _source_key(raw: str) -> str:
    if len(raw) > 64:
        raise InvalidValue(
            "`source_key` is longer than 64 characters",
            field="source_key",
            value=raw,
            expected="up to 64 characters",
        )
    return raw


def _every_field_error(line: int, cells: Cells, first: CartwatchError) -> list[RowError]:
    """Each faulty field of a row that failed as a whole (falls back to the first fault)."""
    groups: dict[str, dict[str, str | None]] = {}
    for column, raw in cells.items():
        if column in ASSESSMENT_KEYS:
            continue
        groups.setdefault(column.partition(".")[0], {})[column] = raw
    errors: list[RowError] = []
    for group in groups.values():
        try:
            parse_assessment(unflatten(group))
        except CartwatchError as exc:
            errors.append(RowError.from_error(line, exc))
    return errors or [RowError.from_error(line, first)]
