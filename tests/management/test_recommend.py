"""Recommendations for grade pairs read like the consensus tables (ASCO 2021, seed 001)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartwatch.errors import InvalidValue
from cartwatch.management import ActionKind, Level, Patient, recommend
from cartwatch.management.recommend import Recommendation

ADULT = Patient(weight_kg=72)


def _rec(crs: int | None, icans: int | None, iechs: int | None = 0, **kw: object) -> Recommendation:
    patient = Patient(**kw) if kw else ADULT  # type: ignore[arg-type]
    return recommend(crs_grade=crs, icans_grade=icans, iechs_grade=iechs, patient=patient)


def _kinds(rec: Recommendation) -> dict[str, str]:
    return {a.kind.value: a.level.value for a in rec.actions}


def test_no_toxicity_no_actions() -> None:
    rec = _rec(0, 0)
    assert rec.actions == ()
    assert rec.not_graded == ()


def test_crs_1_supportive_and_consider_tocilizumab() -> None:
    k = _kinds(_rec(1, 0))
    assert k["supportive_care"] == "give"
    assert k["tocilizumab"] == "consider"
    assert "icu" not in k and "dexamethasone" not in k


def test_crs_2_tocilizumab_8_mg_kg_and_dexamethasone_if_refractory() -> None:
    rec = _rec(2, 0)
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.level is Level.GIVE
    assert toc.dose is not None and toc.dose.value == 576.0 and toc.dose.mg_per_kg == 8.0
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.level is Level.IF_REFRACTORY
    assert dex.dose is not None and dex.dose.value == 10.0
    assert "Santomasso" in toc.reference
    assert rec.action("icu") is None


def test_crs_3_icu_tocilizumab_dexamethasone_10_mg_q6h() -> None:
    rec = _rec(3, 0)
    assert _kinds(rec)["icu"] == "give"
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.dose is not None
    assert (dex.dose.value, dex.dose.interval_h) == (10.0, 6.0)
    assert rec.actions[0].kind is ActionKind.ICU


def test_crs_4_methylprednisolone_500_q12h_and_icu() -> None:
    rec = _rec(4, 0)
    mp = rec.action("methylprednisolone")
    assert mp is not None and mp.dose is not None
    assert (mp.dose.value, mp.dose.interval_h) == (500.0, 12.0)
    assert rec.action("dexamethasone") is None
    assert _kinds(rec)["icu"] == "give"
    assert _kinds(rec)["siltuximab"] == "if_refractory"
    silt = rec.action("siltuximab")
    assert silt is not None and silt.dose is not None and silt.dose.value == 792.0


@pytest.mark.parametrize("icans", [1, 2, 3, 4])
def test_no_tocilizumab_for_icans_without_crs(icans: int) -> None:
    rec = _rec(0, icans)
    assert rec.action("tocilizumab") is None
    assert any("Tocilizumab is not recommended for ICANS" in n for n in rec.notes)


@pytest.mark.parametrize("icans", [1, 2, 3, 4])
def test_tocilizumab_for_icans_with_crs(icans: int) -> None:
    rec = _rec(1, icans)
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.level is Level.GIVE
    assert any("Caution" in n for n in toc.notes)


def test_icans_without_crs_graded_is_not_given_tocilizumab() -> None:
    rec = _rec(None, 2)
    assert rec.action("tocilizumab") is None
    assert rec.not_graded == ("crs",)
    assert any("CRS not graded" in n for n in rec.notes)


def test_icans_1_supportive_neuro_work_up_no_steroids() -> None:
    k = _kinds(_rec(0, 1))
    assert k["supportive_care"] == "give"
    assert k["neuro_imaging"] == "give" and k["eeg"] == "give"
    assert k["seizure_prophylaxis"] == "consider"
    assert "dexamethasone" not in k and "icu" not in k


def test_icans_2_without_crs_consider_dexamethasone_asco() -> None:
    rec = _rec(0, 2)
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.level is Level.CONSIDER and dex.dose is not None
    assert dex.dose.value == 10.0
    mp = rec.action("methylprednisolone")
    assert mp is not None and mp.level is Level.ALTERNATIVE
    assert mp.dose is not None and mp.dose.value == 72.0  # 1 mg/kg x 72 kg
    assert rec.action("icu") is None


@pytest.mark.parametrize(("crs", "icu"), [(0, None), (1, None), (2, "consider"), (3, "give")])
def test_icu_for_icans_2_depends_on_crs(crs: int, icu: str | None) -> None:
    assert _kinds(_rec(crs, 2)).get("icu") == icu


@pytest.mark.parametrize("icans", [3, 4])
def test_icu_for_icans_3_and_4_alone(icans: int) -> None:
    assert _kinds(_rec(0, icans))["icu"] == "give"


def test_icans_4_high_dose_methylprednisolone() -> None:
    rec = _rec(0, 4)
    mp = rec.action("methylprednisolone")
    assert mp is not None and mp.level is Level.GIVE and mp.dose is not None
    assert mp.dose.value == 1000.0
    assert rec.action("dexamethasone") is None
    assert _kinds(rec)["seizure_treatment"] == "give"


@pytest.mark.parametrize(("crs", "icans"), [(1, 2), (2, 2), (2, 3), (3, 3), (4, 4), (1, 4)])
def test_steroids_come_before_tocilizumab_when_icans_2_or_more_with_crs(
    crs: int, icans: int
) -> None:
    rec = _rec(crs, icans)
    kinds = [a.kind for a in rec.actions]
    steroid = min(
        kinds.index(k)
        for k in (ActionKind.DEXAMETHASONE, ActionKind.METHYLPREDNISOLONE)
        if k in kinds
    )
    assert steroid < kinds.index(ActionKind.TOCILIZUMAB)
    assert any("corticosteroids first" in n for n in rec.notes)


def test_crs_alone_lists_tocilizumab_before_steroids() -> None:
    kinds = [a.kind for a in _rec(3, 0).actions]
    assert kinds.index(ActionKind.TOCILIZUMAB) < kinds.index(ActionKind.DEXAMETHASONE)


def test_crs_4_methylprednisolone_supersedes_icans_2_dexamethasone() -> None:
    rec = _rec(4, 2)
    assert rec.action("dexamethasone") is None
    mp = rec.action("methylprednisolone")
    assert mp is not None and mp.dose is not None and mp.dose.value == 500.0
    assert any("superseded" in n for n in rec.notes)


def test_same_action_from_two_syndromes_is_listed_once_for_both() -> None:
    rec = _rec(3, 3)
    dex = [a for a in rec.actions if a.kind is ActionKind.DEXAMETHASONE]
    assert len(dex) == 1
    assert {s.value for s, _ in dex[0].for_syndromes} == {"crs", "icans"}
    supportive = rec.action("supportive_care")
    assert supportive is not None and "CRS 3:" in supportive.text and "ICANS 3:" in supportive.text


def test_missing_weight_is_reported_not_guessed() -> None:
    rec = recommend(crs_grade=2, icans_grade=2, iechs_grade=0, patient=Patient())
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.dose is not None
    assert toc.dose.value is None and toc.dose.missing == ("weight_kg",)
    mp = rec.action("methylprednisolone")
    assert mp is not None and mp.dose is not None and mp.dose.missing == ("weight_kg",)
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.dose is not None and dex.dose.value == 10.0


def test_tocilizumab_exhausted_is_flagged() -> None:
    rec = _rec(3, 0, weight_kg=72, tocilizumab_dose_times_h=(0, 8, 16, 24), current_time_h=40)
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.redose is not None
    assert toc.redose.value is False
    assert any("exhausted" in n for n in toc.notes)


def test_tocilizumab_redose_too_early_is_flagged() -> None:
    rec = _rec(2, 0, weight_kg=72, tocilizumab_dose_times_h=(0,), current_time_h=6)
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.redose is not None and not toc.redose.value
    assert toc.redose.earliest_next_h == 8.0


def test_iechs_2_anakinra_order_set_not_a_calculated_dose() -> None:
    rec = _rec(0, 0, 2)
    ana = rec.action("anakinra")
    assert ana is not None and ana.dose is None and ana.order_set is not None
    assert any("2 mg/kg" in line for line in ana.order_set.lines)


def test_grade_5_gives_no_actions() -> None:
    rec = _rec(5, 0)
    assert rec.actions == ()
    assert any("grade 5" in n for n in rec.notes)


@pytest.mark.parametrize("bad", [-1, 6, 2.0, "2", True])
def test_invalid_grades_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValue) as err:
        recommend(crs_grade=bad, icans_grade=0, iechs_grade=0, patient=ADULT)  # type: ignore[arg-type]
    assert err.value.field == "crs_grade"


def test_to_dict_is_json_ready_with_sources_and_origins() -> None:
    d = json.loads(json.dumps(_rec(3, 2).to_dict()))
    assert d["grades"] == {"crs": 3, "icans": 2, "iechs": 0}
    for action in d["actions"]:
        assert action["reference"]
        assert action["origin"] == "consensus default"


_GRADE = st.one_of(st.none(), st.integers(min_value=0, max_value=4))
_RANK = {"give": 4, "consider": 3, "if_refractory": 2, "alternative": 1}


@given(_GRADE, _GRADE, _GRADE, st.integers(min_value=0, max_value=3))
def test_worse_crs_never_weakens_icu_or_drops_tocilizumab(
    crs: int | None, icans: int | None, iechs: int | None, step: int
) -> None:
    if crs is None or crs + step > 4:
        return
    lo = _kinds(_rec(crs, icans, iechs))
    hi = _kinds(_rec(crs + step, icans, iechs))
    for kind in ("icu", "tocilizumab"):
        if kind in lo:
            assert kind in hi
            assert _RANK[hi[kind]] >= _RANK[lo[kind]]


@given(_GRADE, _GRADE, _GRADE)
def test_every_action_has_a_reference_and_origin(
    crs: int | None, icans: int | None, iechs: int | None
) -> None:
    rec = _rec(crs, icans, iechs)
    for a in rec.actions:
        assert a.reference and a.origin == "consensus default"
        assert a.for_syndromes


def test_fixed_adult_doses_are_not_computed_for_a_child() -> None:
    rec = recommend(
        crs_grade=3, icans_grade=1, iechs_grade=0, patient=Patient(weight_kg=20, age_years=6)
    )
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.dose is not None
    assert dex.dose.status.value == "not_applicable" and dex.dose.value is None
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.dose is not None and toc.dose.value == 240.0  # 12 mg/kg


@pytest.mark.parametrize(("age", "computed"), [(17.99, False), (18.0, True)])
def test_adult_age_boundary_for_fixed_doses(age: float, computed: bool) -> None:
    rec = recommend(
        crs_grade=3, icans_grade=0, iechs_grade=0, patient=Patient(weight_kg=60, age_years=age)
    )
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.dose is not None
    assert (dex.dose.value == 10.0) is computed


def test_unknown_age_computes_adult_dose_with_a_note() -> None:
    rec = recommend(crs_grade=3, icans_grade=0, iechs_grade=0, patient=Patient(weight_kg=60))
    assert any("adult doses" in n for n in rec.notes)


@pytest.mark.parametrize("crs", [1, 2])
def test_icans_2_with_crs_gives_dexamethasone_before_tocilizumab(crs: int) -> None:
    rec = _rec(crs, 2)
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.level is Level.GIVE
    kinds = [a.kind for a in rec.actions]
    assert kinds.index(ActionKind.DEXAMETHASONE) < kinds.index(ActionKind.TOCILIZUMAB)
