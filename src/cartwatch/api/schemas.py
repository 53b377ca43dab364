"""Request and response models of the REST API (Pydantic v2).

The assessment model is generated from :data:`cartwatch.assessment.FIELDS` (and the alternative
units) so the OpenAPI document describes every contract field with its unit and plausible range;
the assessment itself is still validated by :func:`cartwatch.assessment.parse_assessment`, whose
errors name the field, the value and the range.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from cartwatch.assessment import (
    ALTERNATIVE_UNITS,
    CAPD_ITEM_MAX,
    CAPD_ITEMS,
    FIELDS,
    FIO2_RANGE,
    ICE_ITEM_POINTS,
    OXYGEN_FLOW_RANGE,
    DoseRateUnit,
    FieldSpec,
    OxygenDevice,
    VasopressorAgent,
)

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
MAX_ID = 2**31 - 1


def _utc_time(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a time needs a zone: end it with Z or an offset such as +01:00")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"expected a year {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value.astimezone(dt.UTC)


def _plausible_date(value: dt.date) -> dt.date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"expected a year {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value


UtcTime = Annotated[dt.datetime, AfterValidator(_utc_time)]
PlausibleDate = Annotated[dt.date, AfterValidator(_plausible_date)]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
ShortText = Annotated[str, Field(max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(allow_inf_nan=True)


# --- the assessment, generated from the contract ------------------------------------------------


class OxygenIn(_In):
    """Oxygen support."""

    device: OxygenDevice | None = None
    flow_l_min: float | None = Field(None, ge=OXYGEN_FLOW_RANGE[0], le=OXYGEN_FLOW_RANGE[1])
    fio2: float | None = Field(None, ge=FIO2_RANGE[0], le=FIO2_RANGE[1])


IceIn = create_model(  # type: ignore[call-overload]
    "IceIn",
    __base__=_In,
    __doc__="ICE items (ASTCT 2019); an item left out was not assessed.",
    **{
        item: (int | None, Field(None, ge=0, le=points, description=f"0–{points} points"))
        for item, points in ICE_ITEM_POINTS.items()
    },
)


class VasopressorIn(_In):
    """One vasopressor infusion."""

    agent: VasopressorAgent
    dose: float | None = Field(None, ge=0, le=10_000)
    unit: DoseRateUnit | None = None
    duration_h: float | None = Field(None, ge=0, le=8760)


class AncIn(_In):
    """One dated ANC value (day relative to infusion); give anc_per_ul or anc_10e9_l."""

    day: float = Field(ge=-365, le=36500)
    anc_per_ul: float | None = Field(None, ge=0, le=200_000)
    anc_10e9_l: float | None = Field(None, ge=0, le=200)


_OBJECT_TYPES: dict[str, Any] = {
    "oxygen": OxygenIn,
    "ice": IceIn,
    "organ_toxicity_ctcae": dict[str, Annotated[int, Field(ge=0, le=4)]],
    "vasopressors": list[VasopressorIn],
    "capd_items": Annotated[
        list[Annotated[int, Field(ge=0, le=CAPD_ITEM_MAX)]],
        Field(min_length=CAPD_ITEMS, max_length=CAPD_ITEMS),
    ],
    "anc_after_day30": list[AncIn],
    "anc_series": list[AncIn],
}


def _describe(spec: FieldSpec) -> str:
    unit = f" ({spec.unit})" if spec.unit else ""
    bounds = f"; plausible {spec.low:g}–{spec.high:g}" if spec.low is not None else ""
    return f"{spec.meaning}{unit}{bounds}"


def _field_type(spec: FieldSpec) -> Any:
    if spec.kind == "number":
        return float
    if spec.kind == "int":
        return int
    if spec.kind == "bool":
        return bool
    if spec.kind == "enum":
        return spec.enum
    if spec.kind == "str":
        return str
    if spec.kind == "str_list":
        return list[str]
    if spec.kind == "date":
        return dt.date
    if spec.kind == "datetime":
        return dt.datetime
    return _OBJECT_TYPES[spec.name]


def _assessment_fields() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        ranged = spec.kind in ("number", "int") and spec.low is not None
        out[name] = (
            _field_type(spec) | None,
            Field(
                None,
                description=_describe(spec),
                ge=spec.low if ranged else None,
                le=spec.high if ranged else None,
            ),
        )
    for name, (target, _convert, low, high, unit) in ALTERNATIVE_UNITS.items():
        out[name] = (
            float | None,
            Field(
                None,
                ge=low,
                le=high,
                description=f"{target} given in {unit} (converted once); plausible "
                f"{low:g}–{high:g}",
            ),
        )
    return out


AssessmentIn: type[BaseModel] = create_model(
    "AssessmentIn",
    __base__=_In,
    __doc__="One bedside assessment (reference/assessment.md): absent or null = not recorded.",
    **_assessment_fields(),
)


# --- patients and their record --------------------------------------------------------------


class PatientCreate(_In):
    """A patient registered under a pseudonymous reference (no names, no hospital numbers)."""

    patient_ref: Ref
    sex: Literal["female", "male"] | None = None
    date_of_birth: PlausibleDate | None = None
    age_years_at_registration: float | None = Field(None, ge=0, le=120)
    weight_kg: float | None = Field(None, ge=0.5, le=350)
    height_cm: float | None = Field(None, ge=20, le=250)
    centre: ShortText | None = None


class PatientPatch(_In):
    """Changes to a patient, made against ``version`` (a stale version answers 409)."""

    version: int = Field(ge=1, le=MAX_ID)
    sex: Literal["female", "male"] | None = None
    date_of_birth: PlausibleDate | None = None
    age_years_at_registration: float | None = Field(None, ge=0, le=120)
    weight_kg: float | None = Field(None, ge=0.5, le=350)
    height_cm: float | None = Field(None, ge=20, le=250)
    centre: ShortText | None = None


class PatientOut(_Out):
    patient_ref: str
    id: int
    version: int
    sex: str | None
    date_of_birth: dt.date | None
    age_years_at_registration: float | None
    weight_kg: float | None
    height_cm: float | None
    centre: str | None
    deleted: bool


class ProductCreate(_In):
    """A CAR-T product."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    targets: Annotated[list[ShortText], Field(max_length=16)] = []
    costimulatory_domain: ShortText | None = None
    origin: Literal["autologous", "allogeneic"] = "autologous"


