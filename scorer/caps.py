"""Caps: a rule credits at most `cap.points` per lead per epoch-aligned window of `cap.per`.

Within a window the earliest events are the ones credited (the last one possibly in
part), so the credited set depends only on the events, not on their arrival order. Only
the times of credited events are kept: an event that is not credited now never will be,
because later arrivals can only push credited events out, never pull others in.

A late event that is earlier than some credited ones displaces them; the engine turns
the returned deltas into a positive credit for the new event and negative, `displaced`
credits for the withdrawn ones.
"""

import math

from scorer.limits import CAP_LATENESS, MAX_CAP_WINDOWS
from scorer.rules import Cap
from scorer.state import CapWindows

Delta = tuple[float, float]  # (credit time, points added; negative withdraws)


def slots(points: float, cap: Cap) -> int:
    """How many events of one window can get any credit."""
    return math.ceil(cap.points / abs(points)) if points else 0


def _allocation(times: tuple[float, ...], points: float, cap: Cap) -> dict[float, float]:
    """Credit per time: full points in time order until the cap, the last one partial."""
    left, sign = cap.points, math.copysign(1.0, points)
    out: dict[float, float] = {}
    for t in times:
        credit = min(abs(points), left)
        left -= credit
        out[t] = out.get(t, 0.0) + sign * credit
    return out


def _diff(before: dict[float, float], after: dict[float, float]) -> list[Delta]:
    times = sorted(set(before) | set(after))
    deltas = [(t, after.get(t, 0.0) - before.get(t, 0.0)) for t in times]
    return [(t, d) for t, d in deltas if d != 0.0]


def _prune(closed: int | None, windows: dict[int, tuple[float, ...]], oldest: int) -> CapWindows:
    """Drop windows older than `oldest` and beyond MAX_CAP_WINDOWS; remember the cut."""
    if len(windows) <= MAX_CAP_WINDOWS and (not windows or min(windows) >= oldest):
        return closed, windows
    keep = sorted(w for w in windows if w >= oldest)[-MAX_CAP_WINDOWS:]
    kept = set(keep)
    dropped = [w for w in windows if w not in kept]
    if dropped:
        closed = max(dropped) if closed is None else max(closed, *dropped)
    return closed, {w: windows[w] for w in keep}


def _oldest_window(latest: float, cap: Cap) -> int:
    """The oldest window still kept: it ends less than CAP_LATENESS before `latest`."""
    return int((latest - CAP_LATENESS) // cap.per)


def credit(
    current: CapWindows | None, points: float, cap: Cap, at: float, latest: float
) -> tuple[CapWindows | None, list[Delta]]:
    """The cap bookkeeping after an event at `at`, and the credit changes it causes."""
    closed, windows = current if current is not None else (None, {})
    window = int(at // cap.per)
    if closed is not None and window <= closed:
        return current, []  # older than anything we still track: treated as full
    before = windows.get(window, ())
    limit = slots(points, cap)
    if not before or at >= before[-1]:  # in order within the window: the common case
        if len(before) >= limit:
            return current, []
        granted = math.copysign(min(abs(points), cap.points - len(before) * abs(points)), points)
        if window in windows:
            return (closed, {**windows, window: (*before, at)}), [(at, granted)]
        added = {**windows, window: (at,)}
        return _prune(closed, added, _oldest_window(latest, cap)), [(at, granted)]
    after = tuple(sorted((*before, at)))[:limit]
    deltas = _diff(_allocation(before, points, cap), _allocation(after, points, cap))
    updated = _prune(closed, {**windows, window: after}, _oldest_window(latest, cap))
    return updated, deltas


def union(
    a: CapWindows | None,
    b: CapWindows | None,
    points: float,
    cap: Cap,
    latest: float,
) -> tuple[CapWindows | None, list[Delta]]:
    """Bookkeeping as if one lead had seen both histories, and the credit corrections."""
    if a is None or b is None:
        return a if b is None else b, []
    windows: dict[int, tuple[float, ...]] = {}
    deltas: list[Delta] = []
    limit = slots(points, cap)
    for w in set(a[1]) | set(b[1]):
        ta, tb = a[1].get(w, ()), b[1].get(w, ())
        both = tuple(sorted(ta + tb))[:limit]
        before = _allocation(ta, points, cap)
        for t, c in _allocation(tb, points, cap).items():
            before[t] = before.get(t, 0.0) + c
        deltas += _diff(before, _allocation(both, points, cap))
        windows[w] = both
    closed = max((c for c in (a[0], b[0]) if c is not None), default=None)
    return _prune(closed, windows, _oldest_window(latest, cap)), deltas
