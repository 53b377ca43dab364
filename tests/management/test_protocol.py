"""The protocol as data: the default validates, a centre file layers on top with provenance."""

from __future__ import annotations

import pytest

from cartwatch.errors import ConfigError
from cartwatch.management import (
    ActionKind,
    Level,
    Patient,
    Protocol,
    Syndrome,
    default_protocol,
    load_protocol,
    recommend,
)
from cartwatch.references import REFERENCES


def test_default_covers_every_syndrome_and_grade_1_to_4() -> None:
    p = default_protocol()
    for syndrome in Syndrome:
        assert p.actions_for(syndrome, 0) == ()
        for grade in (1, 2, 3, 4):
            assert p.actions_for(syndrome, grade), (syndrome, grade)


def test_every_default_action_and_drug_has_a_known_source() -> None:
    p = default_protocol()
    for action in p.actions:
        assert action.source, action
        assert all(key in REFERENCES for key in action.source)
        assert action.origin_of("text") == "consensus default"
    for drug in p.drugs:
        assert all(key in REFERENCES for key in drug.source())


@pytest.mark.parametrize(
    ("kind", "crs_grades"),
    [
        (ActionKind.ICU, (3, 4)),
        (ActionKind.DEXAMETHASONE, (2, 3)),
        (ActionKind.METHYLPREDNISOLONE, (4,)),
        (ActionKind.TOCILIZUMAB, (1, 2, 3, 4)),
    ],
)
def test_crs_actions_sit_at_the_consensus_grades(
    kind: ActionKind, crs_grades: tuple[int, ...]
) -> None:
    p = default_protocol()
    present = tuple(g for g in (1, 2, 3, 4) if p.action(Syndrome.CRS, g, kind) is not None)
    assert present == crs_grades


def test_icans_tocilizumab_requires_concurrent_crs_in_the_data() -> None:
    p = default_protocol()
    for grade in (1, 2, 3, 4):
        action = p.action(Syndrome.ICANS, grade, ActionKind.TOCILIZUMAB)
        assert action is not None and action.requires_crs_grade_at_least == 1


def test_unknown_action_field_names_the_closest_key() -> None:
    with pytest.raises(ConfigError) as err:
        load_protocol(centre_toml="[crs.grade_2.dexamethasone]\ndose_mgg = 20\n")
    assert "dose_mgg" in str(err.value) and "did you mean `dose_mg`" in str(err.value)
    assert err.value.field == "crs.grade_2.dexamethasone.dose_mgg"


@pytest.mark.parametrize(
    ("toml", "wrong", "suggestion"),
    [
        ("[crss.grade_2.icu]\nlevel='give'\ntext='x'\n", "crss", "crs"),
        ("[crs.grade_9.icu]\nlevel='give'\n", "grade_9", None),
        ("[crs.grade_2.dexamethasonee]\ndose_mg=20\n", "dexamethasonee", "dexamethasone"),
        ("[drugs.tocilizumab]\nmax_dose = 600\n", "max_dose", "max_dose_mg"),
        ("[drugs.tociluzimab]\nmax_dose_mg = 600\n", "tociluzimab", "tocilizumab"),
        ("[crs.grade_2.icu]\nlevel='maybe'\n", "maybe", None),
    ],
)
def test_unknown_keys_are_config_errors(toml: str, wrong: str, suggestion: str | None) -> None:
    with pytest.raises(ConfigError) as err:
        load_protocol(centre_toml=toml, centre_origin="site.toml")
    assert wrong in str(err.value)
    if suggestion:
        assert f"`{suggestion}`" in str(err.value) or f"`crs.{suggestion}`" in str(err.value)


@pytest.mark.parametrize(
    "toml",
    [
        "[crs.grade_2.dexamethasone]\ndose_mg = 'ten'\n",
        "[crs.grade_2.dexamethasone]\ndose_mg = -10\n",
        "[crs.grade_2.dexamethasone]\ndose_mg = true\n",
        "[drugs.tocilizumab]\nmax_doses_total = 4.5\n",
        "not toml ===",
    ],
)
def test_bad_values_are_config_errors(toml: str) -> None:
    with pytest.raises(ConfigError):
        load_protocol(centre_toml=toml)


def test_new_action_without_level_and_text_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        load_protocol(centre_toml="[crs.grade_1.icu]\ndose_mg = 1\n")
    assert "level" in str(err.value)


