"""The columnar engine equals the scalar path, row by row, on random frames with nulls."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cartwatch
from cartwatch.analytics.columnar import frame_from_assessments, regrade
from cartwatch.errors import CartwatchError, ConfigError, ImplausibleValue, InvalidValue

TABLE_SCALES = (
    "astct_crs",
    "astct_icans",
    "lee2014_crs",
    "cartox_crs",
    "cartox_cres",
    "penn_crs",
    "mskcc_crs",
    "ctcae5_crs",
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _sample(values: list[Any]) -> st.SearchStrategy[Any]:
    return maybe(st.sampled_from(values))


BOOLS = [
    "crs_previously_established",
    "antipyretic_or_anticytokine_given",
    "fever_attributable_to_other_cause",
    "clinician_diagnosis_crs",
    "crs_life_threatening",
    "hospitalized_for_crs",
    "hospitalized_for_crs_organ_dysfunction",
    "coagulopathy_requiring_blood_products",
    "hypotension_refractory_to_high_dose_vasopressors",
    "vasopressin",
    "developmental_delay",
    "global_aphasia",
    "ice_unable_unarousable",
    "capd_unable",
    "cartox10_unable_obtunded",
    "consciousness_attributable_to_other_cause",
]


@st.composite
def assessments(draw: st.DrawFn) -> dict[str, Any]:
    d: dict[str, Any] = {
        "temperature_c": draw(maybe(st.sampled_from([36.0, 37.99, 38.0, 38.01, 40.2]))),
        "hypotension": draw(
            _sample(
                [
                    "none",
                    "fluid_responsive",
                    "vasopressor_single",
                    "vasopressor_multiple",
                    "vasopressin_only",
                    "vasopressor_count_unknown",
                ]
            )
        ),
        "age_years": draw(maybe(st.sampled_from([3.0, 11.99, 12.0, 12.5, 13.0, 60.0]))),
        "weight_kg": draw(maybe(st.sampled_from([25.0, 80.0]))),
        "consciousness": draw(
            _sample(
                [
                    "alert",
                    "awakens_spontaneously",
                    "awakens_to_voice",
                    "awakens_to_tactile",
                    "unarousable_or_vigorous_stimuli",
                ]
            )
        ),
        "seizure": draw(
            _sample(
                [
                    "none",
                    "focal_or_generalized_resolved_rapidly",
                    "nonconvulsive_eeg_resolved_with_intervention",
                    "prolonged_gt_5min",
                    "repetitive_without_return_to_baseline",
                    "partial_responding_to_benzodiazepine",
                    "generalized",
                ]
            )
        ),
        "motor": draw(
            _sample(
                [
                    "none",
                    "tremor",
                    "myoclonus",
                    "mild_weakness",
                    "new_motor_weakness",
                    "hemiparesis",
                    "paraparesis",
                ]
            )
        ),
        "icp_edema": draw(
            _sample(
                [
                    "none",
                    "focal_edema",
                    "diffuse_edema",
                    "posturing",
                    "cn6_palsy",
                    "papilledema_stage_1_2",
                    "papilledema_stage_3_5",
                    "cushing_triad",
                    "intracranial_hemorrhage",
                ]
            )
        ),
        "capd_score": draw(maybe(st.integers(0, 32))),
        "cartox10_score": draw(maybe(st.integers(0, 10))),
        "csf_opening_pressure_mmhg": draw(maybe(st.sampled_from([5.0, 19.99, 20.0, 30.0]))),
        "sedation": draw(maybe(st.just("propofol"))),
        "death_due_to": draw(_sample(["CRS", "ICANS", "other"])),
    }
    for name in BOOLS:
        d[name] = draw(maybe(st.booleans()))
    if draw(st.booleans()):
        d["oxygen"] = {
            "device": draw(
                _sample(
                    [
                        "none",
                        "blow_by",
                        "low_flow_nasal_cannula",
                        "high_flow_nasal_cannula",
                        "facemask",
                        "non_rebreather",
                        "venturi",
                        "cpap",
                        "bipap",
                        "mechanical_ventilation",
                    ]
                )
            ),
            "flow_l_min": draw(maybe(st.sampled_from([1.0, 5.99, 6.0, 6.01, 50.0]))),
            "fio2": draw(maybe(st.sampled_from([0.21, 0.39, 0.4, 0.41, 1.0]))),
        }
    if draw(st.booleans()):
        d["ice"] = {
            "orientation": draw(maybe(st.integers(0, 4))),
            "naming": draw(maybe(st.integers(0, 3))),
            "commands": draw(maybe(st.integers(0, 1))),
            "writing": draw(maybe(st.integers(0, 1))),
            "attention": draw(maybe(st.integers(0, 1))),
        }
    elif draw(st.booleans()):
        d["ice_total"] = draw(st.integers(0, 10))
    return {k: v for k, v in d.items() if v is not None}


def _scalar_ok(row: dict[str, Any]) -> bool:
    try:
        cartwatch.parse_assessment(row)
    except CartwatchError:
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(assessments(), min_size=1, max_size=40), seed=st.integers(0, 2**16))
def test_columnar_equals_scalar_for_every_table_scale(
    rows: list[dict[str, Any]], seed: int
) -> None:
    rows = [r for r in rows if _scalar_ok(r)]
    if not rows:
        return
    frame = frame_from_assessments(rows)
    import random

    rnd = random.Random(seed)
    for scale in TABLE_SCALES:
        info = next(i for i in cartwatch.scales() if i.id == scale)
        options = {o.name: rnd.choice(o.choices) for o in info.options}
        out = regrade(frame, [scale], options={scale: options})
        for i, row in enumerate(rows):
            r = cartwatch.grade(scale, row, options=options)
            got = (
                out[f"{scale}.grade"][i],
                out[f"{scale}.floor"][i],
                out[f"{scale}.ceiling"][i],
                out[f"{scale}.status"][i],
            )
            assert got == (r.grade, r.floor, r.ceiling, r.status.value), (scale, options, row)


def test_enum_columns_may_be_strings_or_enums() -> None:
    rows = [{"temperature_c": 39.0, "hypotension": "vasopressor_multiple"}]
    as_strings = frame_from_assessments(rows).with_columns(pl.col("hypotension").cast(pl.String))
    assert regrade(as_strings, ["astct_crs"])["astct_crs.grade"].to_list() == [4]


def test_bad_values_are_refused_with_field_and_row() -> None:
    frame = pl.DataFrame({"temperature_c": [38.0, 101.0]})
    with pytest.raises(ImplausibleValue, match=r"temperature_c=101.*row 1"):
        regrade(frame, ["astct_crs"])
    frame = pl.DataFrame({"hypotension": ["none", "pressor"]})
    with pytest.raises(InvalidValue, match="row 1"):
        regrade(frame, ["astct_crs"])


def test_list_fields_are_refused_not_ignored() -> None:
    frame = pl.DataFrame({"temperature_c": [39.0], "vasopressors": [["norepinephrine"]]})
    with pytest.raises(ConfigError, match="vasopressors"):
        regrade(frame, ["lee2014_crs"])


def test_fahrenheit_column_is_converted() -> None:
    frame = pl.DataFrame(
        {
            "temperature_f": [100.4, 100.3],
            "hypotension": ["none", "none"],
            "oxygen.device": ["none", "none"],
        }
    )
    out = regrade(frame, ["astct_crs"], options={"astct_crs": {}})
    assert out["astct_crs.floor"].to_list() == [1, 0]
