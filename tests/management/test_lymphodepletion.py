"""Lymphodepletion per labelled product (spec §6.5) and the fludarabine renal policies (§6.6)."""

from __future__ import annotations

from typing import Any

import pytest

from cartwatch.errors import ImplausibleValue, InvalidValue
from cartwatch.management import (
    LymphodepletionPlan,
    RenalPolicy,
    bsa_mosteller,
    fludarabine_renal_adjustment,
    lymphodepletion_regimen,
)
from cartwatch.management.lymphodepletion import AgentDose

H, W = 170.0, 70.0
BSA = bsa_mosteller(height_cm=H, weight_kg=W).value


def _plan(product: str, **kw: Any) -> LymphodepletionPlan:
    return lymphodepletion_regimen(product=product, height_cm=H, weight_kg=W, crcl_ml_min=100, **kw)


def _agent(plan: LymphodepletionPlan, name: str) -> AgentDose:
    return next(a for a in plan.agents if a.agent == name)


@pytest.mark.parametrize(
    ("product", "flu", "flu_days", "cy", "cy_days"),
    [
        ("axi-cel", 30, (-5, -4, -3), 500, (-5, -4, -3)),
        ("brexu-cel-mcl", 30, (-5, -4, -3), 500, (-5, -4, -3)),
        ("brexu-cel-all", 25, (-4, -3, -2), 900, (-2,)),
        ("tisa-cel-all", 30, (-6, -5, -4, -3), 500, (-6, -5)),
        ("tisa-cel-dlbcl", 25, (-5, -4, -3), 250, (-5, -4, -3)),
        ("tisa-cel-fl", 25, (-5, -4, -3), 250, (-5, -4, -3)),
        ("liso-cel", 30, (-5, -4, -3), 300, (-5, -4, -3)),  # D17: 300, not 500
        ("ide-cel", 30, (-5, -4, -3), 300, (-5, -4, -3)),
        ("cilta-cel", 30, (-5, -4, -3), 300, (-5, -4, -3)),
    ],
)
def test_label_regimens(
    product: str, flu: float, flu_days: tuple[int, ...], cy: float, cy_days: tuple[int, ...]
) -> None:
    plan = _plan(product)
    f, c = _agent(plan, "fludarabine"), _agent(plan, "cyclophosphamide")
    assert (f.mg_per_m2, f.days) == (flu, flu_days)
    assert (c.mg_per_m2, c.days) == (cy, cy_days)
    assert f.value == pytest.approx(flu * BSA, rel=1e-12)
    assert c.value == pytest.approx(cy * BSA, rel=1e-12)
    assert plan.reference


def test_doses_are_not_rounded_unless_asked() -> None:
    plan = _plan("axi-cel")
    assert _agent(plan, "cyclophosphamide").value == pytest.approx(909.0593, abs=1e-4)
    rounded = _plan("axi-cel", round_to_mg=10)
    assert _agent(rounded, "cyclophosphamide").value == 910.0


def test_brexu_cel_without_indication_is_refused_with_a_suggestion() -> None:
    with pytest.raises(InvalidValue) as err:
        _plan("brexu-cel")
    assert "brexu-cel-" in str(err.value)


def test_autoimmune_reduced_regimen_is_cyclophosphamide_alone() -> None:
    plan = _plan("autoimmune-cy-only")
    assert [a.agent for a in plan.agents] == ["cyclophosphamide"]
    cy = plan.agents[0]
    assert cy.mg_per_m2 == 300.0
    assert cy.days == ()
    assert any("50%" in n for n in plan.notes)


# --- renal policies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crcl", "status", "factor"),
    [
        (100.0, "full", 1.0),
        (80.0, "full", 1.0),
        (79.99, "reduced", 0.8),
        (50.0, "reduced", 0.8),
        (49.99, "reduced", 0.6),
        (30.0, "reduced", 0.6),
        (29.99, "withhold", None),
    ],
)
def test_fludara_label_proportional(crcl: float, status: str, factor: float | None) -> None:
    adj = fludarabine_renal_adjustment(crcl_ml_min=crcl, policy="fludara_label_proportional")
    assert (adj.status, adj.factor) == (status, factor)


@pytest.mark.parametrize(
    ("crcl", "status", "factor"),
    [
        (70.01, "full", 1.0),
        (70.0, "reduced", 0.8),
        (30.0, "reduced", 0.8),
        (29.99, "withhold", None),
    ],
)
def test_generic_label_20pct(crcl: float, status: str, factor: float | None) -> None:
    adj = fludarabine_renal_adjustment(crcl_ml_min=crcl, policy="generic_label_20pct")
    assert (adj.status, adj.factor) == (status, factor)
    assert "1.73" in adj.reason


