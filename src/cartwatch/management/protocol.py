"""The management protocol as data: the consensus default with a centre's overrides layered on top.

The default lives in ``protocols/default.toml`` (read through ``importlib.resources``). A centre
passes the *text* of its own TOML file (the shell reads the file) with the file's path as its
``origin``; every value then remembers whether it came from ``"consensus default"`` or that path.
Unknown keys are refused with the closest valid key. ASCO 2021; seed 001 Table 2; seed 000 §5.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any

from cartwatch.errors import ConfigError, closest_name
from cartwatch.references import REFERENCES, cite

CONSENSUS_DEFAULT = "consensus default"
_DEFAULT_RESOURCE = "default.toml"


class Syndrome(StrEnum):
    """The syndromes the protocol covers."""

    CRS = "crs"
    ICANS = "icans"
    IECHS = "iechs"


class ActionKind(StrEnum):
    """What the team does; one protocol entry per kind, syndrome and grade."""

    SUPPORTIVE_CARE = "supportive_care"
    TOCILIZUMAB = "tocilizumab"
    DEXAMETHASONE = "dexamethasone"
    METHYLPREDNISOLONE = "methylprednisolone"
    ICU = "icu"
    SEIZURE_PROPHYLAXIS = "seizure_prophylaxis"
    SEIZURE_TREATMENT = "seizure_treatment"
    NEURO_IMAGING = "neuro_imaging"
    EEG = "eeg"
    SILTUXIMAB = "siltuximab"
    ANAKINRA = "anakinra"


class Level(StrEnum):
    """How strongly an action is recommended (``omit`` lets a centre remove a default action)."""

    GIVE = "give"
    CONSIDER = "consider"
    ALTERNATIVE = "alternative"
    IF_REFRACTORY = "if_refractory"
    OMIT = "omit"


LEVEL_RANK: dict[Level, int] = {
    Level.GIVE: 4,
    Level.CONSIDER: 3,
    Level.IF_REFRACTORY: 2,
    Level.ALTERNATIVE: 1,
    Level.OMIT: 0,
}

GRADES: tuple[int, ...] = (0, 1, 2, 3, 4)
# [ASCO2021] / [SEED001_TABLE2] §2.4: tocilizumab for ICANS only with concurrent CRS; a centre
# file cannot lower this.
ICANS_TOCILIZUMAB_MIN_CRS_GRADE = 1

_ACTION_FIELDS: dict[str, type | tuple[type, ...]] = {
    "level": str,
    "text": str,
    "source": list,
    "drug": str,
    "dose_mg": (int, float),
    "dose_mg_per_kg": (int, float),
    "max_dose_mg": (int, float),
    "route": str,
    "interval_h": (int, float),
    "frequency": str,
    "duration": str,
    "requires_crs_grade_at_least": int,
    "level_with_crs": str,
}

_DRUG_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "tocilizumab": {
        "mg_per_kg_below_boundary": (int, float),
        "mg_per_kg_from_boundary": (int, float),
        "weight_boundary_kg": (int, float),
        "max_dose_mg": (int, float),
        "min_interval_h": (int, float),
        "max_doses_per_24_h": int,
        "max_doses_total": int,
        "round_to_mg": (int, float),
        "route": str,
        "source": list,
    },
    "siltuximab": {
        "mg_per_kg": (int, float),
        "max_dose_mg": (int, float),
        "round_to_mg": (int, float),
        "route": str,
        "source": list,
    },
    "levetiracetam": {
        "prophylaxis_dose_mg": (int, float),
        "prophylaxis_interval_h": (int, float),
        "prophylaxis_duration_days": int,
        "status_load_dose_mg": (int, float),
        "status_maintenance_dose_mg": (int, float),
        "status_maintenance_interval_h": (int, float),
        "route": str,
        "source": list,
    },
    "anakinra": {"route": str, "order_set": list, "source": list},
}

_REQUIRED_DRUG_NUMBERS: dict[str, tuple[str, ...]] = {
    "tocilizumab": (
        "mg_per_kg_below_boundary",
        "mg_per_kg_from_boundary",
        "weight_boundary_kg",
        "max_dose_mg",
        "min_interval_h",
        "max_doses_per_24_h",
        "max_doses_total",
    ),
    "siltuximab": ("mg_per_kg",),
    "levetiracetam": (
        "prophylaxis_dose_mg",
        "prophylaxis_interval_h",
        "status_load_dose_mg",
        "status_maintenance_dose_mg",
        "status_maintenance_interval_h",
    ),
    "anakinra": (),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionSpec:
    """One protocol entry: an action for a syndrome at a grade, each field with its origin."""

    syndrome: Syndrome
    grade: int
    kind: ActionKind
    level: Level
    text: str
    source: tuple[str, ...]
    drug: str | None = None
    dose_mg: float | None = None
    dose_mg_per_kg: float | None = None
    max_dose_mg: float | None = None
    route: str | None = None
    interval_h: float | None = None
    frequency: str | None = None
    duration: str | None = None
    requires_crs_grade_at_least: int = 0
    level_with_crs: Level | None = None
    origins: tuple[tuple[str, str], ...] = ()

    def origin_of(self, field: str) -> str:
        """Where ``field`` was set: ``"consensus default"`` or a centre file path."""
        return dict(self.origins).get(field, CONSENSUS_DEFAULT)

    @property
    def from_centre(self) -> bool:
        """True when any field of this action was set by a centre file."""
        return any(origin != CONSENSUS_DEFAULT for _, origin in self.origins)

    def reference(self) -> str:
        """Formatted citations of the action's sources (free-text centre sources kept as given)."""
        return format_sources(self.source)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping, with the origin of every field that has a value."""
        values: dict[str, Any] = {
            "syndrome": self.syndrome.value,
            "grade": self.grade,
            "kind": self.kind.value,
            "level": self.level.value,
            "text": self.text,
            "source": list(self.source),
            "drug": self.drug,
            "dose_mg": self.dose_mg,
            "dose_mg_per_kg": self.dose_mg_per_kg,
            "max_dose_mg": self.max_dose_mg,
            "route": self.route,
            "interval_h": self.interval_h,
            "frequency": self.frequency,
            "duration": self.duration,
            "requires_crs_grade_at_least": self.requires_crs_grade_at_least,
            "level_with_crs": None if self.level_with_crs is None else self.level_with_crs.value,
        }
        values["origins"] = {
            key: self.origin_of(key)
            for key in _ACTION_FIELDS
            if values.get(key) is not None and key in values
        }
        return values


@dataclass(frozen=True, slots=True, kw_only=True)
class DrugSpec:
    """The dose parameters of one drug, each remembering its origin."""

    drug: str
    values: tuple[tuple[str, Any], ...]
    origins: tuple[tuple[str, str], ...]

    def number(self, key: str) -> float:
        """A numeric parameter (raises ``ConfigError`` if the protocol lacks it)."""
        value = dict(self.values).get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"protocol drug `{self.drug}` has no numeric `{key}`",
                field=f"drugs.{self.drug}.{key}",
                value=value,
                expected="a number",
            )
        return float(value)

    def optional_number(self, key: str) -> float | None:
        """A numeric parameter or None when the protocol does not set it."""
        value = dict(self.values).get(key)
        return None if value is None else float(value)

    def text(self, key: str) -> str | None:
        """A text parameter or None."""
        value = dict(self.values).get(key)
        return None if value is None else str(value)

    def lines(self, key: str) -> tuple[str, ...]:
        """A list-of-text parameter (empty when absent)."""
        value = dict(self.values).get(key)
        return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

    def source(self) -> tuple[str, ...]:
        """The citation keys (or centre free text) for this drug's parameters."""
        return self.lines("source")

    def origin_of(self, key: str) -> str:
        """Where parameter ``key`` was set."""
        return dict(self.origins).get(key, CONSENSUS_DEFAULT)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of values and their origins."""
        return {
            "drug": self.drug,
            "values": {k: list(v) if isinstance(v, tuple) else v for k, v in self.values},
            "origins": {k: self.origin_of(k) for k, _ in self.values},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol:
    """A validated protocol: drugs and actions per syndrome and grade."""

    name: str
    version: str
    drugs: tuple[DrugSpec, ...]
    actions: tuple[ActionSpec, ...]
    layers: tuple[str, ...] = (CONSENSUS_DEFAULT,)

    def drug(self, name: str) -> DrugSpec:
        """The dose parameters of ``name``."""
        for spec in self.drugs:
            if spec.drug == name:
                return spec
        raise ConfigError(
            f"protocol has no drug `{name}`",
            field="drugs",
            value=name,
            expected=", ".join(d.drug for d in self.drugs),
        )

    def actions_for(self, syndrome: Syndrome, grade: int) -> tuple[ActionSpec, ...]:
        """The actions (including omitted ones) for ``syndrome`` at ``grade``."""
        return tuple(a for a in self.actions if a.syndrome is syndrome and a.grade == grade)

    def action(self, syndrome: Syndrome, grade: int, kind: ActionKind) -> ActionSpec | None:
        """One action, or None when the protocol has none for that grade."""
        for a in self.actions_for(syndrome, grade):
            if a.kind is kind:
                return a
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of the whole protocol."""
        return {
            "name": self.name,
            "version": self.version,
            "layers": list(self.layers),
            "drugs": [d.to_dict() for d in self.drugs],
            "actions": [a.to_dict() for a in self.actions],
        }


