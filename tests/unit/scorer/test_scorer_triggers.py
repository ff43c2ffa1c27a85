"""Triggers raise the score to a stage's threshold at the event's time, then it decays."""

import pytest
from scorer_rulebook import DAY, SPEC, T0, H, event, identify, view

from scorer import (
    advance,
    apply_event,
    new_state,
    next_crossing,
    parse_rules,
    rescore,
    update_traits,
)

RULES = parse_rules(SPEC)


def test_a_dormant_customer_is_hot_on_any_event() -> None:
    state = update_traits(new_state(), {"customer_status": "dormant"}, T0, RULES).state
    assert state.stage == "cold"  # traits alone do not fire triggers
    update = apply_event(state, event("o", "email_open", T0 + 60), RULES)
    assert update.stage == "hot" and update.score == pytest.approx(60.0, rel=1e-12)
    assert update.change is not None
    assert (update.change.cause, update.change.rule_id, update.change.event_id) == (
        "trigger",
        "dormant-customer-returns",
        "o",
    )
    assert update.change.at == T0 + 60
    assert [c.rule_id for c in update.contributions] == ["dormant-customer-returns"]


def test_after_a_trigger_the_score_decays_like_any_other() -> None:
    state = update_traits(new_state(), {"customer_status": "dormant"}, T0, RULES).state
    state = apply_event(state, event("o", "email_open", T0), RULES).state
    assert next_crossing(state, RULES) == pytest.approx(T0 + H * 0.125531, rel=1e-6)
    crossing = next_crossing(state, RULES)
    assert crossing is not None
    assert advance(state, crossing, RULES).stage == "warm"


def test_a_trigger_never_lowers_a_score() -> None:
    state = rescore([event("f1", "form_submit", T0), event("f2", "form_submit", T0)], RULES)[0]
    state = apply_event(state, event("f3", "form_submit", T0), RULES).state
    state = update_traits(state, {"customer_status": "dormant"}, T0, RULES).state
    update = apply_event(state, event("o", "email_open", T0), RULES)
    assert update.score == 90.0 and update.contributions == ()


def test_busy_researcher_needs_ten_views_within_thirty_days_and_an_email() -> None:
    views = [view(f"v{i}", T0 + i * DAY, "/blog") for i in range(10)]
    state, updates = rescore(views, RULES)
    assert state.stage == "cold"  # ten views but no email yet
    state = apply_event(state, identify("id", T0 + 9.5 * DAY, email="a@b.test"), RULES).state
    update = apply_event(state, view("v10", T0 + 10 * DAY, "/blog"), RULES)
    assert update.stage == "hot" and update.change is not None
    assert update.change.cause == "trigger" and update.change.rule_id == "busy-researcher"


def test_views_outside_the_window_do_not_count() -> None:
    history = [identify("id", T0, email="a@b.test")]
    history += [view(f"v{i}", T0 + i * 4 * DAY, "/blog") for i in range(10)]  # over 36 days
    state, _ = rescore(history, RULES)
    assert state.stage == "cold"


def test_late_views_count_within_their_own_trailing_window() -> None:
    state = apply_event(new_state(), identify("id", T0, email="a@b.test"), RULES).state
    for i in range(9):
        state = apply_event(state, view(f"v{i}", T0 + (i + 1) * DAY, "/blog"), RULES).state
    assert state.stage == "cold"
    late = apply_event(state, view("late", T0 + 5.5 * DAY, "/blog"), RULES)
    assert late.stage == "cold"  # only 6 views within 30 days before the late one
    update = apply_event(state, view("v9", T0 + 10 * DAY, "/blog"), RULES)
    assert update.stage == "hot"


def test_star_triggers_apply_to_event_types_the_schemas_do_not_know() -> None:
    state = update_traits(new_state(), {"customer_status": "dormant"}, T0, RULES).state
    assert apply_event(state, event("x", "webinar_attended", T0), RULES).stage == "hot"
