"""apply_event: points per rule, decay, stages, duplicates, purity of the input state."""

import math

import pytest
from scorer_rulebook import BASE, DAY, SPEC, T0, H, event, identify, view

from scorer import (
    advance,
    apply_event,
    merge,
    new_state,
    next_crossing,
    parse_rules,
    rescore,
    score_at,
    state_from_dict,
    state_to_dict,
    update_traits,
)
from scorer.decay import credit_rule

RULES = parse_rules(SPEC)


def test_every_matching_rule_adds_its_points() -> None:
    update = apply_event(new_state(), view("e1", T0, "/pricing/enterprise"), RULES)
    assert update.score == 6.0
    assert sorted((c.rule_id, c.points) for c in update.contributions) == [
        ("any-page", 1.0),
        ("pricing", 5.0),
    ]
    assert all(c.event_id == "e1" for c in update.contributions)


def test_negative_points_have_no_floor() -> None:
    update = apply_event(new_state(), view("e1", T0, "/careers"), RULES)
    assert update.score == -9.0


def test_decay_halves_per_half_life() -> None:
    state = apply_event(new_state(), event("f", "form_submit", T0), RULES).state
    assert score_at(state, T0 + H, RULES) == pytest.approx(15.0, rel=1e-12)
    state = apply_event(state, event("f2", "form_submit", T0 + 2 * H), RULES).state
    assert state.score_ref == pytest.approx(30.0 / 4 + 30.0, rel=1e-12)


def test_whole_half_lives_decay_exactly() -> None:
    # decay.halved is pow(2, x), exact at whole x: a credit k half-lives old is worth p / 2**k
    # to the bit (exp(x * ln 2), say, would not be).
    state = apply_event(new_state(), event("f", "form_submit", T0), RULES).state
    assert [score_at(state, T0 + k * H, RULES) for k in range(4)] == [30.0, 15.0, 7.5, 3.75]


def test_a_late_event_is_decayed_to_the_latest_time() -> None:
    late = apply_event(new_state(), event("a", "form_submit", T0 + H), RULES).state
    late = apply_event(late, event("b", "form_submit", T0), RULES)
    assert late.at == T0 + H
    assert late.score == pytest.approx(30.0 + 15.0, rel=1e-12)


def test_duplicates_change_nothing() -> None:
    first = apply_event(new_state(), event("f", "form_submit", T0), RULES)
    again = apply_event(first.state, event("f", "form_submit", T0 + DAY), RULES)
    assert again.duplicate and again.contributions == () and again.change is None
    assert again.state is first.state and again.score == first.score


def test_the_input_state_is_never_modified() -> None:
    state = apply_event(new_state(), view("a", T0, "/pricing"), RULES).state
    before = state_to_dict(state)
    apply_event(state, view("b", T0 - 10, "/pricing"), RULES)
    apply_event(state, event("c", "form_submit", T0 + DAY), RULES)
    assert state_to_dict(state) == before


def test_cold_to_hot_is_one_change() -> None:
    state = apply_event(new_state(), event("f", "form_submit", T0), RULES).state
    update = apply_event(state, event("g", "form_submit", T0), RULES)
    assert update.changes == (update.change,)
    assert update.change is not None
    assert (update.change.from_stage, update.change.to_stage) == ("warm", "hot")
    fresh = parse_rules(SPEC.replace("points = 30", "points = 70"))
    jump = apply_event(new_state(), event("f", "form_submit", T0), fresh)
    assert jump.change is not None and len(jump.changes) == 1
    assert (jump.change.from_stage, jump.change.to_stage, jump.change.cause) == (
        "cold",
        "hot",
        "event",
    )
    assert jump.change.rule_id == "form" and jump.change.event_id == "f"


def test_decay_crossing_is_exact_and_advance_demotes_at_it() -> None:
    state = rescore([event("f", "form_submit", T0), event("g", "form_submit", T0)], RULES)[0]
    assert state.stage == "hot" and state.score_ref == 60.0
    crossing = next_crossing(state, RULES)
    assert crossing == pytest.approx(T0 + H * math.log2(60.0 / 55.0), rel=1e-15)
    assert advance(state, crossing - 1, RULES).change is None
    update = advance(state, crossing, RULES)
    assert update.change is not None
    assert (update.change.to_stage, update.change.cause, update.change.at) == (
        "warm",
        "decay",
        crossing,
    )
    assert update.change.score == pytest.approx(55.0, rel=1e-12)


