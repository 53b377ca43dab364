"""CTCAE v5.0 "Cytokine release syndrome" (scale id ``ctcae5_crs``).

Grade 1 fever with or without constitutional symptoms; grade 2 hypotension responding to fluids,
hypoxia responding to <40% O2; grade 3 hypotension managed with one pressor, hypoxia requiring
≥40% O2; grade 4 life-threatening consequences, urgent intervention indicated; grade 5 death.

References: [CTCAE5] NCI CTCAE v5.0 (27 Nov 2017), Immune system disorders: cytokine release
syndrome. UNVERIFIED (spec §10 item 6): the grade wording was not re-read from the NCI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartwatch.assessment import Assessment, DeathCause, Hypotension, OxygenDevice
from cartwatch.grading.crs.common import (
    FIO2_HIGH,
    VasopressorLoad,
    crs_presence,
    death_domain,
    fever_gated_most_severe,
    gated_explain,
    oxygen_device,
    oxygen_fio2,
    register_table_scale,
    vasopressor_load,
)
from cartwatch.grading.engine import (
    Column,
    Domain,
    Finding,
    Input,
    Options,
    Possible,
    TableScale,
    fmt,
)
from cartwatch.grading.result import GradeResult
from cartwatch.references import cite

SCALE_ID = "ctcae5_crs"


def read_life_threatening(a: Assessment, options: Options) -> Possible:
    """The clinician's "life-threatening; urgent intervention indicated" judgement.

    Interpretation (spec §3.6): more than one pressor has no CTCAE v5 grade of its own — grade 4
    only when the clinician flags life-threatening consequences. With several pressors the flag
    decides the grade, so it is then required; otherwise an unrecorded flag is read as no.
    """
    value = a.crs_life_threatening
    if value is not None:
        return Possible(values=(value,))
    several = (
        a.hypotension in (Hypotension.VASOPRESSOR_MULTIPLE, Hypotension.VASOPRESSOR_COUNT_UNKNOWN)
        or (a.hypotension is Hypotension.VASOPRESSOR_SINGLE and a.vasopressin is not False)
        or (a.vasopressors is not None and len({v.agent for v in a.vasopressors}) >= 2)
    )
    if several:
        return Possible(values=(False, True), missing=("crs_life_threatening",))
    return Possible(
        values=(False,),
        assumed="crs_life_threatening not recorded: taken as no",
        alternatives=(True,),
        missing=("crs_life_threatening",),
    )


def hypotension_rule(values: Mapping[str, Any], options: Options) -> Finding:
    load: VasopressorLoad = values["load"]
    if values["life_threatening"]:
        return Finding(4, "life-threatening consequences, urgent intervention indicated → grade 4")
    if load is VasopressorLoad.NONE:
        return Finding(0, "")
    if load is VasopressorLoad.FLUIDS:
        return Finding(2, "hypotension responding to fluids → grade 2")
    if load.multiple:
        return Finding(3, "hypotension managed with pressors (more than one) → grade 3")
    return Finding(3, "hypotension managed with one pressor → grade 3")


def hypoxia_rule(values: Mapping[str, Any], options: Options) -> Finding:
    """Hypoxia by O2 fraction; interpretation: invasive ventilation is an urgent intervention."""
    device: OxygenDevice = values["device"]
    fio2: float = values["fio2"]
    if device is OxygenDevice.NONE:
        return Finding(0, "")
    if device is OxygenDevice.MECHANICAL_VENTILATION:
        return Finding(4, "mechanical ventilation: urgent intervention → grade 4")
    if fio2 >= FIO2_HIGH:
        return Finding(3, f"hypoxia requiring FiO2 {fmt(fio2)} (≥{FIO2_HIGH}) → grade 3")
    return Finding(2, f"hypoxia responding to FiO2 {fmt(fio2)} (<{FIO2_HIGH}) → grade 2")


DOMAINS = (
    crs_presence,
    Domain(
        name="hypotension",
        inputs=(
            vasopressor_load,
            Input(
                name="life_threatening",
                read=read_life_threatening,
                columns=(Column(path="crs_life_threatening", kind="bool"),),
            ),
        ),
        rule=hypotension_rule,
    ),
    Domain(name="hypoxia", inputs=(oxygen_device, oxygen_fio2), rule=hypoxia_rule),
    death_domain(DeathCause.CRS, "CTCAE grade 5"),
)


SCALE = TableScale(
    id=SCALE_ID,
    reference=cite("CTCAE5"),
    domains=DOMAINS,
    combine=fever_gated_most_severe,
    explain=gated_explain("fever with or without constitutional symptoms"),
)


def grade_crs(assessment: Assessment) -> GradeResult:
    """Grade CRS by CTCAE v5.0 ([CTCAE5])."""
    return SCALE.evaluate(assessment, {})


register_table_scale(
    SCALE,
    title="CTCAE v5.0 cytokine release syndrome",
    syndrome="crs",
    reference_keys=("CTCAE5",),
)
