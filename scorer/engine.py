"""Applying events to a lead's state: the pure core the Faust agents call.

Purity: every function takes a state and returns an `Update` holding a *new* state; the
input state is never modified (the engine copies it and replaces, never mutates, the
containers it shares), so a caller may keep, retry or discard either freely.

Time is always a parameter (epoch seconds UTC, event time); the clock is never read.
The score is stored as (score_ref, t_ref): its value at t_ref, the latest event time
seen. A newer event first decays the score to its own time; a late one (at < t_ref) adds
its credit decayed to t_ref. Either way score(T) = sum of p_i * 2^(-(T - t_i)/H), so the
score does not depend on arrival order. An Update is reported as of t_ref after the
step: the event's own time unless it arrived late; stage changes caused by an event carry
the same `at`.

Stages: before an event newer than t_ref is scored, decay demotions due by its time are
applied (cause "decay", each at its exact crossing time), so hysteresis never keeps a
lead hot that had already cooled; then the event's stage change, if any, follows (cause
"event", or "trigger" when a trigger raised it). Update.changes lists them in order and
Update.change is the last one.

Triggers are evaluated as events arrive (they are the one order-dependent part): a
fired trigger raises the score to its stage's threshold at the event's time (a credit of
the difference, booked under the trigger id) and lifts the stage to at least that stage;
afterwards the score decays like any other. For a late event, "the score at its time"
is the current score projected back to it. Counting triggers count matching events in
the trailing `within` window ending at the event; only the latest `count` times are
kept, so a very late event may see fewer earlier events than a replay would.

Displaced credits: a late event that is earlier than credited events of a cap window,
or than the first event of a once_per key, takes over their credit. The Update lists
a positive contribution for the late event and a negative, `displaced` one at the time
of each withdrawn credit, so contributions always add up to the score change.

Identify events (and any event carrying traits) merge their traits into state.traits
before rules are matched, so `where_traits` and fit see them; fit is re-graded then.

Rules versions: a state remembers the version it was last computed under. When a step
sees a state stamped with another version it keeps the decayed sums as they are (past
credits are not re-priced: `rescore` the history for that), re-grades fit, stamps the
new version and half-life, and keeps cap, once_per and trigger bookkeeping only for ids
that still have a cap, once_per or count in the new rules. If a cap's `per` changed,
its old windows are read with the new length until they age out; rescore to be exact.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from math import isfinite
from typing import Any

from scorer import caps, once
from scorer.credits import Contribution
from scorer.decay import value_at
from scorer.dedupe import contains, digest, remember
from scorer.events import ScoringEvent
from scorer.fit import evaluate
from scorer.ledger import book, demote, restamp, result, score_at, set_traits
from scorer.limits import RECENT_CREDITS
from scorer.matching import path_of
from scorer.outputs import StageChange, Update
from scorer.rules import Rule, Rules, Trigger
from scorer.stages import RANK, higher_of, stage_for
from scorer.state import LeadState


def _deltas(s: LeadState, rule: Rule, props: Mapping[str, Any], t: float, h: float) -> list[Any]:
    """(credit time, points) pairs of a capped or once_per rule; updates its bookkeeping."""
    if rule.cap is not None:
        windows, deltas = caps.credit(s.caps.get(rule.id), rule.points, rule.cap, t, s.t_ref)
        if deltas and windows is not None:
            s.caps = {**s.caps, rule.id: windows}
        return deltas
    key = once.key_of(props, rule.once_per)
    if key is None:
        return []
    keys, deltas = once.credit(s.once.get(rule.id, {}), key, rule.points, t, s.t_ref, h)
    if keys is not None:
        s.once = {**s.once, rule.id: keys}
    return deltas


def _apply_rules(
    s: LeadState, event: ScoringEvent, props: Mapping[str, Any], rules: Rules
) -> list[Contribution]:
    """The credits of every matching rule, in file order (not yet booked)."""
    t, eid, traits = event.at, event.event_id, s.traits
    added: list[Contribution] = []
    by_type = rules.rules_by_type
    for rule in by_type.get(event.type) or by_type.get("*", ()):
        if not rule.matches(props):
            continue
        if rule.matches_traits is not None and not rule.matches_traits(traits):
            continue
        if rule.cap is None and not rule.once_per:
            added.append(Contribution(rule.id, rule.points, eid, t))
            continue
        for when, points in _deltas(s, rule, props, t, rules.half_life):
            added.append(Contribution(rule.id, points, eid, when, when != t))
    return added


def _counted(s: LeadState, trigger: Trigger, t: float) -> bool:
    """Record a matching event for a counting trigger; True if the count is reached."""
    if trigger.count <= 1 or trigger.within is None:
        return True
    count, before = trigger.count, s.counters.get(trigger.id, ())
    times = (*before, t) if not before or t >= before[-1] else tuple(sorted((*before, t)))
    window_start = t - trigger.within
    if t == times[-1]:  # in order: only the latest `count` times can be in the window
        reached = len(times) >= count and times[-count] > window_start
    else:
        reached = bisect_right(times, t) - bisect_right(times, window_start) >= count
    recent = times[-count:]
    cutoff = times[-1] - trigger.within  # older times can never count again
    s.counters = {**s.counters, trigger.id: recent[bisect_right(recent, cutoff) :]}
    return reached


def _fire_triggers(
    s: LeadState, event: ScoringEvent, props: Mapping[str, Any], rules: Rules
) -> tuple[list[Contribution], Trigger | None]:
    """Raise the score to the highest fired trigger's threshold at the event's time."""
    fired: Trigger | None = None
    by_type = rules.triggers_by_type
    for trigger in by_type.get(event.type) or by_type.get("*", ()):
        if not trigger.matches(props) or not _counted(s, trigger, event.at):
            continue
        if trigger.matches_traits is not None and not trigger.matches_traits(s.traits):
            continue
        if fired is None or RANK[trigger.raise_to] > RANK[fired.raise_to]:
            fired = trigger
    if fired is None:
        return [], None
    boost = rules.threshold(fired.raise_to) - score_at(s, event.at, rules)
    if boost <= 0:
        return [], fired
    boosts = [Contribution(fired.id, boost, event.event_id, event.at)]
    book(s, boosts, rules)
    return boosts, fired


def _properties(event: ScoringEvent, rules: Rules) -> Mapping[str, Any]:
    """Event properties plus `path`, derived from `url` when a condition needs it."""
    props = event.properties
    if event.type in rules.path_types and "path" not in props:
        url = props.get("url")
        if isinstance(url, str):
            return {**props, "path": path_of(url)}
    return props


def _tipping_rule(added: list[Contribution], up: bool) -> str | None:
    credits = [c for c in added if (c.points > 0) == up]
    if not credits:
        return None
    return max(credits, key=lambda c: abs(c.points)).rule_id


def apply_event(state: LeadState, event: ScoringEvent, rules: Rules) -> Update:
    """The lead's state after `event`. A repeated event_id changes nothing (duplicate=True)."""
    key = digest(event.event_id)
    if contains(state.seen, key):
        return Update(
            state, state.score_ref, state.stage, state.t_ref, state.fit_grade, (), None, True
        )
    t = event.at
    if not isfinite(t):
        raise ValueError(f"event {event.event_id!r} has no usable time: {t!r}")
    s = state.copy()
    if s.version != rules.version:
        restamp(s, rules)
    changes: list[StageChange] = []
    if t > s.t_ref:  # decay to the event's time first, so credits at t add at face value
        if s.stage != "cold":
            changes = demote(s, t, rules)
        s.score_ref, s.t_ref = value_at(s.score_ref, s.t_ref, t, rules.half_life), t
    if event.traits:
        set_traits(s, event.traits, rules)
    props = _properties(event, rules)
    added = _apply_rules(s, event, props, rules)
    if added:
        book(s, added, rules)
    boosts, fired = _fire_triggers(s, event, props, rules)
    added += boosts
    s.seen = remember(s.seen, key, t, s.t_ref)
    if added:
        s.recent = (*s.recent, *added)[-RECENT_CREDITS:]
    stage = stage_for(s.score_ref, s.stage, rules)
    if fired is not None:
        stage = higher_of(stage, fired.raise_to)
    if stage != s.stage:
        up = RANK[stage] > RANK[s.stage]
        by_trigger = fired is not None and up and stage == fired.raise_to
        cause, rule_id = ("trigger", fired.id) if by_trigger and fired else ("event", None)
        rule_id = rule_id or _tipping_rule(added, up)
        changes.append(
            StageChange(s.stage, stage, s.score_ref, s.t_ref, cause, event.event_id, rule_id)
        )
        s.stage = stage
    return result(s, s.t_ref, added, changes, rules)


