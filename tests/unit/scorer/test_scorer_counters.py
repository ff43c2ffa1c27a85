"""Trigger counters kept in a count log give the times and firings of one tuple per step.

The reference is the engine's former bookkeeping, a tuple of times per trigger rebuilt on
every matching event. Histories mix in-order and late events, two counting triggers (one
of them in the log, the other in the state's dict), retries from older states (a log that
is not the state's newest) and stored-state round trips.
"""

import random
from bisect import bisect_right

from hypothesis import given, settings
from hypothesis import strategies as st

from scorer import (
    LeadState,
    Rules,
    ScoringEvent,
    apply_event,
    new_state,
    parse_rules,
    state_from_dict,
    state_to_dict,
)
from scorer.ledger import score_at

RULES = parse_rules("""
version = "c1"
[decay]
half_life = "1d"
[stages]
warm = 500
hot = 1000
hysteresis = 5

[[trigger]]
id = "views"
event = "page_view"
count = 3
within = "1h"
raise_to = "hot"

[[trigger]]
id = "opens"
event = "*"
count = 2
within = "10m"
raise_to = "warm"
""")
SPEC = {"views": (3, 3600.0, "page_view"), "opens": (2, 600.0, "*")}
T0 = 1_790_000_000.0

Times = dict[str, tuple[float, ...]]


def _reference(before: tuple[float, ...], t: float, count: int, within: float) -> tuple:
    """The former engine's step: (times kept, whether the count is reached)."""
    window_start = t - within
    if not before or t >= before[-1]:
        times = before + (t,)
        reached = len(times) >= count and times[-count] > window_start
        recent = times[-count:]
        if recent[0] > window_start:
            return recent, reached
    else:
        times = tuple(sorted((*before, t)))
        reached = bisect_right(times, t) - bisect_right(times, window_start) >= count
        recent = times[-count:]
    return recent[bisect_right(recent, times[-1] - within) :], reached


def _expected(held: Times, kind: str, t: float) -> tuple[Times, set[str]]:
    after, fired = dict(held), set()
    for trigger, (count, within, event_type) in SPEC.items():
        if event_type in ("*", kind):
            after[trigger], reached = _reference(held.get(trigger, ()), t, count, within)
            if reached:
                fired.add(trigger)
    return after, fired


def _booked(state: LeadState, fired: set[str], t: float, rules: Rules) -> set[str]:
    """The trigger a step books: the highest one fired, if it raises the score at t."""
    top = "views" if "views" in fired else "opens" if "opens" in fired else None
    if top is None:
        return set()
    threshold = rules.hot if top == "views" else rules.warm
    return {top} if threshold - score_at(state, t, rules) > 0 else set()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 120))
def test_counters_match_a_tuple_rebuilt_per_step(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    history: list[tuple[LeadState, Times]] = [(new_state(), {})]
    clock = T0
    for i in range(steps):
        state, held = history[-1]
        roll = rng.random()
        if roll < 0.1 and len(history) > 1:  # retry from an older state (not the log's newest)
            state, held = history[rng.randrange(len(history) - 1)]
        elif roll < 0.2:
            state = state_from_dict(state_to_dict(state))
            held = dict(state.counters)  # times as stored: whole milliseconds before t_ref
        clock += rng.expovariate(1 / 400)
        t = clock - (rng.expovariate(1 / 900) if rng.random() < 0.2 else 0.0)
        kind = rng.choice(["page_view", "page_view", "email_open"])
        held_after, fired = _expected(held, kind, t)
        booked = _booked(state, fired, t, RULES)
        update = apply_event(state, ScoringEvent(f"e{i}", kind, t, {}), RULES)
        state = update.state
        assert {c.rule_id for c in update.contributions} == booked
        assert state.counters == held_after
        history.append((state, held_after))


def test_a_stored_state_and_the_logged_one_store_the_same_times() -> None:
    state = new_state()
    for i in range(150):  # past the log's fold point, twice
        state = apply_event(state, ScoringEvent(f"v{i}", "page_view", T0 + 60 * i, {}), RULES).state
        stored = state_to_dict(state)
        assert state_to_dict(state_from_dict(stored)) == stored
    assert state.counters["views"] == (T0 + 60 * 147, T0 + 60 * 148, T0 + 60 * 149)


def test_a_stored_time_after_the_states_own_time_is_still_ordered() -> None:
    # Written by nothing of ours, but loadable: a counter time 60 s after t_ref.
    stored = {"v": "c1", "st": "cold", "s": 0.0, "t": T0, "h": 86_400.0, "k": {"views": [-60_000]}}
    state = state_from_dict(stored)
    held = state.counters["views"]
    update = apply_event(state, ScoringEvent("late", "page_view", T0 + 30, {}), RULES)
    assert update.state.counters["views"] == _reference(held, T0 + 30, 3, 3600.0)[0]


def test_the_window_edge_is_exclusive_and_the_first_logged_time_only_bounds_it() -> None:
    def fired(times: list[float]) -> list[bool]:
        state, out = new_state(), []
        for i, t in enumerate(times):
            update = apply_event(state, ScoringEvent(f"w{i}", "page_view", t, {}), RULES)
            out.append(any(c.rule_id == "views" for c in update.contributions))
            state = update.state
        return out

    # the count-th latest time exactly `within` before: not inside the window
    assert fired([T0, T0 + 1800, T0 + 3600]) == [False, False, False]
    assert fired([T0, T0 + 1800, T0 + 3599]) == [False, False, True]
    # the log's first time is outside the window, the count-th latest inside
    assert fired([T0, T0 + 4000, T0 + 4001, T0 + 4002]) == [False, False, False, True]
