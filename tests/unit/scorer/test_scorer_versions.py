"""Rules versions and rescore: states carry their version; history replays under new rules."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scorer_rulebook import DAY, SPEC, T0, event, view

from scorer import (
    LeadState,
    apply_event,
    change_id,
    explain,
    load_rules,
    new_state,
    parse_rules,
    rescore,
    state_to_dict,
)
from scorer.credits import credit
from scorer.ledger import RETIRED

V1 = parse_rules(SPEC)
V2 = parse_rules(
    SPEC.replace('version = "v1"', 'version = "v2"').replace("points = 30", "points = 50")
)


def test_states_are_stamped_with_the_rules_version() -> None:
    state = apply_event(new_state(), view("a", T0), V1).state
    assert state.version == "v1"
    assert state_to_dict(state)["v"] == "v1"


def test_a_new_version_keeps_the_sums_and_stamps_itself() -> None:
    state = apply_event(new_state(), event("f", "form_submit", T0), V1).state
    update = apply_event(state, view("b", T0), V2)
    assert update.state.version == "v2"
    assert update.score == 31.0  # the old credit keeps its v1 price


def test_rescore_recomputes_under_new_rules_in_event_time_order() -> None:
    history = [view("b", T0 + 10), event("f", "form_submit", T0)]
    state, updates = rescore(history, V2)
    assert state.version == "v2"
    assert [u.at for u in updates] == [T0, T0 + 10]
    assert updates[0].change is not None and updates[0].change.to_stage == "warm"
    assert state.score_ref == rescore(list(reversed(history)), V2)[0].score_ref


def test_change_id_is_stable_and_distinguishes_changes() -> None:
    update = apply_event(new_state(), event("f", "form_submit", T0), V1)
    assert update.change is not None
    first = change_id("lead-1", update.change)
    assert first == change_id("lead-1", update.change) and len(first) == 64
    assert first != change_id("lead-2", update.change)
    replayed = rescore([event("f", "form_submit", T0)], V1)[1][0].change
    assert replayed is not None and change_id("lead-1", replayed) == first


def test_sums_of_rules_a_new_version_drops_are_folded_into_one_entry() -> None:
    state = rescore([view("a", T0, "/pricing"), view("c", T0, "/careers")], V1)[0]
    v3 = parse_rules(
        SPEC.replace('version = "v1"', 'version = "v3"').replace('"pricing"', '"price"')
    )
    update = apply_event(state, view("b", T0 + 60, "/blog"), v3)
    assert set(update.state.sums) == {"any-page", "careers", RETIRED}
    breakdown = explain(update.state, T0 + DAY, v3)
    assert sum(r.value for r in breakdown.rules) == pytest.approx(breakdown.score, rel=1e-12)


TRAITS = st.dictionaries(
    st.sampled_from(["title", "company_size", "email_domain_type", "email", "customer_status"]),
    st.one_of(
        st.sampled_from(["CEO", "VP Sales", "Intern", "business", "free", "dormant"]),
        st.integers(0, 500),
        st.none(),
    ),
    max_size=5,
)


def _held(state: LeadState) -> tuple[object, ...]:
    return (
        state_to_dict(state),
        state.version,
        state.half_life,
        state.fit_points,
        state.fit_grade,
        state.caps,
        state.once,
        state.counters,
        state.sums,
        state.sum_times,
        state.recent,
        state.seen,
    )


@settings(max_examples=100, deadline=None)
@given(TRAITS)
def test_restamping_a_state_with_nothing_to_drop_equals_the_full_restamp(traits: dict) -> None:
    from scorer.ledger import _restamp_held, restamp
    from scorer.state import NO_CLOSED

    rules = load_rules(Path(__file__).resolve().parents[3] / "deploy" / "rules.toml")
    gone = "no-such-rule"
    states = [
        LeadState(traits=traits),  # a new lead's (the shortcut)
        LeadState("old", traits, "warm", 30.0, T0, recent=(credit("pricing", 5, "e", T0, False),)),
        LeadState("old", traits, t_ref=T0, seen={2968: "abcdef"}),
        # each of these holds something a full restamp drops: no shortcut
        LeadState("old", traits, t_ref=T0, caps={gone: (NO_CLOSED, 1.0, 1.0, T0)}),
        LeadState("old", traits, t_ref=T0, once={gone: {"k": T0}}),
        LeadState("old", traits, t_ref=T0, counters={gone: (T0,)}),
        LeadState("old", traits, t_ref=T0, sums={gone: 1.0}, sum_times={gone: T0}),
        apply_event(LeadState("old", traits), view("v", T0), V1).state,  # logged credit, ids
    ]
    for state in states:
        fast, full = state.copy(), state.copy()
        restamp(fast, rules)
        _restamp_held(full, rules)
        assert _held(fast) == _held(full)
