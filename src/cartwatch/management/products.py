"""The labelled CAR-T products (and the seed-004 reduced autoimmune regimen) with their
lymphodepletion schedules and label monitoring facts.

Days are relative to infusion (day 0). Product labels (Yescarta, Tecartus, Kymriah, Breyanzi,
Abecma, Carvykti); seed 002; seed 004.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cartwatch.errors import InvalidValue, closest_name


class Product(StrEnum):
    """Products with a lymphodepletion regimen; the indication is part of the id where the
    label differs by indication."""

    AXI_CEL = "axi-cel"
    BREXU_CEL_MCL = "brexu-cel-mcl"
    BREXU_CEL_ALL = "brexu-cel-all"
    TISA_CEL_ALL = "tisa-cel-all"
    TISA_CEL_DLBCL = "tisa-cel-dlbcl"
    TISA_CEL_FL = "tisa-cel-fl"
    LISO_CEL = "liso-cel"
    IDE_CEL = "ide-cel"
    CILTA_CEL = "cilta-cel"
    AUTOIMMUNE_CY_ONLY = "autoimmune-cy-only"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSchedule:
    """One lymphodepleting agent: dose per m² per day and the days it is given."""

    agent: str
    mg_per_m2: float
    days: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductFacts:
    """Label facts used by the dose calculator and the calendar."""

    product: Product
    brand: str
    agents: tuple[AgentSchedule, ...]
    infusion_gap_days: tuple[int, int] | None
    daily_monitoring_days: int
    source: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _days(n: int, last: int) -> tuple[int, ...]:
    return tuple(range(last - n + 1, last + 1))


# Interpretation: "infuse g days after completion of LD" is read as g full days between the last
# LD day and day 0 (last LD day = -(g + 1)), which reproduces the explicit axi-cel/ide-cel
# schedules (days -5, -4, -3); the calendar uses the shortest label gap.
_STD3 = _days(3, -3)

# Daily monitoring: [YESCARTA_LABEL]/[ABECMA_LABEL]/[TECARTUS_LABEL] >=7 d (MCL), >=14 d (ALL);
# [CARVYKTI_LABEL] >=10 d (spec §7). Interpretation: 7 d for Kymriah and Breyanzi, whose labels
# the spec does not list ("daily checks the first week", issue 4).
DAILY_MONITORING_DEFAULT_DAYS = 7

PRODUCTS: dict[Product, ProductFacts] = {
    Product.AXI_CEL: ProductFacts(
        product=Product.AXI_CEL,
        brand="Yescarta",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=30.0, days=_STD3),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=500.0, days=_STD3),
        ),
        infusion_gap_days=(2, 2),
        daily_monitoring_days=7,
        source=("YESCARTA_LABEL",),
    ),
    Product.BREXU_CEL_MCL: ProductFacts(
        product=Product.BREXU_CEL_MCL,
        brand="Tecartus (MCL)",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=30.0, days=_STD3),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=500.0, days=_STD3),
        ),
        infusion_gap_days=(2, 2),
        daily_monitoring_days=7,
        source=("TECARTUS_LABEL",),
    ),
    Product.BREXU_CEL_ALL: ProductFacts(
        product=Product.BREXU_CEL_ALL,
        brand="Tecartus (ALL)",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=25.0, days=(-4, -3, -2)),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=900.0, days=(-2,)),
        ),
        infusion_gap_days=(1, 1),
        daily_monitoring_days=14,
        source=("TECARTUS_LABEL",),
    ),
    Product.TISA_CEL_ALL: ProductFacts(
        product=Product.TISA_CEL_ALL,
        brand="Kymriah (ALL)",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=30.0, days=_days(4, -3)),
            # Interpretation: cyclophosphamide on the first 2 fludarabine days ("starting with the
            # first dose of fludarabine", label as recalled; not in spec §6.5).
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=500.0, days=(-6, -5)),
        ),
        infusion_gap_days=(2, 14),
        daily_monitoring_days=DAILY_MONITORING_DEFAULT_DAYS,
        source=("KYMRIAH_LABEL",),
    ),
    Product.TISA_CEL_DLBCL: ProductFacts(
        product=Product.TISA_CEL_DLBCL,
        brand="Kymriah (DLBCL)",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=25.0, days=_STD3),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=250.0, days=_STD3),
        ),
        infusion_gap_days=(2, 11),
        daily_monitoring_days=DAILY_MONITORING_DEFAULT_DAYS,
        source=("KYMRIAH_LABEL",),
        notes=(
            "Alternative: bendamustine 90 mg/m2/day x 2 days.",
            "Lymphodepletion may be omitted if WBC <= 1 x 10^9/L within 1 week before infusion.",
        ),
    ),
    Product.TISA_CEL_FL: ProductFacts(
        product=Product.TISA_CEL_FL,
        brand="Kymriah (FL)",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=25.0, days=_STD3),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=250.0, days=_STD3),
        ),
        infusion_gap_days=(2, 6),
        daily_monitoring_days=DAILY_MONITORING_DEFAULT_DAYS,
        source=("KYMRIAH_LABEL",),
        notes=(
            "Alternative: bendamustine 90 mg/m2/day x 2 days.",
            "Lymphodepletion may be omitted if WBC <= 1 x 10^9/L within 1 week before infusion.",
        ),
    ),
    Product.LISO_CEL: ProductFacts(
        product=Product.LISO_CEL,
        brand="Breyanzi",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=30.0, days=_STD3),
            # [BREYANZI_LABEL] 300 mg/m2; D17: an older Medscape page shows 500 (treated as error).
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=300.0, days=_STD3),
        ),
        infusion_gap_days=(2, 7),
        daily_monitoring_days=DAILY_MONITORING_DEFAULT_DAYS,
        source=("BREYANZI_LABEL",),
    ),
    Product.IDE_CEL: ProductFacts(
        product=Product.IDE_CEL,
        brand="Abecma",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=30.0, days=_STD3),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=300.0, days=_STD3),
        ),
        infusion_gap_days=(2, 2),
        daily_monitoring_days=7,
        source=("ABECMA_LABEL",),
    ),
    Product.CILTA_CEL: ProductFacts(
        product=Product.CILTA_CEL,
        brand="Carvykti",
        agents=(
            AgentSchedule(agent="fludarabine", mg_per_m2=30.0, days=_STD3),
            AgentSchedule(agent="cyclophosphamide", mg_per_m2=300.0, days=_STD3),
        ),
        infusion_gap_days=(2, 4),
        daily_monitoring_days=10,
        source=("CARVYKTI_LABEL",),
        notes=(
            "Neurotoxicity can occur days, weeks or months after infusion (incl. parkinsonism).",
        ),
    ),
    Product.AUTOIMMUNE_CY_ONLY: ProductFacts(
        product=Product.AUTOIMMUNE_CY_ONLY,
        brand="Reduced autoimmune regimen (seed 004)",
        # [SEED004_AUTOIMMUNE] cyclophosphamide 300 mg/m2 alone, no fludarabine; the seed does not
        # state the number of days, so no days are scheduled (set by the centre).
        agents=(AgentSchedule(agent="cyclophosphamide", mg_per_m2=300.0, days=()),),
        infusion_gap_days=None,
        daily_monitoring_days=DAILY_MONITORING_DEFAULT_DAYS,
        source=("SEED004_AUTOIMMUNE",),
        notes=(
            "Seed 004: cyclophosphamide 300 mg/m2 without fludarabine (2024 Chinese CD19/BCMA "
            "compound CAR-T study); number of days not stated - schedule per centre.",
            "Seed 004: 2 of 18 autoimmune patients received a 50% LD dose reduction for renal "
            "impairment.",
        ),
    ),
}


def product_facts(product: Product | str) -> ProductFacts:
    """The label facts of ``product`` (``brexu-cel`` and ``tisa-cel`` need the indication)."""
    try:
        return PRODUCTS[Product(product)]
    except ValueError:
        allowed = [p.value for p in Product]
        near = closest_name(str(product), allowed)
        hint = f" (did you mean {near}?)" if near else ""
        raise InvalidValue(
            f"`product={product!r}` is not a known product{hint}; expected one of: "
            f"{', '.join(allowed)}",
            field="product",
            value=product,
            expected=", ".join(allowed),
        ) from None


_NAMES: dict[str, tuple[Product, ...]] = {
    "axi-cel": (Product.AXI_CEL,),
    "axicabtagene ciloleucel": (Product.AXI_CEL,),
    "yescarta": (Product.AXI_CEL,),
    "brexu-cel": (Product.BREXU_CEL_MCL, Product.BREXU_CEL_ALL),
    "brexucabtagene autoleucel": (Product.BREXU_CEL_MCL, Product.BREXU_CEL_ALL),
    "tecartus": (Product.BREXU_CEL_MCL, Product.BREXU_CEL_ALL),
    "tisa-cel": (Product.TISA_CEL_ALL, Product.TISA_CEL_DLBCL, Product.TISA_CEL_FL),
    "tisagenlecleucel": (Product.TISA_CEL_ALL, Product.TISA_CEL_DLBCL, Product.TISA_CEL_FL),
    "kymriah": (Product.TISA_CEL_ALL, Product.TISA_CEL_DLBCL, Product.TISA_CEL_FL),
    "liso-cel": (Product.LISO_CEL,),
    "lisocabtagene maraleucel": (Product.LISO_CEL,),
    "breyanzi": (Product.LISO_CEL,),
    "ide-cel": (Product.IDE_CEL,),
    "idecabtagene vicleucel": (Product.IDE_CEL,),
    "abecma": (Product.IDE_CEL,),
    "cilta-cel": (Product.CILTA_CEL,),
    "ciltacabtagene autoleucel": (Product.CILTA_CEL,),
    "carvykti": (Product.CILTA_CEL,),
}
"""Short, generic (INN) and brand names of the labelled products."""

_INDICATION_WORDS: dict[Product, tuple[str, ...]] = {
    Product.BREXU_CEL_MCL: ("mcl", "mantle cell lymphoma"),
    Product.BREXU_CEL_ALL: (
        "all",
        "b-all",
        "acute lymphoblastic leukaemia",
        "acute lymphoblastic leukemia",
    ),
    Product.TISA_CEL_ALL: (
        "all",
        "b-all",
        "acute lymphoblastic leukaemia",
        "acute lymphoblastic leukemia",
    ),
    Product.TISA_CEL_DLBCL: (
        "dlbcl",
        "lbcl",
        "large b-cell lymphoma",
        "diffuse large b-cell lymphoma",
    ),
    Product.TISA_CEL_FL: ("fl", "follicular lymphoma"),
}
"""Indication names that choose between the labels of one product (Kymriah and Tecartus
carry one lymphodepletion regimen per indication)."""


def labelled_product(name: str | None, diseases: tuple[str, ...] = ()) -> Product | None:
    """The labelled product a registry's product name refers to, or None when the name is not
    a labelled product or the indication does not say which of its labels applies.

    Accepts the ids of :class:`Product`, short names (``tisa-cel``), generic names
    (``tisagenlecleucel``) and brands (``Kymriah``); for Kymriah and Tecartus the patient's
    recorded ``diseases`` choose the label. Never guesses between labels.
    """
    if name is None:
        return None
    key = name.strip().lower()
    try:
        return Product(key)
    except ValueError:
        pass
    candidates = _NAMES.get(key, ())
    if len(candidates) == 1:
        return candidates[0]
    recorded = {d.strip().lower() for d in diseases}
    matching = [p for p in candidates if recorded & set(_INDICATION_WORDS.get(p, ()))]
    return matching[0] if len(matching) == 1 else None