def format_sources(source: tuple[str, ...]) -> str:
    """Citations for keys of ``REFERENCES``; other entries (centre free text) are kept as given."""
    parts = [cite(s) if s in REFERENCES else s for s in source]
    return "; ".join(parts)


def _unknown(key: str, where: str, allowed: list[str]) -> ConfigError:
    near = closest_name(key, allowed)
    hint = f" (did you mean `{near}`?)" if near else ""
    return ConfigError(
        f"unknown key `{where}{key}` in protocol{hint}; expected one of: {', '.join(allowed)}",
        field=f"{where}{key}",
        value=key,
        expected=", ".join(allowed),
    )


def _check_type(path: str, value: Any, expected: type | tuple[type, ...]) -> None:
    ok = False if isinstance(value, bool) and expected is not bool else isinstance(value, expected)
    if not ok:
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        raise ConfigError(
            f"`{path}={value!r}` has the wrong type; expected {names}",
            field=path,
            value=value,
            expected=names,
        )
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise ConfigError(
            f"`{path}={value!r}` is negative; expected a number >= 0",
            field=path,
            value=value,
            expected=">= 0",
        )


def _check_sources(path: str, value: list[Any], *, strict: bool) -> tuple[str, ...]:
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(
                f"`{path}` entries must be text; got {item!r}",
                field=path,
                value=item,
                expected="citation keys",
            )
        if strict and item not in REFERENCES:
            raise _unknown(item, f"{path} citation ", sorted(REFERENCES))
        out.append(item)
    return tuple(out)