def _all_doses(protocol: Protocol) -> dict[tuple[int, int, str], tuple[float | None, str]]:
    out: dict[tuple[int, int, str], tuple[float | None, str]] = {}
    for crs in range(5):
        for icans in range(5):
            rec = recommend(
                crs_grade=crs,
                icans_grade=icans,
                iechs_grade=0,
                patient=Patient(weight_kg=72),
                protocol=protocol,
            )
            for a in rec.actions:
                if a.dose is not None:
                    out[(crs, icans, a.kind.value)] = (a.dose.value, a.dose.origin)
    return out


def test_a_centre_file_that_changes_one_dose_changes_exactly_that_dose() -> None:
    centre = load_protocol(
        centre_toml="[crs.grade_3.dexamethasone]\ndose_mg = 20.0\n",
        centre_origin="/etc/cartwatch/centre.toml",
    )
    action = centre.action(Syndrome.CRS, 3, ActionKind.DEXAMETHASONE)
    assert action is not None
    assert action.dose_mg == 20.0
    assert action.origin_of("dose_mg") == "/etc/cartwatch/centre.toml"
    assert action.origin_of("interval_h") == "consensus default"

    before, after = _all_doses(default_protocol()), _all_doses(centre)
    assert before.keys() == after.keys()
    changed = {k for k in before if before[k] != after[k]}
    assert changed, "the change must be visible"
    for key in changed:
        crs, _icans, kind = key
        assert (crs, kind) == (3, "dexamethasone")
        assert after[key] == (20.0, "/etc/cartwatch/centre.toml")
        assert before[key] == (10.0, "consensus default")

    rec = recommend(crs_grade=3, icans_grade=0, iechs_grade=0, patient=Patient(), protocol=centre)
    dex = rec.action("dexamethasone")
    assert dex is not None and dex.origin == "/etc/cartwatch/centre.toml"
    tocilizumab = rec.action("tocilizumab")
    assert tocilizumab is not None and tocilizumab.origin == "consensus default"
    assert rec.protocol_layers == ("consensus default", "/etc/cartwatch/centre.toml")


def test_a_centre_tocilizumab_cap_changes_the_dose_and_says_so() -> None:
    centre = load_protocol(
        centre_toml="[drugs.tocilizumab]\nmax_dose_mg = 600.0\n", centre_origin="site.toml"
    )
    rec = recommend(
        crs_grade=2, icans_grade=0, iechs_grade=0, patient=Patient(weight_kg=90), protocol=centre
    )
    toc = rec.action("tocilizumab")
    assert toc is not None and toc.dose is not None
    assert toc.dose.value == 600.0
    assert toc.dose.origin == "site.toml"
    assert toc.origin == "site.toml"


def test_centre_can_omit_a_default_action() -> None:
    centre = load_protocol(centre_toml="[icans.grade_1.eeg]\nlevel = 'omit'\n")
    rec = recommend(crs_grade=0, icans_grade=1, iechs_grade=0, patient=Patient(), protocol=centre)
    assert rec.action("eeg") is None
    assert (
        recommend(crs_grade=0, icans_grade=1, iechs_grade=0, patient=Patient()).action("eeg")
        is not None
    )


def test_centre_may_cite_its_own_document() -> None:
    centre = load_protocol(
        centre_toml="[crs.grade_1.icu]\nlevel='consider'\ntext='Frail: consider HDU'\n"
        "source=['Centre SOP 12']\n",
        centre_origin="c.toml",
    )
    rec = recommend(crs_grade=1, icans_grade=0, iechs_grade=0, patient=Patient(), protocol=centre)
    icu = rec.action("icu")
    assert icu is not None and icu.level is Level.CONSIDER
    assert icu.reference == "Centre SOP 12" and icu.origin == "c.toml"


def test_to_dict_reports_origins() -> None:
    d = default_protocol().to_dict()
    assert d["layers"] == ["consensus default"]
    assert all(set(a["origins"].values()) == {"consensus default"} for a in d["actions"])


def test_centre_cannot_allow_tocilizumab_for_icans_without_crs() -> None:
    with pytest.raises(ConfigError) as err:
        load_protocol(centre_toml="[icans.grade_2.tocilizumab]\nrequires_crs_grade_at_least = 0\n")
    assert "only with concurrent CRS" in str(err.value)
