"""Merging an identified profile's state into a lead: as if the lead had seen its events.

Decayed sums add exactly once brought to a common reference time; cap windows, once_per
keys, trigger counters and applied ids merge by union, and the cap/once_per rules are
re-applied across the union (credits the union no longer allows are withdrawn as
`displaced` contributions). The two histories are assumed disjoint: an event applied to
both profiles before the merge stays counted twice (its id is remembered once, so it
cannot be counted a third time). Traits of `into` win over `other`'s.
"""

from scorer import caps, once
from scorer.credits import Contribution
from scorer.decay import add_credit, value_at
from scorer.dedupe import union as union_ids
from scorer.ledger import book, demote, restamp, result, set_traits
from scorer.limits import RECENT_CREDITS
from scorer.outputs import StageChange, Update
from scorer.rules import Rules
from scorer.stages import higher_of, stage_for
from scorer.state import LeadState, flat_of, windows_of


def _merge_sums(s: LeadState, other: LeadState, rules: Rules) -> list[Contribution]:
    """Add other's per-rule sums to s.sums; reported as contributions with no event id."""
    h = rules.half_life
    added: list[Contribution] = []
    sums, times = dict(s.sums), dict(s.sum_times)
    for rule_id, value in other.sums.items():
        since = other.sum_times[rule_id]
        mine = sums.get(rule_id)
        if mine is None:
            sums[rule_id], times[rule_id] = value, since
        else:
            sums[rule_id], times[rule_id] = add_credit(mine, times[rule_id], value, since, h)
        added.append(Contribution(rule_id, value, "", since))
    s.sums, s.sum_times = sums, times
    return added


def _reconcile(s: LeadState, other: LeadState, rules: Rules) -> list[Contribution]:
    """Union cap windows and once_per keys, withdrawing what the union no longer allows."""
    h, latest = rules.half_life, s.t_ref
    added: list[Contribution] = []
    s.caps, s.once = dict(s.caps), dict(s.once)
    for rule in rules.rules:
        deltas: list[tuple[float, float]] = []
        if rule.cap is not None and rule.id in other.caps:
            mine = s.caps.get(rule.id)
            merged, deltas = caps.union(
                None if mine is None else windows_of(mine),
                windows_of(other.caps[rule.id]),
                rule.points,
                rule.cap,
                latest,
            )
            if merged is not None:
                s.caps[rule.id] = flat_of(merged)
        elif rule.once_per and rule.id in other.once:
            keys, deltas = once.union(
                s.once.get(rule.id, {}), other.once[rule.id], rule.points, latest, h
            )
            s.once[rule.id] = keys
        added += [Contribution(rule.id, points, "", when, True) for when, points in deltas]
    book(s, added, rules)
    return added


def _merge_counters(s: LeadState, other: LeadState, rules: Rules) -> None:
    counters = dict(s.counters)
    for trigger in rules.triggers:
        if trigger.id in other.counters and trigger.within is not None:
            times = sorted((*counters.get(trigger.id, ()), *other.counters[trigger.id]))
            recent = [x for x in times if x > times[-1] - trigger.within]
            counters[trigger.id] = tuple(recent[-trigger.count :])
    s.counters = counters


def merge(into: LeadState, other: LeadState, rules: Rules) -> Update:
    """`into` as if it had also seen `other`'s events; a stage change has cause "merge"."""
    s, theirs = into.copy(), other.copy()
    for state in (s, theirs):
        if state.version != rules.version:
            restamp(state, rules)
    ref = max(s.t_ref, theirs.t_ref)
    changes = demote(s, ref, rules)
    demote(theirs, ref, rules)
    h = rules.half_life
    s.score_ref = value_at(s.score_ref, s.t_ref, ref, h) + value_at(
        theirs.score_ref, theirs.t_ref, ref, h
    )
    s.t_ref = ref
    added = _merge_sums(s, theirs, rules) + _reconcile(s, theirs, rules)
    _merge_counters(s, theirs, rules)
    s.seen = union_ids(s.seen, theirs.seen, ref)
    set_traits(s, {**theirs.traits, **s.traits}, rules)
    s.recent = tuple(sorted((*s.recent, *theirs.recent), key=lambda c: c.at))[-RECENT_CREDITS:]
    stage = stage_for(s.score_ref, higher_of(s.stage, theirs.stage), rules)
    if stage != s.stage:
        changes.append(StageChange(s.stage, stage, s.score_ref, ref, "merge", None, None))
        s.stage = stage
    return result(s, ref, added, changes, rules)
