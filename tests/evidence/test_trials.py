"""The shipped trial table: faithful to the reference; computed and unverified counts marked."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from cartwatch.errors import ConfigError, InvalidValue
from cartwatch.evidence import load_trials, outcome_table, read_table

from ._fixtures import as_list, dataset

REFERENCE = Path("/work/shared/reference/published-trials.csv")
COUNT_FIELDS = (
    "n_infused",
    "n_efficacy",
    "orr_n",
    "cr_n",
    "crs_any_n",
    "crs_grade3plus_n",
    "icans_any_n",
    "icans_grade3plus_n",
)


def test_every_trial_keeps_a_source_and_its_notes() -> None:
    trials = load_trials()
    assert len(trials) == 28
    assert all(t.source.strip() for t in trials)


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference not present")
def test_counts_equal_the_reference_table() -> None:
    with REFERENCE.open(encoding="utf-8") as fh:
        ref = {r["trial_id"]: r for r in csv.DictReader(fh)}
    for t in load_trials():
        for f in COUNT_FIELDS:
            raw = ref[t.trial_id][f].strip()
            assert t.counts[f] == (int(raw) if raw else None), (t.trial_id, f)


def test_every_count_the_notes_call_computed_is_marked_computed() -> None:
    for t in load_trials():
        m = re.search(r"computed: (.*?)(?:\.|$)", t.notes)
        if not m:
            continue
        named = set(re.findall(r"\b([a-z0-9_]+_n)\b", m.group(1)))
        assert named <= set(t.computed_fields), (t.trial_id, named - set(t.computed_fields))


def test_unverified_and_placeholder_rows_are_left_out_with_a_reason() -> None:
    table = outcome_table(outcome="crs_grade3plus")
    left = dict(table.left_out)
    assert "NCT03455972" in left and "UNVERIFIED" in left["NCT03455972"]
    assert "NCT03570892 (BELINDA)" in left
    assert "severe" in left["NCT01044069 (MSKCC 19-28z adult ALL)"]
    assert "NCT03455972" not in table.labels
    both = outcome_table(outcome="crs_grade3plus", include_unverified=True)
    assert "NCT01044069 (MSKCC 19-28z adult ALL)" in both.labels
    assert "NCT03455972" not in both.labels


def test_crs_grade3plus_table_is_the_one_the_fixtures_pooled() -> None:
    table = outcome_table(outcome="crs_grade3plus")
    d = dataset("cart_crs3")
    assert list(table.events) == as_list(d["xi"])
    assert list(table.totals) == as_list(d["ni"])


def test_toxicity_is_counted_over_infused_and_response_over_the_efficacy_set() -> None:
    zuma2 = next(t for t in load_trials() if t.trial_id == "NCT02601313 (ZUMA-2)")
    tox = outcome_table(outcome="crs_grade3plus")
    orr = outcome_table(outcome="orr")
    i, j = tox.labels.index(zuma2.trial_id), orr.labels.index(zuma2.trial_id)
    assert tox.totals[i] == zuma2.counts["n_infused"] == 68
    assert orr.totals[j] == zuma2.counts["n_efficacy"] == 60


def test_population_filter_keeps_adults() -> None:
    adult = outcome_table(outcome="crs_grade3plus", population="adult")
    assert "NCT02435849 (ELIANA)" not in adult.labels


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(InvalidValue, match="crs_grade3plus"):
        outcome_table(outcome="crs3")


def test_user_table_in_the_simple_format(tmp_path: Path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text("study,events,total,group\nA,3,20,x\nB,5,25,y\n", encoding="utf-8")
    t = read_table(p)
    assert t.labels == ("A", "B") and t.events == (3, 5) and t.groups == ("x", "y")


def test_user_table_with_unknown_columns_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="study,events,total"):
        read_table(p)
