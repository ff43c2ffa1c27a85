"""Properties: arrival order never changes the score; duplicates never count; state stays small."""

import json
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from scorer_rulebook import DAY, SPEC, T0

from scorer import (
    Rules,
    ScoringEvent,
    apply_event,
    explain,
    merge,
    new_state,
    parse_rules,
    score_at,
    state_from_dict,
    state_to_dict,
)

# The spec's rules without triggers (those are evaluated as events arrive, by design).
RULES = parse_rules(SPEC[: SPEC.index("[[trigger]]")])
PATHS = ["/", "/pricing", "/pricing/x", "/careers", "/docs"]


UNCAPPED = parse_rules(
    SPEC[: SPEC.index("[[trigger]]")].replace('cap = { points = 10, per = "1d" }', "")
)


@st.composite
def histories(draw: st.DrawFn, span: float = 1.9 * DAY) -> list[ScoringEvent]:
    """Up to 30 page views and video events; by default within the 2-day cap lateness."""
    n = draw(st.integers(1, 30))
    events = []
    for i in range(n):
        at = T0 + draw(st.floats(0, span, allow_nan=False))
        if draw(st.booleans()):
            path = draw(st.sampled_from(PATHS))
            dwell = draw(st.integers(0, 60000))
            props = {"url": f"https://a.test{path}", "dwell_ms": dwell}
            events.append(ScoringEvent(f"e{i}", "page_view", at, props))
        else:
            video = draw(st.sampled_from(["v1", "v2", "v3"]))
            percent = draw(st.sampled_from([25, 50, 100]))
            props2 = {"video_id": video, "percent": percent}
            events.append(ScoringEvent(f"e{i}", "video_progress", at, props2))
    return events


def final_score(events: list[ScoringEvent], t: float, rules: Rules = RULES) -> float:
    state = new_state()
    for e in events:
        state = apply_event(state, e, rules).state
    return score_at(state, t, rules)


def close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.integers(0, 5))
def test_any_permutation_gives_the_same_score(
    events: list[ScoringEvent], rng: random.Random, repeats: int
) -> None:
    t = T0 + 3 * DAY
    expected = final_score(sorted(events, key=lambda e: e.at), t)
    shuffled = events + [rng.choice(events) for _ in range(repeats)]  # with redeliveries
    rng.shuffle(shuffled)
    scale = sum(10.0 for _ in events)
    assert close(final_score(shuffled, t), expected, scale)


@settings(max_examples=200, deadline=None)
@given(histories(span=200 * DAY), st.randoms(use_true_random=False))
def test_order_independence_over_months_without_caps(
    events: list[ScoringEvent], rng: random.Random
) -> None:
    t = T0 + 300 * DAY
    expected = final_score(events, t, UNCAPPED)
    rng.shuffle(events)
    assert close(final_score(events, t, UNCAPPED), expected, 10.0 * len(events))


@settings(max_examples=100, deadline=None)
@given(histories())
def test_json_round_trips_mid_stream_do_not_change_the_score(events: list[ScoringEvent]) -> None:
    t = T0 + 3 * DAY
    state = new_state()
    for e in events:
        stored = json.loads(json.dumps(state_to_dict(state)))
        state = apply_event(state_from_dict(stored), e, RULES).state
    assert close(score_at(state, t, RULES), final_score(events, t), 10.0 * len(events))


@settings(max_examples=200, deadline=None)
@given(histories(), st.lists(st.booleans(), min_size=30, max_size=30))
def test_merging_a_split_history_equals_seeing_it_whole(
    events: list[ScoringEvent], sides: list[bool]
) -> None:
    t = T0 + 3 * DAY
    lead, other = new_state(), new_state()
    for e, side in zip(events, sides, strict=False):
        if side:
            lead = apply_event(lead, e, RULES).state
        else:
            other = apply_event(other, e, RULES).state
    merged = merge(lead, other, RULES).state
    assert close(score_at(merged, t, RULES), final_score(events, t), 10.0 * len(events))


@settings(max_examples=100, deadline=None)
@given(histories())
def test_explanations_always_add_up(events: list[ScoringEvent]) -> None:
    state = new_state()
    for e in events:
        state = apply_event(state, e, RULES).state
    breakdown = explain(state, T0 + 5 * DAY, RULES)
    total = sum(r.value for r in breakdown.rules)
    assert close(total, breakdown.score, 10.0 * len(events))
