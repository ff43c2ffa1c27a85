"""A capped rule's windows held in native fields, when they are few: a `SmallRow`.

The general form of a rule's cap windows is a flat tuple of floats (state.CapRow):
(closed, window, n, time_1 .. time_n, window, n, ...). Nearly every step of a capped rule
makes a new one: a lead's next event is a new window (a new day) or one more credit in the
newest. A tuple is built from the old one's items (each increfed, later decrefed), through
slices and concatenations, and is tracked by the cyclic garbage collector until a pass
has seen it: 27% of apply_event's instructions in the bench's traffic (bench/RESULTS.md,
Session 16).

A SmallRow holds the same value while it has at most SMALL_WINDOWS windows, in increasing
order, of at most SMALL_TIMES credited times each: the usual case for a day's cap (windows
older than two days are dropped). Its fields are native numbers, so a step builds one
object and copies a few words, with no reference counts and nothing for the collector to
track (acyclic). Anything else stays a flat tuple, and `flat` reads a SmallRow as one.
Treat it as immutable once a state holds it.
"""

from typing import Any, Final

try:  # a compile-time hint for mypyc (see credits.py); a no-op without mypy_extensions
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover

    def mypyc_attr(*args: object, **kwargs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls


NO_CLOSED: Final = float("-inf")  # a row's `closed` when no window has been dropped yet
SMALL_WINDOWS: Final = 3
SMALL_TIMES: Final = 3


@mypyc_attr(acyclic=True, free_list_len=1)  # see credits.Contribution
class SmallRow:
    """`closed`, then `k` windows in increasing order: window i is `wi`, with `ni` credited
    times `ai`, `bi`, `ci` (the first ni of them; the others are 0.0)."""

    def __init__(self, closed: float, k: int) -> None:
        self.closed = closed
        self.k = k
        self.w0, self.n0, self.a0, self.b0, self.c0 = 0.0, 0, 0.0, 0.0, 0.0
        self.w1, self.n1, self.a1, self.b1, self.c1 = 0.0, 0, 0.0, 0.0, 0.0
        self.w2, self.n2, self.a2, self.b2, self.c2 = 0.0, 0, 0.0, 0.0, 0.0


def window(row: SmallRow, i: int) -> float:
    return row.w0 if i == 0 else row.w1 if i == 1 else row.w2


def count(row: SmallRow, i: int) -> int:
    return row.n0 if i == 0 else row.n1 if i == 1 else row.n2


def last_time(row: SmallRow, i: int) -> float:
    """The latest credited time of window i."""
    n = count(row, i)
    if i == 0:
        return row.a0 if n == 1 else row.b0 if n == 2 else row.c0
    if i == 1:
        return row.a1 if n == 1 else row.b1 if n == 2 else row.c1
    return row.a2 if n == 1 else row.b2 if n == 2 else row.c2


def _put(row: SmallRow, i: int, w: float, n: int, a: float, b: float, c: float) -> None:
    if i == 0:
        row.w0, row.n0, row.a0, row.b0, row.c0 = w, n, a, b, c
    elif i == 1:
        row.w1, row.n1, row.a1, row.b1, row.c1 = w, n, a, b, c
    else:
        row.w2, row.n2, row.a2, row.b2, row.c2 = w, n, a, b, c


def first(w: float, t: float) -> SmallRow:
    """A rule's first window, credited once at t."""
    row = SmallRow(NO_CLOSED, 1)
    row.w0, row.n0, row.a0 = w, 1, t
    return row


def grown(row: SmallRow, t: float) -> SmallRow:
    """`row` with t credited last in its newest window (which holds fewer than SMALL_TIMES)."""
    k = row.k
    out = SmallRow(row.closed, k)
    out.w0, out.n0, out.a0, out.b0, out.c0 = row.w0, row.n0, row.a0, row.b0, row.c0
    if k == 1:
        if row.n0 == 1:
            out.n0, out.b0 = 2, t
        else:
            out.n0, out.c0 = 3, t
        return out
    out.w1, out.n1, out.a1, out.b1, out.c1 = row.w1, row.n1, row.a1, row.b1, row.c1
    if k == 2:
        if row.n1 == 1:
            out.n1, out.b1 = 2, t
        else:
            out.n1, out.c1 = 3, t
        return out
    out.w2, out.n2, out.a2, out.b2, out.c2 = row.w2, row.n2, row.a2, row.b2, row.c2
    if row.n2 == 1:
        out.n2, out.b2 = 2, t
    else:
        out.n2, out.c2 = 3, t
    return out


def added(row: SmallRow, dropped: int, closed: float, w: float, t: float) -> SmallRow:
    """`row` without its first `dropped` windows, then window w credited once at t (later
    than every window kept; at most SMALL_WINDOWS - 1 are).

    Each case copies its fields by name, not slot by slot through _put: this is the step
    of most capped rules (a lead's next event is usually on a later day)."""
    k = row.k
    kept = k - dropped
    out = SmallRow(closed, kept + 1)
    if kept == 0:
        out.w0, out.n0, out.a0 = w, 1, t
    elif dropped == 0:
        out.w0, out.n0, out.a0, out.b0, out.c0 = row.w0, row.n0, row.a0, row.b0, row.c0
        if k == 1:
            out.w1, out.n1, out.a1 = w, 1, t
        else:
            out.w1, out.n1, out.a1, out.b1, out.c1 = row.w1, row.n1, row.a1, row.b1, row.c1
            out.w2, out.n2, out.a2 = w, 1, t
    elif dropped == 1:
        out.w0, out.n0, out.a0, out.b0, out.c0 = row.w1, row.n1, row.a1, row.b1, row.c1
        if k == 2:
            out.w1, out.n1, out.a1 = w, 1, t
        else:
            out.w1, out.n1, out.a1, out.b1, out.c1 = row.w2, row.n2, row.a2, row.b2, row.c2
            out.w2, out.n2, out.a2 = w, 1, t
    else:  # two dropped of three
        out.w0, out.n0, out.a0, out.b0, out.c0 = row.w2, row.n2, row.a2, row.b2, row.c2
        out.w1, out.n1, out.a1 = w, 1, t
    return out


def flat(row: SmallRow) -> tuple[float, ...]:
    """The flat tuple (state.CapRow) that `row` stands for."""
    out: list[float] = [row.closed]
    for i in range(row.k):
        n = count(row, i)
        out.append(window(row, i))
        out.append(float(n))
        if i == 0:
            times = (row.a0, row.b0, row.c0)
        elif i == 1:
            times = (row.a1, row.b1, row.c1)
        else:
            times = (row.a2, row.b2, row.c2)
        out.extend(times[:n])
    return tuple(out)


def small_of(flat_row: tuple[float, ...]) -> SmallRow | None:
    """The SmallRow standing for a flat row, or None if it has too many windows or times,
    a window without times, or windows out of increasing order."""
    size = len(flat_row)
    row = SmallRow(flat_row[0], 0)
    i, k, previous = 1, 0, NO_CLOSED
    while i < size:
        w, n = flat_row[i], int(flat_row[i + 1])
        if k == SMALL_WINDOWS or not 1 <= n <= SMALL_TIMES or not w > previous:
            return None
        times = flat_row[i + 2 : i + 2 + n] + (0.0, 0.0)
        _put(row, k, w, n, times[0], times[1], times[2])
        previous, k, i = w, k + 1, i + 2 + n
    if k == 0:
        return None
    row.k = k
    return row
