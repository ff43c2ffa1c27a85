"""A credit: points a rule gave (or took back) for one event, the unit of every explanation."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Contribution:
    """`points` as credited at event time `at` (undecayed).

    A `displaced` contribution is negative: it withdraws an earlier credit that a late,
    earlier event pushed out of a cap window or a once_per slot. Its `at` is the time of
    the withdrawn credit and its `event_id` the id of the event that displaced it (the
    withdrawn event's own id is not kept, to keep states small).
    """

    rule_id: str
    points: float
    event_id: str
    at: float = 0.0
    displaced: bool = False
