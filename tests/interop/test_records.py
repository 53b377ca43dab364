"""Flat columns ↔ contract JSON: what the CSV exporter writes, the importer reads back unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cartwatch.assessment import (
    Consciousness,
    Hypotension,
    Motor,
    OxygenDevice,
    parse_assessment,
)
from cartwatch.interop.records import check_header, flatten, parse_timestamp, unflatten

ASSESSMENTS = st.fixed_dictionaries(
    {},
    optional={
        "temperature_c": st.floats(25, 45, allow_nan=False, allow_infinity=False),
        "sbp_mmhg": st.floats(20, 300, allow_nan=False, allow_infinity=False),
        "ferritin_ng_ml": st.floats(0, 1_000_000, allow_nan=False, allow_infinity=False),
        "hypotension": st.sampled_from([h.value for h in Hypotension if "vaso" not in h.value]),
        "consciousness": st.sampled_from([c.value for c in Consciousness]),
        "motor": st.sampled_from([m.value for m in Motor]),
        "crs_previously_established": st.booleans(),
        "ice_total": st.integers(0, 10),
        "oxygen": st.fixed_dictionaries(
            {},
            optional={
                "device": st.sampled_from([d.value for d in OxygenDevice]),
                "flow_l_min": st.floats(0, 80, allow_nan=False, allow_infinity=False),
                "fio2": st.floats(0.21, 1.0, allow_nan=False, allow_infinity=False),
            },
        ),
        "ice": st.fixed_dictionaries(
            {}, optional={"orientation": st.integers(0, 4), "naming": st.integers(0, 3)}
        ),
        "other_findings": st.lists(st.text(min_size=1, max_size=12), max_size=3),
        "capd_items": st.lists(st.integers(0, 4), min_size=8, max_size=8),
        "organ_toxicity_ctcae": st.dictionaries(
            st.sampled_from(["ast_increased", "alt_increased", "creatinine_increased"]),
            st.integers(0, 4),
            max_size=2,
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(ASSESSMENTS)
def test_flatten_then_unflatten_gives_the_same_assessment(raw: dict[str, Any]) -> None:
    canonical = parse_assessment(raw).to_dict()
    cells: dict[str, str | None] = dict(flatten(canonical))
    assert parse_assessment(unflatten(cells)).to_dict() == canonical
    assert check_header("assessments", ["patient_ref", "assessed_at", *cells]) == []


@given(st.datetimes(timezones=st.timezones()))
def test_any_zoned_time_reads_back_as_the_same_instant_in_utc(moment: Any) -> None:
    written = moment.isoformat()
    read = parse_timestamp("t", written)
    assert read.tzinfo is dt.UTC
    assert read == dt.datetime.fromisoformat(written)
