"""A credit: points a rule gave (or took back) for one event, the unit of every explanation."""

from dataclasses import dataclass


@dataclass(slots=True, unsafe_hash=True)
class Contribution:
    """`points` as credited at event time `at` (undecayed). Treat it as immutable.

    A `displaced` contribution is negative: it withdraws an earlier credit that a late,
    earlier event pushed out of a cap window or a once_per slot. Its `at` is the time of
    the withdrawn credit and its `event_id` the id of the event that displaced it (the
    withdrawn event's own id is not kept, to keep states small).

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


class CreditLog:
    """Credits booked since a state's per-rule sums were last folded, in booking order.

    Shared by a lead's successive states and append-only, like dedupe.IdLog: a state sees
    its first `n` entries, a step appends in place only from the log's newest state, and a
    step from an older state branches off a copy. `half_life` is the one every entry is
    folded with (LeadState.fold), so folding later repeats book()'s arithmetic exactly.
    Entries are kept as flat lists of their fields, not as Contribution objects: numbers
    and strings are not tracked by the cyclic GC, so logged credits add no work to it.
    """

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        self.rule_ids: list[str] = []
        self.points: list[float] = []
        self.ats: list[float] = []
        self.event_ids: list[str] = []
        self.displaced: list[bool] = []

    def entry(self, i: int) -> Contribution:
        return Contribution(
            self.rule_ids[i], self.points[i], self.event_ids[i], self.ats[i], self.displaced[i]
        )


def extend(log: CreditLog | None, n: int, credits: list[Contribution], h: float) -> CreditLog:
    """The log holding the first `n` entries of `log` (folded with `h`) and then `credits`."""
    if log is None:
        log = CreditLog(h)
    elif len(log.rule_ids) != n:  # not the newest state of this log: branch off its view
        branch = CreditLog(h)
        branch.rule_ids = log.rule_ids[:n]
        branch.points = log.points[:n]
        branch.ats = log.ats[:n]
        branch.event_ids = log.event_ids[:n]
        branch.displaced = log.displaced[:n]
        log = branch
    for c in credits:
        log.rule_ids.append(c.rule_id)
        log.points.append(c.points)
        log.ats.append(c.at)
        log.event_ids.append(c.event_id)
        log.displaced.append(c.displaced)
    return log
