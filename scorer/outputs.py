"""What the engine returns: the new state plus what to emit on lead-scores and stage changes."""

import hashlib
from dataclasses import dataclass
from typing import Any

from scorer.credits import Contribution
from scorer.state import LeadState

try:  # a compile-time hint for mypyc (see credits.py); a no-op without mypy_extensions
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover

    def mypyc_attr(*args: object, **kwargs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls



@mypyc_attr(acyclic=True)
@dataclass(slots=True, unsafe_hash=True)
class StageChange:
    """A stage change. Treat it as immutable (not frozen for speed: see Contribution)."""

    from_stage: str
    to_stage: str
    score: float  # the score at `at`
    at: float  # event time of the change; for decay the exact crossing time
    cause: str  # event | decay | merge | trigger
    event_id: str | None
    rule_id: str | None  # the trigger, or the rule whose credit tipped it; None for decay

    def __init__(
        self,
        from_stage: str,
        to_stage: str,
        score: float,
        at: float,
        cause: str,
        event_id: str | None,
        rule_id: str | None,
    ) -> None:
        self.from_stage = from_stage
        self.to_stage = to_stage
        self.score = score
        self.at = at
        self.cause = cause
        self.event_id = event_id
        self.rule_id = rule_id


@mypyc_attr(acyclic=True, free_list_len=1)
@dataclass(slots=True, unsafe_hash=True)
class Update:
    """What one step returns. Treat it as immutable (not frozen for speed: see Contribution)."""

    state: LeadState
    score: float  # decayed score as of `at`
    stage: str
    at: float
    fit_grade: str
    contributions: tuple[Contribution, ...]  # what this step added; empty for duplicates
    change: StageChange | None  # the last of `changes`, for convenience
    duplicate: bool
    changes: tuple[StageChange, ...] = ()  # every stage change of this step, in time order

    def __init__(
        self,
        state: LeadState,
        score: float,
        stage: str,
        at: float,
        fit_grade: str,
        contributions: tuple[Contribution, ...],
        change: StageChange | None,
        duplicate: bool,
        changes: tuple[StageChange, ...] = (),
    ) -> None:
        self.state = state
        self.score = score
        self.stage = stage
        self.at = at
        self.fit_grade = fit_grade
        self.contributions = contributions
        self.change = change
        self.duplicate = duplicate
        self.changes = changes


# Update(...) with every field given (kept for callers of the former slot-set factory).
update = Update


def change_id(lead_id: str, change: StageChange) -> str:
    """A stable id for a stage change, so downstream consumers can drop redelivered ones.

    `at` is written with microsecond precision: replays recompute the same float, and
    the rounding absorbs representation noise from other producers of the same change.
    """
    canonical = f"{lead_id}\x1f{change.to_stage}\x1f{change.cause}\x1f{change.at:.6f}"
    return hashlib.sha256(canonical.encode()).hexdigest()
