"""Bounded state: applied ids pruned by event time, a typical lead stays under 2 KB."""

import gc
import json
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from scorer_rulebook import DAY, SPEC, T0, event, view

from scorer import (
    LeadState,
    apply_event,
    load_rules,
    new_state,
    parse_rules,
    state_from_dict,
    state_to_dict,
)
from scorer.dedupe import Seen, contains, count, digest, remember
from scorer.limits import DEDUPE_BUCKET, DEDUPE_IDS, DEDUPE_PRUNE_AT

BASE_RULES = """
version = "v1"
[decay]
half_life = "14d"
[stages]
warm = 25
hot = 60
hysteresis = 5
[[rule]]
id = "any-page"
event = "page_view"
points = 1
"""
RULES = parse_rules(BASE_RULES)


def test_ids_are_kept_while_under_the_count_limit_however_old() -> None:
    state = apply_event(new_state(), view("old", T0), RULES).state
    for i in range(50):
        state = apply_event(state, view(f"n{i}", T0 + 365 * DAY + i), RULES).state
    assert apply_event(state, view("old", T0), RULES).duplicate


def test_pruning_keeps_the_newest_ids_and_the_last_seven_days() -> None:
    seen: Seen = {}
    for i in range(DEDUPE_PRUNE_AT - 1):
        seen = remember(seen, digest(f"old{i}"), T0 - 30 * DAY + i * 60, T0)
    for i in range(5):
        seen = remember(seen, digest(f"recent{i}"), T0 - 6 * DAY, T0)
    assert DEDUPE_IDS <= count(seen) < DEDUPE_PRUNE_AT
    assert all(contains(seen, digest(f"recent{i}")) for i in range(5))
    assert not contains(seen, digest("old0"))  # the earliest applied go first
    assert contains(seen, digest(f"old{DEDUPE_PRUNE_AT - 2}"))


def test_ids_of_the_last_week_are_never_pruned_even_beyond_the_count() -> None:
    seen: Seen = {}
    for i in range(DEDUPE_PRUNE_AT + 10):
        seen = remember(seen, digest(f"id{i}"), T0 - 3 * DAY + i, T0)
    assert count(seen) == DEDUPE_PRUNE_AT + 10


def test_a_hit_only_counts_at_a_digest_boundary() -> None:
    a, b = digest("a"), digest("b")
    seen: Seen = {1: a + b}
    assert contains(seen, a) and contains(seen, b)
    assert not contains(seen, (a + b)[5:16])


def test_a_lead_with_fifty_events_serializes_compactly() -> None:
    """Default rules, UUID ids, millisecond times, ten days of mixed activity."""
    rules = load_rules(Path(__file__).resolve().parents[3] / "deploy" / "rules.toml")
    state = new_state()
    for i in range(50):
        event_id = f"0f8fad5b-d9cb-469f-a165-{i:012d}"
        at = T0 + i * 4.8 * 3600.123
        if i % 5 == 4:
            e = event(event_id, "email_open", at, campaign_id="c-17")
        elif i % 7 == 6:
            e = event(event_id, "video_progress", at, video_id=f"v{i % 3}", percent=100)
        else:
            path = ["/", "/pricing", "/product/a", "/blog/x"][i % 4]
            e = view(event_id, at, path, dwell_ms=1000 * i)
        state = apply_event(state, e, rules).state
    assert len(json.dumps(state_to_dict(state))) <= 2048


def test_applied_ids_through_apply_event_match_remember_across_pruning() -> None:
    """The engine keeps ids as a map plus a shared log; the whole must equal remember's map."""
    state, seen = new_state(), {}
    for i in range(DEDUPE_PRUNE_AT + 300):
        at = T0 + i * 300 - (3 * DAY if i % 11 == 0 else 0)  # some late, into older weeks
        update = apply_event(state, view(f"id{i}", at), RULES)
        seen = remember(seen, digest(f"id{i}"), at, update.state.t_ref)
        state = update.state
        if i % 997 == 0 or i == DEDUPE_PRUNE_AT - 1:
            assert state.seen == seen
    assert state.seen == seen and count(seen) < DEDUPE_PRUNE_AT
    assert apply_event(state, view(f"id{DEDUPE_PRUNE_AT + 299}", T0), RULES).duplicate


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 80))
def test_applied_ids_match_remember_with_retries_weeks_and_round_trips(
    seed: int, steps: int
) -> None:
    """Each state's ids, whatever its path (retries from older states, so logs branch; weeks
    that change and come back; stored round trips), are remember's map of its own history."""
    rng = random.Random(seed)
    history: list[tuple[LeadState, Seen, list[str]]] = [(new_state(), {}, [])]
    clock = T0
    for i in range(steps):
        state, seen, ids = history[-1]
        roll = rng.random()
        if roll < 0.15 and len(history) > 1:  # a retry from an older state
            newest = history[-1][2]
            state, seen, ids = history[rng.randrange(len(history) - 1)]
            later = [e for e in newest if e not in ids]  # in the log, after this state's view
            if later:
                assert not apply_event(state, view(later[-1], clock), RULES).duplicate
        elif roll < 0.25:
            state = state_from_dict(state_to_dict(state))
        if ids and rng.random() < 0.2:  # a redelivered id of this state's own history
            assert apply_event(state, view(rng.choice(ids), clock), RULES).duplicate
        clock += rng.choice([60.0, 3_600.0, 2 * DAY, 6 * DAY])
        at = clock - (rng.choice([DAY, 8 * DAY]) if rng.random() < 0.2 else 0.0)
        eid = f"id{i}"
        update = apply_event(state, view(eid, at), RULES)
        assert not update.duplicate
        seen = remember(seen, digest(eid), at, update.state.t_ref)
        history.append((update.state, seen, [*ids, eid]))
    for state, seen, ids in history:
        assert state.seen == seen
        for eid in ids[-3:]:
            assert apply_event(state, view(eid, clock), RULES).duplicate


