"""Cap rows held in native fields (scorer/small_rows.py): the same value as the flat tuple,
taken by the engine where they fit and left for the flat tuple where they do not."""

import gc

from hypothesis import given, settings
from hypothesis import strategies as st
from scorer_rulebook import BASE, CAPS, DAY, T0

from scorer import LeadState, ScoringEvent, apply_event, new_state, parse_rules
from scorer.small_rows import NO_CLOSED, SmallRow, flat, small_of
from scorer.state import windows_of

RULES = parse_rules(BASE + CAPS)

_TIMES = st.lists(st.floats(1e9, 2e9, allow_nan=False), min_size=1, max_size=3).map(sorted)
_ROWS = st.tuples(
    st.sampled_from([NO_CLOSED, 20_000.0]),
    st.lists(_TIMES, min_size=1, max_size=3),
).map(lambda r: (r[0], *[x for i, ts in enumerate(r[1]) for x in (20_001.0 + i, len(ts), *ts)]))


@settings(max_examples=300, deadline=None)
@given(_ROWS)
def test_a_row_that_fits_reads_back_as_the_same_flat_tuple(row: tuple[float, ...]) -> None:
    small = small_of(row)
    assert small is not None and flat(small) == row


def test_rows_that_do_not_fit_stay_flat() -> None:
    w = 20_001.0
    assert small_of((NO_CLOSED,)) is None  # no window
    assert small_of((NO_CLOSED, w, 4.0, 1.0, 2.0, 3.0, 4.0)) is None  # four times
    assert small_of((NO_CLOSED, w, 0.0)) is None  # a window without times
    four = (NO_CLOSED, w, 1.0, 1.0, w + 1, 1.0, 2.0, w + 2, 1.0, 3.0, w + 3, 1.0, 4.0)
    assert small_of(four) is None  # four windows
    assert small_of((NO_CLOSED, w + 1, 1.0, 2.0, w, 1.0, 1.0)) is None  # out of order
    assert small_of((NO_CLOSED, w, 1.0, 1.0, w + 1, 1.0, 2.0)) is not None  # (the check works)


def _day_of_views(state: LeadState, start: float, n: int, tag: str) -> LeadState:
    for i in range(n):
        state = apply_event(
            state, ScoringEvent(f"{tag}{i}", "page_view", start + 60 * i, {}), RULES
        ).state
    return state


def test_in_order_steps_hold_small_rows_and_others_flat() -> None:
    """Four days of views: "day" (3 a day) stays small, as windows come and old ones go;
    "day-partial" credits four a day: it stays flat. "hour" is small while it holds three
    windows, flat with four."""
    state = new_state()
    for day in range(4):
        state = _day_of_views(state, T0 + day * DAY, 5, f"d{day}-")
    rows = dict(zip(state.cap_ids, state.cap_rows, strict=True))
    assert isinstance(rows["day"], SmallRow)
    assert isinstance(rows["day-partial"], tuple) and isinstance(rows["hour"], SmallRow)
    closed, windows = windows_of(state.caps["day"])
    today = int((T0 + 3 * DAY) // DAY)
    assert closed == today - 3 and sorted(windows) == [today - 2, today - 1, today]
    assert windows[today] == (T0 + 3 * DAY, T0 + 3 * DAY + 60, T0 + 3 * DAY + 120)
    state = _day_of_views(state, T0 + 3 * DAY + 3600, 1, "next-hour")
    hour = dict(zip(state.cap_ids, state.cap_rows, strict=True))["hour"]
    assert isinstance(hour, SmallRow) and hour.k == 3  # yesterday's, today's two
    state = _day_of_views(state, T0 + 3 * DAY + 7200, 1, "third-hour")
    rows = dict(zip(state.cap_ids, state.cap_rows, strict=True))
    assert isinstance(rows["hour"], tuple) and len(windows_of(rows["hour"])[1]) == 4


def test_a_late_event_leaves_the_small_row_through_the_flat_tuple_and_comes_back() -> None:
    """A late view earlier than the day's credited ones displaces the last of them (the
    flat tuple's general path); the result fits, so it is held small again."""
    state = _day_of_views(new_state(), T0 + 3600, 3, "a")
    late = apply_event(state, ScoringEvent("late", "page_view", T0 + 60, {}), RULES)
    day = [(c.points, c.at, c.displaced) for c in late.contributions if c.rule_id == "day"]
    assert day == [(1.0, T0 + 60, False), (-1.0, T0 + 3600 + 120, True)]
    row = dict(zip(late.state.cap_ids, late.state.cap_rows, strict=True))["day"]
    assert isinstance(row, SmallRow)
    assert windows_of(flat(row))[1] == {int(T0 // DAY): (T0 + 60, T0 + 3600, T0 + 3660)}
    before = dict(zip(state.cap_ids, state.cap_rows, strict=True))["day"]
    assert isinstance(before, SmallRow)  # the input state's row is unchanged
    assert windows_of(flat(before))[1] == {int(T0 // DAY): (T0 + 3600, T0 + 3660, T0 + 3720)}


def test_small_rows_are_not_tracked_by_the_cyclic_collector() -> None:
    """Compiled (acyclic), a SmallRow gives the collector nothing to traverse."""
    row = _day_of_views(new_state(), T0, 2, "g").cap_rows[0]
    assert isinstance(row, SmallRow) and not gc.is_tracked(row)
