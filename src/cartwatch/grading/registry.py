"""The registry of scale ids: what each scale is, its options, and the function that applies it.

Scale modules register themselves when imported (:func:`register`); :func:`load_all` imports
every grading and risk module once, so ``cartwatch.grade("astct_crs", …)`` finds them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cartwatch.assessment import Assessment
from cartwatch.errors import ConfigError, UnknownScale, closest_name
from cartwatch.grading.result import Result

Syndrome = Literal["crs", "icans", "iec_hs", "hematotoxicity", "prediction"]
Kind = Literal["grade", "score"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleOption:
    """A documented alternative a centre may select (e.g. the paediatric age rule, D1)."""

    name: str
    default: str
    choices: tuple[str, ...]
    meaning: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleInfo:
    """One registered scale or score."""

    id: str
    title: str
    syndrome: Syndrome
    kind: Kind
    reference_keys: tuple[str, ...]
    evaluate: Callable[[Assessment, Mapping[str, str]], Result]
    options: tuple[ScaleOption, ...] = ()
    inputs: tuple[str, ...] = field(default=())

    def resolve_options(self, given: Mapping[str, str] | None) -> dict[str, str]:
        """The full option set: defaults overridden by ``given`` (unknown names rejected)."""
        chosen = {opt.name: opt.default for opt in self.options}
        for name, value in (given or {}).items():
            opt = next((o for o in self.options if o.name == name), None)
            if opt is None:
                names = tuple(o.name for o in self.options)
                near = closest_name(name, names)
                hint = f" (did you mean {near}?)" if near else ""
                allowed = ", ".join(names) or "none"
                raise ConfigError(
                    f"scale `{self.id}` has no option `{name}`{hint}; its options: {allowed}",
                    field=name,
                    value=value,
                    expected=allowed,
                )
            if value not in opt.choices:
                raise ConfigError(
                    f"option `{name}={value}` of scale `{self.id}` must be one of: "
                    f"{', '.join(opt.choices)}",
                    field=name,
                    value=value,
                    expected=", ".join(opt.choices),
                )
            chosen[name] = value
        return chosen


_REGISTRY: dict[str, ScaleInfo] = {}

# Modules whose import registers scales (grading first, then scores).
SCALE_MODULES: tuple[str, ...] = (
    "cartwatch.grading.crs.astct_2019",
    "cartwatch.grading.icans.astct_2019",
    "cartwatch.grading.crs.lee_2014",
    "cartwatch.grading.crs.cartox_2018",
    "cartwatch.grading.icans.cartox_cres",
    "cartwatch.grading.crs.penn_2018",
    "cartwatch.grading.crs.mskcc_2018",
    "cartwatch.grading.crs.ctcae_v5",
    "cartwatch.grading.iec_hs",
    "cartwatch.grading.cartox_hlh_mas",
    "cartwatch.grading.icaht",
    "cartwatch.grading.ctcae_v5_hematology",
    "cartwatch.risk.scores",
)

_loaded = False


def register(info: ScaleInfo) -> ScaleInfo:
    """Add a scale to the registry (ids are unique)."""
    if info.id in _REGISTRY and _REGISTRY[info.id] is not info:
        raise ConfigError(
            f"scale id `{info.id}` registered twice", field="scale", value=info.id, expected=None
        )
    _REGISTRY[info.id] = info
    return info


def load_all() -> None:
    """Import every scale module once (idempotent)."""
    global _loaded
    if _loaded:
        return
    for name in SCALE_MODULES:
        importlib.import_module(name)
    _loaded = True


def get_scale(scale_id: str) -> ScaleInfo:
    """The registered scale ``scale_id`` (case-insensitive), or :class:`UnknownScale`."""
    load_all()
    key = scale_id.strip().lower()
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownScale(
            scale_id,
            suggestion=closest_name(key, tuple(_REGISTRY)),
            allowed=", ".join(_REGISTRY),
        ) from None


def all_scales() -> tuple[ScaleInfo, ...]:
    """Every registered scale, in registration order."""
    load_all()
    return tuple(_REGISTRY.values())
