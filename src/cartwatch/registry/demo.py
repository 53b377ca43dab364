"""A synthetic CAR-T cohort for the demo, tests and benchmarks: reproducible, realistic charts.

:func:`generate_cohort` is pure (``random.Random`` seeded per patient from ``seed``; no clock: every
date is anchored to ``reference_date``, default 2026-01-05). Patient *i* depends only on ``seed``
and the patients before it, so a cohort of 200 is the first 200 patients of the cohort of 400.
:func:`write_cohort` stores a cohort: patients, infusions, indications, lymphodepletion and the
graded assessments through the repository, administrations, labs and outcomes in one transaction
per patient through the CSV importer's store (or one repository transaction per record). Every
write is keyed naturally, so writing the same cohort twice changes nothing.

Each patient: a pseudonymous id (``DEMO-0001``), sex, age (paediatric B-ALL under 12 too, so CAPD is
charted), weight and height, one indication (haematological or autoimmune), a product matching the
disease, lymphodepletion, one infusion (the sequential CD22→CD19 arm has a second one about 2 days
later), assessments every 8–12 h to day 14 and daily to day 28 holding the contract's fields as a
chart would (some fields unrecorded on quiet checks), the drugs the consensus gives for each grade,
labs (CRP, ferritin, ANC, platelets, haemoglobin, LDH, creatinine) with ICAHT-like neutrophil
recovery, and outcomes (response at day 28 and 90, relapse or progression, death, last contact).

How a trajectory is made. Per patient the CRS and ICANS *plans* are drawn from the profile of
its product and disease (table below): whether the syndrome occurs and whether it reaches grade ≥3
(stratified within the profile, see :class:`_Draws`), its maximum grade, onset day
(log-normal around the published median, clipped to the published range) and duration. The
plan is a step profile (grade 1, up to the maximum, back down). Each assessment charts the worst
planned grade since the previous assessment (``temperature_c`` is by contract the highest since the
last check; the other findings are read the same way — Interpretation). Treatment follows the
charted grades; tocilizumab or a corticosteroid then masks the fever (the chart records
``crs_previously_established`` and ``antipyretic_or_anticytokine_given`` most of the time, as the
bedside form asks, and leaves them for the record to supply otherwise).

Parameters (counts are numerator/denominator of the row in ``published-trials.csv``; grade ≥3 and
neurotoxicity are as the trial graded them — Lee 2014, Penn, CTCAE neurological events — and are
charted here as ASTCT grades: Interpretation, the demo reproduces the reported rates, it does not
regrade them):

Incidence (CRS any, CRS ≥3, ICANS any, ICANS ≥3) and source row:

==============  =======  ======  ======  ======  =======================================
profile         CRS      CRS≥3   ICANS   ICANS≥3 source
==============  =======  ======  ======  ======  =======================================
axi-cel/LBCL    94/101   13/101  65/101  28/101  ZUMA-1 NCT02348216
tisa-cel/LBCL   64/111   24/111  23/111  13/111  JULIET NCT02445248 (Penn)
liso-cel/LBCL   113/269  5/269   81/269  27/269  TRANSCEND NHL 001 NCT02631044
tisa-cel/B-ALL  58/75    35/75   30/75   10/75   ELIANA NCT02435849 (Penn; age median 11)
academic/B-ALL  25/30    7/30    15/30   15/30   JCAR014 NCT01865617 ('severe')
CD22→CD19/ALL   as academic/B-ALL                Tongji (seed 000): no counts, "not higher"
brexu-cel/MCL   62/68    10/68   43/68   21/68   ZUMA-2 NCT02601313
axi-cel/FL      82% R    7% R    59% R   19% R   ZUMA-5 NCT03105336 (counts not in csv)
ide-cel/MM      107/128  7/128   23/128  4/128   KarMMa NCT03361748
cilta-cel/MM    92/97    4/97    20/97   2% R    CARTITUDE-1 NCT03548207
CD19+BCMA/MM    54/54    7/54    10% S   0 I     ChiCTR-OIC-17011272; seed 001 table 1
liso-cel/CLL    99/117   10/117  53/117  22/117  TRANSCEND CLL 004 NCT03331198
autoimmune      14/18    0/18    6% R    0/18    seed 004 (13 of 14 CRS grade 1; toci 6/18)
==============  =======  ======  ======  ======  =======================================

Timing (median onset day (range) / median duration, days):

==============  =================  =================  ==================================
profile         CRS                ICANS              source
==============  =================  =================  ==================================
axi-cel/LBCL    2 (1–12) / 7       4 (1–43) / 17      Yescarta label, spec §7 [V]
tisa-cel/LBCL   3 (1–22) / 8       6 (1–30) / 14 R    ELIANA CRS (spec §7); neuro R
liso-cel/LBCL   5 (1–15) / 5 R     8 (1–46) / 12 R    Breyanzi label, recalled
tisa-cel/B-ALL  3 (1–22) / 8       6 (1–30) / 6 R     spec §7 (ELIANA, JITC table)
academic/B-ALL  4.5 (1–14) / 5 S   4.5 (1–14) / 5 S   seed 001 (spec §7)
brexu-cel/MCL   3 (1–13) / 10 R    7 (1–32) / 12 R    Tecartus label, recalled
axi-cel/FL      4 (1–20) / 6       6 (1–40) / 10 R    ZUMA-5, spec §7 [V]; neuro R
ide-cel/MM      1 (0.5–23) / 7 R   2 (1–42) / 5 R     Abecma label, recalled
cilta-cel/MM    7 (1–12) / 4 R     8 (3–12) / 4 R     Carvykti label, recalled
CD19+BCMA/MM    4.5 / 5 S          4.5 / 5 S          seed 001 (spec §7)
liso-cel/CLL    4 (1–18) / 6 R     7 (1–30) / 8 R     recalled
autoimmune      2 (0.5–4) / 2 R    5 (3–8) / 3 R      Müller 2024 NEJM, recalled
==============  =================  =================  ==================================

R = recalled from the product label or primary paper, not re-read (UNVERIFIED); S = seed review;
I = Interpretation. Response (CR / ORR) per profile from the same rows (``cr_n``/``orr_n`` over
``n_efficacy``) where given. Cohort mix (Interpretation, a centre treating all indications): weights
in :data:`PROFILE_WEIGHTS`; autoimmune share 11% (SLE 5, systemic sclerosis 3, myositis 3 — seed 004
treated 8 SLE, 5 SSc, 5 myositis). Grade mix within a band (Interpretation, not reported per
product): grade 2 is 45% of grade 1–2; grade 4 is 25% and grade 5 4% of grade ≥3. ICAHT-like
neutrophil recovery: quick 45%, intermittent 35%, aplastic 20% (haematological; Interpretation after
Rejeski 2021/2023), all quick in autoimmune disease (seed 004: no prolonged or biphasic cytopenia).

Sources: published-trials.csv rows named above; spec §6 (tocilizumab, steroids) and §7 (timing);
[ACTEMRA_LABEL], [ASCO2021], [SEED001_TABLE2], [SEED004_AUTOIMMUNE], [REJESKI2023], product labels.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import math
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from cartwatch.errors import Conflict, InvalidValue
from cartwatch.management.doses import tocilizumab_dose
from cartwatch.management.products import PRODUCTS
from cartwatch.management.products import Product as LdProduct

if TYPE_CHECKING:
    from cartwatch.registry.repository import Registry

DEFAULT_REFERENCE_DATE = dt.date(2026, 1, 5)
PATIENT_PREFIX = "DEMO-"
CENTRE = "DEMO"
SOURCE_KEY = "demo"

# ---------------------------------------------------------------------------------------------
# Products: targets and costimulatory domain
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductSpec:
    """A CAR-T product as the registry stores it, with its label dose and LD regimen."""

    name: str
    targets: tuple[str, ...]
    costimulatory_domain: str | None
    origin: str = "autologous"
    cell_dose: float
    cell_dose_unit: str


# Targets/costim: published-trials.csv columns `target`, `costim_domain`; doses: product labels
# (recalled, UNVERIFIED) and seed 004 (1–5×10⁶/kg for autoimmune disease).
PRODUCT_SPECS: dict[str, ProductSpec] = {
    p.name: p
    for p in (
        ProductSpec(
            name="axi-cel",
            targets=("CD19",),
            costimulatory_domain="CD28",  # [YESCARTA_LABEL] ZUMA-1 row
            cell_dose=2e6,  # [YESCARTA_LABEL] 2×10⁶ CAR+ T cells/kg — UNVERIFIED (recalled)
            cell_dose_unit="CAR+ T cells/kg",
        ),
        ProductSpec(
            name="tisa-cel",
            targets=("CD19",),
            costimulatory_domain="4-1BB",  # [KYMRIAH_LABEL] JULIET/ELIANA rows
            cell_dose=3e6,  # [KYMRIAH_LABEL] ALL ≤50 kg 0.2–5×10⁶/kg — UNVERIFIED (recalled)
            cell_dose_unit="CAR+ T cells/kg",
        ),
        ProductSpec(
            name="liso-cel",
            targets=("CD19",),
            costimulatory_domain="4-1BB",  # [BREYANZI_LABEL] TRANSCEND row
            cell_dose=100e6,  # [BREYANZI_LABEL] 100×10⁶ CAR+ T cells — UNVERIFIED (recalled)
            cell_dose_unit="CAR+ T cells",
        ),
        ProductSpec(
            name="brexu-cel",
            targets=("CD19",),
            costimulatory_domain="CD28",  # [TECARTUS_LABEL] ZUMA-2 row
            cell_dose=2e6,  # [TECARTUS_LABEL] 2×10⁶ CAR+ T cells/kg — UNVERIFIED (recalled)
            cell_dose_unit="CAR+ T cells/kg",
        ),
        ProductSpec(
            name="ide-cel",
            targets=("BCMA",),
            costimulatory_domain="4-1BB",  # [ABECMA_LABEL] KarMMa row
            cell_dose=450e6,  # [ABECMA_LABEL] 300–460×10⁶ CAR+ T cells — UNVERIFIED (recalled)
            cell_dose_unit="CAR+ T cells",
        ),
        ProductSpec(
            name="cilta-cel",
            targets=("BCMA",),
            costimulatory_domain="4-1BB",  # [CARVYKTI_LABEL] CARTITUDE-1 row
            cell_dose=0.75e6,  # [CARVYKTI_LABEL] 0.5–1.0×10⁶/kg — UNVERIFIED (recalled)
            cell_dose_unit="CAR+ T cells/kg",
        ),
        ProductSpec(
            name="academic CD19 CAR-T (4-1BB)",
            targets=("CD19",),
            costimulatory_domain="4-1BB",  # JCAR014 rows (NCT01865617); seed 004 CD19 CARs
            cell_dose=1e6,  # [SEED004_AUTOIMMUNE] 1–5×10⁶ CAR-T cells/kg
            cell_dose_unit="CAR+ T cells/kg",
        ),
        ProductSpec(
            name="academic CD22 CAR-T",
            targets=("CD22",),
            # Tongji sequential CD22→CD19 row: costimulatory domain not reported → not recorded.
            costimulatory_domain=None,
            cell_dose=1e6,  # Interpretation: same dose as the academic CD19 CAR
            cell_dose_unit="CAR+ T cells/kg",
        ),
        ProductSpec(
            name="academic CD19+BCMA CAR-T",
            targets=("CD19", "BCMA"),
            costimulatory_domain="4-1BB",  # ChiCTR-OIC-17011272 row (combined infusion)
            cell_dose=1e6,  # Interpretation: not in the row
            cell_dose_unit="CAR+ T cells/kg",
        ),
    )
}


# ---------------------------------------------------------------------------------------------
# Toxicity and response profiles
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """Median onset day (clipped to ``low``–``high``) and median duration in days."""

    onset_median_d: float
    onset_low_d: float
    onset_high_d: float
    duration_median_d: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """Incidence, timing and response of one product in one disease, with their sources."""

    key: str
    product: str
    disease: str
    category: str  # haematological | autoimmune
    disease_group: str
    crs_any: float
    crs_grade3plus: float
    icans_any: float
    icans_grade3plus: float
    crs_timing: Timing
    icans_timing: Timing
    cr: float
    orr: float
    age_median: float
    age_low: float
    age_high: float
    ld_product: LdProduct | None
    source: str
    grade2_share: float = 0.45  # Interpretation: grade 2 share of grade 1–2 (not reported)
    grade1_toci_after_h: float = 72.0  # [ASCO2021] grade 1: consider tocilizumab if >3 days
    grade1_toci_share: float = 1.0
    sequential_cd22: bool = False
    female_share: float = 0.4


def _r(n: int, d: int) -> float:
    return n / d


# Seed 001 / spec §7: ICANS median onset 4–5 days, duration ~5 days [S].
_SEED001_TIMING = Timing(
    onset_median_d=4.5, onset_low_d=1.0, onset_high_d=14.0, duration_median_d=5
)

PROFILES: tuple[Profile, ...] = (
    Profile(
        key="axi-cel/LBCL",
        product="axi-cel",
        disease="LBCL",
        category="haematological",
        disease_group="high-grade lymphoma",
        crs_any=_r(94, 101),  # ZUMA-1 NCT02348216 crs_any_n 94/101 (Lee 2014)
        crs_grade3plus=_r(13, 101),  # ZUMA-1 crs_grade3plus_n 13/101
        icans_any=_r(65, 101),  # ZUMA-1 icans_any_n 65/101 (CTCAE neurological events)
        icans_grade3plus=_r(28, 101),  # ZUMA-1 icans_grade3plus_n 28/101
        # [YESCARTA_LABEL] spec §7: CRS onset 2 d (1–12), duration 7 d; neuro 4 d (1–43), 17 d
        crs_timing=Timing(onset_median_d=2, onset_low_d=1, onset_high_d=12, duration_median_d=7),
        icans_timing=Timing(onset_median_d=4, onset_low_d=1, onset_high_d=43, duration_median_d=17),
        cr=_r(55, 101),  # ZUMA-1 cr_n 55/101
        orr=_r(83, 101),  # ZUMA-1 orr_n 83/101
        age_median=58,  # ZUMA-1 median_age 58
        age_low=23,
        age_high=76,
        ld_product=LdProduct.AXI_CEL,
        source="ZUMA-1 (NCT02348216); Yescarta label",
        grade1_toci_after_h=24.0,  # [ASCO2021] axi-cel/brexu-cel: consider if >24 h (R)
    ),
    Profile(
        key="tisa-cel/LBCL",
        product="tisa-cel",
        disease="LBCL",
        category="haematological",
        disease_group="high-grade lymphoma",
        crs_any=_r(64, 111),  # JULIET NCT02445248 crs_any_n 64/111 (Penn)
        crs_grade3plus=_r(24, 111),  # JULIET crs_grade3plus_n 24/111 (Penn)
        icans_any=_r(23, 111),  # JULIET icans_any_n 23/111
        icans_grade3plus=_r(13, 111),  # JULIET icans_grade3plus_n 13/111
        # UNVERIFIED (recalled): JULIET onset not in spec §7; ELIANA's 3 d (1–22)/8 d used for CRS,
        # neurological events 6 d / 14 d from the Kymriah label as recalled.
        crs_timing=Timing(onset_median_d=3, onset_low_d=1, onset_high_d=22, duration_median_d=8),
        icans_timing=Timing(onset_median_d=6, onset_low_d=1, onset_high_d=30, duration_median_d=14),
        cr=_r(37, 93),  # JULIET cr_n 37/93
        orr=_r(48, 93),  # JULIET orr_n 48/93
        age_median=56,  # UNVERIFIED (recalled JULIET median age 56)
        age_low=22,
        age_high=76,
        ld_product=LdProduct.TISA_CEL_DLBCL,
        source="JULIET (NCT02445248); Kymriah label",
    ),
    Profile(
        key="liso-cel/LBCL",
        product="liso-cel",
        disease="LBCL",
        category="haematological",
        disease_group="high-grade lymphoma",
        crs_any=_r(113, 269),  # TRANSCEND NHL 001 NCT02631044 crs_any_n 113/269
        crs_grade3plus=_r(5, 269),  # TRANSCEND crs_grade3plus_n 5/269
        icans_any=_r(81, 269),  # TRANSCEND icans_any_n 81/269 (neurological events)
        icans_grade3plus=_r(27, 269),  # TRANSCEND icans_grade3plus_n 27/269
        # UNVERIFIED (recalled Breyanzi label): CRS onset 5 d (1–15), 5 d; neuro 8 d (1–46), 12 d
        crs_timing=Timing(onset_median_d=5, onset_low_d=1, onset_high_d=15, duration_median_d=5),
        icans_timing=Timing(onset_median_d=8, onset_low_d=1, onset_high_d=46, duration_median_d=12),
        cr=_r(136, 256),  # TRANSCEND cr_n 136/256
        orr=_r(187, 256),  # TRANSCEND orr_n 187/256
        age_median=63,  # TRANSCEND median_age 63
        age_low=25,
        age_high=82,
        ld_product=LdProduct.LISO_CEL,
        source="TRANSCEND NHL 001 (NCT02631044); Breyanzi label",
    ),
    Profile(
        key="tisa-cel/B-ALL",
        product="tisa-cel",
        disease="B-ALL",
        category="haematological",
        disease_group="leukemia",
        crs_any=_r(58, 75),  # ELIANA NCT02435849 crs_any_n 58/75 (Penn)
        crs_grade3plus=_r(35, 75),  # ELIANA crs_grade3plus_n 35/75 (Penn)
        icans_any=_r(30, 75),  # ELIANA icans_any_n 30/75
        icans_grade3plus=_r(10, 75),  # ELIANA icans_grade3plus_n 10/75
        # spec §7 (ELIANA, JITC table) CRS onset 3 d (1–22), duration 8 d (1–36) [V];
        # neuro onset/duration UNVERIFIED (recalled 6 d / 6 d)
        crs_timing=Timing(onset_median_d=3, onset_low_d=1, onset_high_d=22, duration_median_d=8),
        icans_timing=Timing(onset_median_d=6, onset_low_d=1, onset_high_d=30, duration_median_d=6),
        cr=_r(61, 75),  # ELIANA cr_n 61/75 (CR + CRi)
        orr=_r(61, 75),  # ELIANA orr_n 61/75
        age_median=11,  # ELIANA median_age 11 (range 3–23: recalled)
        age_low=3,
        age_high=23,
        ld_product=LdProduct.TISA_CEL_ALL,
        source="ELIANA (NCT02435849); spec §7",
        female_share=0.43,
    ),
    Profile(
        key="academic-cd19/B-ALL",
        product="academic CD19 CAR-T (4-1BB)",
        disease="B-ALL",
        category="haematological",
        disease_group="leukemia",
        crs_any=_r(25, 30),  # JCAR014 NCT01865617 adult B-ALL crs_any_n 25/30
        crs_grade3plus=_r(7, 30),  # JCAR014 'severe' CRS 7/30 (review's definition)
        icans_any=_r(15, 30),  # JCAR014 icans_any_n 15/30
        icans_grade3plus=_r(15, 30),  # JCAR014 'severe' neurotoxicity 15/30
        crs_timing=_SEED001_TIMING,  # [SEED001_TABLE2] §7 ICANS/CRS within a week [S]
        icans_timing=_SEED001_TIMING,
        cr=_r(27, 29),  # JCAR014 cr_n 27/29 (marrow remission)
        orr=_r(27, 29),
        age_median=40,  # JCAR014 median_age 40
        age_low=20,
        age_high=73,
        ld_product=None,
        source="JCAR014 adult B-ALL (NCT01865617); seed 001",
    ),
    Profile(
        key="cd22-cd19/B-ALL",
        product="academic CD19 CAR-T (4-1BB)",
        disease="B-ALL",
        category="haematological",
        disease_group="leukemia",
        # Tongji sequential CD22→CD19 (seed 000): no counts; "toxicity not higher than historical
        # controls" → Interpretation: the academic adult B-ALL rates.
        crs_any=_r(25, 30),
        crs_grade3plus=_r(7, 30),
        icans_any=_r(15, 30),
        icans_grade3plus=_r(15, 30),
        crs_timing=_SEED001_TIMING,
        icans_timing=_SEED001_TIMING,
        cr=0.905,  # Tongji B-ALL CR 90.5% (seed 000, its ref [26])
        orr=0.976,  # Tongji B-ALL CR 90.5% + PR 7.1%
        age_median=35,  # Interpretation (not reported)
        age_low=18,
        age_high=65,
        ld_product=None,
        source="Tongji sequential CD22/CD19 (seed 000)",
        sequential_cd22=True,
    ),
    Profile(
        key="brexu-cel/MCL",
        product="brexu-cel",
        disease="MCL",
        category="haematological",
        disease_group="high-grade lymphoma",
        crs_any=_r(62, 68),  # ZUMA-2 NCT02601313 crs_any_n 62/68
        crs_grade3plus=_r(10, 68),  # ZUMA-2 crs_grade3plus_n 10/68
        icans_any=_r(43, 68),  # ZUMA-2 icans_any_n 43/68
        icans_grade3plus=_r(21, 68),  # ZUMA-2 icans_grade3plus_n 21/68
        # UNVERIFIED (recalled Tecartus label): CRS 3 d (1–13), 10 d; neuro 7 d (1–32), 12 d
        crs_timing=Timing(onset_median_d=3, onset_low_d=1, onset_high_d=13, duration_median_d=10),
        icans_timing=Timing(onset_median_d=7, onset_low_d=1, onset_high_d=32, duration_median_d=12),
        cr=_r(40, 60),  # ZUMA-2 cr_n 40/60
        orr=_r(56, 60),  # ZUMA-2 orr_n 56/60
        age_median=65,  # UNVERIFIED (recalled ZUMA-2 median age 65)
        age_low=38,
        age_high=79,
        ld_product=LdProduct.BREXU_CEL_MCL,
        source="ZUMA-2 (NCT02601313); Tecartus label",
        grade1_toci_after_h=24.0,  # [ASCO2021] axi-cel/brexu-cel: consider if >24 h (R)
        female_share=0.2,
    ),
    Profile(
        key="axi-cel/FL",
        product="axi-cel",
        disease="FL",
        category="haematological",
        disease_group="low/mixed-grade lymphoma",
        # ZUMA-5 CRS/neuro counts not captured in published-trials.csv.
        crs_any=0.82,  # UNVERIFIED (recalled ZUMA-5 CRS 82%)
        crs_grade3plus=0.07,  # UNVERIFIED (recalled ZUMA-5 grade ≥3 CRS 7%)
        icans_any=0.59,  # UNVERIFIED (recalled ZUMA-5 neurological events 59%)
        icans_grade3plus=0.19,  # UNVERIFIED (recalled ZUMA-5 grade ≥3 neurological events 19%)
        # spec §7 (yescartahcp) ZUMA-5 CRS onset 4 d (1–20), duration 6 d (1–27) [V];
        # neuro UNVERIFIED (recalled 6 d / 10 d)
        crs_timing=Timing(onset_median_d=4, onset_low_d=1, onset_high_d=20, duration_median_d=6),
        icans_timing=Timing(onset_median_d=6, onset_low_d=1, onset_high_d=40, duration_median_d=10),
        cr=_r(77, 104),  # ZUMA-5 cr_n 77/104
        orr=_r(96, 104),  # ZUMA-5 orr_n 96/104
        age_median=61,  # UNVERIFIED (recalled)
        age_low=34,
        age_high=79,
        ld_product=LdProduct.AXI_CEL,
        source="ZUMA-5 (NCT03105336); spec §7",
        grade1_toci_after_h=24.0,  # [ASCO2021] axi-cel: consider if >24 h (R)
    ),
    Profile(
        key="ide-cel/MM",
        product="ide-cel",
        disease="MM",
        category="haematological",
        disease_group="multiple myeloma",
        crs_any=_r(107, 128),  # KarMMa NCT03361748 crs_any_n 107/128
        crs_grade3plus=_r(7, 128),  # KarMMa crs_grade3plus_n 7/128
        icans_any=_r(23, 128),  # KarMMa icans_any_n 23/128 (investigator neurotoxicity)
        icans_grade3plus=_r(4, 128),  # KarMMa icans_grade3plus_n 4/128
        # UNVERIFIED (recalled Abecma label): CRS onset 1 d (1–23), 7 d; neuro 2 d (1–42), 5 d
        crs_timing=Timing(onset_median_d=1, onset_low_d=0.5, onset_high_d=23, duration_median_d=7),
        icans_timing=Timing(onset_median_d=2, onset_low_d=1, onset_high_d=42, duration_median_d=5),
        cr=_r(42, 128),  # KarMMa cr_n 42/128
        orr=_r(94, 128),  # KarMMa orr_n 94/128
        age_median=61,  # KarMMa median_age 61
        age_low=33,
        age_high=78,
        ld_product=LdProduct.IDE_CEL,
        source="KarMMa (NCT03361748); Abecma label",
    ),
    Profile(
        key="cilta-cel/MM",
        product="cilta-cel",
        disease="MM",
        category="haematological",
        disease_group="multiple myeloma",
        crs_any=_r(92, 97),  # CARTITUDE-1 NCT03548207 crs_any_n 92/97
        crs_grade3plus=_r(4, 97),  # CARTITUDE-1 crs_grade3plus_n 4/97
        icans_any=_r(20, 97),  # CARTITUDE-1 icans_any_n 20/97 (CAR-T neurotoxicity)
        # Row blank ("about 10%" incl. late neurotoxicity); ICANS ≥3 UNVERIFIED (recalled 2%).
        icans_grade3plus=0.02,
        # UNVERIFIED (recalled Carvykti label/CARTITUDE-1): CRS 7 d (1–12), 4 d; ICANS 8 d, 4 d
        crs_timing=Timing(onset_median_d=7, onset_low_d=1, onset_high_d=12, duration_median_d=4),
        icans_timing=Timing(onset_median_d=8, onset_low_d=3, onset_high_d=12, duration_median_d=4),
        cr=_r(65, 97),  # CARTITUDE-1 cr_n 65/97
        orr=_r(94, 97),  # CARTITUDE-1 orr_n 94/97
        age_median=61,  # UNVERIFIED (recalled)
        age_low=43,
        age_high=78,
        ld_product=LdProduct.CILTA_CEL,
        source="CARTITUDE-1 (NCT03548207); Carvykti label",
    ),
    Profile(
        key="cd19-bcma/MM",
        product="academic CD19+BCMA CAR-T",
        disease="MM",
        category="haematological",
        disease_group="multiple myeloma",
        crs_any=_r(54, 54),  # ChiCTR-OIC-17011272 crs_any_n 54/54
        crs_grade3plus=_r(7, 54),  # ChiCTR-OIC-17011272 crs_grade3plus_n 7/54 (grade 3–5)
        icans_any=0.10,  # [SEED001_TABLE2] seed 001 table 1: ICANS 10% (21-patient report)
        icans_grade3plus=0.0,  # Interpretation: none reported
        crs_timing=_SEED001_TIMING,
        icans_timing=_SEED001_TIMING,
        cr=0.6,  # Interpretation: CR not in the row
        orr=_r(51, 54),  # ChiCTR-OIC-17011272 orr_n 51/54
        age_median=58,  # Interpretation (not in the row)
        age_low=35,
        age_high=72,
        ld_product=None,
        source="ChiCTR-OIC-17011272; seed 001",
    ),
    Profile(
        key="liso-cel/CLL",
        product="liso-cel",
        disease="CLL",
        category="haematological",
        disease_group="leukemia",
        crs_any=_r(99, 117),  # TRANSCEND CLL 004 NCT03331198 crs_any_n 99/117
        crs_grade3plus=_r(10, 117),  # TRANSCEND CLL 004 crs_grade3plus_n 10/117
        icans_any=_r(53, 117),  # TRANSCEND CLL 004 icans_any_n 53/117 (neurological events)
        icans_grade3plus=_r(22, 117),  # TRANSCEND CLL 004 icans_grade3plus_n 22/117
        # UNVERIFIED (recalled): CRS 4 d (1–18), 6 d; neuro 7 d (1–30), 8 d
        crs_timing=Timing(onset_median_d=4, onset_low_d=1, onset_high_d=18, duration_median_d=6),
        icans_timing=Timing(onset_median_d=7, onset_low_d=1, onset_high_d=30, duration_median_d=8),
        cr=0.21,  # [SEED001_TABLE2] seed 001 table 1 CLL CR 21% (JCAR014)
        orr=0.45,  # Interpretation: not in the row
        age_median=65,  # UNVERIFIED (recalled)
        age_low=45,
        age_high=82,
        ld_product=LdProduct.LISO_CEL,
        source="TRANSCEND CLL 004 (NCT03331198); seed 001",
        female_share=0.3,
    ),
)


def _autoimmune(disease: str, age_median: float, female_share: float) -> Profile:
    # [SEED004_AUTOIMMUNE] 18 patients: CRS 14/18 (78%), 13 grade 1, none ≥3; no high-grade ICANS;
    # tocilizumab 6/18 (33%); no prolonged or biphasic cytopenia.
    return Profile(
        key=f"autoimmune/{disease}",
        product="academic CD19 CAR-T (4-1BB)",
        disease=disease,
        category="autoimmune",
        disease_group="autoimmune",
        crs_any=_r(14, 18),
        crs_grade3plus=0.0,
        icans_any=0.06,  # UNVERIFIED (recalled Müller 2024 NEJM: 1 grade-1 ICANS of 15)
        icans_grade3plus=0.0,
        # UNVERIFIED (recalled Müller 2024): CRS onset day 1–4, lasting 1–3 days
        crs_timing=Timing(onset_median_d=2, onset_low_d=0.5, onset_high_d=4, duration_median_d=2),
        icans_timing=Timing(onset_median_d=5, onset_low_d=3, onset_high_d=8, duration_median_d=3),
        cr=1.0,  # seed 004: all 8 SLE in remission at 6 months (drug-free)
        orr=1.0,
        age_median=age_median,
        age_low=18,
        age_high=65,
        ld_product=None,
        source="seed 004 (Scherlinger 2025)",
        grade2_share=1 / 14,  # [SEED004_AUTOIMMUNE] 13 of 14 CRS grade 1
        # [SEED004_AUTOIMMUNE] tocilizumab 6/18: 1 grade 2 + ~5 of 13 grade 1 → Interpretation:
        # 40% of grade-1 CRS get tocilizumab after 24 h.
        grade1_toci_after_h=24.0,
        grade1_toci_share=0.4,
        female_share=female_share,
    )


PROFILES = (
    *PROFILES,
    _autoimmune("SLE", 30, 0.85),
    _autoimmune("systemic sclerosis", 45, 0.7),
    _autoimmune("myositis", 45, 0.6),
)
PROFILE_BY_KEY: dict[str, Profile] = {p.key: p for p in PROFILES}

# Interpretation: the mix of a centre treating every indication (autoimmune 11%).
PROFILE_WEIGHTS: dict[str, float] = {
    "axi-cel/LBCL": 14,
    "tisa-cel/LBCL": 8,
    "liso-cel/LBCL": 10,
    "tisa-cel/B-ALL": 9,
    "academic-cd19/B-ALL": 5,
    "cd22-cd19/B-ALL": 2,
    "brexu-cel/MCL": 7,
    "axi-cel/FL": 5,
    "ide-cel/MM": 9,
    "cilta-cel/MM": 10,
    "cd19-bcma/MM": 3,
    "liso-cel/CLL": 7,
    "autoimmune/SLE": 5,
    "autoimmune/systemic sclerosis": 3,
    "autoimmune/myositis": 3,
}

# Interpretation (not reported per product): grade 4 and grade 5 shares of grade ≥3.
GRADE4_SHARE_OF_SEVERE = 0.25
GRADE5_SHARE_OF_SEVERE = 0.04
ICANS_GRADE2_SHARE = 0.45  # Interpretation: grade 2 share of grade 1–2 ICANS (not reported)
ICANS_MIN_LAG_D = 0.5  # Interpretation: ICANS begins at least ~half a day after CRS (median)
# Interpretation: 90% of ICANS occurs in a patient who also has CRS (ICANS tracks CRS, seed 001).
ICANS_WITH_CRS_SHARE = 0.9
# Interpretation after Rejeski 2021/2023 ([REJESKI2023]): ANC recovery patterns.
ANC_PATTERN_SHARES = (("quick", 0.45), ("intermittent", 0.35), ("aplastic", 0.20))
# Interpretation: share of patients with one infection fever judged not due to CRS (day 8–28).
INFECTION_FEVER_SHARE = 0.08
# Interpretation: share of assessments whose fever is masked once tocilizumab or a steroid is given.
MASKED_FEVER_SHARE = 0.85
# Interpretation: how often the bedside form records the carried CRS facts once CRS is established.
CARRIED_FACTS_RECORDED_SHARE = 0.8
# Interpretation: on a quiet check (no CRS, no ICANS) how often a field is left unrecorded.
UNRECORDED_SHARES: dict[str, float] = {
    "icp_edema": 0.10,
    "ice": 0.05,
    "sbp_mmhg": 0.10,
    "motor": 0.05,
}
PARALLEL_MIN_PATIENTS = 20  # below this, a grading process costs more than it saves
GRADING_WINDOW_PER_WORKER = 4
DENSE_UNTIL_DAY = 14  # brief: every 8–12 h to day ~14, then daily
LAST_DAY = 28
LAB_DAYS: tuple[int, ...] = (-6, *range(0, LAST_DAY + 1))

# [ASCO2021] spec §6.1 TOCI-04/05: ≥8 h apart, ≤3 per 24 h, ≤4 in total.
TOCI_MIN_INTERVAL_H = 8.0
TOCI_MAX_PER_24H = 3
TOCI_MAX_TOTAL = 4
# [ASCO2021] spec §6.2/6.3: dexamethasone 10 mg IV q6h for CRS 3 and ICANS 3; q12h for ICANS 2;
# methylprednisolone 1,000 mg/day × 3 days for grade 4 ([SEED001_TABLE2]).
DEXAMETHASONE_MG = 10.0
DEX_INTERVAL_SEVERE_H = 6.0
DEX_INTERVAL_ICANS2_H = 12.0
METHYLPRED_MG = 1000.0
METHYLPRED_DAYS = 3
# Interpretation: paracetamol 1 g (15 mg/kg under 50 kg) q6h, ≤4 doses in 24 h, for fever.
PARACETAMOL_ADULT_MG = 1000.0
PARACETAMOL_MG_PER_KG = 15.0
PARACETAMOL_INTERVAL_H = 6.0
# [NEELAPU2018] spec §6.4: levetiracetam 500 mg IV bolus (non-convulsive status); only the bolus is
# charted (Interpretation: half of grade ≥3 ICANS get it).
LEVETIRACETAM_LOAD_MG = 500.0
FEVER_C = 38.0  # [LEE2019] fever ≥38.0 °C
LOW_FLOW_MAX_L_MIN = 6.0  # [LEE2019] low-flow nasal cannula ≤6 L/min
CAPD_ICANS3_MIN = 9  # [LEE2019] CAPD ≥9 → grade 3 (children <12)
ICE_CHILD_AGE_YEARS = 12.0  # [LEE2019] ICE from 12 years, CAPD below


# ---------------------------------------------------------------------------------------------
# The cohort
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoInfusion:
    infusion_ref: str
    infused_at: dt.datetime
    product: str
    cell_dose: float
    cell_dose_unit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoLymphodepletion:
    regimen: str
    started_on: dt.date
    fludarabine_mg_m2_day: float | None
    cyclophosphamide_mg_m2_day: float | None
    days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoAssessment:
    assessed_at: dt.datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoAdministration:
    given_at: dt.datetime
    drug: str
    dose_mg: float
    route: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoLab:
    taken_at: dt.datetime
    name: str
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOutcome:
    kind: str
    on_date: dt.date
    detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyndromePlan:
    """The drawn course of one syndrome (the truth behind the chart)."""

    max_grade: int
    onset_day: float | None
    resolution_day: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPatient:
    patient_ref: str
    profile: str
    sex: str
    age_years: float
    weight_kg: float
    height_cm: float
    disease: str
    category: str
    disease_group: str
    lymphodepletion: DemoLymphodepletion
    infusions: tuple[DemoInfusion, ...]
    assessments: tuple[DemoAssessment, ...]
    administrations: tuple[DemoAdministration, ...]
    labs: tuple[DemoLab, ...]
    outcomes: tuple[DemoOutcome, ...]
    crs_plan: SyndromePlan
    icans_plan: SyndromePlan

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_ref": self.patient_ref,
            "profile": self.profile,
            "sex": self.sex,
            "age_years": self.age_years,
            "disease": self.disease,
            "crs_max_grade_planned": self.crs_plan.max_grade,
            "icans_max_grade_planned": self.icans_plan.max_grade,
            "assessments": len(self.assessments),
            "administrations": len(self.administrations),
            "labs": len(self.labs),
            "outcomes": [(o.kind, o.on_date.isoformat(), o.detail) for o in self.outcomes],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Cohort:
    seed: int
    reference_date: dt.date
    patients: tuple[DemoPatient, ...]

    @property
    def products(self) -> tuple[ProductSpec, ...]:
        names = sorted({i.product for p in self.patients for i in p.infusions})
        return tuple(PRODUCT_SPECS[n] for n in names)

    def counts(self) -> dict[str, int]:
        """Records per kind (patients, infusions, assessments, administrations, labs, outcomes)."""
        ps = self.patients
        return {
            "patients": len(ps),
            "infusions": sum(len(p.infusions) for p in ps),
            "assessments": sum(len(p.assessments) for p in ps),
            "administrations": sum(len(p.administrations) for p in ps),
            "labs": sum(len(p.labs) for p in ps),
            "outcomes": sum(len(p.outcomes) for p in ps),
        }


# ---------------------------------------------------------------------------------------------
# Generation (pure)
# ---------------------------------------------------------------------------------------------


def generate_cohort(
    *, patients: int, seed: int, reference_date: dt.date = DEFAULT_REFERENCE_DATE
) -> Cohort:
    """``patients`` synthetic CAR-T patients; the same arguments give the same cohort."""
    if not isinstance(patients, int) or not 0 <= patients <= 100_000:
        raise InvalidValue(
            f"`patients={patients}` is out of range; expected 0–100,000",
            field="patients",
            value=patients,
            expected="0–100,000",
        )
    draws = _Draws(seed)
    return Cohort(
        seed=seed,
        reference_date=reference_date,
        patients=tuple(draws.patient(i, reference_date) for i in range(1, patients + 1)),
    )


def generate_patient(*, index: int, seed: int, reference_date: dt.date) -> DemoPatient:
    """Patient number ``index`` (1-based) of the cohort drawn with ``seed`` (O(index))."""
    draws = _Draws(seed)
    for i in range(1, index):
        draws.assign(i)
    return draws.patient(index, reference_date)


_GOLDEN = (math.sqrt(5) - 1) / 2
_SILVER = math.sqrt(2) - 1


class _Draws:
    """Whether and how severely each patient has CRS and ICANS, stratified within a profile.

    Patient *k* of a profile gets ``u = frac(offset + k·φ)`` (a low-discrepancy sequence), so a
    profile's any-grade and grade ≥3 incidence match the published rates closely even at small N
    while each patient stays a function of (seed, index) and the patients before it.
    Interpretation: a variance-reduction choice for the demo, not a clinical assumption.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rank: dict[str, int] = {}
        self.branch_rank: dict[tuple[str, bool], int] = {}
        self.assigned: dict[int, tuple[Profile, float, float]] = {}

    def _offset(self, name: str) -> float:
        return random.Random(f"cartwatch-demo:{self.seed}:offset:{name}").random()

    def assign(self, index: int) -> tuple[random.Random, Profile, float, float]:
        rng = random.Random(f"cartwatch-demo:{self.seed}:{index}")
        keys = list(PROFILE_WEIGHTS)
        profile = PROFILE_BY_KEY[rng.choices(keys, weights=[PROFILE_WEIGHTS[k] for k in keys])[0]]
        k = self.rank.get(profile.key, 0)
        self.rank[profile.key] = k + 1
        u_crs = (self._offset(profile.key) + k * _GOLDEN) % 1.0
        has_crs = u_crs < profile.crs_any
        branch = (profile.key, has_crs)
        j = self.branch_rank.get(branch, 0)
        self.branch_rank[branch] = j + 1
        u_icans = (self._offset(f"{profile.key}:{has_crs}") + j * _SILVER) % 1.0
        return rng, profile, u_crs, u_icans

    def patient(self, index: int, reference_date: dt.date) -> DemoPatient:
        rng, profile, u_crs, u_icans = self.assign(index)
        return _Builder(rng, profile, index, reference_date, u_crs, u_icans).build()


