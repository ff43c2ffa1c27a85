"""The scorer's input: one behavioural event, already decoded by the stream layer."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ScoringEvent:
    """One event of a lead. `at` is event time in epoch seconds UTC; never the wall clock."""

    event_id: str
    type: str
    at: float
    properties: Mapping[str, Any]
    traits: Mapping[str, Any] = field(default_factory=dict)
