"""The validated, compiled form of a rules file. Build it with `parsing.parse_rules`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scorer.matching import Predicate


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `points` (absolute value) per lead in each epoch-aligned window of `per` seconds."""

    points: float
    per: float


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    event: str  # an event type or "*"
    points: float
    where: Mapping[str, Any]
    where_traits: Mapping[str, Any]
    cap: Cap | None
    once_per: tuple[str, ...]
    matches: Predicate = field(compare=False)
    matches_traits: Predicate | None = field(compare=False)  # None: no trait condition


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    event: str
    where: Mapping[str, Any]
    where_traits: Mapping[str, Any]
    count: int  # matching events needed in the trailing `within` window (1: this one)
    within: float | None
    raise_to: str  # "warm" or "hot"
    matches: Predicate = field(compare=False)
    matches_traits: Predicate | None = field(compare=False)


@dataclass(frozen=True, slots=True)
class FitRule:
    id: str
    where_traits: Mapping[str, Any]
    points: float
    matches_traits: Predicate = field(compare=False)


@dataclass(frozen=True, slots=True)
class Grades:
    """Minimum fit points for grades A, B and C; anything below C is D."""

    a: float = 40.0
    b: float = 20.0
    c: float = 5.0


@dataclass(frozen=True, slots=True)
class Rules:
    version: str
    half_life: float  # seconds
    warm: float
    hot: float
    hysteresis: float
    rules: tuple[Rule, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    fit: tuple[FitRule, ...] = ()
    grades: Grades = Grades()
    # Dispatch tables built by parse_rules so the hot path never scans irrelevant rules.
    rules_by_type: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict, compare=False)
    triggers_by_type: Mapping[str, tuple[Trigger, ...]] = field(default_factory=dict, compare=False)
    path_types: frozenset[str] = frozenset()  # event types whose conditions read `path`

    def threshold(self, stage: str) -> float:
        """The score at which `stage` is entered from below."""
        return self.hot if stage == "hot" else self.warm if stage == "warm" else float("-inf")