def _lognormal_clipped(rng: random.Random, median: float, low: float, high: float) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0.0, 0.55))))


def _max_grade(rng: random.Random, *, severe: bool, grade2_share: float) -> int:
    if severe:
        u = rng.random()
        if u < GRADE5_SHARE_OF_SEVERE:
            return 5
        if u < GRADE5_SHARE_OF_SEVERE + GRADE4_SHARE_OF_SEVERE:
            return 4
        return 3
    return 2 if rng.random() < grade2_share else 1


def _step_profile(
    max_grade: int, onset: float, resolution: float
) -> tuple[tuple[float, float, int], ...]:
    """Intervals (start, end, grade): grade 1, up to the maximum, back down, in days."""
    top = min(max_grade, 4)
    up = list(range(1, top + 1))
    down = list(range(top - 1, 0, -1))
    weights = [0.3] + [0.12] * (len(up) - 2) + ([0.25] if top > 1 else []) + [0.12] * len(down)
    if top == 1:
        weights = [1.0]
    grades = up + down
    total = sum(weights)
    span = resolution - onset
    out: list[tuple[float, float, int]] = []
    t = onset
    for g, w in zip(grades, weights, strict=True):
        end = t + span * w / total
        out.append((t, end, g))
        t = end
    return tuple(out)


