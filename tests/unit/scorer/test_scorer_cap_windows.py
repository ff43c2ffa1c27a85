"""The engine's cap windows (flat rows, in-order shortcuts) against caps.credit on the nested
form, over random event times in and out of order, near window edges and the epoch."""

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from scorer_rulebook import BASE, CAPS, DAY

from scorer import ScoringEvent, apply_event, caps, new_state, parse_rules
from scorer.engine import _floor_div, _lag, _oldest
from scorer.limits import CAP_LATENESS
from scorer.state import CapWindows, windows_of

RULES = parse_rules(BASE + CAPS)
CAPPED = [r for r in RULES.rules if r.cap is not None]


def _reference(times: list[float]) -> list[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    """Per event, each rule's windows and the capped credits, by caps.credit step by step."""
    held: dict[str, CapWindows | None] = {r.id: None for r in CAPPED}
    latest = 0.0  # a new state's t_ref
    out = []
    for t in times:
        latest = max(latest, t)
        credits: list[tuple[Any, ...]] = []
        for rule in CAPPED:
            assert rule.cap is not None
            updated, deltas = caps.credit(held[rule.id], rule.points, rule.cap, t, latest)
            for when, delta in deltas:
                credits.append((rule.id, delta, when, when != t))
            if deltas and updated is not None:
                held[rule.id] = updated
        out.append(({k: v if v is not None else (None, {}) for k, v in held.items()}, credits))
    return out


# Offsets around window edges: whole hours and days, and a hair either side of them.
_EDGE = st.builds(
    lambda k, unit, hair: k * unit + hair,
    st.integers(-80, 240),
    st.sampled_from([45.0, 7.0, 3600.0, DAY, 1.5 * DAY]),
    st.sampled_from([0.0, 1e-6, -1e-6, 0.5, -0.5]),
)
_OFFSET = st.one_of(_EDGE, st.floats(-3 * DAY, 10 * DAY, allow_nan=False))


# In order: windows that grow by one, two and three times, alone in the row and after
# others, then new windows that drop none, some or all of the held ones; and the same late.
_RUN = [0.0, 1.0, 2.0, 3.0, DAY, DAY + 1, DAY + 2, DAY + 3, 2 * DAY + 5, 2 * DAY + 6]
_RUN += [3 * DAY, 3 * DAY + 1, 3 * DAY + 2, 9 * DAY, 9 * DAY + 1, 9 * DAY + 2, 9 * DAY + 3]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([1_800_000_000.0, 1_800_028_800.5, 0.0, 1.5 * DAY, 2 * DAY, 3 * DAY]),
    st.lists(_OFFSET, min_size=1, max_size=40),
)
@example(1_800_000_000.0, _RUN)
@example(1_800_000_000.0, _RUN[::-1])
@example(1_800_000_000.0, [o + 3600.0 * (i % 3) for i, o in enumerate(_RUN)])
def test_cap_windows_and_credits_match_caps_credit(base: float, offsets: list[float]) -> None:
    times = [base + o for o in offsets]
    expected = _reference(times)
    state = new_state()
    for i, (t, (windows, credits)) in enumerate(zip(times, expected, strict=True)):
        update = apply_event(state, ScoringEvent(f"e{i}", "page_view", t, {}), RULES)
        state = update.state
        got = [
            (c.rule_id, c.points, c.at, c.displaced)
            for c in update.contributions
            if c.rule_id in windows
        ]
        assert got == credits, (i, t)
        held = {r.id: windows_of(state.caps[r.id]) for r in CAPPED if r.id in state.caps}
        assert held == {k: v for k, v in windows.items() if v != (None, {})}, (i, t)


_PERS = st.sampled_from(
    [1.0, 7.0, 45.0, 3600.0, DAY, 1.5 * DAY, 2 * DAY, 5 * DAY, 4 * DAY, 0.5, 0.3, 1e-3, 3e5]
)


@settings(max_examples=2000, deadline=None)
@given(
    _PERS,
    st.one_of(
        st.floats(-1e17, 1e17, allow_nan=False),
        st.floats(-1e22, 1e22, allow_nan=False),
        st.builds(
            lambda k, unit, hair: k * unit + hair,
            st.integers(-(2**40), 2**40),
            st.sampled_from([1.0, 7.0, 45.0, 3600.0, DAY, 1.5 * DAY]),
            st.sampled_from([0.0, 1e-6, -1e-6, 2.0**-20, -(2.0**-20), 0.5]),
        ),
        st.sampled_from([CAP_LATENESS, CAP_LATENESS - 1e-9, 2.0**52, 2.0**52 - 1, 2.0**30]),
    ),
    st.sampled_from([0.0, -1.0, 1.0, 1e-6, 3 * DAY]),
)
def test_the_oldest_window_is_the_floor_of_the_latest_time_less_the_lateness(
    per: float, t: float, behind: float
) -> None:
    latest = t + behind if behind > 0.0 else t  # the latest time is never before t
    window = _floor_div(t, per)
    want = _floor_div(latest - CAP_LATENESS, per)
    got = _oldest(window, t, latest, per, _lag(per))
    assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


def test_the_lag_is_whole_windows_of_a_whole_length_or_nan() -> None:
    assert _lag(DAY) == 2.0 and _lag(3600.0) == 48.0 and _lag(2 * DAY) == 1.0
    for per in (1.5 * DAY, 5 * DAY, 7.0, 0.5, 1e-3, 4 * DAY):
        assert math.isnan(_lag(per)), per
