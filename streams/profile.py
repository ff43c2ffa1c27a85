"""One command applied to one profile: the scoring agent's logic, without Faust.

`step` takes the profile's table value and a command from `scoring-input` and returns the
new table value, the messages to emit and the commands to forward. The agent only does
the I/O around it, so this is where the stream layer's behaviour is unit-tested.

The worker itself calls it with `serialize=False`, so the new table value may hold the
new `LeadState` itself under "state". An in-memory store keeps it as it is; it is
serialized with `saved` only when its changelog record is written, at the next commit
(streams/tables.py), so a lead's events between two commits pay for one `state_to_dict`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from scorer import (
    LeadState,
    Rules,
    Update,
    advance,
    apply_event,
    merge,
    new_state,
    next_crossing,
    state_from_dict,
    state_to_dict,
    update_traits,
)
from streams import commands
from streams.conversion import change_message, score_message, scoring_event
from streams.state_cache import StateCache

log = logging.getLogger("leadscore.worker")

# Recent stage changes kept per profile so a redelivered event re-emits what it caused
# (a crash may lose an output the changelog already recorded). Bounded.
RECENT_CHANGES = 8

SCORE, CHANGE = "score", "change"


@dataclass
class Step:
    entry: dict[str, Any] | None = None  # the new table value; None: leave the table alone
    emit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (SCORE|CHANGE, msg)
    forward: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (profile, cmd)
    reschedule: bool = False  # the profile's next decay crossing may have moved
    crossing: float | None = None  # ...to this time (None: no crossing ahead)


def step(
    profile: str,
    entry: dict[str, Any] | None,
    command: dict[str, Any],
    rules: Rules,
    now: float,
    states: StateCache | None = None,
    *,
    serialize: bool = True,
) -> Step:
    """`states`: decoded states to reuse, and to keep the new one in (streams/state_cache.py).
    Without `serialize` the new table value may hold the new state itself (see `saved`)."""
    result = _step(profile, entry or {}, command, rules, now, states)
    if serialize and result.entry is not None:
        result.entry = saved(profile, result.entry, states)
    return result


def saved(profile: str, entry: dict[str, Any], states: StateCache | None) -> dict[str, Any]:
    """The table value as stored: its state serialized (and remembered in `states`)."""
    state = entry.get("state")
    if not isinstance(state, LeadState):
        return entry
    stored = state_to_dict(state)
    if states is not None:
        states.remember(profile, stored, state)
    return {**entry, "state": stored}


def _step(
    profile: str,
    entry: dict[str, Any],  # read only: a new value is always a new dict
    command: dict[str, Any],
    rules: Rules,
    now: float,
    states: StateCache | None,
) -> Step:
    if "merged_into" in entry:
        # A straggler for a merged anonymous profile belongs to its lead.
        return Step(forward=[(entry["merged_into"], command)])
    stored = entry.get("state")
    if stored is None:
        state = new_state()
    elif isinstance(stored, LeadState):  # applied since the last commit (serialize=False)
        state = stored
    elif states is None:
        state = state_from_dict(stored)
    else:
        state = states.decoded(profile, stored)
    kind = command.get("kind")
    if kind == commands.EVENT:
        return _event(profile, entry, state, command["event"], rules)
    if kind == commands.MERGE_OUT:
        forward = (
            [(command["into"], commands.absorb(profile, saved(profile, entry, None)["state"]))]
            if "state" in entry
            else []
        )
        return Step(entry={"merged_into": command["into"]}, forward=forward, reschedule=True)
    if kind == commands.ABSORB:
        return _updated(
            profile, entry, merge(state, state_from_dict(command["state"]), rules), rules, None
        )
    if kind == commands.TICK:
        update = advance(state, now, rules)
        if not update.changes:
            return _stored(entry, update, rules)
        return _updated(profile, entry, update, rules, None)
    if kind == commands.TRAITS:
        update = update_traits(state, command["traits"], command["at"], rules)
        return _updated(profile, entry, update, rules, None)
    log.error("unknown command %r for %s; skipped", kind, profile)
    return Step()


def _event(
    profile: str, entry: dict[str, Any], state: Any, raw: dict[str, Any], rules: Rules
) -> Step:
    try:
        event = scoring_event(raw)
    except (KeyError, TypeError, ValueError) as exc:
        # Not produced by our collector; it can never be scored. Visible, skipped.
        log.error("undecodable event for %s skipped: %r", profile, exc)
        return Step()
    update = apply_event(state, event, rules)
    if update.duplicate:
        return Step(emit=_resend(entry, event.event_id))
    return _updated(profile, entry, update, rules, event.event_id)


def _resend(entry: dict[str, Any], event_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A redelivered event re-emits what it caused: after a crash the table may hold the
    update while its outputs were lost. Repeats are dropped by change_id downstream, and
    the compacted lead-scores only needs the latest score again."""
    last = entry.get("last_score")
    out = [(SCORE, last)] if last is not None and last["event_id"] == event_id else []
    return out + [(CHANGE, m) for m in entry.get("recent", []) if m["event_id"] == event_id]


def _updated(
    profile: str, entry: dict[str, Any], update: Update, rules: Rules, event_id: str | None
) -> Step:
    identified = not commands.is_anonymous(profile)
    score = score_message(profile, update, rules, identified, event_id)
    emitted: list[tuple[str, dict[str, Any]]] = [(SCORE, score)]
    for change in update.changes:
        emitted.append((CHANGE, change_message(profile, change, update, rules.version, identified)))
    recent = entry.get("recent", []) + [m for kind, m in emitted if kind == CHANGE]
    step = _stored(
        {**entry, "last_score": score, "recent": recent[-RECENT_CHANGES:]}, update, rules
    )
    step.emit = emitted
    return step


def _stored(entry: dict[str, Any], update: Update, rules: Rules) -> Step:
    return Step(
        entry={**entry, "state": update.state},
        reschedule=True,
        crossing=next_crossing(update.state, rules),
    )