def _grade_between(steps: Sequence[tuple[float, float, int]], a: float, b: float) -> int:
    """The worst planned grade in (a, b]."""
    worst = 0
    for start, end, g in steps:
        if start <= b and end > a:
            worst = max(worst, g)
    return worst


class _Builder:
    """Builds one patient's chart from its profile (all draws from ``rng``)."""

    def __init__(
        self,
        rng: random.Random,
        profile: Profile,
        index: int,
        reference_date: dt.date,
        u_crs: float,
        u_icans: float,
    ) -> None:
        self.rng = rng
        self.u_crs = u_crs
        self.u_icans = u_icans
        self.p = profile
        self.ref = f"{PATIENT_PREFIX}{index:04d}"
        self.reference_date = reference_date
        self.assessments: list[DemoAssessment] = []
        self.admins: list[DemoAdministration] = []
        self.labs: list[DemoLab] = []
        self.outcomes: list[DemoOutcome] = []

    # --- demographics --------------------------------------------------------------------

    def _demographics(self) -> None:
        rng, p = self.rng, self.p
        self.sex = "female" if rng.random() < p.female_share else "male"
        spread = (p.age_high - p.age_low) / 4
        age = min(p.age_high, max(p.age_low, rng.gauss(p.age_median, spread)))
        self.age = round(age + rng.random(), 2)
        if self.age < 18:
            # Interpretation: growth-chart-like height and weight for children.
            self.height = round(min(185.0, 80 + 6.2 * self.age + rng.gauss(0, 6)), 1)
            bmi = max(13.0, 15.5 + 0.25 * self.age + rng.gauss(0, 1.5))
        else:
            mean_h = 176.0 if self.sex == "male" else 163.0
            self.height = round(rng.gauss(mean_h, 7), 1)
            bmi = max(17.0, rng.gauss(26.0, 4.0))
        self.weight = round(bmi * (self.height / 100) ** 2, 1)
        self.bsa = math.sqrt(self.height * self.weight / 3600)  # [MOSTELLER1987]

    # --- infusion and lymphodepletion ------------------------------------------------------

    def _infusion(self) -> None:
        rng, p = self.rng, self.p
        days_back = rng.randint(35, 730)
        day0 = self.reference_date - dt.timedelta(days=days_back)
        hour = rng.choice((10, 11, 12, 13, 14))
        self.t0 = dt.datetime(day0.year, day0.month, day0.day, hour, 0, tzinfo=dt.UTC)
        infusions: list[DemoInfusion] = []
        main = PRODUCT_SPECS[p.product]
        if p.sequential_cd22:
            cd22 = PRODUCT_SPECS["academic CD22 CAR-T"]
            infusions.append(
                DemoInfusion(
                    infusion_ref="INF-1",
                    infused_at=self.t0,
                    product=cd22.name,
                    cell_dose=cd22.cell_dose,
                    cell_dose_unit=cd22.cell_dose_unit,
                )
            )
            # Tongji sequential CD22→CD19: second infusion ~2 days later (seed 000).
            infusions.append(
                DemoInfusion(
                    infusion_ref="INF-2",
                    infused_at=self.t0 + dt.timedelta(days=2),
                    product=main.name,
                    cell_dose=main.cell_dose,
                    cell_dose_unit=main.cell_dose_unit,
                )
            )
        else:
            infusions.append(
                DemoInfusion(
                    infusion_ref="INF-1",
                    infused_at=self.t0,
                    product=main.name,
                    cell_dose=main.cell_dose,
                    cell_dose_unit=main.cell_dose_unit,
                )
            )
        self.infusions = tuple(infusions)
        self._lymphodepletion()

    def _lymphodepletion(self) -> None:
        p = self.p
        flu: float | None
        cy: float | None
        if p.ld_product is not None:
            facts = PRODUCTS[p.ld_product]
            agents = {a.agent: a for a in facts.agents}
            schedule = sorted({d for a in facts.agents for d in a.days})
            flu = agents["fludarabine"].mg_per_m2 if "fludarabine" in agents else None
            cy = agents["cyclophosphamide"].mg_per_m2 if "cyclophosphamide" in agents else None
            plan = [(a.agent, a.mg_per_m2, a.days) for a in facts.agents]
            regimen = f"Flu/Cy ({facts.brand} label)"
        elif p.category == "autoimmune":
            # UNVERIFIED (recalled Müller 2024): Flu 25 mg/m² d−5…−3, Cy 1,000 mg/m² d−3;
            # seed 004: regimens varied, 2 of 18 with 50% renal reduction.
            flu, cy = 25.0, 1000.0
            plan = [("fludarabine", flu, (-5, -4, -3)), ("cyclophosphamide", cy, (-3,))]
            schedule = [-5, -4, -3]
            regimen = "Flu/Cy (autoimmune, Erlangen-type)"
        else:
            # [SEED002_FAQ] Chinese trials: Flu 25–30 mg/m²/d and Cy 250–300 mg/m²/d × 3 days.
            flu, cy = 30.0, 300.0
            plan = [("fludarabine", flu, (-5, -4, -3)), ("cyclophosphamide", cy, (-5, -4, -3))]
            schedule = [-5, -4, -3]
            regimen = "Flu/Cy (academic protocol)"
        self.ld = DemoLymphodepletion(
            regimen=regimen,
            started_on=(self.t0 + dt.timedelta(days=schedule[0])).date(),
            fludarabine_mg_m2_day=flu,
            cyclophosphamide_mg_m2_day=cy,
            days=len(schedule),
        )
        for agent, mg_m2, days in plan:
            for d in days:
                at = self.t0.replace(hour=9) + dt.timedelta(days=d)
                if agent == "cyclophosphamide":
                    at += dt.timedelta(hours=1)
                self.admins.append(
                    DemoAdministration(
                        given_at=at,
                        drug=agent,
                        dose_mg=round(mg_m2 * self.bsa, 1),
                        route="IV",
                    )
                )

    # --- the plans -------------------------------------------------------------------------

    def _plans(self) -> None:
        rng, p = self.rng, self.p
        has_crs = self.u_crs < p.crs_any
        if p.crs_any > 0:
            with_crs = min(1.0, ICANS_WITH_CRS_SHARE * p.icans_any / p.crs_any)
        else:
            with_crs = 0.0
        without_crs = (
            max(0.0, (p.icans_any - p.crs_any * with_crs) / (1 - p.crs_any))
            if p.crs_any < 1
            else 0.0
        )
        q_icans = with_crs if has_crs else without_crs
        has_icans = self.u_icans < q_icans
        self.crs_steps: tuple[tuple[float, float, int], ...] = ()
        self.icans_steps: tuple[tuple[float, float, int], ...] = ()
        self.death_day: float | None = None
        self.death_cause: str | None = None
        crs_onset: float | None = None
        crs_end: float | None = None
        crs_max = 0
        if has_crs:
            t = p.crs_timing
            crs_max = _max_grade(
                rng, severe=self.u_crs < p.crs_grade3plus, grade2_share=p.grade2_share
            )
            crs_onset = _lognormal_clipped(rng, t.onset_median_d, t.onset_low_d, t.onset_high_d)
            dur = _lognormal_clipped(rng, t.duration_median_d, 0.5, 40.0)
            if crs_max >= 3:
                dur = max(dur, 2.0)
            crs_end = crs_onset + dur
            self.crs_steps = _step_profile(crs_max, crs_onset, crs_end)
        icans_onset: float | None = None
        icans_end: float | None = None
        icans_max = 0
        if has_icans:
            t = p.icans_timing
            p_sev = p.icans_grade3plus / p.icans_any if p.icans_any > 0 else 0.0
            severe = self.u_icans < q_icans * min(1.0, p_sev)
            icans_max = _max_grade(rng, severe=severe, grade2_share=ICANS_GRADE2_SHARE)
            if crs_onset is not None:
                # ICANS follows CRS (seed 001): a lag whose median keeps the published median onset.
                lag = max(ICANS_MIN_LAG_D, t.onset_median_d - p.crs_timing.onset_median_d)
                icans_onset = min(
                    t.onset_high_d, crs_onset + _lognormal_clipped(rng, lag, 0.2, t.onset_high_d)
                )
            else:
                icans_onset = _lognormal_clipped(
                    rng, t.onset_median_d, t.onset_low_d, t.onset_high_d
                )
            dur = _lognormal_clipped(rng, t.duration_median_d, 0.5, 40.0)
            icans_end = icans_onset + dur
            self.icans_steps = _step_profile(icans_max, icans_onset, icans_end)
        for name, steps, top in (
            ("CRS", self.crs_steps, crs_max),
            ("ICANS", self.icans_steps, icans_max),
        ):
            if top == 5:
                start, end, _ = max(steps, key=lambda s: s[2])
                day = (start + end) / 2
                if self.death_day is None or day < self.death_day:
                    self.death_day, self.death_cause = day, name
        self.crs_plan = SyndromePlan(max_grade=crs_max, onset_day=crs_onset, resolution_day=crs_end)
        self.icans_plan = SyndromePlan(
            max_grade=icans_max, onset_day=icans_onset, resolution_day=icans_end
        )

    # --- the chart -------------------------------------------------------------------------

    def _times(self) -> list[float]:
        """Assessment times in days after infusion: every 8–12 h to day 14, then daily."""
        rng = self.rng
        out: list[float] = []
        t = rng.uniform(2, 6) / 24
        while t <= DENSE_UNTIL_DAY:
            out.append(t)
            t += rng.uniform(8, 12) / 24
        day0_hour = self.t0.hour
        d = DENSE_UNTIL_DAY + 1
        while d <= LAST_DAY:
            clock = rng.uniform(8.0, 10.0)
            out.append(d + (clock - day0_hour) / 24)
            d += 1
        return out

    def _chart(self) -> None:
        rng, p = self.rng, self.p
        times = self._times()
        self.infection_day = rng.uniform(8, 26) if rng.random() < INFECTION_FEVER_SHARE else None
        self.carry_recorded = rng.random() < CARRIED_FACTS_RECORDED_SHARE
        baseline_temp = rng.uniform(36.4, 37.2)
        self.toci_times: list[float] = []
        self.dex_times: list[float] = []
        self.mp_start: float | None = None
        self.para_times: list[float] = []
        self.lev_given = False
        crs_first_at: float | None = None
        grade1_toci_eligible = rng.random() < p.grade1_toci_share
        prev = -0.5
        for t in times:
            if self.death_day is not None and t > self.death_day:
                break
            dying = self.death_day is not None and t + 1e-9 >= self.death_day
            crs = _grade_between(self.crs_steps, prev, t)
            icans = _grade_between(self.icans_steps, prev, t)
            if dying and self.death_day is not None:
                t = self.death_day
            at = self.t0 + dt.timedelta(days=t)
            data: dict[str, Any] = {
                "day_post_infusion": round(t, 3),
                "age_years": round(self.age + t / 365.25, 2),
                "weight_kg": self.weight,
            }
            # CRS findings: the onset is febrile; after tocilizumab or a steroid the fever is
            # usually masked (grade 1 then disappears from the chart, grade ≥2 stays charted).
            onset_now = crs >= 1 and crs_first_at is None
            masked = crs_first_at is not None and self._masking_since(crs_first_at, t)
            if crs >= 1 and masked:
                fever_now = crs >= 2 and rng.random() >= MASKED_FEVER_SHARE
            else:
                fever_now = crs >= 1
            charted_crs = crs if (fever_now or (masked and crs >= 2)) else 0
            if onset_now:
                crs_first_at = t
            infection = (
                self.infection_day is not None and prev < self.infection_day <= t and crs == 0
            )
            if fever_now:
                data["temperature_c"] = round(rng.uniform(38.1, 38.8 + 0.4 * crs), 1)
            elif infection:
                data["temperature_c"] = round(rng.uniform(38.2, 39.4), 1)
                data["fever_attributable_to_other_cause"] = True
                data["note"] = "febrile neutropenia, blood cultures positive"
            else:
                data["temperature_c"] = round(baseline_temp + rng.uniform(-0.3, 0.6), 1)
            self._haemodynamics(data, charted_crs)
            if crs_first_at is not None and t > crs_first_at and self.carry_recorded:
                data["crs_previously_established"] = True
                agents = self._agents_given(t, since=crs_first_at)
                if agents:
                    data["antipyretic_or_anticytokine_given"] = True
                    data["anticytokine_agents"] = agents
            elif crs_first_at is None and rng.random() < 0.5:
                data["crs_previously_established"] = False
            if dying and self.death_cause == "CRS":
                data["death_due_to"] = "CRS"
            # neurological findings
            self._neuro(data, icans)
            if data["oxygen"]["device"] == "mechanical_ventilation":
                # Intubated and sedated: ICE/CAPD cannot be done and consciousness is confounded
                # ([LEE2019] ICANS: not attributable to sedation; spec IMPL-ICANS-E).
                for name in ("ice", "ice_total", "ice_unable_unarousable", "global_aphasia"):
                    data.pop(name, None)
                for name in ("capd_score", "capd_unable"):
                    data.pop(name, None)
                data["sedation"] = "propofol"
                data["consciousness"] = "unarousable_or_vigorous_stimuli"
                data["consciousness_attributable_to_other_cause"] = True
            if dying and self.death_cause == "ICANS":
                data["death_due_to"] = "ICANS"
            if charted_crs == 0 and icans == 0 and not infection:
                self._leave_unrecorded(data)
            self.assessments.append(DemoAssessment(assessed_at=at, data=data))
            self._treat(
                t,
                charted_crs,
                icans,
                fever=data["temperature_c"] >= FEVER_C,
                t_first=crs_first_at,
                grade1_toci=grade1_toci_eligible,
            )
            prev = t
            if dying:
                break

    def _masking_since(self, since: float, t: float) -> bool:
        """Tocilizumab or a corticosteroid given at or after ``since`` and before ``t``."""
        times = [*self.toci_times, *self.dex_times]
        if self.mp_start is not None:
            times.append(self.mp_start)
        return any(since <= x < t for x in times)

    def _agents_given(self, t: float, *, since: float) -> list[str]:
        agents: list[str] = []
        for name, times in (
            ("paracetamol", self.para_times),
            ("tocilizumab", self.toci_times),
            ("dexamethasone", self.dex_times),
            ("methylprednisolone", [] if self.mp_start is None else [self.mp_start]),
        ):
            if any(since <= x < t for x in times):
                agents.append(name)
        return agents

    def _haemodynamics(self, data: dict[str, Any], crs: int) -> None:
        rng = self.rng
        child = self.age < 12
        hypo = "none"
        o2: dict[str, Any] = {"device": "none"}
        pressors: list[dict[str, Any]] = []
        if crs >= 2:
            # Which domain carries the grade: hypotension, hypoxia or both.
            domain = rng.choice(("hypotension", "hypoxia", "both"))
            lower = max(1, crs - 1)
            hypo_grade = crs if domain in ("hypotension", "both") else rng.randint(1, lower)
            o2_grade = crs if domain in ("hypoxia", "both") else rng.randint(1, lower)
            hypo, pressors = self._hypotension(hypo_grade)
            o2 = self._oxygen(o2_grade, child)
        data["hypotension"] = hypo
        if pressors:
            data["vasopressors"] = pressors
            data["vasopressin"] = any(v["agent"] == "vasopressin" for v in pressors)
        if hypo == "none":
            sbp = rng.uniform(105, 135) if not child else rng.uniform(95, 115)
        elif hypo == "fluid_responsive":
            sbp = rng.uniform(82, 92)
        else:
            sbp = rng.uniform(88, 104)
        data["sbp_mmhg"] = float(round(sbp))
        data["oxygen"] = o2

    def _hypotension(self, grade: int) -> tuple[str, list[dict[str, Any]]]:
        rng = self.rng
        if grade <= 1:
            return "none", []
        if grade == 2:
            return "fluid_responsive", []
        norepi = {
            "agent": "norepinephrine",
            "dose": round(rng.uniform(0.03, 0.25), 2),
            "unit": "mcg/kg/min",
            "duration_h": float(rng.randint(2, 20)),
        }
        if grade == 3:
            pressors = [norepi]
            if rng.random() < 0.15:
                pressors.append(
                    {"agent": "vasopressin", "dose": 0.03, "unit": "U/min", "duration_h": 4.0}
                )
            return "vasopressor_single", pressors
        second = rng.choice(("epinephrine", "phenylephrine"))
        return "vasopressor_multiple", [
            norepi,
            {
                "agent": second,
                "dose": round(rng.uniform(0.02, 0.2), 2),
                "unit": "mcg/kg/min",
                "duration_h": float(rng.randint(2, 12)),
            },
        ]

    def _oxygen(self, grade: int, child: bool) -> dict[str, Any]:
        rng = self.rng
        if grade <= 1:
            return {"device": "none"}
        if grade == 2:
            if child and rng.random() < 0.3:
                return {"device": "blow_by"}
            return {
                "device": "low_flow_nasal_cannula",
                "flow_l_min": float(rng.randint(1, int(LOW_FLOW_MAX_L_MIN))),
            }
        if grade == 3:
            device = rng.choice(
                ("high_flow_nasal_cannula", "high_flow_nasal_cannula", "facemask", "non_rebreather")
            )
            if device == "high_flow_nasal_cannula":
                return {
                    "device": device,
                    "flow_l_min": float(rng.choice((10, 20, 30, 40, 50))),
                    "fio2": round(rng.uniform(0.3, 0.6), 2),
                }
            return {"device": device, "flow_l_min": float(rng.choice((10, 12, 15)))}
        device = rng.choice(("bipap", "cpap", "mechanical_ventilation"))
        return {"device": device, "fio2": round(rng.uniform(0.4, 0.9), 2)}

    def _neuro(self, data: dict[str, Any], icans: int) -> None:
        rng = self.rng
        child = self.age < ICE_CHILD_AGE_YEARS
        seizure, motor, icp = "none", "none", "none"
        consciousness = "alert"
        if icans == 4:
            kind = rng.choice(("unarousable", "unarousable", "seizure", "edema"))
            if kind == "unarousable":
                consciousness = "unarousable_or_vigorous_stimuli"
            elif kind == "seizure":
                seizure = "prolonged_gt_5min"
                consciousness = "awakens_to_tactile"
            else:
                icp = "diffuse_edema"
                consciousness = "awakens_to_tactile"
        elif icans == 3:
            consciousness = rng.choice(("awakens_to_tactile", "awakens_to_voice", "alert"))
            if rng.random() < 0.15:
                seizure = "focal_or_generalized_resolved_rapidly"
        elif icans == 2:
            consciousness = rng.choice(("awakens_to_voice", "awakens_spontaneously", "alert"))
        elif icans == 1:
            consciousness = rng.choice(("awakens_spontaneously", "alert"))
        if icans >= 1 and rng.random() < 0.25:
            motor = "tremor"  # recorded; ASTCT ignores tremor
        if child:
            if icans == 4 and consciousness == "unarousable_or_vigorous_stimuli":
                data["capd_unable"] = True
            elif icans >= 3:
                data["capd_score"] = rng.randint(CAPD_ICANS3_MIN, 24)
            elif icans >= 1:
                data["capd_score"] = rng.randint(1, CAPD_ICANS3_MIN - 1)
                if icans == 2 and consciousness not in ("awakens_to_voice",):
                    consciousness = "awakens_to_voice"
                if icans == 1:
                    consciousness = rng.choice(("awakens_spontaneously", "alert"))
            else:
                data["capd_score"] = 0
        else:
            if icans == 4 and consciousness == "unarousable_or_vigorous_stimuli":
                data["ice_total"] = 0
                data["ice_unable_unarousable"] = True
            else:
                total = {0: 10, 1: rng.randint(7, 9), 2: rng.randint(3, 6)}.get(
                    icans, rng.randint(0, 2)
                )
                data["ice"] = _ice_items(rng, total)
                if total == 0:
                    data["global_aphasia"] = True
        data["consciousness"] = consciousness
        data["seizure"] = seizure
        data["motor"] = motor
        data["icp_edema"] = icp

    def _leave_unrecorded(self, data: dict[str, Any]) -> None:
        rng = self.rng
        for name, share in UNRECORDED_SHARES.items():
            if rng.random() >= share:
                continue
            if name == "ice":
                data.pop("ice", None)
                data.pop("capd_score", None)
            else:
                data.pop(name, None)

    # --- treatment -------------------------------------------------------------------------

    def _give(self, t: float, drug: str, dose: float, route: str, minutes: int) -> None:
        at = self.t0 + dt.timedelta(days=t, minutes=minutes)
        self.admins.append(DemoAdministration(given_at=at, drug=drug, dose_mg=dose, route=route))

    def _treat(
        self,
        t: float,
        crs: int,
        icans: int,
        *,
        fever: bool,
        t_first: float | None,
        grade1_toci: bool,
    ) -> None:
        rng = self.rng
        if fever:
            recent = [x for x in self.para_times if t - x < 1.0]
            if (not recent or t - recent[-1] >= PARACETAMOL_INTERVAL_H / 24) and len(recent) < 4:
                dose = (
                    PARACETAMOL_ADULT_MG
                    if self.weight >= 50
                    else round(PARACETAMOL_MG_PER_KG * self.weight / 10) * 10.0
                )
                self._give(t, "paracetamol", float(dose), "PO", 10)
                self.para_times.append(t)
        # Tocilizumab: CRS ≥2, or grade 1 persisting past the profile's threshold.
        wants_toci = crs >= 2 or (
            crs == 1
            and grade1_toci
            and t_first is not None
            and (t - t_first) * 24 >= self.p.grade1_toci_after_h
            and not self.toci_times
        )
        if wants_toci and self._toci_allowed(t):
            toci_mg = tocilizumab_dose(weight_kg=self.weight).value
            assert toci_mg is not None
            self._give(t, "tocilizumab", float(toci_mg), "IV", 30)
            self.toci_times.append(t)
        # Steroids.
        severe = crs >= 3 or icans >= 3
        if crs >= 4 or icans >= 4:
            if self.mp_start is None:
                self.mp_start = t
                for k in range(METHYLPRED_DAYS):
                    self._give(t + k, "methylprednisolone", METHYLPRED_MG, "IV", 45)
        elif severe or icans == 2 or (crs == 2 and len(self.toci_times) >= 2):
            interval = DEX_INTERVAL_SEVERE_H if severe else DEX_INTERVAL_ICANS2_H
            due = not self.dex_times or (t - self.dex_times[-1]) * 24 >= interval - 1e-9
            if due and (self.mp_start is None or t - self.mp_start >= METHYLPRED_DAYS):
                self._give(t, "dexamethasone", DEXAMETHASONE_MG, "IV", 20)
                self.dex_times.append(t)
        if icans >= 3 and not self.lev_given and rng.random() < 0.5:
            self._give(t, "levetiracetam", LEVETIRACETAM_LOAD_MG, "IV", 40)
            self.lev_given = True

    def _toci_allowed(self, t: float) -> bool:
        doses = self.toci_times
        if len(doses) >= TOCI_MAX_TOTAL:
            return False
        if doses and (t - doses[-1]) * 24 < TOCI_MIN_INTERVAL_H:
            return False
        return sum(1 for x in doses if (t - x) * 24 < 24) < TOCI_MAX_PER_24H

    # --- laboratory values -------------------------------------------------------------------

    def _lab_values(self) -> None:
        rng, p = self.rng, self.p
        autoimmune = p.category == "autoimmune"
        crp0 = rng.uniform(0.1, 1.0) if autoimmune else rng.uniform(0.3, 4.0)
        ferr0 = rng.uniform(80, 400) if autoimmune else rng.uniform(250, 2000)
        ldh0 = rng.uniform(160, 260) if autoimmune else rng.uniform(180, 650)
        creat0 = rng.uniform(0.6, 1.1) if self.age >= 18 else rng.uniform(0.3, 0.6)
        hb0 = rng.uniform(10.5, 14.0) if autoimmune else rng.uniform(8.8, 13.0)
        plt0 = rng.uniform(150e3, 350e3) if autoimmune else rng.uniform(70e3, 260e3)
        anc0 = rng.uniform(2000, 6000) if autoimmune else rng.uniform(1200, 5000)
        if autoimmune:
            pattern = "quick"
        else:
            u, acc, pattern = rng.random(), 0.0, "quick"
            for name, share in ANC_PATTERN_SHARES:
                acc += share
                if u < acc:
                    pattern = name
                    break
        recover = rng.uniform(6, 12)
        dip_start = rng.uniform(15, 21)
        dip_len = rng.uniform(3, 7)
        nadir = rng.uniform(10, 300)
        crs_max = self.crs_plan.max_grade
        crs_peak = (self.crs_plan.onset_day or 0) + 0.5 * (
            (self.crs_plan.resolution_day or 0) - (self.crs_plan.onset_day or 0)
        )
        crp_peak = {0: 0.0, 1: 6.0, 2: 12.0, 3: 20.0, 4: 26.0, 5: 30.0}[crs_max] * rng.uniform(
            0.7, 1.3
        )
        ferr_k = {0: 0.0, 1: 1.0, 2: 3.0, 3: 8.0, 4: 15.0, 5: 20.0}[crs_max] * rng.uniform(0.6, 1.4)
        for d in LAB_DAYS:
            if self.death_day is not None and d > self.death_day:
                break
            taken = self.t0.replace(hour=6, minute=0) + dt.timedelta(days=d)
            bump = math.exp(-(((d - crs_peak - 0.5) / 2.0) ** 2)) if crs_max else 0.0
            fbump = math.exp(-(((d - crs_peak - 1.5) / 3.0) ** 2)) if crs_max else 0.0
            if d < -3:
                anc = anc0
            elif d < 0:
                anc = anc0 * (0.6 if d == -3 else 0.3)
            elif pattern == "aplastic":
                anc = nadir * rng.uniform(0.5, 1.5)
            elif d < recover:
                anc = nadir * rng.uniform(0.5, 1.5) if d >= 2 else anc0 * 0.15
            elif pattern == "intermittent" and dip_start <= d < dip_start + dip_len:
                anc = rng.uniform(200, 900)
            else:
                anc = min(anc0, 500 + 400 * (d - recover)) * rng.uniform(0.85, 1.15)
            plt_nadir = 0.15 if pattern == "aplastic" else 0.35
            if d < 0:
                plt = plt0
            elif pattern == "aplastic":
                plt = plt0 * plt_nadir * rng.uniform(0.6, 1.2)
            else:
                depth = (
                    max(plt_nadir, 1 - 0.12 * d)
                    if d <= 10
                    else min(1.0, plt_nadir + 0.04 * (d - 10))
                )
                plt = plt0 * depth * rng.uniform(0.9, 1.1)
            hb = hb0 - min(2.0, 0.12 * max(0, d)) + rng.uniform(-0.3, 0.3)
            values = {
                "crp_mg_dl": round(min(60.0, crp0 + crp_peak * bump + rng.uniform(0, 0.3)), 2),
                "ferritin_ng_ml": float(
                    round(ferr0 * (1 + ferr_k * fbump) * rng.uniform(0.9, 1.1))
                ),
                "anc_per_ul": float(round(max(0.0, anc) / 10) * 10),
                "platelets_per_ul": float(round(plt / 1000) * 1000),
                "hemoglobin_g_dl": round(max(6.5, hb), 1),
                "ldh_u_l": float(round(ldh0 * (1 + 0.6 * bump * min(crs_max, 4) / 4))),
                "creatinine_mg_dl": round(
                    creat0 + (0.5 * bump if crs_max >= 3 else 0.05 * bump) + rng.uniform(0, 0.1), 2
                ),
            }
            for name, value in values.items():
                self.labs.append(DemoLab(taken_at=taken, name=name, value=value))

    # --- outcomes -----------------------------------------------------------------------------

    def _outcome_events(self) -> None:
        rng, p = self.rng, self.p
        day0 = self.t0.date()
        ref = self.reference_date

        def add(kind: str, day: int, detail: str | None) -> bool:
            on = day0 + dt.timedelta(days=day)
            if on > ref:
                return False
            self.outcomes.append(DemoOutcome(kind=kind, on_date=on, detail=detail))
            return True

        if self.death_day is not None:
            died = (self.t0 + dt.timedelta(days=self.death_day)).date()
            add("death", (died - day0).days, f"{self.death_cause} (grade 5)")
            return
        autoimmune = p.category == "autoimmune"
        u = rng.random()
        if autoimmune:
            best = "remission" if u < p.cr else "improved"
        elif u < p.cr:
            best = "CR"
        elif u < p.orr:
            best = "PR"
        else:
            best = "SD" if rng.random() < 0.4 else "PD"
        add("response", 28, f"day 28: {best}")
        # Interpretation: day-90 evolution and relapse/death hazards are illustrative only.
        day90 = best
        if best == "PR":
            day90 = rng.choices(("CR", "PR", "PD"), weights=(0.3, 0.4, 0.3))[0]
        elif best == "CR" and rng.random() < 0.1:
            day90 = "relapse"
        elif best == "SD":
            day90 = "PD" if rng.random() < 0.6 else "SD"
        end_day = (ref - day0).days
        progression_day: int | None = None
        if best == "PD":
            progression_day = 28
        elif day90 in ("PD", "relapse"):
            progression_day = rng.randint(45, 90)
        elif not autoimmune and day90 in ("CR", "PR", "SD"):
            yearly = {"CR": 0.3, "PR": 0.6, "SD": 0.8}[day90]
            rate = -math.log(1 - yearly) / 365
            progression_day = 90 + int(rng.expovariate(rate))
        death_day: int | None = None
        if progression_day is not None:
            death_day = progression_day + int(rng.expovariate(math.log(2) / 180))
        if end_day >= 90 and (death_day is None or death_day > 90):
            add("response", 90, f"day 90: {'PD' if day90 == 'relapse' else day90}")
        if progression_day is not None and progression_day <= end_day:
            kind = "relapse" if best in ("CR", "PR") else "progression"
            add(kind, progression_day, None)
        if death_day is not None and death_day <= end_day:
            add("death", death_day, "disease progression")
            return
        last = max(28, end_day - rng.randint(0, 60))
        if self.outcomes:
            last = max(last, max((o.on_date - day0).days for o in self.outcomes))
        add("last_contact", last, None)

    # --- all ------------------------------------------------------------------------------------

    def build(self) -> DemoPatient:
        self._demographics()
        self._infusion()
        self._plans()
        self._chart()
        self._lab_values()
        self._outcome_events()
        admins = sorted(self.admins, key=lambda a: (a.given_at, a.drug))
        if self.death_day is not None:
            death_at = self.t0 + dt.timedelta(days=self.death_day)
            admins = [a for a in admins if a.given_at <= death_at]
        return DemoPatient(
            patient_ref=self.ref,
            profile=self.p.key,
            sex=self.sex,
            age_years=self.age,
            weight_kg=self.weight,
            height_cm=self.height,
            disease=self.p.disease,
            category=self.p.category,
            disease_group=self.p.disease_group,
            lymphodepletion=self.ld,
            infusions=self.infusions,
            assessments=tuple(self.assessments),
            administrations=tuple(admins),
            labs=tuple(self.labs),
            outcomes=tuple(self.outcomes),
            crs_plan=self.crs_plan,
            icans_plan=self.icans_plan,
        )


