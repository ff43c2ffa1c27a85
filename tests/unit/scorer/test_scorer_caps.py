"""cap: at most N points per epoch-aligned UTC window; the earliest events are credited."""

import math

import pytest
from scorer_rulebook import BASE, DAY, T0, H, view

from scorer import apply_event, new_state, parse_rules, rescore, score_at

RULES = parse_rules(
    BASE
    + """
[[rule]]
id = "pricing"
event = "page_view"
where = { path = "/pricing*" }
points = 5
cap = { points = 10, per = "1d" }
[[rule]]
id = "odd"
event = "page_view"
where = { path = "/odd" }
points = 3
cap = { points = 10, per = "1d" }
"""
)
MIDNIGHT = math.floor(T0 / DAY) * DAY  # windows are aligned to the Unix epoch (UTC)


def decayed(points_at: list[tuple[float, float]], t: float) -> float:
    return sum(p * 2 ** (-(t - at) / H) for p, at in points_at)


def test_at_most_cap_points_per_window() -> None:
    events = [view(f"e{i}", MIDNIGHT + 3600 * (i + 1), "/pricing") for i in range(4)]
    state, updates = rescore(events, RULES)
    assert [sum(c.points for c in u.contributions) for u in updates] == [5, 5, 0, 0]
    expected = decayed([(5, MIDNIGHT + 3600), (5, MIDNIGHT + 7200)], state.t_ref)
    assert state.score_ref == pytest.approx(expected, rel=1e-12)


def test_windows_are_aligned_to_utc_midnight() -> None:
    just_before, just_after = MIDNIGHT + DAY - 1, MIDNIGHT + DAY + 1
    events = [view("a", MIDNIGHT + 1, "/pricing"), view("b", MIDNIGHT + 2, "/pricing")]
    events += [view("c", just_before, "/pricing"), view("d", just_after, "/pricing")]
    _, updates = rescore(events, RULES)
    assert [sum(c.points for c in u.contributions) for u in updates] == [5, 5, 0, 5]


def test_last_credit_in_a_window_is_partial() -> None:
    events = [view(f"e{i}", MIDNIGHT + i, "/odd") for i in range(5)]
    _, updates = rescore(events, RULES)
    assert [sum(c.points for c in u.contributions) for u in updates] == [3, 3, 3, 1, 0]


def test_a_late_earlier_event_displaces_the_latest_credit() -> None:
    state = new_state()
    for i, at in enumerate([MIDNIGHT + 7200, MIDNIGHT + 10800, MIDNIGHT + 14400]):
        state = apply_event(state, view(f"e{i}", at, "/pricing"), RULES).state
    late = apply_event(state, view("late", MIDNIGHT + 3600, "/pricing"), RULES)
    assert [(c.points, c.at, c.displaced, c.event_id) for c in late.contributions] == [
        (5.0, MIDNIGHT + 3600, False, "late"),
        (-5.0, MIDNIGHT + 10800, True, "late"),
    ]
    expected = decayed([(5, MIDNIGHT + 3600), (5, MIDNIGHT + 7200)], MIDNIGHT + 14400)
    assert late.score == pytest.approx(expected, rel=1e-12)
    assert late.at == MIDNIGHT + 14400


def test_arrival_order_does_not_change_the_result() -> None:
    times = [MIDNIGHT + s for s in (50, 10, 40, 20, 30)] + [MIDNIGHT + DAY + 5]
    forward, backward = new_state(), new_state()
    for i, at in enumerate(times):
        forward = apply_event(forward, view(f"e{i}", at, "/odd"), RULES).state
    for i, at in reversed(list(enumerate(times))):
        backward = apply_event(backward, view(f"e{i}", at, "/odd"), RULES).state
    t = MIDNIGHT + 2 * DAY
    assert score_at(forward, t, RULES) == pytest.approx(score_at(backward, t, RULES), rel=1e-12)
    expected = decayed([(3, times[1]), (3, times[3]), (3, times[4]), (1, times[2])], t)
    expected += decayed([(3, times[5])], t)
    assert score_at(forward, t, RULES) == pytest.approx(expected, rel=1e-12)


def test_events_older_than_the_lateness_horizon_are_not_credited_by_capped_rules() -> None:
    state = apply_event(new_state(), view("now", MIDNIGHT + 10 * DAY, "/pricing"), RULES).state
    for i in range(5):  # five new windows push out the first
        state = apply_event(
            state, view(f"n{i}", MIDNIGHT + (11 + i) * DAY, "/pricing"), RULES
        ).state
    stale = apply_event(state, view("stale", MIDNIGHT + 10 * DAY + 60, "/pricing"), RULES)
    assert stale.contributions == ()
