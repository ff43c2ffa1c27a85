"""Per-lead scoring state and its compact JSON form (stored in a Faust table by streams/).

The decayed score is kept as (score_ref, t_ref): its value at t_ref, the latest event time
seen. Everything else is bookkeeping that makes the result independent of arrival order
(cap windows, once_per keys), remembers applied event ids, counts trigger events and keeps
per-rule sums for explanations. Every collection is bounded; see `limits.py`.

Callers treat a LeadState as immutable: the engine copies before it changes anything.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scorer.credits import Contribution
from scorer.limits import DIGEST_WIDTH

# Per capped rule: (last closed window index or None, {window index: credited times, sorted}).
CapWindows = tuple[int | None, dict[int, tuple[float, ...]]]


@dataclass(slots=True)
class LeadState:
    version: str = ""  # rules version this state was last computed under
    traits: dict[str, Any] = field(default_factory=dict)
    stage: str = "cold"
    score_ref: float = 0.0  # decayed score at t_ref
    t_ref: float = 0.0  # latest event time seen (epoch seconds UTC)
    fit_points: float = 0.0
    fit_grade: str = "D"
    sums: dict[str, tuple[float, float]] = field(default_factory=dict)  # rule -> (value, at)
    seen: dict[str, int] = field(default_factory=dict)  # event id hash -> event day
    caps: dict[str, CapWindows] = field(default_factory=dict)
    once: dict[str, dict[str, float]] = field(default_factory=dict)  # rule -> key hash -> at
    counters: dict[str, tuple[float, ...]] = field(default_factory=dict)  # trigger -> times
    recent: tuple[Contribution, ...] = ()  # the latest credits, oldest first

    def copy(self) -> "LeadState":
        """A shallow copy; the engine replaces (never mutates) the containers it changes."""
        return LeadState(
            self.version,
            self.traits,
            self.stage,
            self.score_ref,
            self.t_ref,
            self.fit_points,
            self.fit_grade,
            self.sums,
            self.seen,
            self.caps,
            self.once,
            self.counters,
            self.recent,
        )


def new_state() -> LeadState:
    return LeadState()


def _seen_to_dict(seen: Mapping[str, int]) -> dict[str, str]:
    by_day: dict[int, list[str]] = {}
    for digest, day in seen.items():
        by_day.setdefault(day, []).append(digest)
    return {str(day): "".join(digests) for day, digests in sorted(by_day.items())}


def _seen_from_dict(data: Mapping[str, str], width: int) -> dict[str, int]:
    return {
        joined[i : i + width]: int(day)
        for day, joined in data.items()
        for i in range(0, len(joined), width)
    }


def _credit_to_list(c: Contribution) -> list[Any]:
    row: list[Any] = [c.rule_id, c.points, c.event_id, c.at]
    return [*row, 1] if c.displaced else row


def state_to_dict(s: LeadState) -> dict[str, Any]:
    """A JSON-serializable dict with short keys; empty parts are left out."""
    out: dict[str, Any] = {"v": s.version, "st": s.stage, "s": s.score_ref, "t": s.t_ref}
    parts: dict[str, Any] = {
        "tr": s.traits,
        "fp": s.fit_points,
        "fg": "" if s.fit_grade == "D" else s.fit_grade,
        "r": {rule: list(pair) for rule, pair in s.sums.items()},
        "d": _seen_to_dict(s.seen),
        "c": {
            rule: [closed, {str(w): list(times) for w, times in windows.items()}]
            for rule, (closed, windows) in s.caps.items()
        },
        "o": s.once,
        "k": {trigger: list(times) for trigger, times in s.counters.items()},
        "x": [_credit_to_list(c) for c in s.recent],
    }
    out.update((key, value) for key, value in parts.items() if value)
    return out


def state_from_dict(d: Mapping[str, Any]) -> LeadState:
    """The inverse of state_to_dict; raises ValueError on anything it did not write."""
    try:
        return LeadState(
            version=str(d["v"]),
            traits=dict(d.get("tr", {})),
            stage=str(d["st"]),
            score_ref=float(d["s"]),
            t_ref=float(d["t"]),
            fit_points=float(d.get("fp", 0.0)),
            fit_grade=str(d.get("fg") or "D"),
            sums={rule: (float(v), float(t)) for rule, (v, t) in d.get("r", {}).items()},
            seen=_seen_from_dict(d.get("d", {}), DIGEST_WIDTH),
            caps={
                rule: (closed, {int(w): tuple(times) for w, times in windows.items()})
                for rule, (closed, windows) in d.get("c", {}).items()
            },
            once={rule: dict(keys) for rule, keys in d.get("o", {}).items()},
            counters={trigger: tuple(times) for trigger, times in d.get("k", {}).items()},
            recent=tuple(
                Contribution(row[0], float(row[1]), row[2], float(row[3]), len(row) > 4)
                for row in d.get("x", [])
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a leadscore state: {error!r}") from error