@pytest.mark.parametrize(
    ("crcl", "status", "factor"),
    [
        (90.0, "full", 1.0),
        (50.0, "full", 1.0),
        (49.99, "reduced", 0.6),
        (30.0, "reduced", 0.6),
        (29.99, "not_covered", None),
    ],
)
def test_institutional_dfci(crcl: float, status: str, factor: float | None) -> None:
    adj = fludarabine_renal_adjustment(crcl_ml_min=crcl, policy="institutional_dfci")
    assert (adj.status, adj.factor) == (status, factor)


def test_policy_none_gives_full_dose_but_warns_below_30() -> None:
    plan = lymphodepletion_regimen(
        product="axi-cel", height_cm=H, weight_kg=W, crcl_ml_min=20, renal_policy="none"
    )
    assert _agent(plan, "fludarabine").mg_per_m2 == 30.0
    assert any("< 30" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("policy", "crcl", "per_m2"),
    [
        ("fludara_label_proportional", 60.0, 24.0),
        ("fludara_label_proportional", 40.0, 18.0),
        ("generic_label_20pct", 60.0, 24.0),
        ("institutional_dfci", 60.0, 30.0),
        ("institutional_dfci", 40.0, 18.0),
        ("none", 40.0, 30.0),
    ],
)
def test_axi_cel_fludarabine_under_each_policy(policy: str, crcl: float, per_m2: float) -> None:
    plan = lymphodepletion_regimen(
        product="axi-cel", height_cm=H, weight_kg=W, crcl_ml_min=crcl, renal_policy=policy
    )
    flu = _agent(plan, "fludarabine")
    assert flu.mg_per_m2 == per_m2
    assert flu.value == pytest.approx(per_m2 * BSA, rel=1e-12)
    assert _agent(plan, "cyclophosphamide").mg_per_m2 == 500.0  # never renally adjusted


def test_25_mg_base_reproduces_the_fludara_table() -> None:
    plan = lymphodepletion_regimen(
        product="brexu-cel-all", height_cm=H, weight_kg=W, crcl_ml_min=60
    )
    assert _agent(plan, "fludarabine").mg_per_m2 == 20.0


def test_withheld_fludarabine_has_no_dose() -> None:
    plan = lymphodepletion_regimen(product="axi-cel", height_cm=H, weight_kg=W, crcl_ml_min=25)
    flu = _agent(plan, "fludarabine")
    assert flu.status == "withhold" and flu.value is None


def test_cockcroft_gault_used_from_patient_data() -> None:
    plan = lymphodepletion_regimen(
        product="axi-cel",
        height_cm=H,
        weight_kg=60,
        age_years=72,
        sex="female",
        creatinine_mg_dl=1.1,
    )
    assert plan.crcl is not None
    assert plan.crcl_ml_min == pytest.approx(43.79, abs=5e-3)
    assert _agent(plan, "fludarabine").mg_per_m2 == 18.0


def test_missing_renal_inputs_are_reported_not_guessed() -> None:
    plan = lymphodepletion_regimen(product="axi-cel", height_cm=H, weight_kg=W, age_years=60)
    flu = _agent(plan, "fludarabine")
    assert flu.status == "missing_input" and flu.value is None
    assert set(flu.missing) >= {"crcl_ml_min", "sex", "creatinine_mg_dl"}
    assert _agent(plan, "cyclophosphamide").value is not None


def test_child_needs_a_given_crcl() -> None:
    plan = lymphodepletion_regimen(
        product="tisa-cel-all", height_cm=120, weight_kg=22, crcl_ml_min=110
    )
    assert _agent(plan, "fludarabine").status == "computed"


def test_generic_policy_flags_the_unit_mismatch() -> None:
    plan = lymphodepletion_regimen(
        product="ide-cel",
        height_cm=H,
        weight_kg=W,
        crcl_ml_min=60,
        renal_policy="generic_label_20pct",
    )
    assert any("1.73" in w for w in plan.warnings)


def test_unknown_policy_names_the_allowed_ones() -> None:
    with pytest.raises(InvalidValue) as err:
        fludarabine_renal_adjustment(crcl_ml_min=50, policy="half")
    assert "generic_label_20pct" in str(err.value)


def test_implausible_crcl() -> None:
    with pytest.raises(ImplausibleValue):
        fludarabine_renal_adjustment(crcl_ml_min=-1, policy=RenalPolicy.NONE)


def test_dubois_can_be_chosen() -> None:
    plan = _plan("axi-cel", bsa_formula="dubois")
    assert plan.bsa.name == "bsa_dubois"