class ProductOut(_Out):
    id: int
    name: str


class InfusionCreate(_In):
    """One CAR-T infusion (day 0)."""

    infusion_ref: Ref
    infused_at: UtcTime
    product: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    cell_dose: float | None = Field(None, ge=0, le=1e15)
    cell_dose_unit: Annotated[str, Field(max_length=32)] | None = None


class InfusionOut(_Out):
    infusion_ref: str
    id: int
    patient_ref: str
    infused_at: dt.datetime
    product: str | None
    cell_dose: float | None
    cell_dose_unit: str | None


class AssessmentCreateRaw(_In):
    """What the assessment POST validates before ``parse_assessment`` reads ``data``."""

    assessed_at: UtcTime
    data: dict[str, Any]
    source_key: ShortText = ""


class AssessmentCreate(_In):
    """One assessment to grade and store."""

    assessed_at: UtcTime = Field(description="when the assessment was made (with a zone)")
    data: AssessmentIn
    source_key: ShortText = Field(
        "", description="distinguishes two assessments at the same time (e.g. an import key)"
    )


class AssessmentPatchRaw(_In):
    """What the assessment PATCH validates before ``parse_assessment`` reads ``data``."""

    version: int = Field(ge=1, le=MAX_ID)
    data: dict[str, Any]


class AssessmentPatch(_In):
    """A corrected assessment, made against ``version`` (a stale version answers 409).

    ``data`` replaces the charted findings; that assessment and every later one of the patient
    are regraded and the episodes re-derived.
    """

    version: int = Field(ge=1, le=MAX_ID, description="the version the correction was made against")
    data: AssessmentIn


class AssessmentOut(_Out):
    id: int
    patient_ref: str
    assessed_at: dt.datetime
    version: int
    data: dict[str, Any]
    recorded_by: str
    grades: dict[str, dict[str, Any]]


class AdministrationCreate(_In):
    """A drug given (tocilizumab, dexamethasone, anakinra …)."""

    given_at: UtcTime
    drug: Annotated[str, Field(min_length=1, max_length=64)]
    dose_mg: float | None = Field(None, ge=0, le=100_000)
    route: Annotated[str, Field(max_length=16)] | None = None


class AdministrationOut(_Out):
    id: int
    patient_ref: str
    given_at: dt.datetime
    drug: str
    dose_mg: float | None
    route: str | None


class LabCreate(_In):
    """A laboratory value under its contract name (an alternative unit is converted)."""

    taken_at: UtcTime
    name: Annotated[str, Field(min_length=1, max_length=64)]
    value: float


class LabOut(_Out):
    taken_at: dt.datetime
    name: str
    value: float


class EpisodesOut(_Out):
    source: Literal["derived", "stored"]
    episodes: dict[str, list[dict[str, Any]]]


class RecommendationOut(_Out):
    as_of: dt.datetime
    assessment_id: int | None
    assessed_at: dt.datetime | None
    patient_inputs: dict[str, Any]
    recommendation: dict[str, Any]


class ScoresOut(_Out):
    as_of: dt.datetime
    inputs: dict[str, Any]
    scores: dict[str, dict[str, Any]]


class AlertsOut(_Out):
    as_of: dt.datetime
    infusion_ref: str | None
    alerts: list[dict[str, Any]]
    notes: list[str]


class AuditOut(_Out):
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


# --- users and login --------------------------------------------------------------------------


class LoginIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=256)]
    password: Annotated[str, Field(min_length=1, max_length=4096)]


class UserOut(_Out):
    id: int
    name: str
    role: Literal["viewer", "nurse", "physician", "admin"]
    created_at: dt.datetime
    disabled: bool


class MeOut(_Out):
    user: UserOut
    auth: Literal["token", "session"]
    csrf_token: str | None


class UserCreate(_In):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["viewer", "nurse", "physician", "admin"]
    password: Annotated[str, Field(min_length=8, max_length=1024)] | None = None


class UserPatch(_In):
    role: Literal["viewer", "nurse", "physician", "admin"] | None = None
    password: Annotated[str, Field(min_length=8, max_length=1024)] | None = None
    disabled: bool | None = None


class TokenOut(_Out):
    token: str
