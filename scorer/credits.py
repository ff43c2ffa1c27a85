"""A credit: points a rule gave (or took back) for one event, the unit of every explanation."""

from dataclasses import dataclass
from typing import Any, Final

from scorer.untracked import untracked

try:  # a compile-time hint for mypyc (see Contribution); a no-op without mypy_extensions
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover

    def mypyc_attr(*args: object, **kwargs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls


@mypyc_attr(acyclic=True, free_list_len=1)
@dataclass(slots=True, unsafe_hash=True)
class Contribution:
    """`points` as credited at event time `at` (undecayed). Treat it as immutable.

    A `displaced` contribution is negative: it withdraws an earlier credit that a late,
    earlier event pushed out of a cap window or a once_per slot. Its `at` is the time of
    the withdrawn credit and its `event_id` the id of the event that displaced it (the
    withdrawn event's own id is not kept, to keep states small).

    Not tracked by the cyclic GC (mypyc `acyclic`): its fields are strings and numbers, so
    it can never be part of a reference cycle, and an object per credit that the collector
    need not traverse keeps its collections short. (The same holds for the other per-event
    objects: StageChange, Update, LeadState and the logs; nothing the engine builds refers
    back to them. A caller that made such an object part of a cycle would leak it.)

    Not `frozen=True`: a frozen dataclass's generated __init__ sets each field through
    object.__setattr__, and mypyc compiles only hand-written methods, so this class has
    its own __init__ (a native one when compiled); eq, hash and repr are the dataclass's.
    """

    rule_id: str
    points: float
    event_id: str
    at: float = 0.0
    displaced: bool = False

    def __init__(
        self, rule_id: str, points: float, event_id: str, at: float = 0.0, displaced: bool = False
    ) -> None:
        self.rule_id = rule_id
        self.points = points
        self.event_id = event_id
        self.at = at
        self.displaced = displaced


def credit(rule_id: str, points: float, event_id: str, at: float, displaced: bool) -> Contribution:
    """Contribution(rule_id, points, event_id, at, displaced), all fields positional."""
    return Contribution(rule_id, points, event_id, at, displaced)


@mypyc_attr(acyclic=True)
class CreditLog:
    """Credits booked since a state's per-rule sums were last folded, in booking order.

    Shared by a lead's successive states and append-only, like dedupe.IdLog: a state sees
    its first `n` entries, a step appends in place only from the log's newest state, and a
    step from an older state branches off a copy. `half_life` is the one every entry is
    folded with (LeadState.fold), so folding later repeats book()'s arithmetic exactly.
    (Contributions are not tracked by the cyclic GC, so logged ones add no work to it.)
    """

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        # The first `size` items are the log; any after them are room (_UNUSED) for more.
        self.items: list[Contribution] = untracked([])  # acyclic: see untracked.py
        self.size = 0


# Logged credits are folded into the per-rule sums once this many are held (the engine
# folds), so the log and the credits it keeps alive stay small (~7 KB of Contributions at
# most). A fold's fixed part (copies of the sums and times, the recent tuple) is paid once
# per this many: at 96 rather than 48, 2.8% fewer instructions per event over the bench's
# 300k events.
FOLD_AT: Final = 96

# Room made at once when a log in use fills up: a list grown credit by credit is
# reallocated about ten times on its way to a fold, each time into a new block of memory,
# cold in cache. A log extended only once (a state loaded, applied to and saved) gets none.
_UNUSED: Final = Contribution("", 0.0, "")
_ROOM: Final = [_UNUSED] * FOLD_AT


def has_room(log: CreditLog) -> bool:
    """Whether the log's next slot is room (read from the slot itself: see engine._touch)."""
    items, size = log.items, log.size
    return size < len(items) and items[size] is _UNUSED


def extend(log: CreditLog | None, n: int, credits: list[Contribution], h: float) -> CreditLog:
    """The log holding the first `n` entries of `log` (folded with `h`) and then `credits`."""
    if log is None:
        log = CreditLog(h)
    elif log.size != n:  # not the newest state of this log: branch off its view
        branch = CreditLog(h)
        branch.items.extend(log.items[:n])  # into its list, already untracked
        branch.size = n
        log = branch
    items, size = log.items, log.size
    if size and size == len(items):
        items.extend(_ROOM)
    for c in credits:
        if size < len(items):
            items[size] = c
        else:
            items.append(c)
        size += 1
    log.size = size
    return log
