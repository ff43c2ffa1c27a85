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
from scorer.decay import value_at

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
    seen: dict[int, str] = field(default_factory=dict)  # week -> event id digests (dedupe.py)
    caps: dict[str, CapWindows] = field(default_factory=dict)
    once: dict[str, dict[str, float]] = field(default_factory=dict)  # rule -> key hash -> at
    counters: dict[str, tuple[float, ...]] = field(default_factory=dict)  # trigger -> times
    recent: tuple[Contribution, ...] = ()  # the latest credits, oldest first
    half_life: float = 1.0  # of the rules it was computed under; lets sums be stored at t_ref

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
            self.half_life,
        )


def new_state() -> LeadState:
    return LeadState()


def _recent_to_list(recent: tuple[Contribution, ...]) -> list[list[Any]]:
    """Credits grouped per (event, time): [event_id, at, (1 if displaced,) rule, points, ...]."""
    groups: dict[tuple[str, float, bool], list[Any]] = {}
    for c in recent:
        group = groups.setdefault((c.event_id, c.at, c.displaced), [])
        group += [c.rule_id, c.points]
    return [
        [eid, at, *([1] if displaced else []), *pairs]
        for (eid, at, displaced), pairs in groups.items()
    ]


def _recent_from_list(rows: list[list[Any]]) -> tuple[Contribution, ...]:
    credits = []
    for row in rows:
        displaced = not isinstance(row[2], str)
        pairs = row[3:] if displaced else row[2:]
        for i in range(0, len(pairs), 2):
            credits.append(
                Contribution(pairs[i], float(pairs[i + 1]), row[0], float(row[1]), displaced)
            )
    return tuple(credits)


def _offsets(t_ref: float, times: tuple[float, ...]) -> list[int]:
    """Times as whole milliseconds before t_ref: 9 digits instead of 17.

    Used for cap windows and trigger counters, which only compare and order times; a
    credit withdrawn at a millisecond-rounded time is off by under 1e-9 of its points.
    """
    return [round((t_ref - t) * 1000) for t in times]


def _times(t_ref: float, offsets: list[int]) -> tuple[float, ...]:
    return tuple(t_ref - ms / 1000 for ms in offsets)


def _short(value: float) -> float:
    """Nine decimals: per-rule sums only explain the score, which is kept exact."""
    return round(value, 9)


def state_to_dict(s: LeadState) -> dict[str, Any]:
    """A JSON-serializable dict with short keys; empty parts are left out."""
    out: dict[str, Any] = {
        "v": s.version,
        "st": s.stage,
        "s": s.score_ref,
        "t": s.t_ref,
        "h": s.half_life,
    }
    parts: dict[str, Any] = {
        "tr": s.traits,
        "fp": s.fit_points,
        "fg": "" if s.fit_grade == "D" else s.fit_grade,
        # Per-rule sums are written as of t_ref: one number each instead of two.
        "r": {
            rule: _short(value_at(v, t, s.t_ref, s.half_life)) for rule, (v, t) in s.sums.items()
        },
        "d": {str(week): joined for week, joined in s.seen.items()},
        "c": {
            rule: [closed, {str(w): _offsets(s.t_ref, times) for w, times in windows.items()}]
            for rule, (closed, windows) in s.caps.items()
        },
        "o": s.once,
        "k": {trigger: _offsets(s.t_ref, times) for trigger, times in s.counters.items()},
        "x": _recent_to_list(s.recent),
    }
    out.update((key, value) for key, value in parts.items() if value)
    return out


def state_from_dict(d: Mapping[str, Any]) -> LeadState:
    """The inverse of state_to_dict; raises ValueError on anything it did not write."""
    try:
        t_ref = float(d["t"])
        return LeadState(
            version=str(d["v"]),
            traits=dict(d.get("tr", {})),
            stage=str(d["st"]),
            score_ref=float(d["s"]),
            t_ref=t_ref,
            fit_points=float(d.get("fp", 0.0)),
            fit_grade=str(d.get("fg") or "D"),
            sums={rule: (float(v), float(d["t"])) for rule, v in d.get("r", {}).items()},
            seen={int(week): str(joined) for week, joined in d.get("d", {}).items()},
            caps={
                rule: (closed, {int(w): _times(t_ref, ms) for w, ms in windows.items()})
                for rule, (closed, windows) in d.get("c", {}).items()
            },
            once={rule: dict(keys) for rule, keys in d.get("o", {}).items()},
            counters={trigger: _times(t_ref, ms) for trigger, ms in d.get("k", {}).items()},
            recent=_recent_from_list(d.get("x", [])),
            half_life=float(d["h"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a leadscore state: {error!r}") from error