def test_state_round_trips_through_json() -> None:
    import json

    state = rescore([view(f"e{i}", T0 + i * 600, "/pricing") for i in range(5)], RULES)[0]
    stored = json.loads(json.dumps(state_to_dict(state)))
    copy = state_from_dict(stored)
    assert state_to_dict(copy) == stored
    assert copy.score_ref == state.score_ref and copy.t_ref == state.t_ref
    assert (copy.stage, copy.seen, copy.caps, copy.recent) == (
        state.stage,
        state.seen,
        state.caps,
        state.recent,
    )


@pytest.mark.parametrize("at", [float("nan"), float("inf"), float("-inf")])
def test_an_event_without_a_finite_time_is_rejected(at: float) -> None:
    state = apply_event(new_state(), view("v", T0), RULES).state
    with pytest.raises(ValueError, match="no usable time"):
        apply_event(state, event("x", "form_submit", at), RULES)
    # and its id was not taken: the same id with a usable time still counts
    assert not apply_event(state, event("x", "form_submit", T0 + 60), RULES).duplicate


def test_a_late_event_change_is_stamped_at_the_latest_time() -> None:
    rules = parse_rules(SPEC.replace("points = 30", "points = 70"))
    state = apply_event(new_state(), view("v", T0 + DAY), rules).state
    update = apply_event(state, event("g", "form_submit", T0 + DAY - 60), rules)
    assert update.change is not None and update.change.to_stage == "hot"
    assert update.change.at == T0 + DAY and update.at == T0 + DAY


def test_states_branching_from_one_state_keep_their_own_applied_ids() -> None:
    """Applied ids live in a log shared by a lead's states; a branch must not see another's."""
    base = rescore([view(f"e{i}", T0 + i * 600, "/") for i in range(3)], RULES)[0]
    stored = state_to_dict(base)
    left = apply_event(base, view("left", T0 + DAY, "/"), RULES).state
    right = apply_event(base, view("right", T0 + DAY, "/"), RULES).state
    assert state_to_dict(base) == stored
    assert not apply_event(base, view("left", T0 + DAY, "/"), RULES).duplicate
    assert not apply_event(right, view("left", T0 + DAY, "/"), RULES).duplicate
    assert not apply_event(left, view("right", T0 + DAY, "/"), RULES).duplicate
    for state, own in ((left, "left"), (right, "right")):
        assert apply_event(state, view(own, T0 + DAY, "/"), RULES).duplicate
        assert apply_event(state, view("e1", T0 + 600, "/"), RULES).duplicate
        # the same ids as a state built by replaying its own history
        alone = rescore([view(f"e{i}", T0 + i * 600, "/") for i in range(3)], RULES)[0]
        alone = apply_event(alone, view(own, T0 + DAY, "/"), RULES).state
        assert state.seen == alone.seen
        assert state_to_dict(state) == state_to_dict(alone)
        # and they survive a round trip through the stored form
        loaded = state_from_dict(state_to_dict(state))
        assert apply_event(loaded, view(own, T0 + DAY, "/"), RULES).duplicate
        assert not apply_event(loaded, view("other", T0 + DAY, "/"), RULES).duplicate


def test_branches_keep_their_own_sums_and_recent_credits_across_folds() -> None:
    """Credits are logged and folded later; a branch's sums must be exactly a replay's."""
    history = [view(f"p{i}", T0 + i * 3_000, "/pricing" if i % 3 else "/") for i in range(70)]
    states = [new_state()]
    for e in history:
        states.append(apply_event(states[-1], e, RULES).state)
    for cut in (0, 5, 31, 47, 48, 49, 60):  # branch off older states, around fold points
        late = view(f"late{cut}", T0 + cut * 3_000 - 100, "/pricing")
        branch = apply_event(states[cut], late, RULES).state
        alone = rescore([*history[:cut], late], RULES)[0]
        assert branch.sums == alone.sums and branch.sum_times == alone.sum_times
        assert branch.recent == alone.recent and branch.score_ref == alone.score_ref
        assert state_to_dict(branch) == state_to_dict(alone)
    assert states[-1].sums == rescore(history, RULES)[0].sums


