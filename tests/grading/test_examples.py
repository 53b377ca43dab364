"""Every worked example of reference/examples.json, for every registered scale, by its id."""

from __future__ import annotations

from typing import Any

import pytest

import cartwatch
from cartwatch.grading.registry import all_scales
from tests.conftest import load_examples

REGISTERED = {info.id for info in all_scales()}
CASES = [
    pytest.param(example, key.lower(), expected, id=f"{example['id']}-{key}")
    for example in load_examples()
    for key, expected in example["expected"].items()
    if key.lower() in REGISTERED
]


def test_the_examples_cover_the_grading_core() -> None:
    covered = {case.values[1] for case in CASES}
    assert {"astct_crs", "astct_icans", "lee2014_crs", "penn_crs", "mskcc_crs"} <= covered


@pytest.mark.parametrize(("example", "scale", "expected"), CASES)
def test_worked_example(example: dict[str, Any], scale: str, expected: dict[str, Any]) -> None:
    result = cartwatch.grade(scale, example["input"]).to_dict()
    assert result["status"] == expected["status"], result
    if "grade" in expected:
        assert result.get("grade") == expected["grade"], result
    if expected.get("value") is not None:
        assert result.get("value") == pytest.approx(expected["value"]), result
    if "risk" in expected:
        assert result.get("risk") == expected["risk"], result
    if "score_range" in expected:
        assert list(result.get("value_range") or []) == expected["score_range"], result
    assert result["reference"], "every result names its source"