_ICE_ORDER = ("writing", "attention", "orientation", "naming", "commands")


def _ice_items(rng: random.Random, total: int) -> dict[str, int]:
    """ICE items summing to ``total``: writing and attention go first, then orientation…"""
    from cartwatch.assessment import ICE_ITEM_POINTS

    items = {k: int(v) for k, v in ICE_ITEM_POINTS.items()}
    lose = sum(items.values()) - total
    order = list(_ICE_ORDER)
    while lose > 0:
        candidates = [k for k in order if items[k] > 0]
        weights = [4.0 / (1 + order.index(k)) for k in candidates]
        k = rng.choices(candidates, weights=weights)[0]
        items[k] -= 1
        lose -= 1
    return items


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteReport:
    patients: int
    records: int
    seconds: float
    graded_by: str
    bulk_records: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "records": self.records,
            "seconds": self.seconds,
            "graded_by": self.graded_by,
            "bulk_records": self.bulk_records,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GradedAssessment:
    """An assessment as charted (canonical) with the grades stored beside it."""

    assessed_at: dt.datetime
    data: Mapping[str, Any]
    grades: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class GradedPatient:
    """A patient's graded chart and derived episodes (per scale, as stored)."""

    assessments: tuple[GradedAssessment, ...]
    episodes: Mapping[str, tuple[Mapping[str, Any], ...]]


