"""What the engine returns: the new state plus what to emit on lead-scores and stage changes."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scorer.credits import Contribution
from scorer.state import LeadState


@dataclass(frozen=True, slots=True)
class StageChange:
    from_stage: str
    to_stage: str
    score: float  # the score at `at`
    at: float  # event time of the change; for decay the exact crossing time
    cause: str  # event | decay | merge | trigger
    event_id: str | None
    rule_id: str | None  # the trigger, or the rule whose credit tipped it; None for decay


@dataclass(frozen=True, slots=True)
class Update:
    state: LeadState
    score: float  # decayed score as of `at`
    stage: str
    at: float
    fit_grade: str
    contributions: tuple[Contribution, ...]  # what this step added; empty for duplicates
    change: StageChange | None  # the last of `changes`, for convenience
    duplicate: bool
    changes: tuple[StageChange, ...] = ()  # every stage change of this step, in time order


UpdateFactory = Callable[
    [
        LeadState,
        float,
        str,
        float,
        str,
        tuple[Contribution, ...],
        StageChange | None,
        bool,
        tuple[StageChange, ...],
    ],
    Update,
]


def _update_factory() -> UpdateFactory:
    new: Any = object.__new__
    fields = ("state", "score", "stage", "at", "fit_grade", "contributions", "change")
    s1, s2, s3, s4, s5, s6, s7 = (Update.__dict__[name].__set__ for name in fields)
    s8, s9 = Update.__dict__["duplicate"].__set__, Update.__dict__["changes"].__set__

    def update(
        state: LeadState,
        score: float,
        stage: str,
        at: float,
        fit_grade: str,
        contributions: tuple[Contribution, ...],
        change: StageChange | None,
        duplicate: bool,
        changes: tuple[StageChange, ...],
    ) -> Any:
        u = new(Update)
        s1(u, state)
        s2(u, score)
        s3(u, stage)
        s4(u, at)
        s5(u, fit_grade)
        s6(u, contributions)
        s7(u, change)
        s8(u, duplicate)
        s9(u, changes)
        return u

    return update


# Update(...) with every field given, for the hot path (see credits.credit).
update: UpdateFactory = _update_factory()


def change_id(lead_id: str, change: StageChange) -> str:
    """A stable id for a stage change, so downstream consumers can drop redelivered ones.

    `at` is written with microsecond precision: replays recompute the same float, and
    the rounding absorbs representation noise from other producers of the same change.
    """
    canonical = f"{lead_id}\x1f{change.to_stage}\x1f{change.cause}\x1f{change.at:.6f}"
    return hashlib.sha256(canonical.encode()).hexdigest()
