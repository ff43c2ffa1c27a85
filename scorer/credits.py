"""A credit: points a rule gave (or took back) for one event, the unit of every explanation."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


CreditFactory = Callable[[str, float, str, float, bool], Contribution]


def _credit_factory() -> CreditFactory:
    new: Any = object.__new__
    set_rule, set_points, set_event, set_at, set_displaced = (
        Contribution.__dict__[name].__set__
        for name in ("rule_id", "points", "event_id", "at", "displaced")
    )

    def credit(rule_id: str, points: float, event_id: str, at: float, displaced: bool) -> Any:
        c = new(Contribution)
        set_rule(c, rule_id)
        set_points(c, points)
        set_event(c, event_id)
        set_at(c, at)
        set_displaced(c, displaced)
        return c

    return credit


# Contribution(rule_id, points, event_id, at, displaced) for the hot path: a frozen
# dataclass's __init__ goes through object.__setattr__ per field; setting the slots through
# their descriptors builds the same object in about 60% of the time.
credit: CreditFactory = _credit_factory()
