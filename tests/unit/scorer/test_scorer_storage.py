"""Stored layout, states written by the previous layout, and the hot path's shortcuts."""

import base64
import hashlib
import json
from typing import Any

from scorer_rulebook import BASE, DAY, SPEC, T0, H, event, view

from scorer import (
    Contribution,
    LeadState,
    ScoringEvent,
    Update,
    apply_event,
    new_state,
    parse_rules,
    rescore,
    state_from_dict,
    state_to_dict,
)
from scorer.credits import credit
from scorer.matching import compile_where
from scorer.outputs import update
from scorer.state import NO_CLOSED, windows_of

RULES = parse_rules(SPEC)


def _old_digest(event_id: str) -> str:
    raw = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    return base64.b64encode(raw).decode()[:11]


def test_a_state_in_the_previous_layout_still_loads() -> None:
    """11-character id digests under "d", cap windows keyed by strings under "c"."""
    old = {
        "v": "v1",
        "st": "cold",
        "s": 11.0,
        "t": T0,
        "h": 14 * DAY,
        "r": {"any-page": 1.0, "pricing": 10.0},
        "d": {str(int(T0 // (7 * DAY))): _old_digest("a") + _old_digest("b")},
        "c": {"pricing": [None, {str(int(T0 // DAY)): [60_000, 0]}]},
        "x": [["b", T0, "any-page", 1.0, "pricing", 5.0]],
    }
    state = state_from_dict(json.loads(json.dumps(old)))
    assert windows_of(state.caps["pricing"]) == (None, {int(T0 // DAY): (T0 - 60, T0)})
    assert apply_event(state, view("a", T0, "/pricing"), RULES).duplicate
    assert apply_event(state, view("b", T0, "/pricing"), RULES).duplicate
    fresh = apply_event(state, view("c", T0 + 1, "/pricing"), RULES)
    assert not fresh.duplicate  # the window is full: only any-page credits it
    assert [(c.rule_id, c.points) for c in fresh.contributions] == [("any-page", 1.0)]
    assert state_from_dict(state_to_dict(state)).caps == state.caps


def test_a_state_with_displaced_credits_round_trips_exactly() -> None:
    events = [view(f"v{i}", T0 + i * 3600, "/pricing") for i in range(4)]
    state, _ = rescore(events, RULES)
    state = apply_event(state, view("late", T0 - 60, "/pricing"), RULES).state
    assert any(c.displaced for c in state.recent)
    stored = json.loads(json.dumps(state_to_dict(state)))
    copy = state_from_dict(stored)
    assert state_to_dict(copy) == stored
    assert sorted(copy.recent, key=repr) == sorted(state.recent, key=repr)
    assert (copy.caps, copy.counters, copy.seen) == (state.caps, state.counters, state.seen)


def test_the_positional_constructors_build_ordinary_objects() -> None:
    assert credit("r", 2.0, "e", T0, True) == Contribution("r", 2.0, "e", T0, True)
    state = new_state()
    built = update(state, 1.0, "warm", T0, "B", (), None, False, ())
    assert built == Update(state, 1.0, "warm", T0, "B", (), None, False)
    assert repr(built) == repr(Update(state, 1.0, "warm", T0, "B", (), None, False))


def test_alternating_rules_objects_each_score_by_their_own_rules() -> None:
    """Compiled dispatch is cached per rules object; another object must not reuse it."""
    richer = parse_rules(SPEC.replace("points = 30", "points = 50"))
    for _ in range(3):
        assert apply_event(new_state(), event("f", "form_submit", T0), RULES).score == 30.0
        assert apply_event(new_state(), event("f", "form_submit", T0), richer).score == 50.0


def test_single_conditions_keep_strict_types() -> None:
    assert not compile_where({"dwell_ms": {"gte": 1}})({"dwell_ms": True})
    assert compile_where({"dwell_ms": {"gte": 1}})({"dwell_ms": 1.5})
    assert not compile_where({"dwell_ms": {"gte": 1}})({"dwell_ms": "5"})
    assert not compile_where({"machine": {"exists": True}})({"machine": None})
    assert compile_where({"machine": {"exists": False}})({})
    assert compile_where({"email": "*@acme.test"})({"email": "a@acme.test"})
    assert not compile_where({"email": "*@acme.test"})({"email": 5})
    assert not compile_where({"plan": "pro"})({"plan": ["pro"]})
    assert not compile_where({"path": "/p*"})({"path": None})


def test_applied_ids_round_trip_and_partial_digests_are_refused() -> None:
    state = apply_event(new_state(), view("a", T0), RULES).state
    stored = json.loads(json.dumps(state_to_dict(state)))
    week, joined = stored["i"]
    assert len(joined) == 8 and state_from_dict(stored).seen == state.seen
    for bad in (joined[:5], joined + "!", 17):
        try:
            state_from_dict({**stored, "i": [week, bad]})
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_cap_windows_held_by_slot_read_and_store_as_the_dict_they_stand_for() -> None:
    """A step holds cap windows by slot (LeadState.cap_slots); `caps` reads them back as
    the rule -> windows dict, and rows of a rule the rules no longer cap (changed under the
    same version) are kept as they were, not dropped or moved to another rule."""
    gone = (NO_CLOSED, float(int(T0 // DAY)), 1.0, T0 - 60)
    state = LeadState(RULES.version, t_ref=T0 - 60, half_life=H, caps={"gone": gone})
    first = apply_event(state, view("a", T0, "/pricing"), RULES).state
    assert (state.caps, state.cap_ids) == ({"gone": gone}, ())  # the input is unchanged
    assert first.cap_ids[:1] == ("pricing",) and first.caps["gone"] == gone
    second = apply_event(first, view("b", T0 + 60, "/pricing"), RULES).state
    assert windows_of(second.caps["pricing"]) == (None, {int(T0 // DAY): (T0, T0 + 60)})
    assert windows_of(first.caps["pricing"]) == (None, {int(T0 // DAY): (T0,)})
    assert second.caps["gone"] == gone
    full = apply_event(second, view("c", T0 + 120, "/pricing"), RULES)
    assert [c.rule_id for c in full.contributions] == ["any-page"]  # the window is full
    stored = state_from_dict(json.loads(json.dumps(state_to_dict(second))))
    assert (stored.cap_ids, stored.caps) == ((), second.caps)
    second.caps = {}
    assert (second.caps, second.cap_ids, second.cap_rows) == ({}, (), ())


def test_path_conditions_answered_from_the_plans_memo_match_as_checked_one_by_one() -> None:
    """Rules whose only conditions are on the path are answered per path from a memo of the
    event type's plan; a rule that also reads another property, an event that carries its
    own `path` and another rules object are each still decided by their own conditions."""
    rules = parse_rules(
        BASE
        + """
[[rule]]
id = "docs"
event = "page_view"
where = { path = "/docs*" }
points = 1
[[rule]]
id = "api-docs"
event = "page_view"
where = { path = { in = ["/docs/api*", "/api*"] } }
points = 2
[[rule]]
id = "long-docs"
event = "page_view"
where = { path = "/docs*", dwell_ms = { gte = 30000 } }
points = 4
"""
    )
    other = parse_rules(
        BASE + '[[rule]]\nid = "api"\nevent = "page_view"\nwhere = { path = "/api*" }\npoints = 8\n'
    )

    def credited(by: Any, path: str, **props: Any) -> list[str]:
        update = apply_event(new_state(), view("e", T0, path, **props), by)
        return [c.rule_id for c in update.contributions]

    for _ in range(2):  # the second round reads the memo
        assert credited(rules, "/docs/api/v1?x=1") == ["docs", "api-docs"]
        assert credited(rules, "/docs/intro", dwell_ms=40_000) == ["docs", "long-docs"]
        assert credited(rules, "/api/keys#top") == ["api-docs"]
        assert credited(rules, "/pricing") == []
        assert credited(other, "/api/keys") == ["api"]
        assert credited(other, "/docs/api") == []
    own_path = ScoringEvent("p", "page_view", T0, {"url": "https://a.test/x", "path": "/docs"})
    assert [c.rule_id for c in apply_event(new_state(), own_path, rules).contributions] == ["docs"]