GRADED_BY = "services.episodes.grade_and_derive"


def grade_patient(p: DemoPatient) -> GradedPatient:
    """Grade a patient's chart as ``services.record.record_assessment`` does, once per patient
    (the CRS state carried from the complete record, then every stored scale), and derive the
    episodes ``services.episodes.derive_patient_episodes`` stores. Pure."""
    from cartwatch import episodes
    from cartwatch.assessment import parse_assessment
    from cartwatch.services.episodes import EPISODE_SCALES, grade_and_derive
    from cartwatch.services.record import stored_scales

    rows = [(a.assessed_at, parse_assessment(a.data)) for a in p.assessments]
    administrations = [
        episodes.Administration(at=x.given_at, drug=x.drug, dose_mg=x.dose_mg, route=x.route)
        for x in p.administrations
    ]
    infusions = [
        episodes.Infusion(infusion_id=i.infusion_ref, at=i.infused_at) for i in p.infusions
    ]
    results, derived = grade_and_derive(
        assessments=rows,
        administrations=administrations,
        infusions=infusions,
        scales=EPISODE_SCALES,
    )

    stored = set(stored_scales())
    return GradedPatient(
        assessments=tuple(
            GradedAssessment(
                assessed_at=at,
                data=parsed.to_dict(),
                grades={k: v for k, v in r.items() if k in stored},
            )
            for (at, parsed), r in zip(rows, results, strict=True)
        ),
        episodes={scale: tuple(e.to_dict() for e in derived[scale]) for scale in EPISODE_SCALES},
    )