@pytest.mark.parametrize("rules_count", [3, 20])  # 20: a fold carries twenty running sums
def test_folded_sums_are_each_credit_booked_in_turn(rules_count: int) -> None:
    """A fold (every FOLD_AT credits) gives, bit for bit, the sums of booking each credit."""
    spec = BASE + "".join(
        f'[[rule]]\nid = "r{i}"\nevent = "page_view"\nwhere = {{ path = "/p{i}*" }}\n'
        f"points = {i + 1}\n"
        for i in range(rules_count)
    )
    rules = parse_rules(spec)
    # out of order in time, so credits both decay the running sum and are decayed into it
    times = [T0 + ((i * 7_919) % 250) * 3_600 for i in range(250)]
    state, sums, since = new_state(), {}, {}
    for i, at in enumerate(times):
        update = apply_event(state, view(f"f{i}", at, f"/p{(i * 7) % rules_count}"), rules)
        state = update.state
        for c in update.contributions:
            credit_rule(sums, since, c.rule_id, c.points, c.at, H)
    assert state.sums == sums and state.sum_times == since


def test_saving_after_every_step_matches_a_fresh_replay() -> None:
    """As the worker does with states it keeps: apply, save, apply to the kept state, save..."""
    history = [view(f"s{i}", T0 + i * 40_000, "/pricing" if i % 2 else "/") for i in range(40)]
    states, saved = [new_state()], []
    for e in history:
        states.append(apply_event(states[-1], e, RULES).state)
        saved.append(state_to_dict(states[-1]))
    for i in (1, 7, 20, 39):  # older states saved again after newer ones, then replays
        assert state_to_dict(states[i + 1]) == saved[i]
        assert saved[i] == state_to_dict(rescore(history[: i + 1], RULES)[0])
    # a state loaded from the stored form, applied to and saved step by step, as well (its
    # explanation sums were stored to nine decimals, so those may differ in the last one)
    loaded = state_from_dict(saved[9])
    for e in history[10:]:
        loaded = apply_event(loaded, e, RULES).state
        mine, replayed = state_to_dict(loaded), saved[history.index(e)]
        assert mine.pop("r") == pytest.approx(replayed.pop("r"), abs=1e-8)
        assert mine == replayed


def test_new_states_stay_empty_whatever_is_done_to_others() -> None:
    # New states share their empty containers (state.py): no operation may change them.
    empty = state_to_dict(new_state())
    histories = []
    for lead in range(2):
        events = [
            view(f"{lead}v{i}", T0 + i * 3_600, "/pricing" if i % 2 else "/blog")
            for i in range(30)
        ]
        events.append(identify(f"{lead}id", T0 + 1_000, email="a@b.test", title="CEO"))
        events.append(event(f"{lead}d", "download", T0 + 2_000, asset_id="a1"))
        histories.append(rescore(events, RULES)[0])
    merged = merge(histories[0], histories[1], RULES).state
    update_traits(merged, {"customer_status": "dormant"}, T0 + DAY, RULES)
    advance(merged, T0 + 90 * DAY, RULES)
    state_from_dict(state_to_dict(merged))
    fresh = new_state()
    assert state_to_dict(fresh) == empty
    assert (fresh.traits, fresh.seen, fresh.caps, fresh.once, fresh.counters) == ({},) * 5
    assert (fresh.sums, fresh.sum_times, fresh.recent) == ({}, {}, ())


def test_every_event_type_finds_its_own_rules_past_the_first_plans_listed() -> None:
    """Plans are found by comparing the event's type with the first eight compiled, then
    by a dict lookup; types beyond those eight still get their own rules."""
    rules = parse_rules(
        BASE
        + '[[rule]]\nid = "any"\nevent = "*"\npoints = 1\n'
        + '[[rule]]\nid = "click"\nevent = "email_click"\npoints = 3\n'
    )
    kinds = [f"custom-{i}" for i in range(10)] + ["email_click", "page_view"]
    for round_ in range(2):  # the second round finds every plan compiled
        for i, kind in enumerate(kinds):
            update = apply_event(new_state(), event(f"{round_}-{i}", kind, T0), rules)
            expected = ["any", "click"] if kind == "email_click" else ["any"]
            assert [c.rule_id for c in update.contributions] == expected, kind
