"""The disagreement register (clinical-spec §9): the consensus default, and the documented
alternative selectable as a scale option."""

from __future__ import annotations

from typing import Any

import pytest

import cartwatch

FEVER = {"temperature_c": 38.6}
AIR = {"oxygen": {"device": "none"}}
NO_HYPO = {"hypotension": "none"}


def crs(options: dict[str, str] | None = None, **fields: Any) -> Any:
    return cartwatch.grade("astct_crs", fields, options=options)


def test_d6_noninvasive_ventilation() -> None:
    cpap = {**FEVER, **NO_HYPO, "oxygen": {"device": "cpap"}}
    assert crs(**cpap).grade == 4
    assert crs({"niv_grade": "3"}, **cpap).grade == 3
    vent = {**FEVER, **NO_HYPO, "oxygen": {"device": "mechanical_ventilation"}}
    assert crs({"niv_grade": "3"}, **vent).grade == 4


@pytest.mark.parametrize(
    ("organ", "sitc"),
    [
        ({"creatinine_increased": 2}, 2),
        ({"alt_increased": 3}, 2),
        ({"creatinine_increased": 3}, 3),
        ({"ast_increased": 4}, 3),
        ({"pulmonary_edema": 4}, 4),
        ({"creatinine_increased": 1}, 1),
    ],
)
def test_d7_d19_organ_toxicity(organ: dict[str, int], sitc: int) -> None:
    fields = {**FEVER, **NO_HYPO, **AIR, "organ_toxicity_ctcae": organ}
    default = crs(**fields)
    assert default.grade == 1 and default.ignored
    alternative = crs({"organ_toxicity_rule": "sitc2020"}, **fields)
    assert alternative.grade == sitc and not alternative.ignored


def test_d9_vasopressin_counting() -> None:
    ne = {"agent": "norepinephrine", "dose": 5, "unit": "mcg/min", "duration_h": 1}
    vp = {"agent": "vasopressin", "dose": 0.03, "unit": "U/min", "duration_h": 1}
    assert crs(**FEVER, vasopressors=[ne, vp], **AIR).grade == 3
    assert (
        crs(
            {"vasopressin_counts_as_vasopressor": "yes"}, **FEVER, vasopressors=[ne, vp], **AIR
        ).grade
        == 4
    )
    flagged = {**FEVER, "hypotension": "vasopressor_single", **AIR}
    counted = {"vasopressin_counts_as_vasopressor": "yes"}
    assert crs(counted, **flagged, vasopressin=True).grade == 4
    assert crs(counted, **flagged, vasopressin=False).grade == 3
    open_ = crs(counted, **flagged)
    assert (open_.floor, open_.ceiling, open_.missing) == (3, 4, ("vasopressin",))


def test_d10_masked_fever_trigger() -> None:
    masked = {
        "temperature_c": 37.0,
        "crs_previously_established": True,
        "antipyretic_or_anticytokine_given": True,
        "hypotension": "fluid_responsive",
        **AIR,
    }
    sitc = {"masked_fever_trigger": "tocilizumab_or_steroids"}
    assert crs(**masked).grade == 2
    assert crs(sitc, **masked, anticytokine_agents=["paracetamol"]).grade == 0
    assert crs(sitc, **masked, anticytokine_agents=["Tocilizumab"]).grade == 2
    unknown = crs(sitc, **masked)
    assert (unknown.floor, unknown.ceiling, unknown.missing) == (0, 2, ("anticytokine_agents",))


def test_d2_capd_band() -> None:
    child = {
        "age_years": 5,
        "capd_score": 0,
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "icp_edema": "none",
    }
    assert cartwatch.grade("astct_icans", child).grade == 0
    assert cartwatch.grade("astct_icans", child, options={"capd_low_band": "lt9"}).grade == 1


def test_every_option_is_listed_with_its_choices() -> None:
    options = {
        o.name: o
        for s in cartwatch.scales()
        for o in s.options
        if s.id in ("astct_crs", "astct_icans")
    }
    assert {
        "masked_fever_trigger",
        "vasopressin_counts_as_vasopressor",
        "niv_grade",
        "organ_toxicity_rule",
        "pediatric_age_rule",
        "capd_low_band",
    } <= set(options)
    assert all(o.default in o.choices for o in options.values())