def _graded_in_order(
    patients: Sequence[DemoPatient], workers: int, *, min_patients: int = PARALLEL_MIN_PATIENTS
) -> Iterator[GradedPatient]:
    """Each patient's graded chart, in order; with ``workers`` ≥ 1 graded in that many
    processes a few patients ahead of the writer (grading is CPU-bound, writing waits on the
    database)."""
    if workers < 1 or len(patients) < min_patients:
        for p in patients:
            yield grade_patient(p)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    window = GRADING_WINDOW_PER_WORKER * workers
    done = 0
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            pending: deque[Future[GradedPatient]] = deque()
            upcoming = iter(patients)
            for p in islice(upcoming, window):
                pending.append(pool.submit(grade_patient, p))
            while pending:
                graded = pending.popleft().result()
                nxt = next(upcoming, None)
                if nxt is not None:
                    pending.append(pool.submit(grade_patient, nxt))
                done += 1
                yield graded
    except (BrokenProcessPool, RuntimeError, OSError):
        # A worker could not start (e.g. a main script without a __main__ guard): grade the rest
        # here; the results are the same.
        for p in patients[done:]:
            yield grade_patient(p)


def write_cohort(
    registry: Registry,
    cohort: Cohort,
    progress: Progress | None = None,
    *,
    bulk_records: bool = True,
    workers: int = 0,
) -> WriteReport:
    """Store ``cohort`` in ``registry`` (a :class:`~cartwatch.registry.repository.Registry`).

    Idempotent: every record is keyed naturally, so writing the same cohort twice changes
    nothing. Per patient: patient, infusions, indication and lymphodepletion, administrations
    (before the assessments, whose carried CRS state depends on them), assessments with their
    grades, labs, outcomes. With ``bulk_records`` (default) the administrations, labs and outcomes
    of a patient are written in one transaction by the CSV importer's store when it is installed;
    otherwise one repository transaction per record. Grading (:func:`grade_patient`) runs in
    ``workers`` processes ahead of the writer (0: in this process). ``progress(done, total,
    patient_ref)`` is called after each patient.
    """
    import time

    started = time.perf_counter()
    bulk = _bulk_writer(registry) if bulk_records else None
    graded_charts = _graded_in_order(cohort.patients, workers)

    def write_assessments(p: DemoPatient) -> int:
        graded = next(graded_charts)
        for g in graded.assessments:
            registry.record_assessment(
                p.patient_ref,
                assessed_at=g.assessed_at,
                data=g.data,
                source_key=SOURCE_KEY,
                grades=g.grades,
            )
        for scale, rows in graded.episodes.items():
            registry.replace_episodes(p.patient_ref, scale=scale, episodes=rows)
        return len(graded.assessments)

    for spec in cohort.products:
        registry.ensure_product(
            name=spec.name,
            targets=list(spec.targets),
            costimulatory_domain=spec.costimulatory_domain,
            origin=spec.origin,
        )
    records = 0
    total = len(cohort.patients)
    for done, p in enumerate(cohort.patients, start=1):
        registry.add_patient(
            patient_ref=p.patient_ref,
            sex=p.sex,
            age_years_at_registration=p.age_years,
            weight_kg=p.weight_kg,
            height_cm=p.height_cm,
            centre=CENTRE,
        )
        records += 1
        for inf in p.infusions:
            registry.add_infusion(
                p.patient_ref,
                infusion_ref=inf.infusion_ref,
                infused_at=inf.infused_at,
                product=inf.product,
                cell_dose=inf.cell_dose,
                cell_dose_unit=inf.cell_dose_unit,
            )
            records += 1
        registry.add_indication(
            p.patient_ref, disease=p.disease, category=p.category, disease_group=p.disease_group
        )
        ld = p.lymphodepletion
        registry.add_lymphodepletion(
            p.patient_ref,
            regimen=ld.regimen,
            started_on=ld.started_on,
            days=ld.days,
            fludarabine_mg_m2_day=ld.fludarabine_mg_m2_day,
            cyclophosphamide_mg_m2_day=ld.cyclophosphamide_mg_m2_day,
            infusion_ref=p.infusions[0].infusion_ref,
        )
        records += 2
        if bulk is not None:
            records += bulk(p)
            records += write_assessments(p)
        else:
            # Administrations first: the carried CRS state of the assessments depends on them.
            for adm in p.administrations:
                registry.add_administration(
                    p.patient_ref,
                    given_at=adm.given_at,
                    drug=adm.drug,
                    dose_mg=adm.dose_mg,
                    route=adm.route,
                )
            records += len(p.administrations)
            records += write_assessments(p)
            for lab in p.labs:
                registry.add_lab(
                    p.patient_ref, taken_at=lab.taken_at, name=lab.name, value=lab.value
                )
            for o in p.outcomes:
                registry.add_outcome(p.patient_ref, kind=o.kind, on_date=o.on_date, detail=o.detail)
            records += len(p.labs) + len(p.outcomes)
        if progress is not None:
            progress(done, total, p.patient_ref)
    return WriteReport(
        patients=total,
        records=records,
        seconds=time.perf_counter() - started,
        graded_by=GRADED_BY,
        bulk_records=bulk is not None,
    )


