"""Episodes from a patient's record (issue 5 item 3; design.md §4): the rule and its edges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

import cartwatch
from cartwatch.episodes import (
    Administration,
    DrugClass,
    Episode,
    EpisodeRule,
    Infusion,
    carry_crs_state,
    derive_episodes,
    drug_class,
    grade_points,
    patient_episodes,
)
from cartwatch.errors import ConfigError, ImplausibleValue, InvalidValue
from tests.episodes._build import DAY0, astct_crs_grade, at, crs, drug, infusion, neuro

ONE = (infusion(),)


def crs_episodes(
    points: Sequence[tuple[float, int | None]],
    *,
    infusions: Sequence[Infusion] = ONE,
    administrations: Sequence[Administration] = (),
    rule: EpisodeRule | None = None,
) -> tuple[Episode, ...]:
    """Episodes of ASTCT CRS from (day, grade) pairs, one infusion at day 0 unless given."""
    return derive_episodes(
        scale="astct_crs",
        points=[(at(d), g) for d, g in points],
        infusions=infusions,
        administrations=administrations,
        rule=rule,
    )


# --- masked fever carried from the record --------------------------------------------------


def test_masked_fever_after_tocilizumab_is_carried_and_graded_as_crs() -> None:
    record = [
        (at(1), crs(39.2)),  # fever: CRS grade 1
        (at(3), crs(37.1, hypotension="fluid_responsive")),  # afebrile, hypotensive
    ]
    carried = carry_crs_state(
        assessments=record,
        administrations=[drug("tocilizumab", 1.1, 560.0)],
        infusions=ONE,
    )
    day3 = carried[1][1]
    assert day3.crs_previously_established is True
    assert day3.antipyretic_or_anticytokine_given is True
    assert astct_crs_grade(day3) == 2
    # Without the record's state the same bedside entry cannot be graded as CRS.
    assert astct_crs_grade(record[1][1]) is None


def test_masked_fever_episode_continues_through_the_afebrile_day() -> None:
    result = patient_episodes(
        assessments=[
            (at(1), crs(39.2)),
            (at(3), crs(37.1, hypotension="fluid_responsive")),
            (at(4), crs(36.9)),
            (at(7), crs(36.8)),
        ],
        infusions=ONE,
        administrations=[drug("tocilizumab", 1.1, 560.0)],
        scales=["astct_crs"],
    )
    (episode,) = result["astct_crs"]
    assert episode.max_grade == 2
    assert episode.max_grade_at == at(3)
    assert episode.resolved_at == at(4)
    assert episode.resolution_confirmed is True
    assert episode.duration_days == pytest.approx(3.0)
    assert [t.drug for t in episode.treatments] == ["tocilizumab"]


def test_established_crs_without_a_masking_drug_needs_fever() -> None:
    carried = carry_crs_state(
        assessments=[(at(1), crs(39.0)), (at(2), crs(37.0, hypotension="fluid_responsive"))],
        administrations=[drug("levetiracetam", 1.5)],
        infusions=ONE,
    )
    day2 = carried[1][1]
    assert day2.crs_previously_established is True
    assert day2.antipyretic_or_anticytokine_given is False
    assert astct_crs_grade(day2) == 0


@pytest.mark.parametrize("name", ["dexamethasone", "Paracetamol", "acetaminophen", "anakinra"])
def test_every_masking_class_counts(name: str) -> None:
    carried = carry_crs_state(
        assessments=[(at(1), crs(39.0)), (at(2), crs(37.0, hypotension="fluid_responsive"))],
        administrations=[drug(name, 1.5)],
        infusions=ONE,
    )
    assert carried[1][1].antipyretic_or_anticytokine_given is True


def test_a_masking_drug_before_crs_onset_does_not_mask() -> None:
    carried = carry_crs_state(
        assessments=[(at(1), crs(39.0)), (at(2), crs(37.0, hypotension="fluid_responsive"))],
        administrations=[drug("paracetamol", 0.5)],
        infusions=ONE,
    )
    assert carried[1][1].antipyretic_or_anticytokine_given is False


def test_a_drug_charted_at_the_same_instant_as_the_assessment_is_not_yet_given() -> None:
    carried = carry_crs_state(
        assessments=[(at(1), crs(39.0)), (at(2), crs(37.0, hypotension="fluid_responsive"))],
        administrations=[drug("tocilizumab", 2)],
        infusions=ONE,
    )
    assert carried[1][1].antipyretic_or_anticytokine_given is False


def test_recorded_flags_are_never_overwritten() -> None:
    recorded = crs(
        37.0,
        hypotension="fluid_responsive",
        crs_previously_established=False,
        antipyretic_or_anticytokine_given=False,
    )
    carried = carry_crs_state(
        assessments=[(at(1), crs(39.0)), (at(2), recorded)],
        administrations=[drug("tocilizumab", 1.2)],
        infusions=ONE,
    )
    assert carried[1][1] is recorded


def test_no_open_episode_sets_both_flags_false() -> None:
    carried = carry_crs_state(
        assessments=[(at(-1), crs(39.0)), (at(1), crs(37.0, hypotension="fluid_responsive"))],
        administrations=[drug("tocilizumab", -0.5)],
        infusions=ONE,
    )
    # Fever before day 0 opens no episode; nothing is established at day 1.
    for _, a in carried:
        assert a.crs_previously_established is False
        assert a.antipyretic_or_anticytokine_given is False


def test_carried_state_ends_when_the_episode_has_resolved() -> None:
    carried = carry_crs_state(
        assessments=[
            (at(1), crs(39.0)),
            (at(2), crs(37.0)),  # grade 0
            (at(3, 23.9), crs(37.0, hypotension="fluid_responsive")),  # 47.9 h later: still open
            (at(6), crs(37.0)),
            (at(8), crs(37.0, hypotension="fluid_responsive")),  # 48 h after day 6: closed
        ],
        administrations=[drug("tocilizumab", 1.2)],
        infusions=ONE,
    )
    flags = [
        (a.crs_previously_established, a.antipyretic_or_anticytokine_given) for _, a in carried
    ]
    assert flags[2] == (True, True)
    assert astct_crs_grade(carried[2][1]) == 2
    assert flags[4] == (False, False)
    assert astct_crs_grade(carried[4][1]) == 0


def test_carry_keeps_the_input_order_of_an_unsorted_record() -> None:
    rows = [(at(3), crs(37.0, hypotension="fluid_responsive")), (at(1), crs(39.0))]
    carried = carry_crs_state(
        assessments=rows, administrations=[drug("tocilizumab", 1.5)], infusions=ONE
    )
    assert [t for t, _ in carried] == [at(3), at(1)]
    assert carried[0][1].crs_previously_established is True
    assert carried[1][1].crs_previously_established is False


def test_carry_is_idempotent() -> None:
    rows = [
        (at(1), crs(39.0)),
        (at(2), crs(37.0, hypotension="fluid_responsive")),
        (at(5), crs(37.0)),
    ]
    once = carry_crs_state(
        assessments=rows, administrations=[drug("tocilizumab", 1.5)], infusions=ONE
    )
    twice = carry_crs_state(
        assessments=once, administrations=[drug("tocilizumab", 1.5)], infusions=ONE
    )
    assert once == twice


# --- the episode rule ------------------------------------------------------------------------


def test_re_escalation_inside_48_hours_continues_the_episode() -> None:
    (episode,) = crs_episodes([(1, 1), (2, 0), (3, 2), (4, 0), (7, 0)])
    assert episode.onset_at == at(1)
    assert episode.max_grade == 2
    assert episode.max_grade_at == at(3)
    assert episode.resolved_at == at(4)
    assert episode.n_assessments == 4


def test_grade_0_then_nothing_for_48_hours_resolves_at_the_grade_0_time() -> None:
    (episode,) = crs_episodes([(1, 2), (2.5, 1), (3, 0), (3.5, 0), (6, 0)])
    assert episode.resolved_at == at(3)
    assert episode.duration_days == pytest.approx(2.0)
    assert episode.resolution_confirmed is True


def test_a_record_ending_inside_the_window_resolves_provisionally() -> None:
    (episode,) = crs_episodes([(1, 2), (3, 0), (4, 0)])
    assert episode.resolved_at == at(3)
    assert episode.resolution_confirmed is False


def test_an_episode_without_a_grade_0_stays_open() -> None:
    (episode,) = crs_episodes([(1, 1), (2, 3)])
    assert episode.is_open
    assert episode.resolved_at is None and episode.duration_days is None
    assert episode.to_dict()["resolved_at"] is None


def test_not_gradeable_rows_neither_start_nor_end_an_episode() -> None:
    assert crs_episodes([(1, None), (2, None), (3, 0)]) == ()
    (episode,) = crs_episodes([(1, None), (2, 1), (3, None), (4, None), (9, None)])
    assert episode.onset_at == at(2)
    assert episode.is_open
    assert episode.n_not_gradeable == 3
    (closed,) = crs_episodes([(1, 1), (2, 0), (3, None), (5, 0)])
    assert closed.resolved_at == at(2)
    assert closed.n_assessments == 2


def test_only_a_graded_row_beyond_the_window_confirms_resolution() -> None:
    (episode,) = crs_episodes([(1, 1), (2, 0), (3, None), (5, None)])
    assert episode.resolved_at == at(2)
    assert episode.resolution_confirmed is False
    (confirmed,) = crs_episodes([(1, 1), (2, 0), (3, None), (5, None), (6, 0)])
    assert confirmed.resolution_confirmed is True
    assert confirmed.n_assessments == 2


def test_two_separate_episodes() -> None:
    first, second = crs_episodes([(1, 1), (2, 0), (4.5, 0), (10, 2), (11, 1), (12, 0), (20, 0)])
    assert (first.onset_at, first.max_grade, first.resolved_at) == (at(1), 1, at(2))
    assert (second.onset_at, second.max_grade, second.resolved_at) == (at(10), 2, at(12))
    assert second.onset_day == 10


@pytest.mark.parametrize(
    ("hours", "episodes"),
    [(47.99, 1), (48.0, 2), (48.01, 2)],
)
def test_the_48_hour_window_is_half_open(hours: float, episodes: int) -> None:
    points = [(at(1), 1), (at(2), 0), (at(2, hours), 1)]
    found = derive_episodes(scale="astct_crs", points=points, infusions=ONE)
    assert len(found) == episodes
    if episodes == 2:
        assert found[0].resolved_at == at(2)
        assert found[0].resolution_confirmed is True


def test_the_gap_is_configurable() -> None:
    points = [(at(1), 1), (at(2), 0), (at(3), 1)]
    assert len(derive_episodes(scale="astct_crs", points=points, infusions=ONE)) == 1
    short = EpisodeRule(gap_hours=12.0)
    found = derive_episodes(scale="astct_crs", points=points, infusions=ONE, rule=short)
    assert len(found) == 2
    assert found[0].to_dict()["rule"] == {"gap_hours": 12.0, "onset_grade": 1}


def test_onset_grade_2_ignores_grade_1() -> None:
    rule = EpisodeRule(onset_grade=2)
    (episode,) = crs_episodes([(1, 1), (2, 2), (3, 1), (6, 0)], rule=rule)
    assert episode.onset_at == at(2)
    assert episode.resolved_at == at(3)


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"gap_hours": -1.0}, "gap_hours"),
        ({"gap_hours": float("nan")}, "gap_hours"),
        ({"gap_hours": 721.0}, "gap_hours"),
        ({"onset_grade": 0}, "onset_grade"),
        ({"onset_grade": 6}, "onset_grade"),
        ({"onset_grade": True}, "onset_grade"),
    ],
)
def test_a_bad_rule_is_refused_with_its_field(kw: dict[str, float], name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        EpisodeRule(**kw)  # type: ignore[arg-type]
    assert caught.value.field == name
    assert name in str(caught.value)


def test_max_grade_at_is_the_first_time_the_maximum_was_reached() -> None:
    (episode,) = crs_episodes([(1, 1), (2, 3), (3, 2), (4, 3), (5, 0)])
    assert episode.max_grade == 3
    assert episode.max_grade_at == at(2)


def test_grade_results_are_accepted_as_points() -> None:
    (fever,) = grade_points(scale="astct_crs", assessments=[(at(1), crs(39.0))])
    (calm,) = grade_points(
        scale="astct_crs", assessments=[(at(2), crs(37.0, crs_previously_established=False))]
    )
    found = derive_episodes(scale="astct_crs", points=[fever, calm], infusions=ONE)
    assert [(e.onset_at, e.max_grade, e.resolved_at) for e in found] == [(at(1), 1, at(2))]


# --- infusions ---------------------------------------------------------------------------------


def test_sequential_infusions_attribute_each_episode_to_its_infusion() -> None:
    cd22 = Infusion(infusion_id="cd22", at=at(0))
    cd19 = Infusion(infusion_id="cd19", at=at(35))
    found = derive_episodes(
        scale="astct_crs",
        points=[
            (at(-3), 1),  # before any infusion: no episode
            (at(2), 2),
            (at(4), 0),
            (at(8), 0),
            (at(36, 6), 1),
            (at(37), 3),
            (at(40), 0),
            (at(45), 0),
        ],
        infusions=[cd19, cd22],
    )
    assert [(e.infusion_id, e.onset_day, e.max_grade) for e in found] == [
        ("cd22", 2, 2),
        ("cd19", 1, 3),
    ]
    assert found[1].onset_days_after_infusion == pytest.approx(1.25)


def test_a_new_infusion_does_not_close_an_open_episode() -> None:
    found = derive_episodes(
        scale="astct_crs",
        points=[(at(0, 12), 1), (at(1, 12), 2), (at(3), 0), (at(6), 0)],
        infusions=[infusion("dose1", 0), infusion("dose2", 1)],
    )
    (episode,) = found
    assert episode.infusion_id == "dose1"
    assert episode.infusions_during == ("dose2",)


def test_a_patient_without_assessments_or_infusions_has_no_episodes() -> None:
    assert derive_episodes(scale="astct_crs", points=[], infusions=ONE) == ()
    assert derive_episodes(scale="astct_crs", points=[(at(1), 3)], infusions=[]) == ()
    assert patient_episodes(assessments=[], infusions=ONE, scales=["astct_crs", "astct_icans"]) == {
        "astct_crs": (),
        "astct_icans": (),
    }


def test_an_assessment_at_the_infusion_instant_belongs_to_it() -> None:
    (episode,) = crs_episodes([(0, 1), (1, 0), (4, 0)])
    assert episode.onset_day == 0
    assert episode.onset_days_after_infusion == 0.0


def test_onset_day_counts_calendar_days_in_the_infusion_time_zone() -> None:
    late = Infusion(infusion_id="late", at=datetime(2026, 3, 2, 22, 0, tzinfo=UTC))
    (episode,) = derive_episodes(
        scale="astct_crs",
        points=[(datetime(2026, 3, 3, 2, 0, tzinfo=UTC), 1)],
        infusions=[late],
    )
    assert episode.onset_day == 1
    assert episode.onset_days_after_infusion == pytest.approx(4 / 24)
    # The same instants seen from a centre at UTC+3: infusion 01:00 and onset 05:00, both 3 March.
    plus3 = timezone(timedelta(hours=3))
    local = Infusion(infusion_id="local", at=late.at.astimezone(plus3))
    (same,) = derive_episodes(
        scale="astct_crs",
        points=[(datetime(2026, 3, 3, 2, 0, tzinfo=UTC), 1)],
        infusions=[local],
    )
    assert same.onset_day == 0
    assert same.to_dict()["onset_at"] == "2026-03-03T02:00:00+00:00"


def test_infusions_sharing_an_instant_or_an_id_are_refused() -> None:
    with pytest.raises(InvalidValue, match="share the time"):
        derive_episodes(
            scale="astct_crs", points=[], infusions=[infusion("a", 0), infusion("b", 0)]
        )
    with pytest.raises(InvalidValue, match="appears twice"):
        derive_episodes(
            scale="astct_crs", points=[], infusions=[infusion("a", 0), infusion("a", 1)]
        )


# --- order and ties ---------------------------------------------------------------------------


def test_unsorted_input_gives_the_same_episodes_as_sorted() -> None:
    points = [(1, 1), (2, 0), (3, 2), (4, 0), (7, 0), (12, 1)]
    assert crs_episodes(points[::-1]) == crs_episodes(points)


def test_assessments_at_the_same_instant_take_the_highest_grade_in_any_order() -> None:
    a = crs_episodes([(1, 1), (2, 2), (2, 0), (5, 0)])
    b = crs_episodes([(1, 1), (2, 0), (2, 2), (5, 0)])
    assert a == b
    (episode,) = a
    assert episode.max_grade == 2
    assert episode.resolved_at == at(5)
    assert episode.n_assessments == 4


# --- treatments -----------------------------------------------------------------------------


def test_treatments_in_order_of_first_use_with_counts_and_doses() -> None:
    (episode,) = crs_episodes(
        [(1, 2), (3, 0), (6, 0)],
        administrations=[
            drug("paracetamol", 0.5, 1000),  # before onset: not a treatment of the episode
            drug("Actemra", 1.1, 640),
            drug("dexamethasone", 1.5, 10),
            drug("tocilizumab", 1.6, 640),
            drug("dexamethasone", 2.0),  # dose not charted
            drug("levetiracetam", 3.0, 500),  # at the resolution instant: inside
            drug("tocilizumab", 3.5, 640),  # after resolution
        ],
    )
    rows = [(t.drug, t.drug_class, t.count, t.total_dose_mg) for t in episode.treatments]
    assert rows == [
        ("tocilizumab", DrugClass.ANTICYTOKINE, 2, 1280.0),
        ("dexamethasone", DrugClass.CORTICOSTEROID, 2, None),
        ("levetiracetam", DrugClass.ANTISEIZURE, 1, 500.0),
    ]
    assert episode.treatments[0].first_at == at(1.1)
    assert episode.treatments[0].last_at == at(1.6)


def test_drug_names_are_normalised_and_classified() -> None:
    given = Administration(at=at(1), drug="  Acetaminophen ", dose_mg=1000, route=" PO ")
    assert (given.drug, given.drug_class, given.route) == (
        "paracetamol",
        DrugClass.ANTIPYRETIC,
        "po",
    )
    assert drug_class("Methylprednisolone") is DrugClass.CORTICOSTEROID
    assert drug_class("Kineret") is DrugClass.ANTICYTOKINE
    assert drug_class("cefepime") is DrugClass.OTHER


@pytest.mark.parametrize("dose", [-0.01, 100_000.01, float("inf"), float("nan")])
def test_an_implausible_dose_is_refused(dose: float) -> None:
    with pytest.raises(ImplausibleValue, match="dose_mg"):
        Administration(at=at(1), drug="tocilizumab", dose_mg=dose)


def test_a_withheld_zero_mg_dose_neither_treats_nor_masks() -> None:
    held = [drug("tocilizumab", 1.5, 0.0)]
    (episode,) = crs_episodes([(1, 2), (3, 0), (6, 0)], administrations=held)
    assert episode.treatments == ()
    carried = carry_crs_state(
        assessments=[(at(1), crs(39.0)), (at(2), crs(37.0, hypotension="fluid_responsive"))],
        administrations=held,
        infusions=ONE,
    )
    assert carried[1][1].antipyretic_or_anticytokine_given is False


# --- input checks ---------------------------------------------------------------------------


def test_naive_times_are_refused_with_a_clear_message() -> None:
    naive = datetime(2026, 3, 2, 10, 0)
    with pytest.raises(InvalidValue, match="no time zone"):
        Infusion(infusion_id="a", at=naive)
    with pytest.raises(InvalidValue, match="no time zone"):
        Administration(at=naive, drug="tocilizumab")
    with pytest.raises(InvalidValue, match="assessed_at"):
        derive_episodes(scale="astct_crs", points=[(naive, 1)], infusions=ONE)
    with pytest.raises(InvalidValue, match="assessed_at"):
        carry_crs_state(assessments=[(naive, crs(39.0))], infusions=ONE)


@pytest.mark.parametrize("bad", [6, -1, True, 1.5, "2"])
def test_a_grade_outside_0_to_5_is_refused(bad: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        derive_episodes(scale="astct_crs", points=[(at(1), bad)], infusions=ONE)  # type: ignore[list-item]
    assert caught.value.field == "grade"


def test_a_score_is_not_a_grading_scale_for_carrying() -> None:
    with pytest.raises(ConfigError, match="score"):
        carry_crs_state(assessments=[(at(1), crs(39.0))], infusions=ONE, scale="easix")


# --- biphasic ICANS -----------------------------------------------------------------------------


def _biphasic_record() -> list[tuple[datetime, cartwatch.Assessment]]:
    return [
        (at(1), neuro(10, temperature_c=39.0)),  # CRS 1, ICANS 0
        (at(2), neuro(8, temperature_c=39.1)),  # CRS 1, ICANS 1 (phase 1, with fever)
        (at(3), neuro(10, temperature_c=36.9)),  # CRS 0, ICANS 0
        (at(6), neuro(10)),  # both quiet: CRS resolved at day 3
        (at(9), neuro(2)),  # ICANS 3 after CRS subsided (phase 2)
        (at(11), neuro(10)),
        (at(14), neuro(10)),
    ]


def test_biphasic_icans_from_the_record() -> None:
    result = patient_episodes(
        assessments=_biphasic_record(),
        infusions=ONE,
        scales=["astct_crs", "astct_icans"],
    )
    (crs_episode,) = result["astct_crs"]
    assert (crs_episode.onset_at, crs_episode.resolved_at) == (at(1), at(3))
    early, late = result["astct_icans"]
    assert (early.max_grade, early.biphasic, early.biphasic_phase) == (1, True, 1)
    assert (late.max_grade, late.biphasic, late.biphasic_phase) == (3, True, 2)
    assert late.onset_day == 9
    assert crs_episode.biphasic is None


def test_icans_only_after_crs_is_not_biphasic() -> None:
    record = [r for r in _biphasic_record() if r[0] != at(2)]
    result = patient_episodes(assessments=record, infusions=ONE, scales=["astct_icans"])
    (only,) = result["astct_icans"]
    assert only.biphasic is False and only.biphasic_phase is None


def test_one_continuous_icans_episode_across_crs_resolution_is_not_biphasic() -> None:
    record = [
        (at(1), neuro(8, temperature_c=39.0)),
        (at(3), neuro(8)),
        (at(5), neuro(2)),
        (at(7), neuro(10)),
        (at(10), neuro(10)),
    ]
    (episode,) = patient_episodes(assessments=record, infusions=ONE, scales=["astct_icans"])[
        "astct_icans"
    ]
    assert episode.max_grade == 3
    assert episode.biphasic is False


def test_biphasic_is_unknown_without_crs_episodes_and_none_for_crs_scales() -> None:
    points = [(at(2), 1), (at(3), 0), (at(9), 3), (at(12), 0), (at(15), 0)]
    found = derive_episodes(scale="astct_icans", points=points, infusions=ONE)
    assert [e.biphasic for e in found] == [None, None]
    crs_found = derive_episodes(scale="astct_crs", points=points, infusions=ONE)
    assert [e.biphasic for e in crs_found] == [None, None]


def test_biphasic_pairs_within_the_same_infusion_only() -> None:
    crs_a = derive_episodes(
        scale="astct_crs", points=[(at(1), 2), (at(4), 0), (at(7), 0)], infusions=[infusion("a", 0)]
    )
    icans_points = [(at(2), 1), (at(3), 0), (at(40), 2), (at(42), 0), (at(45), 0)]
    infs = [infusion("a", 0), infusion("b", 38)]
    found = derive_episodes(
        scale="astct_icans", points=icans_points, infusions=infs, crs_episodes=crs_a
    )
    assert [(e.infusion_id, e.biphasic) for e in found] == [("a", False), ("b", False)]


# --- output ---------------------------------------------------------------------------------


def test_to_dict_is_json_ready_and_names_the_registry_columns() -> None:
    (episode,) = crs_episodes(
        [(1, 2), (3, 0), (6, 0)], administrations=[drug("tocilizumab", 1.5, 560)]
    )
    data = json.loads(json.dumps(episode.to_dict()))
    for column in (
        "scale",
        "infusion_id",
        "onset_at",
        "onset_day",
        "onset_days_after_infusion",
        "max_grade",
        "max_grade_at",
        "resolved_at",
        "duration_days",
        "treatments",
        "n_assessments",
        "biphasic",
    ):
        assert column in data
    assert data["onset_at"] == at(1).isoformat()
    assert data["treatments"][0]["drug"] == "tocilizumab"
    assert DAY0.tzinfo is UTC
