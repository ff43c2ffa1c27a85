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