def _bulk_writer(registry: Registry) -> Callable[[DemoPatient], int] | None:
    """Administrations, labs and outcomes of one patient in ONE transaction through the CSV
    importer's store (``cartwatch.interop.store.write_batches``: natural keys, audit rows, all or
    nothing), when it is installed; ``None`` otherwise (one repository transaction per record)."""
    if importlib.util.find_spec("cartwatch.interop.store") is None:
        return None
    store: Any = importlib.import_module("cartwatch.interop.store")
    records: Any = importlib.import_module("cartwatch.interop.records")
    report_mod: Any = importlib.import_module("cartwatch.interop.report")
    if not all(
        hasattr(mod, name)
        for mod, name in (
            (store, "write_batches"),
            (records, "AdministrationRow"),
            (records, "LabRow"),
            (records, "OutcomeRow"),
            (report_mod, "ImportReport"),
        )
    ):
        return None

    def write(p: DemoPatient) -> int:
        ref = p.patient_ref
        admins = [
            records.AdministrationRow(
                line=i,
                patient_ref=ref,
                given_at=a.given_at,
                drug=a.drug,
                dose_mg=a.dose_mg,
                route=a.route,
            )
            for i, a in enumerate(p.administrations, start=1)
        ]
        labs = [
            records.LabRow(line=i, patient_ref=ref, taken_at=x.taken_at, name=x.name, value=x.value)
            for i, x in enumerate(p.labs, start=1)
        ]
        outcomes = [
            records.OutcomeRow(
                line=i, patient_ref=ref, kind=o.kind, on_date=o.on_date, detail=o.detail
            )
            for i, o in enumerate(p.outcomes, start=1)
        ]
        batches = [
            (kind, rows, report_mod.ImportReport(kind=kind, source=f"demo {ref}"))
            for kind, rows in (
                ("administrations", admins),
                ("labs", labs),
                ("outcomes", outcomes),
            )
        ]
        store.write_batches(registry, batches, note=f"demo {ref}")
        for _, _, report in batches:
            if report.errors:
                first = report.errors[0]
                raise Conflict(
                    f"{report.kind} of `{ref}`: {first.reason}",
                    field=first.field or report.kind,
                    value=first.value,
                )
        return len(admins) + len(labs) + len(outcomes)

    return write


__all__ = [
    "DEFAULT_REFERENCE_DATE",
    "PRODUCT_SPECS",
    "PROFILES",
    "PROFILE_WEIGHTS",
    "Cohort",
    "DemoPatient",
    "Profile",
    "WriteReport",
    "generate_cohort",
    "generate_patient",
    "write_cohort",
]