def _parse_grade_key(syndrome: str, key: str) -> int:
    allowed = [f"grade_{g}" for g in GRADES]
    if key not in allowed:
        raise _unknown(key, f"{syndrome}.", allowed)
    return int(key.removeprefix("grade_"))


def _merge(
    raw: Mapping[str, Any],
    origin: str,
    *,
    strict_sources: bool,
    drugs: dict[str, dict[str, tuple[Any, str]]],
    actions: dict[tuple[str, int, str], dict[str, tuple[Any, str]]],
    meta: dict[str, str],
) -> None:
    top_allowed = ["meta", "drugs", *[s.value for s in Syndrome]]
    for key, value in raw.items():
        if key not in top_allowed:
            raise _unknown(key, "", top_allowed)
        if key == "meta":
            for mkey, mval in dict(value).items():
                if mkey not in ("name", "version"):
                    raise _unknown(mkey, "meta.", ["name", "version"])
                _check_type(f"meta.{mkey}", mval, str)
                meta[mkey] = mval
        elif key == "drugs":
            for drug, params in dict(value).items():
                if drug not in _DRUG_FIELDS:
                    raise _unknown(drug, "drugs.", list(_DRUG_FIELDS))
                schema = _DRUG_FIELDS[drug]
                slot = drugs.setdefault(drug, {})
                for pkey, pval in dict(params).items():
                    if pkey not in schema:
                        raise _unknown(pkey, f"drugs.{drug}.", list(schema))
                    path = f"drugs.{drug}.{pkey}"
                    _check_type(path, pval, schema[pkey])
                    if pkey == "source":
                        pval = list(_check_sources(path, pval, strict=strict_sources))
                    slot[pkey] = (pval, origin)
        else:
            for grade_key, grade_table in dict(value).items():
                grade = _parse_grade_key(key, grade_key)
                for kind, fields in dict(grade_table).items():
                    kinds = [k.value for k in ActionKind]
                    if kind not in kinds:
                        raise _unknown(kind, f"{key}.{grade_key}.", kinds)
                    slot = actions.setdefault((key, grade, kind), {})
                    for fkey, fval in dict(fields).items():
                        if fkey not in _ACTION_FIELDS:
                            raise _unknown(fkey, f"{key}.{grade_key}.{kind}.", list(_ACTION_FIELDS))
                        path = f"{key}.{grade_key}.{kind}.{fkey}"
                        _check_type(path, fval, _ACTION_FIELDS[fkey])
                        if fkey in ("level", "level_with_crs") and fval not in [
                            lv.value for lv in Level
                        ]:
                            raise _unknown(fval, f"{path} value ", [lv.value for lv in Level])
                        if fkey == "source":
                            fval = list(_check_sources(path, fval, strict=strict_sources))
                        slot[fkey] = (fval, origin)