def update_traits(state: LeadState, traits: Mapping[str, Any], at: float, rules: Rules) -> Update:
    """Merge CRM outcomes or identify traits (None removes one) and re-grade fit.

    Traits do not score and do not fire triggers (those need an event); decay
    demotions due by `at` are applied. The Update is as of max(at, t_ref).
    """
    s = state.copy()
    if s.version != rules.version:
        restamp(s, rules)
    when = max(at, s.t_ref)
    changes = demote(s, when, rules)
    set_traits(s, traits, rules)
    return result(s, when, [], changes, rules)


def advance(state: LeadState, now: float, rules: Rules) -> Update:
    """Apply decay demotions due by `now` (the stream layer calls it at next_crossing).

    Each change carries its exact crossing time and cause "decay"; if several stages
    are crossed by `now`, `changes` lists them all in order and `change` is the last.
    The stored (score_ref, t_ref) is unchanged: decay needs no bookkeeping.
    """
    s = state.copy()
    if s.version != rules.version:
        restamp(s, rules)
    changes = demote(s, now, rules)
    return result(s, now, [], changes, rules)


def rescore(events: Iterable[ScoringEvent], rules: Rules) -> tuple[LeadState, list[Update]]:
    """Recompute a lead from its history under `rules`, in event-time order.

    Sorting is stable, so events with equal times keep their given order. Scores do
    not depend on the order anyway; triggers and stage changes do, and event-time order
    is what live processing would have seen without delays.
    """
    state = LeadState(version=rules.version, half_life=rules.half_life)
    state.fit_points, state.fit_grade = evaluate(state.traits, rules)
    updates: list[Update] = []
    for event in sorted(events, key=lambda e: e.at):
        update = apply_event(state, event, rules)
        updates.append(update)
        state = update.state
    return state, updates
