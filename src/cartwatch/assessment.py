"""The bedside assessment: the typed form of ``reference/assessment.md`` and its parser.

Everything that enters cartwatch (a JSON body, a CLI option, a CSV row) becomes an
:class:`Assessment` through :func:`parse_assessment`. Here, and only here:

* unknown field names are rejected, naming the closest valid field;
* values outside the plausible (not the normal) range are rejected with field, value and range;
* alternative units (``temperature_f``, ``crp_mg_l`` …) are converted once to the canonical unit,
  and giving both forms with different values is an error;
* absent or ``null`` means *not recorded* and stays ``None`` — never zero, false or "none".

The field table :data:`FIELDS` is the single description of the contract: the parser, the CLI's
options and the API's schema are all generated from it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, Literal, TypeVar, cast

from cartwatch import units
from cartwatch.errors import (
    ConflictingValues,
    ImplausibleValue,
    InvalidValue,
    UnknownField,
    closest_name,
)

# --------------------------------------------------------------------------------------------
# Enumerations (values are the contract's strings)
# --------------------------------------------------------------------------------------------


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class Hypotension(StrEnum):
    """Hypotension by treatment; *single*/*multiple* count non-vasopressin agents."""

    NONE = "none"
    FLUID_RESPONSIVE = "fluid_responsive"
    VASOPRESSOR_SINGLE = "vasopressor_single"
    VASOPRESSOR_MULTIPLE = "vasopressor_multiple"
    VASOPRESSIN_ONLY = "vasopressin_only"
    VASOPRESSOR_COUNT_UNKNOWN = "vasopressor_count_unknown"


class OxygenDevice(StrEnum):
    NONE = "none"
    BLOW_BY = "blow_by"
    LOW_FLOW_NASAL_CANNULA = "low_flow_nasal_cannula"
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula"
    FACEMASK = "facemask"
    NON_REBREATHER = "non_rebreather"
    VENTURI = "venturi"
    CPAP = "cpap"
    BIPAP = "bipap"
    MECHANICAL_VENTILATION = "mechanical_ventilation"


class VasopressorAgent(StrEnum):
    NOREPINEPHRINE = "norepinephrine"
    EPINEPHRINE = "epinephrine"
    DOPAMINE = "dopamine"
    PHENYLEPHRINE = "phenylephrine"
    VASOPRESSIN = "vasopressin"


class DoseRateUnit(StrEnum):
    MCG_MIN = "mcg/min"
    MCG_KG_MIN = "mcg/kg/min"
    U_MIN = "U/min"


class Consciousness(StrEnum):
    ALERT = "alert"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_TO_TACTILE = "awakens_to_tactile"
    UNAROUSABLE_OR_VIGOROUS_STIMULI = "unarousable_or_vigorous_stimuli"


class Seizure(StrEnum):
    NONE = "none"
    FOCAL_OR_GENERALIZED_RESOLVED_RAPIDLY = "focal_or_generalized_resolved_rapidly"
    NONCONVULSIVE_EEG_RESOLVED_WITH_INTERVENTION = "nonconvulsive_eeg_resolved_with_intervention"
    PROLONGED_GT_5MIN = "prolonged_gt_5min"
    REPETITIVE_WITHOUT_RETURN_TO_BASELINE = "repetitive_without_return_to_baseline"
    PARTIAL_RESPONDING_TO_BENZODIAZEPINE = "partial_responding_to_benzodiazepine"
    GENERALIZED = "generalized"


class Motor(StrEnum):
    NONE = "none"
    TREMOR = "tremor"
    MYOCLONUS = "myoclonus"
    MILD_WEAKNESS = "mild_weakness"
    NEW_MOTOR_WEAKNESS = "new_motor_weakness"
    HEMIPARESIS = "hemiparesis"
    PARAPARESIS = "paraparesis"


class IcpEdema(StrEnum):
    NONE = "none"
    FOCAL_EDEMA = "focal_edema"
    DIFFUSE_EDEMA = "diffuse_edema"
    POSTURING = "posturing"
    CN6_PALSY = "cn6_palsy"
    PAPILLEDEMA_STAGE_1_2 = "papilledema_stage_1_2"
    PAPILLEDEMA_STAGE_3_5 = "papilledema_stage_3_5"
    CUSHING_TRIAD = "cushing_triad"
    INTRACRANIAL_HEMORRHAGE = "intracranial_hemorrhage"


class DeathCause(StrEnum):
    CRS = "CRS"
    ICANS = "ICANS"
    IEC_HS = "IEC-HS"
    OTHER = "other"


class IechsIntervention(StrEnum):
    """The IEC-HS-directed intervention the clinician judged required (Hines 2023 grade anchors)."""

    NONE = "none"
    OBSERVATION_OR_EVALUATION_ONLY = "observation_or_evaluation_only"
    DIRECTED_THERAPY = "directed_therapy"
    TRANSFUSION_FOR_HYPOFIBRINOGENEMIA = "transfusion_for_hypofibrinogenemia"
    CRYOPRECIPITATE_OR_FIBRINOGEN_CONCENTRATE = "cryoprecipitate_or_fibrinogen_concentrate"
    HOSPITALIZATION_OR_ICU_FOR_ORGAN_TOXICITY = "hospitalization_or_icu_for_organ_toxicity"
    LIFE_THREATENING_URGENT_INTERVENTION = "life_threatening_urgent_intervention"


# --------------------------------------------------------------------------------------------
# Nested objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Oxygen:
    """Oxygen support: device, flow (L/min) and inspired fraction (0.21–1.0)."""

    device: OxygenDevice | None = None
    flow_l_min: float | None = None
    fio2: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ice:
    """ICE items (ASTCT 2019); an item left ``None`` was not assessed."""

    orientation: int | None = None
    naming: int | None = None
    commands: int | None = None
    writing: int | None = None
    attention: int | None = None


ICE_ITEM_POINTS: dict[str, int] = {  # [LEE2019] ICE score table
    "orientation": 4,
    "naming": 3,
    "commands": 1,
    "writing": 1,
    "attention": 1,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Vasopressor:
    """One vasopressor infusion: agent, dose rate with its unit, and hours given so far."""

    agent: VasopressorAgent
    dose: float | None = None
    unit: DoseRateUnit | None = None
    duration_h: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AncValue:
    """One dated absolute neutrophil count (day relative to infusion)."""

    day: float
    anc_per_ul: float


# --------------------------------------------------------------------------------------------
# The assessment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """One bedside assessment; every field ``None`` means not recorded."""

    # patient context
    age_years: float | None = None
    date_of_birth: dt.date | None = None
    assessed_at: dt.datetime | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    sex: Sex | None = None
    developmental_delay: bool | None = None
    day_post_infusion: float | None = None
    hours_post_infusion_of_measurements: float | None = None
    timepoint: str | None = None
    window: str | None = None
    note: str | None = None
    # CRS findings
    temperature_c: float | None = None
    fever_attributable_to_other_cause: bool | None = None
    crs_previously_established: bool | None = None
    antipyretic_or_anticytokine_given: bool | None = None
    anticytokine_agents: tuple[str, ...] | None = None
    hypotension: Hypotension | None = None
    vasopressin: bool | None = None
    vasopressors: tuple[Vasopressor, ...] | None = None
    hypotension_refractory_to_high_dose_vasopressors: bool | None = None
    sbp_mmhg: float | None = None
    oxygen: Oxygen | None = None
    organ_toxicity_ctcae: Mapping[str, int] | None = None
    clinician_diagnosis_crs: bool | None = None
    hospitalized_for_crs: bool | None = None
    hospitalized_for_crs_organ_dysfunction: bool | None = None
    coagulopathy_requiring_blood_products: bool | None = None
    crs_life_threatening: bool | None = None
    death_due_to: DeathCause | None = None
    # neurological findings
    ice: Ice | None = None
    ice_total: int | None = None
    ice_unable_unarousable: bool | None = None
    global_aphasia: bool | None = None
    consciousness: Consciousness | None = None
    consciousness_attributable_to_other_cause: bool | None = None
    sedation: str | None = None
    seizure: Seizure | None = None
    motor: Motor | None = None
    icp_edema: IcpEdema | None = None
    csf_opening_pressure_mmhg: float | None = None
    other_findings: tuple[str, ...] | None = None
    capd_score: int | None = None
    capd_items: tuple[int, ...] | None = None
    capd_unable: bool | None = None
    cartox10_score: int | None = None
    cartox10_unable_obtunded: bool | None = None
    # laboratory values
    ferritin_ng_ml: float | None = None
    ferritin_at_infusion_ng_ml: float | None = None
    crp_mg_dl: float | None = None
    il6_pg_ml: float | None = None
    mcp1_pg_ml: float | None = None
    ifng_pg_ml: float | None = None
    ldh_u_l: float | None = None
    creatinine_mg_dl: float | None = None
    platelets_per_ul: float | None = None
    anc_per_ul: float | None = None
    hemoglobin_g_dl: float | None = None
    fibrinogen_mg_dl: float | None = None
    triglycerides_mg_dl: float | None = None
    alt_x_uln: float | None = None
    ast_x_uln: float | None = None
    bilirubin_mg_dl: float | None = None
    anc_lln_per_ul: float | None = None
    platelet_lln_per_ul: float | None = None
    hemoglobin_lln_g_dl: float | None = None
    ferritin_uln_ng_ml: float | None = None
    car_transgene_copies_per_ug_dna: float | None = None
    car_t_cells_per_ul: float | None = None
    transfusion_indicated: bool | None = None
    anemia_life_threatening: bool | None = None
    # time-windowed inputs of prediction models
    tmax_c_0_36h: float | None = None
    il6_pg_ml_0_36h: float | None = None
    mcp1_pg_ml_0_36h: float | None = None
    # IEC-HS and HLH/MAS
    iechs_intervention: IechsIntervention | None = None
    crs_resolved_day: float | None = None
    hemophagocytosis: bool | None = None
    # haematotoxicity (ICAHT)
    longest_days_anc_le_500: float | None = None
    longest_days_anc_le_100: float | None = None
    anc_after_day30: tuple[AncValue, ...] | None = None
    anc_series: tuple[AncValue, ...] | None = None
    last_followup_day: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The recorded fields as contract JSON (absent fields left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = _to_json(value)
        return out

    def with_(self, **changes: Any) -> Assessment:
        """A copy with ``changes`` applied (values already canonical)."""
        return replace(self, **changes)


def _to_json(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, Oxygen | Ice | Vasopressor | AncValue):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    return value


# --------------------------------------------------------------------------------------------
# The field table: name → kind, unit, plausible range, meaning
# --------------------------------------------------------------------------------------------

Kind = Literal[
    "number", "int", "bool", "enum", "str", "str_list", "date", "datetime", "object", "list"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    """How one contract field is read: its kind, unit, plausible range and meaning."""

    name: str
    kind: Kind
    meaning: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    enum: type[StrEnum] | None = None
    group: str = "other"


def _num(name: str, unit: str, low: float, high: float, meaning: str, group: str) -> FieldSpec:
    return FieldSpec(
        name=name, kind="number", unit=unit, low=low, high=high, meaning=meaning, group=group
    )


def _int(name: str, low: int, high: int, meaning: str, group: str, unit: str = "") -> FieldSpec:
    return FieldSpec(
        name=name, kind="int", unit=unit or None, low=low, high=high, meaning=meaning, group=group
    )


def _bool(name: str, meaning: str, group: str) -> FieldSpec:
    return FieldSpec(name=name, kind="bool", meaning=meaning, group=group)


def _enum(name: str, enum: type[StrEnum], meaning: str, group: str) -> FieldSpec:
    return FieldSpec(name=name, kind="enum", enum=enum, meaning=meaning, group=group)


def _str(name: str, meaning: str, group: str) -> FieldSpec:
    return FieldSpec(name=name, kind="str", meaning=meaning, group=group)


_LAB = "laboratory"
_CRS = "crs"
_NEURO = "neuro"
_PT = "patient"

FIELDS: dict[str, FieldSpec] = {
    s.name: s
    for s in (
        # patient context
        _num("age_years", "years", 0, 120, "exact age at assessment", _PT),
        FieldSpec(
            name="date_of_birth", kind="date", meaning="date of birth (with assessed_at)", group=_PT
        ),
        FieldSpec(
            name="assessed_at", kind="datetime", meaning="when the assessment was made", group=_PT
        ),
        _num("weight_kg", "kg", 0.5, 350, "actual body weight", _PT),
        _num("height_cm", "cm", 20, 250, "height", _PT),
        _enum("sex", Sex, "sex, for creatinine clearance", _PT),
        _bool("developmental_delay", "baseline developmental delay: CAPD instead of ICE", _PT),
        _num("day_post_infusion", "days", -365, 36500, "day relative to CAR-T infusion", _PT),
        _num(
            "hours_post_infusion_of_measurements",
            "h",
            -8760,
            876000,
            "hours after infusion at which the measurements were taken",
            _PT,
        ),
        _str("timepoint", "named time point (e.g. pre-lymphodepletion)", _PT),
        _str("window", "free-text description of the observation window", _PT),
        _str("note", "free-text note", _PT),
        # CRS
        _num("temperature_c", "°C", 25, 45, "highest temperature since the last assessment", _CRS),
        _bool(
            "fever_attributable_to_other_cause",
            "clinician judges the fever due to another cause",
            _CRS,
        ),
        _bool("crs_previously_established", "CRS was diagnosed before this assessment", _CRS),
        _bool(
            "antipyretic_or_anticytokine_given",
            "antipyretic or anti-cytokine therapy given since CRS onset",
            _CRS,
        ),
        FieldSpec(name="anticytokine_agents", kind="str_list", meaning="which agents", group=_CRS),
        _enum("hypotension", Hypotension, "hypotension by treatment", _CRS),
        _bool("vasopressin", "vasopressin given in addition", _CRS),
        FieldSpec(
            name="vasopressors",
            kind="list",
            meaning="each {agent, dose, unit, duration_h}",
            group=_CRS,
        ),
        _bool(
            "hypotension_refractory_to_high_dose_vasopressors",
            "hypotension refractory to high-dose vasopressors (MSKCC grade 4)",
            _CRS,
        ),
        _num("sbp_mmhg", "mmHg", 20, 300, "systolic blood pressure", _CRS),
        FieldSpec(name="oxygen", kind="object", meaning="{device, flow_l_min, fio2}", group=_CRS),
        FieldSpec(
            name="organ_toxicity_ctcae",
            kind="object",
            meaning="CTCAE term → grade 0–4",
            group=_CRS,
        ),
        _bool("clinician_diagnosis_crs", "CRS diagnosed clinically", _CRS),
        _bool("hospitalized_for_crs", "hospitalised for CRS-related symptoms (Penn)", _CRS),
        _bool(
            "hospitalized_for_crs_organ_dysfunction",
            "hospitalised for CRS-related organ dysfunction (Penn)",
            _CRS,
        ),
        _bool(
            "coagulopathy_requiring_blood_products",
            "coagulopathy requiring FFP, cryoprecipitate or fibrinogen concentrate (Penn)",
            _CRS,
        ),
        _bool(
            "crs_life_threatening",
            "life-threatening consequences, urgent intervention indicated",
            _CRS,
        ),
        _enum("death_due_to", DeathCause, "the syndrome that caused death", _CRS),
        # neuro
        FieldSpec(
            name="ice",
            kind="object",
            meaning="{orientation 0–4, naming 0–3, commands 0–1, writing 0–1, attention 0–1}",
            group=_NEURO,
        ),
        _int("ice_total", 0, 10, "ICE total 0–10 (instead of items)", _NEURO, "points"),
        _bool("ice_unable_unarousable", "ICE 0 because the patient cannot be roused", _NEURO),
        _bool("global_aphasia", "awake but globally aphasic", _NEURO),
        _enum("consciousness", Consciousness, "level of consciousness", _NEURO),
        _bool(
            "consciousness_attributable_to_other_cause",
            "depressed consciousness due to another cause (e.g. sedation)",
            _NEURO,
        ),
        _str("sedation", "the sedating agent, when any", _NEURO),
        _enum("seizure", Seizure, "seizure", _NEURO),
        _enum("motor", Motor, "motor findings", _NEURO),
        _enum("icp_edema", IcpEdema, "raised ICP / cerebral oedema", _NEURO),
        _num(
            "csf_opening_pressure_mmhg",
            "mmHg",
            0,
            100,
            "CSF opening pressure (CARTOX CRES)",
            _NEURO,
        ),
        FieldSpec(name="other_findings", kind="str_list", meaning="other findings", group=_NEURO),
        _int("capd_score", 0, 32, "CAPD total", _NEURO, "points"),
        FieldSpec(name="capd_items", kind="list", meaning="8 CAPD items 0–4", group=_NEURO),
        _bool("capd_unable", "CAPD cannot be performed (unarousable)", _NEURO),
        _int("cartox10_score", 0, 10, "CARTOX-10 score", _NEURO, "points"),
        _bool("cartox10_unable_obtunded", "obtunded, cannot perform CARTOX-10", _NEURO),
        # labs
        _num("ferritin_ng_ml", "ng/mL", 0, 1_000_000, "ferritin", _LAB),
        _num("ferritin_at_infusion_ng_ml", "ng/mL", 0, 1_000_000, "ferritin at infusion", _LAB),
        _num("crp_mg_dl", "mg/dL", 0, 100, "C-reactive protein", _LAB),
        _num("il6_pg_ml", "pg/mL", 0, 10_000_000, "interleukin-6", _LAB),
        _num("mcp1_pg_ml", "pg/mL", 0, 10_000_000, "MCP-1", _LAB),
        _num("ifng_pg_ml", "pg/mL", 0, 10_000_000, "interferon-γ", _LAB),
        _num("ldh_u_l", "U/L", 0, 100_000, "lactate dehydrogenase", _LAB),
        _num("creatinine_mg_dl", "mg/dL", 0.05, 30, "serum creatinine", _LAB),
        _num("platelets_per_ul", "/µL", 0, 3_000_000, "platelet count", _LAB),
        _num("anc_per_ul", "/µL", 0, 200_000, "absolute neutrophil count", _LAB),
        _num("hemoglobin_g_dl", "g/dL", 0.5, 25, "haemoglobin", _LAB),
        _num("fibrinogen_mg_dl", "mg/dL", 0, 2000, "fibrinogen", _LAB),
        _num("triglycerides_mg_dl", "mg/dL", 0, 20_000, "triglycerides", _LAB),
        _num("alt_x_uln", "× ULN", 0, 1000, "ALT as a multiple of ULN", _LAB),
        _num("ast_x_uln", "× ULN", 0, 1000, "AST as a multiple of ULN", _LAB),
        _num("bilirubin_mg_dl", "mg/dL", 0, 100, "total bilirubin", _LAB),
        _num("anc_lln_per_ul", "/µL", 0, 20_000, "laboratory LLN for ANC", _LAB),
        _num("platelet_lln_per_ul", "/µL", 0, 1_000_000, "laboratory LLN for platelets", _LAB),
        _num("hemoglobin_lln_g_dl", "g/dL", 0.5, 25, "laboratory LLN for haemoglobin", _LAB),
        _num("ferritin_uln_ng_ml", "ng/mL", 0, 100_000, "laboratory ULN for ferritin", _LAB),
        _num(
            "car_transgene_copies_per_ug_dna",
            "copies/µg DNA",
            0,
            1e8,
            "CAR transgene in blood (qPCR), for cellular kinetics",
            _LAB,
        ),
        _num("car_t_cells_per_ul", "/µL", 0, 1e6, "CAR+ T cells in blood (flow)", _LAB),
        _bool("transfusion_indicated", "red-cell transfusion indicated (CTCAE anaemia)", _LAB),
        _bool(
            "anemia_life_threatening",
            "anaemia with life-threatening consequences (CTCAE grade 4)",
            _LAB,
        ),
        _num("tmax_c_0_36h", "°C", 25, 45, "highest temperature 0–36 h after infusion", _LAB),
        _num("il6_pg_ml_0_36h", "pg/mL", 0, 10_000_000, "IL-6 0–36 h after infusion", _LAB),
        _num("mcp1_pg_ml_0_36h", "pg/mL", 0, 10_000_000, "MCP-1 0–36 h after infusion", _LAB),
        _enum(
            "iechs_intervention",
            IechsIntervention,
            "IEC-HS-directed intervention required",
            _LAB,
        ),
        _num("crs_resolved_day", "days", -365, 36500, "day CRS resolved", _LAB),
        _bool("hemophagocytosis", "hemophagocytosis in marrow or organs", _LAB),
        _num(
            "longest_days_anc_le_500",
            "days",
            0,
            3650,
            "longest run of ANC ≤500/µL, days 0–30",
            _LAB,
        ),
        _num(
            "longest_days_anc_le_100",
            "days",
            0,
            3650,
            "longest run of ANC ≤100/µL, days 0–30",
            _LAB,
        ),
        FieldSpec(
            name="anc_after_day30",
            kind="list",
            meaning="ANC values after day 30: each {day, anc_per_ul}",
            group=_LAB,
        ),
        FieldSpec(
            name="anc_series",
            kind="list",
            meaning="dated ANC values: each {day, anc_per_ul}",
            group=_LAB,
        ),
        _num(
            "last_followup_day",
            "days",
            -365,
            36500,
            "day of death or last follow-up (ends the early-ICAHT window when before day 30)",
            _LAB,
        ),
    )
}

# Alternative unit → (canonical field, conversion, plausible range in the alternative unit).
ALTERNATIVE_UNITS: dict[str, tuple[str, Callable[[float], float], float, float, str]] = {
    "temperature_f": ("temperature_c", units.fahrenheit_to_celsius, 77.0, 113.0, "°F"),
    "tmax_f_0_36h": ("tmax_c_0_36h", units.fahrenheit_to_celsius, 77.0, 113.0, "°F"),
    "crp_mg_l": ("crp_mg_dl", units.crp_mg_l_to_mg_dl, 0.0, 1000.0, "mg/L"),
    "creatinine_umol_l": (
        "creatinine_mg_dl",
        units.creatinine_umol_l_to_mg_dl,
        4.42,
        2652.0,
        "µmol/L",
    ),
    "platelets_10e9_l": ("platelets_per_ul", units.count_10e9_l_to_per_ul, 0.0, 3000.0, "×10⁹/L"),
    "anc_10e9_l": ("anc_per_ul", units.count_10e9_l_to_per_ul, 0.0, 200.0, "×10⁹/L"),
    "hemoglobin_g_l": ("hemoglobin_g_dl", units.hemoglobin_g_l_to_g_dl, 5.0, 250.0, "g/L"),
    "fibrinogen_g_l": ("fibrinogen_mg_dl", units.fibrinogen_g_l_to_mg_dl, 0.0, 20.0, "g/L"),
}

_OBJECT_KEYS: dict[str, tuple[str, ...]] = {
    "oxygen": ("device", "flow_l_min", "fio2"),
    "ice": tuple(ICE_ITEM_POINTS),
    "vasopressors": ("agent", "dose", "unit", "duration_h"),
    "anc": ("day", "anc_per_ul", "anc_10e9_l"),
}

OXYGEN_FLOW_RANGE = (0.0, 80.0)
FIO2_RANGE = (0.21, 1.0)
CAPD_ITEMS = 8
CAPD_ITEM_MAX = 4


def field_names() -> tuple[str, ...]:
    """Every top-level name the parser accepts (contract fields and alternative units)."""
    return (*FIELDS, *ALTERNATIVE_UNITS)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_assessment(data: Assessment | Mapping[str, Any]) -> Assessment:
    """Build an :class:`Assessment` from contract JSON, validating and converting units once.

    Raises :class:`~cartwatch.errors.UnknownField`, :class:`~cartwatch.errors.ImplausibleValue`,
    :class:`~cartwatch.errors.InvalidValue` or :class:`~cartwatch.errors.ConflictingValues`.
    """
    if isinstance(data, Assessment):
        return data
    if not isinstance(data, Mapping):
        raise InvalidValue(
            f"an assessment must be a JSON object, not {type(data).__name__}",
            field=None,
            value=data,
            expected="a JSON object of contract fields",
        )
    values: dict[str, Any] = {}
    for raw_name, raw in data.items():
        name = str(raw_name)
        if name not in FIELDS and name not in ALTERNATIVE_UNITS:
            raise UnknownField(
                name,
                suggestion=closest_name(name, field_names()),
                allowed="the fields of reference/assessment.md",
            )
        if raw is None:
            continue
        if name in ALTERNATIVE_UNITS:
            target, convert, low, high, unit = ALTERNATIVE_UNITS[name]
            given = _number(name, raw, low, high, unit)
            converted = convert(given)
            if target in values and not _same(values[target], converted):
                raise _conflict(target, values[target], name, given)
            values[target] = converted
            continue
        parsed = _parse_field(FIELDS[name], raw)
        if name in values and not _same(values[name], parsed):
            alt = next(a for a, spec in ALTERNATIVE_UNITS.items() if spec[0] == name)
            raise _conflict(name, parsed, alt, data[alt])
        values[name] = parsed
    _derive_age(values)
    _check_consistency(values)
    return Assessment(**values)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _conflict(name: str, value: Any, alt: str, alt_value: Any) -> ConflictingValues:
    return ConflictingValues(
        f"`{name}={value}` and `{alt}={alt_value}` disagree; give one of them",
        field=name,
        value=value,
        expected=f"{name} or {alt}, not both with different values",
    )


def _parse_field(spec: FieldSpec, raw: Any) -> Any:
    name = spec.name
    if spec.kind == "number":
        assert spec.low is not None and spec.high is not None
        return _number(name, raw, spec.low, spec.high, spec.unit or "")
    if spec.kind == "int":
        assert spec.low is not None and spec.high is not None
        return _integer(name, raw, int(spec.low), int(spec.high))
    if spec.kind == "bool":
        return _boolean(name, raw)
    if spec.kind == "enum":
        assert spec.enum is not None
        return _member(name, raw, spec.enum)
    if spec.kind == "str":
        if not isinstance(raw, str):
            raise InvalidValue(
                f"`{name}={raw!r}` must be text", field=name, value=raw, expected="a string"
            )
        return raw
    if spec.kind == "str_list":
        return _str_list(name, raw)
    if spec.kind == "date":
        return _date(name, raw)
    if spec.kind == "datetime":
        return _datetime(name, raw)
    parser = _OBJECT_PARSERS[name]
    return parser(raw)


def _number(name: str, raw: Any, low: float, high: float, unit: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        if isinstance(raw, str):
            try:
                raw = float(raw.strip())
            except ValueError:
                raise InvalidValue(
                    f"`{name}={raw!r}` is not a number; expected {_range(low, high, unit)}",
                    field=name,
                    value=raw,
                    expected=_range(low, high, unit),
                ) from None
        else:
            raise InvalidValue(
                f"`{name}={raw!r}` is not a number; expected {_range(low, high, unit)}",
                field=name,
                value=raw,
                expected=_range(low, high, unit),
            )
    value = float(raw)
    if not math.isfinite(value) or not low <= value <= high:
        hint = _hint(name, value)
        raise ImplausibleValue(
            f"`{name}={_show(raw)}` is implausible; expected {_range(low, high, unit)}{hint}",
            field=name,
            value=raw,
            expected=_range(low, high, unit),
        )
    return value


def _show(raw: Any) -> str:
    return str(raw)


def _range(low: float, high: float, unit: str) -> str:
    def fmt(x: float) -> str:
        return f"{x:g}" if abs(x) < 1e6 else f"{x:,.0f}"

    return f"{fmt(low)}–{fmt(high)} {unit}".rstrip()


def _hint(name: str, value: float) -> str:
    if name in ("temperature_c", "tmax_c_0_36h") and 77 <= value <= 113:
        return " (did you mean temperature_f?)"
    if name.endswith("fio2") and 21 <= value <= 100:
        return f" (FiO2 is a fraction: did you mean {value / 100:g}?)"
    if name in ("platelets_per_ul", "anc_per_ul") and value < 0:
        return ""
    return ""


def _integer(name: str, raw: Any, low: int, high: int) -> int:
    value = _number(name, raw, low, high, "")
    if value != int(value):
        raise InvalidValue(
            f"`{name}={raw!r}` must be a whole number; expected {low}–{high}",
            field=name,
            value=raw,
            expected=f"a whole number {low}–{high}",
        )
    return int(value)


_E = TypeVar("_E", bound=StrEnum)

_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise InvalidValue(
        f"`{name}={raw!r}` must be true or false", field=name, value=raw, expected="true or false"
    )


def _member(name: str, raw: Any, enum: type[_E]) -> _E:
    if isinstance(raw, str):
        exact = enum._value2member_map_.get(raw)
        if exact is not None:
            return cast("_E", exact)
        normal = raw.strip().lower().replace("-", "_").replace(" ", "_")
        for member in enum:
            if member.value.lower() == normal:
                return member
    allowed = [m.value for m in enum]
    near = closest_name(str(raw), allowed)
    hint = f" (did you mean {near}?)" if near else ""
    raise InvalidValue(
        f"`{name}={raw!r}` is not one of: {', '.join(allowed)}{hint}",
        field=name,
        value=raw,
        expected=", ".join(allowed),
    )


def _str_list(name: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise InvalidValue(
            f"`{name}` must be a list of text values, not {raw!r}",
            field=name,
            value=raw,
            expected="a list of strings",
        )
    return tuple(raw)


def _date(name: str, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidValue(
            f"`{name}={raw!r}` is not a date; expected YYYY-MM-DD",
            field=name,
            value=raw,
            expected="YYYY-MM-DD",
        ) from None


def _datetime(name: str, raw: Any) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime.combine(raw, dt.time())
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidValue(
                f"`{name}={raw!r}` is not a date-time; expected ISO 8601 (2026-05-01T08:00:00Z)",
                field=name,
                value=raw,
                expected="ISO 8601 date-time",
            ) from None
    return value


def _object(name: str, raw: Any, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidValue(
            f"`{name}` must be an object with keys {', '.join(keys)}, not {raw!r}",
            field=name,
            value=raw,
            expected="an object: " + ", ".join(keys),
        )
    for key in raw:
        if key not in keys:
            near = closest_name(str(key), keys)
            raise UnknownField(
                f"{name}.{key}",
                suggestion=near and f"{name}.{near}",
                allowed=", ".join(f"{name}.{k}" for k in keys),
            )
    return raw


def _parse_oxygen(raw: Any) -> Oxygen:
    obj = _object("oxygen", raw, _OBJECT_KEYS["oxygen"])
    device = obj.get("device")
    flow = obj.get("flow_l_min")
    fio2 = obj.get("fio2")
    return Oxygen(
        device=None if device is None else _member("oxygen.device", device, OxygenDevice),
        flow_l_min=None
        if flow is None
        else _number("oxygen.flow_l_min", flow, *OXYGEN_FLOW_RANGE, "L/min"),
        fio2=None if fio2 is None else _number("oxygen.fio2", fio2, *FIO2_RANGE, "(fraction)"),
    )


def _parse_ice(raw: Any) -> Ice:
    obj = _object("ice", raw, _OBJECT_KEYS["ice"])
    items: dict[str, int | None] = {}
    for item, points in ICE_ITEM_POINTS.items():
        value = obj.get(item)
        items[item] = None if value is None else _integer(f"ice.{item}", value, 0, points)
    return Ice(**items)


def _parse_vasopressors(raw: Any) -> tuple[Vasopressor, ...]:
    if not isinstance(raw, list | tuple):
        raise InvalidValue(
            f"`vasopressors` must be a list of {{agent, dose, unit, duration_h}}, not {raw!r}",
            field="vasopressors",
            value=raw,
            expected="a list of objects",
        )
    out = []
    for i, item in enumerate(raw):
        path = f"vasopressors[{i}]"
        obj = _object(path, item, _OBJECT_KEYS["vasopressors"])
        if obj.get("agent") is None:
            raise InvalidValue(
                f"`{path}.agent` is required",
                field=f"{path}.agent",
                value=None,
                expected=", ".join(a.value for a in VasopressorAgent),
            )
        agent = _member(f"{path}.agent", obj["agent"], VasopressorAgent)
        unit = obj.get("unit")
        dose = obj.get("dose")
        duration = obj.get("duration_h")
        out.append(
            Vasopressor(
                agent=agent,
                dose=None
                if dose is None
                else _number(f"{path}.dose", dose, 0, 10_000, "(per unit)"),
                unit=None if unit is None else _member(f"{path}.unit", unit, DoseRateUnit),
                duration_h=None
                if duration is None
                else _number(f"{path}.duration_h", duration, 0, 8760, "h"),
            )
        )
    return tuple(out)


def _parse_organ_toxicity(raw: Any) -> Mapping[str, int]:
    if not isinstance(raw, Mapping):
        raise InvalidValue(
            f"`organ_toxicity_ctcae` must map CTCAE terms to grades 0–4, not {raw!r}",
            field="organ_toxicity_ctcae",
            value=raw,
            expected='an object such as {"ast_increased": 3}',
        )
    out: dict[str, int] = {}
    for term, grade in raw.items():
        key = str(term).strip().lower().replace(" ", "_").replace("-", "_")
        if not key.replace("_", "").isalnum():
            raise InvalidValue(
                f"`organ_toxicity_ctcae` term {term!r} is not a CTCAE term name",
                field="organ_toxicity_ctcae",
                value=term,
                expected="snake_case CTCAE terms such as ast_increased",
            )
        out[key] = _integer(f"organ_toxicity_ctcae.{key}", grade, 0, 4)
    return out


def _parse_anc_list(name: str) -> Callable[[Any], tuple[AncValue, ...]]:
    def parse(raw: Any) -> tuple[AncValue, ...]:
        if not isinstance(raw, list | tuple):
            raise InvalidValue(
                f"`{name}` must be a list of {{day, anc_per_ul}}, not {raw!r}",
                field=name,
                value=raw,
                expected="a list of objects",
            )
        out = []
        for i, item in enumerate(raw):
            path = f"{name}[{i}]"
            obj = _object(path, item, _OBJECT_KEYS["anc"])
            if obj.get("day") is None:
                raise InvalidValue(
                    f"`{path}.day` is required",
                    field=f"{path}.day",
                    value=None,
                    expected="day relative to infusion",
                )
            day = _number(f"{path}.day", obj["day"], -365, 36500, "days")
            if obj.get("anc_per_ul") is not None:
                anc = _number(f"{path}.anc_per_ul", obj["anc_per_ul"], 0, 200_000, "/µL")
                if obj.get("anc_10e9_l") is not None:
                    alt = units.count_10e9_l_to_per_ul(
                        _number(f"{path}.anc_10e9_l", obj["anc_10e9_l"], 0, 200, "×10⁹/L")
                    )
                    if not _same(alt, anc):
                        raise _conflict(
                            f"{path}.anc_per_ul", anc, f"{path}.anc_10e9_l", obj["anc_10e9_l"]
                        )
            elif obj.get("anc_10e9_l") is not None:
                anc = units.count_10e9_l_to_per_ul(
                    _number(f"{path}.anc_10e9_l", obj["anc_10e9_l"], 0, 200, "×10⁹/L")
                )
            else:
                raise InvalidValue(
                    f"`{path}` needs anc_per_ul (or anc_10e9_l)",
                    field=f"{path}.anc_per_ul",
                    value=None,
                    expected="0–200,000 /µL",
                )
            out.append(AncValue(day=day, anc_per_ul=anc))
        return tuple(sorted(out, key=lambda v: v.day))

    return parse


def _parse_capd_items(raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list | tuple) or len(raw) != CAPD_ITEMS:
        raise InvalidValue(
            f"`capd_items` must list the {CAPD_ITEMS} CAPD item scores (0–4 each), not {raw!r}",
            field="capd_items",
            value=raw,
            expected=f"{CAPD_ITEMS} whole numbers 0–4",
        )
    return tuple(_integer(f"capd_items[{i}]", v, 0, CAPD_ITEM_MAX) for i, v in enumerate(raw))


_OBJECT_PARSERS: dict[str, Callable[[Any], Any]] = {
    "oxygen": _parse_oxygen,
    "ice": _parse_ice,
    "vasopressors": _parse_vasopressors,
    "organ_toxicity_ctcae": _parse_organ_toxicity,
    "anc_after_day30": _parse_anc_list("anc_after_day30"),
    "anc_series": _parse_anc_list("anc_series"),
    "capd_items": _parse_capd_items,
}


def exact_age_years(date_of_birth: dt.date, on: dt.date) -> float:
    """Age in years by the calendar: completed years plus the elapsed fraction of the current one.

    A child is exactly 12.0 on the twelfth birthday and 11.99… the day before (IMPL-PED-B).
    """
    years = (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )
    if years < 0:
        raise InvalidValue(
            f"`date_of_birth={date_of_birth}` is after `assessed_at={on}`",
            field="date_of_birth",
            value=date_of_birth.isoformat(),
            expected="a date before the assessment",
        )
    last = _add_years(date_of_birth, years)
    following = _add_years(date_of_birth, years + 1)
    return years + (on - last).days / (following - last).days


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February in a common year
        return d.replace(year=d.year + years, month=3, day=1)


def _derive_age(values: dict[str, Any]) -> None:
    dob = values.get("date_of_birth")
    at = values.get("assessed_at")
    if dob is None or at is None:
        return
    derived = exact_age_years(dob, at.date())
    if derived > 120:
        raise ImplausibleValue(
            f"`date_of_birth={dob}` gives age {derived:.1f} years; expected 0–120 years",
            field="date_of_birth",
            value=dob.isoformat(),
            expected="0–120 years",
        )
    given = values.get("age_years")
    if given is not None and abs(given - derived) >= 1.0:
        raise ConflictingValues(
            f"`age_years={given}` disagrees with date_of_birth {dob} at {at.date()} "
            f"(age {derived:.2f}); give one of them",
            field="age_years",
            value=given,
            expected=f"{derived:.2f}",
        )
    values["age_years"] = derived


def _check_vasopressors(values: dict[str, Any]) -> None:
    """The vasopressor list, when given, must agree with ``hypotension`` and ``vasopressin``."""
    agents: tuple[Vasopressor, ...] | None = values.get("vasopressors")
    if not agents:
        return
    kinds = {v.agent for v in agents}
    vasopressin = VasopressorAgent.VASOPRESSIN in kinds
    others = len(kinds - {VasopressorAgent.VASOPRESSIN})
    implied = (
        Hypotension.VASOPRESSIN_ONLY
        if others == 0
        else Hypotension.VASOPRESSOR_SINGLE
        if others == 1
        else Hypotension.VASOPRESSOR_MULTIPLE
    )
    given = values.get("hypotension")
    if given is not None and given not in (implied, Hypotension.VASOPRESSOR_COUNT_UNKNOWN):
        raise ConflictingValues(
            f"`hypotension={given.value}` disagrees with the vasopressors listed "
            f"({', '.join(sorted(k.value for k in kinds))} → {implied.value})",
            field="hypotension",
            value=given.value,
            expected=implied.value,
        )
    flag = values.get("vasopressin")
    if flag is not None and flag != vasopressin:
        raise ConflictingValues(
            f"`vasopressin={str(flag).lower()}` disagrees with the vasopressors listed",
            field="vasopressin",
            value=flag,
            expected=str(vasopressin).lower(),
        )
    for i, v in enumerate(agents):
        if v.unit is DoseRateUnit.U_MIN and v.agent is not VasopressorAgent.VASOPRESSIN:
            raise InvalidValue(
                f"`vasopressors[{i}].unit=U/min` is for vasopressin, not {v.agent.value}",
                field=f"vasopressors[{i}].unit",
                value=v.unit.value,
                expected="mcg/min or mcg/kg/min",
            )
        if v.agent is VasopressorAgent.VASOPRESSIN and v.unit not in (None, DoseRateUnit.U_MIN):
            raise InvalidValue(
                f"`vasopressors[{i}].unit={v.unit}` is not a vasopressin unit",
                field=f"vasopressors[{i}].unit",
                value=str(v.unit),
                expected="U/min",
            )


def _check_consistency(values: dict[str, Any]) -> None:
    _check_vasopressors(values)
    ice = values.get("ice")
    total = values.get("ice_total")
    if ice is not None and total is not None:
        items = [getattr(ice, k) for k in ICE_ITEM_POINTS]
        if all(v is not None for v in items) and sum(items) != total:
            raise ConflictingValues(
                f"`ice_total={total}` disagrees with the ICE items (sum {sum(items)})",
                field="ice_total",
                value=total,
                expected=f"{sum(items)} or leave ice_total out",
            )
    items_capd = values.get("capd_items")
    capd = values.get("capd_score")
    if items_capd is not None:
        if capd is not None and capd != sum(items_capd):
            raise ConflictingValues(
                f"`capd_score={capd}` disagrees with capd_items (sum {sum(items_capd)})",
                field="capd_score",
                value=capd,
                expected=f"{sum(items_capd)} or leave capd_score out",
            )
        values["capd_score"] = sum(items_capd)


# --------------------------------------------------------------------------------------------
# Derived readings used by several scales
# --------------------------------------------------------------------------------------------


def ice_total_range(a: Assessment) -> tuple[int, int, tuple[str, ...]] | None:
    """The ICE total as (lowest, highest, unassessed item paths), or None when ICE was not done.

    Items not assessed widen the range by their points; the total is known when low == high.
    """
    if a.ice_total is not None:
        return a.ice_total, a.ice_total, ()
    if a.ice is None:
        return None
    low = 0
    high = 0
    missing: list[str] = []
    for item, points in ICE_ITEM_POINTS.items():
        value = getattr(a.ice, item)
        if value is None:
            high += points
            missing.append(f"ice.{item}")
        else:
            low += value
            high += value
    if len(missing) == len(ICE_ITEM_POINTS):
        return None
    return low, high, tuple(missing)


def non_vasopressin_agents(a: Assessment) -> tuple[Vasopressor, ...] | None:
    """The recorded non-vasopressin vasopressors, or None when no list was recorded."""
    if a.vasopressors is None:
        return None
    return tuple(v for v in a.vasopressors if v.agent is not VasopressorAgent.VASOPRESSIN)


def vasopressin_given(a: Assessment) -> bool | None:
    """Whether vasopressin was given, from the list when recorded, else the flag."""
    if a.vasopressors is not None:
        return any(v.agent is VasopressorAgent.VASOPRESSIN for v in a.vasopressors)
    if a.vasopressin is not None:
        return a.vasopressin
    if a.hypotension is Hypotension.VASOPRESSIN_ONLY:
        return True
    return None


__all__ = [
    "ALTERNATIVE_UNITS",
    "FIELDS",
    "ICE_ITEM_POINTS",
    "AncValue",
    "Assessment",
    "Consciousness",
    "DeathCause",
    "DoseRateUnit",
    "FieldSpec",
    "Hypotension",
    "Ice",
    "IcpEdema",
    "IechsIntervention",
    "Motor",
    "Oxygen",
    "OxygenDevice",
    "Seizure",
    "Sex",
    "Vasopressor",
    "VasopressorAgent",
    "exact_age_years",
    "field_names",
    "ice_total_range",
    "parse_assessment",
]