def _build(
    meta: dict[str, str],
    drugs: dict[str, dict[str, tuple[Any, str]]],
    actions: dict[tuple[str, int, str], dict[str, tuple[Any, str]]],
    layers: tuple[str, ...],
) -> Protocol:
    drug_specs: list[DrugSpec] = []
    for drug, params in drugs.items():
        for required in _REQUIRED_DRUG_NUMBERS[drug]:
            if required not in params:
                raise ConfigError(
                    f"protocol drug `{drug}` lacks `{required}`",
                    field=f"drugs.{drug}.{required}",
                    expected="a number",
                )
        drug_specs.append(
            DrugSpec(
                drug=drug,
                values=tuple(
                    (k, tuple(v) if isinstance(v, list) else v) for k, (v, _) in params.items()
                ),
                origins=tuple((k, o) for k, (_, o) in params.items()),
            )
        )
    action_specs: list[ActionSpec] = []
    for (syndrome, grade, kind), fields in actions.items():
        path = f"{syndrome}.grade_{grade}.{kind}"
        need_crs = fields.get("requires_crs_grade_at_least", (0, ""))[0]
        if (
            syndrome == Syndrome.ICANS.value
            and kind == ActionKind.TOCILIZUMAB.value
            and need_crs < ICANS_TOCILIZUMAB_MIN_CRS_GRADE
        ):
            raise ConfigError(
                f"`{path}.requires_crs_grade_at_least={need_crs}`: tocilizumab is recommended "
                f"for ICANS only with concurrent CRS; expected >= "
                f"{ICANS_TOCILIZUMAB_MIN_CRS_GRADE}",
                field=f"{path}.requires_crs_grade_at_least",
                value=need_crs,
                expected=f">= {ICANS_TOCILIZUMAB_MIN_CRS_GRADE}",
            )
        for required in ("level", "text"):
            if required not in fields:
                raise ConfigError(
                    f"protocol action `{path}` lacks `{required}`",
                    field=f"{path}.{required}",
                    expected="a value",
                )
        v = {k: val for k, (val, _) in fields.items()}

        def _num(name: str, values: dict[str, Any] = v) -> float | None:
            x = values.get(name)
            return None if x is None else float(x)

        action_specs.append(
            ActionSpec(
                syndrome=Syndrome(syndrome),
                grade=grade,
                kind=ActionKind(kind),
                level=Level(v["level"]),
                text=str(v["text"]),
                source=tuple(v.get("source", ())),
                drug=v.get("drug"),
                dose_mg=_num("dose_mg"),
                dose_mg_per_kg=_num("dose_mg_per_kg"),
                max_dose_mg=_num("max_dose_mg"),
                route=v.get("route"),
                interval_h=_num("interval_h"),
                frequency=v.get("frequency"),
                duration=v.get("duration"),
                requires_crs_grade_at_least=int(v.get("requires_crs_grade_at_least", 0)),
                level_with_crs=None
                if v.get("level_with_crs") is None
                else Level(v["level_with_crs"]),
                origins=tuple((k, o) for k, (_, o) in fields.items()),
            )
        )
    return Protocol(
        name=meta.get("name", CONSENSUS_DEFAULT),
        version=meta.get("version", ""),
        drugs=tuple(drug_specs),
        actions=tuple(action_specs),
        layers=layers,
    )


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"protocol file {origin} is not valid TOML: {exc}",
            field="protocol",
            value=origin,
            expected="TOML",
        ) from None


@lru_cache(maxsize=1)
def _default_text() -> str:
    return (
        resources.files("cartwatch.management")
        .joinpath("protocols", _DEFAULT_RESOURCE)
        .read_text(encoding="utf-8")
    )


def load_protocol(
    *, centre_toml: str | None = None, centre_origin: str = "centre file"
) -> Protocol:
    """The consensus default protocol, with a centre's TOML text layered on top if given.

    ``centre_origin`` (usually the centre file's path) is recorded on every value the centre sets.
    Unknown keys raise ``ConfigError`` naming the key and the closest valid one. ASCO 2021.
    """
    drugs: dict[str, dict[str, tuple[Any, str]]] = {}
    actions: dict[tuple[str, int, str], dict[str, tuple[Any, str]]] = {}
    meta: dict[str, str] = {}
    _merge(
        _parse_toml(_default_text(), CONSENSUS_DEFAULT),
        CONSENSUS_DEFAULT,
        strict_sources=True,
        drugs=drugs,
        actions=actions,
        meta=meta,
    )
    layers: tuple[str, ...] = (CONSENSUS_DEFAULT,)
    if centre_toml is not None:
        _merge(
            _parse_toml(centre_toml, centre_origin),
            centre_origin,
            strict_sources=False,
            drugs=drugs,
            actions=actions,
            meta=meta,
        )
        layers = (CONSENSUS_DEFAULT, centre_origin)
    return _build(meta, drugs, actions, layers)


@lru_cache(maxsize=1)
def default_protocol() -> Protocol:
    """The consensus default protocol (cached). ASCO 2021; seed 001 Table 2."""
    return load_protocol()