def test_the_id_log_appends_in_place_from_its_newest_state_and_branches_otherwise() -> None:
    from scorer.dedupe import append, logged
    from scorer.dedupe import view as ids_view

    week = DEDUPE_BUCKET  # event times in weeks 1 and 2
    log = append(None, 0, "a", week)
    assert append(log, 1, "b", week + 60) is log  # the newest state's view: in place
    branch = append(log, 1, "c", 2 * week)  # an older view (one entry): a copy of it, then "c"
    assert branch is not log
    assert logged(log, 2, "b") and not logged(log, 1, "b") and not logged(log, 2, "c")
    assert logged(branch, 2, "c") and not logged(branch, 2, "b") and logged(branch, 2, "a")
    assert ids_view({}, branch, 2) == {1: digest("a"), 2: digest("c")}
    assert ids_view({}, log, 2) == {1: digest("a") + digest("b")}


def test_an_id_is_looked_up_and_added_with_one_dict_operation_from_the_newest_state() -> None:
    from scorer.dedupe import append, claimed, logged, unclaim

    log = append(append(None, 0, "a", DEDUPE_BUCKET), 1, "b", DEDUPE_BUCKET)
    assert claimed(log, 2, "a") == -1  # a repeat, from the newest state
    assert claimed(log, 1, "b") == 0 and claimed(log, 1, "a") == -1  # an older state's view
    assert claimed(None, 0, "a") == 0
    assert claimed(log, 2, "c") == 1 and logged(log, 3, "c")  # added in place as entry 2...
    # ...so the state that saw 2 entries is no longer the newest: nothing is added for it
    assert claimed(log, 2, "d") == 0 and claimed(log, 2, "c") == 0 and not logged(log, 4, "d")
    unclaim(log, "c")  # taken back: the newest again, without "c"
    assert not logged(log, 3, "c") and claimed(log, 2, "d") == 1
    assert append(log, 2, "d", 2 * DEDUPE_BUCKET, added=True) is log
    assert logged(log, 3, "d") and log.runs == [0, 1, 2, 2]


def test_an_id_added_in_place_is_taken_back_when_the_event_is_a_loaded_repeat_or_unusable() -> None:
    loaded = state_from_dict(state_to_dict(apply_event(new_state(), view("a", T0), RULES).state))
    state = apply_event(loaded, view("b", T0 + 60), RULES).state  # the newest of its id log
    log = state.id_log
    assert apply_event(state, view("a", T0 + 120), RULES).duplicate  # among the loaded ids
    try:
        apply_event(state, view("c", float("nan")), RULES)
        raise AssertionError("a NaN time was applied")
    except ValueError:
        pass
    after = apply_event(state, view("c", T0 + 180), RULES).state
    assert after.id_log is log  # still the newest: neither id was left in the log
    assert not apply_event(state, view("a2", T0 + 180), RULES).duplicate
    assert apply_event(after, view("c", T0 + 240), RULES).duplicate
    assert count(after.seen) == 3 and contains(after.seen, digest("c"))


def test_the_logs_a_state_keeps_are_not_traversed_by_the_cyclic_collector() -> None:
    """A full pass of the collector visits each item of every tracked list (untracked.py)."""
    rules = parse_rules(SPEC)
    state = older = new_state()
    for i in range(40):  # ten days: the id log has runs of more than one week
        state = apply_event(state, view(f"e{i}", T0 + i * 6 * 3600, "/pricing"), rules).state
        if i == 30:
            older = state
    branched = apply_event(older, view("x", T0 + 31 * 6 * 3600), rules).state  # logs branched
    assert branched.credit_log is not state.credit_log and branched.id_log is not state.id_log
    for s in (state, branched):
        assert s.credit_log is not None and s.count_log is not None and s.id_log is not None
        assert s.credited and s.counted and len(s.id_log.runs) >= 4
        assert not gc.is_tracked(s.credit_log.items)
        assert not gc.is_tracked(s.count_log.items)
        assert not gc.is_tracked(s.id_log.runs)
    assert gc.is_tracked([]) and gc.is_tracked(list(state.credit_log.items))  # the check works
