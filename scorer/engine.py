"""Applying events to a lead's state: the pure core the Faust agents call.

Every function takes the state and returns an `Update` holding a new state; the input
state is never modified (the engine copies it and replaces, never mutates, containers).

Time is always a parameter (epoch seconds UTC, event time). The stored score is
(score_ref, t_ref) with t_ref the latest event time seen; a late event is decayed to
t_ref, so the score does not depend on arrival order. Stage changes caused by an event
carry `at` = t_ref after the event (the event's own time unless it arrived late).

Rules versions: a state remembers the version it was last computed under. When
apply_event (or update_traits, advance, merge) sees a state stamped with another version
it keeps the decayed sums as they are (past credits are not re-priced: use `rescore` on
the history for that), re-evaluates fit, stamps the new version, and keeps cap, once_per
and trigger bookkeeping only for ids that still exist in the new rules.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from math import exp2, isfinite
from typing import Any

from scorer import caps, once
from scorer.credits import Contribution
from scorer.decay import add_credit, crossing_time, value_at
from scorer.dedupe import digest, remember
from scorer.events import ScoringEvent
from scorer.fit import evaluate
from scorer.limits import RECENT_CREDITS
from scorer.matching import path_of
from scorer.outputs import StageChange, Update
from scorer.rules import Rule, Rules, Trigger
from scorer.stages import RANK, exit_threshold, higher_of, lower, stage_for
from scorer.state import LeadState


def score_at(state: LeadState, t: float, rules: Rules) -> float:
    """The decayed score at time `t`."""
    return value_at(state.score_ref, state.t_ref, t, rules.half_life)


def next_crossing(state: LeadState, rules: Rules) -> float | None:
    """When decay alone takes the lead out of its stage: t_ref + H * log2(S / theta).

    theta is the stage's exit threshold (threshold minus hysteresis). None for cold
    leads and scores that never reach it. The crossing instant belongs to the lower stage.
    """
    theta = exit_threshold(state.stage, rules)
    if theta is None:
        return None
    return crossing_time(state.score_ref, state.t_ref, theta, rules.half_life)


def _demote(s: LeadState, until: float, rules: Rules) -> list[StageChange]:
    """Decay demotions of `s` (a private copy) up to `until`, each at its crossing time."""
    changes: list[StageChange] = []
    while (when := next_crossing(s, rules)) is not None and when <= until:
        to = lower(s.stage)
        score = score_at(s, when, rules)
        changes.append(StageChange(s.stage, to, score, when, "decay", None, None))
        s.stage = to
    return changes


def _restamp(s: LeadState, rules: Rules) -> None:
    capped = {r.id for r in rules.rules if r.cap is not None}
    keyed = {r.id for r in rules.rules if r.once_per}
    counted = {t.id for t in rules.triggers if t.count > 1}
    s.caps = {k: v for k, v in s.caps.items() if k in capped}
    s.once = {k: v for k, v in s.once.items() if k in keyed}
    s.counters = {k: v for k, v in s.counters.items() if k in counted}
    s.fit_points, s.fit_grade = evaluate(s.traits, rules)
    s.version = rules.version
    s.half_life = rules.half_life


def _set_traits(s: LeadState, traits: Mapping[str, Any], rules: Rules) -> None:
    """Merge traits (a None value removes the trait) and re-grade fit."""
    merged = {**s.traits, **traits}
    s.traits = {k: v for k, v in merged.items() if v is not None}
    s.fit_points, s.fit_grade = evaluate(s.traits, rules)


def _credit(s: LeadState, rule_id: str, points: float, at: float, rules: Rules) -> None:
    """Add one credit to the score and to the rule's sum; s.sums must be a private copy."""
    h = rules.half_life
    s.score_ref, s.t_ref = add_credit(s.score_ref, s.t_ref, points, at, h)
    value, since = s.sums.get(rule_id, (0.0, at))
    s.sums[rule_id] = add_credit(value, since, points, at, h)


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


def _book(s: LeadState, added: list[Contribution], rules: Rules) -> None:
    """Add credits to the score and the per-rule sums; s.t_ref is already >= their times."""
    h, ref, score = rules.half_life, s.t_ref, s.score_ref
    sums = dict(s.sums)
    for c in added:
        score += c.points if c.at == ref else c.points * exp2((c.at - ref) / h)
        entry = sums.get(c.rule_id)
        sums[c.rule_id] = (
            (c.points, c.at) if entry is None else add_credit(*entry, c.points, c.at, h)
        )
    s.score_ref, s.sums = score, sums


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
    _book(s, boosts, rules)
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


def _update(
    s: LeadState, rules: Rules, added: list[Contribution], changes: list[StageChange]
) -> Update:
    last = changes[-1] if changes else None
    return Update(
        s, s.score_ref, s.stage, s.t_ref, s.fit_grade, tuple(added), last, False, tuple(changes)
    )


def apply_event(state: LeadState, event: ScoringEvent, rules: Rules) -> Update:
    """The lead's state after `event`. A repeated event_id changes nothing (duplicate=True)."""
    key = digest(event.event_id)
    if key in state.seen:
        return Update(
            state, state.score_ref, state.stage, state.t_ref, state.fit_grade, (), None, True
        )
    t = event.at
    if not isfinite(t):
        raise ValueError(f"event {event.event_id!r} has no usable time: {t!r}")
    s = state.copy()
    if s.version != rules.version:
        _restamp(s, rules)
    changes: list[StageChange] = []
    if t > s.t_ref:  # decay to the event's time first, so credits at t add at face value
        if s.stage != "cold":
            changes = _demote(s, t, rules)
        s.score_ref, s.t_ref = value_at(s.score_ref, s.t_ref, t, rules.half_life), t
    if event.traits:
        _set_traits(s, event.traits, rules)
    props = _properties(event, rules)
    added = _apply_rules(s, event, props, rules)
    if added:
        _book(s, added, rules)
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
    return _update(s, rules, added, changes)


def update_traits(state: LeadState, traits: Mapping[str, Any], at: float, rules: Rules) -> Update:
    """Merge CRM outcomes or identify traits (None removes one) and re-grade fit.

    Traits do not score and do not fire triggers (those need an event); decay
    demotions due by `at` are applied. The Update is as of max(at, t_ref).
    """
    s = state.copy()
    if s.version != rules.version:
        _restamp(s, rules)
    when = max(at, s.t_ref)
    changes = _demote(s, when, rules)
    _set_traits(s, traits, rules)
    return Update(
        s,
        score_at(s, when, rules),
        s.stage,
        when,
        s.fit_grade,
        (),
        changes[-1] if changes else None,
        False,
        tuple(changes),
    )


def advance(state: LeadState, now: float, rules: Rules) -> Update:
    """Apply decay demotions due by `now` (the stream layer calls it at next_crossing).

    Each change carries its exact crossing time and cause "decay"; if several stages
    are crossed by `now`, `changes` lists them all in order and `change` is the last.
    The stored (score_ref, t_ref) is unchanged: decay needs no bookkeeping.
    """
    s = state.copy()
    if s.version != rules.version:
        _restamp(s, rules)
    changes = _demote(s, now, rules)
    return Update(
        s,
        score_at(s, now, rules),
        s.stage,
        now,
        s.fit_grade,
        (),
        changes[-1] if changes else None,
        False,
        tuple(changes),
    )


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
