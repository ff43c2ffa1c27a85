"""merge: the lead ends up exactly as if it had seen the other profile's events itself."""

import pytest
from scorer_rulebook import DAY, SPEC, T0, event, identify, view

from scorer import (
    ScoringEvent,
    apply_event,
    explain,
    merge,
    new_state,
    parse_rules,
    rescore,
    score_at,
)
from scorer.dedupe import ids
from scorer.state import LeadState, windows_of

RULES = parse_rules(SPEC)


def lead_history() -> list[ScoringEvent]:
    return [
        view("l1", T0, "/pricing"),
        view("l2", T0 + 3600, "/pricing"),
        event("l3", "video_progress", T0 + 7200, video_id="v1", percent=80),
        identify("l4", T0 + 8000, title="CTO"),
    ]


def anonymous_history() -> list[ScoringEvent]:
    return [
        view("a1", T0 - 1800, "/pricing"),  # earlier than the lead's: displaces l2's credit
        event("a2", "video_progress", T0 - 60, video_id="v1", percent=90),  # earlier key
        view("a3", T0 + DAY, "/careers"),
        identify("a4", T0 - 100, title="Intern", employees=800),
    ]


def _windows(state: LeadState) -> dict[str, object]:
    return {rule: windows_of(flat) for rule, flat in state.caps.items()}


def test_merge_equals_seeing_all_events() -> None:
    lead, _ = rescore(lead_history(), RULES)
    anon, _ = rescore(anonymous_history(), RULES)
    merged = merge(lead, anon, RULES)
    together, _ = rescore(lead_history() + anonymous_history(), RULES)
    t = T0 + 2 * DAY
    assert score_at(merged.state, t, RULES) == pytest.approx(
        score_at(together, t, RULES), rel=1e-12
    )
    # Cap windows compared as (closed, {window: times}): their order in the flat form may differ.
    assert _windows(merged.state) == _windows(together)
    assert merged.state.once == together.once
    assert ids(merged.state.seen) == ids(together.seen)
    displaced = [c for c in merged.contributions if c.displaced]
    assert sorted((c.rule_id, c.points) for c in displaced) == [
        ("pricing", -5.0),
        ("video-half", -3.0),
    ]


def test_traits_of_the_lead_win_and_fit_is_regraded() -> None:
    lead, _ = rescore(lead_history(), RULES)
    anon, _ = rescore(anonymous_history(), RULES)
    merged = merge(lead, anon, RULES).state
    assert merged.traits == {"title": "CTO", "employees": 800}
    assert (merged.fit_points, merged.fit_grade) == (45.0, "A")


def test_merged_ids_are_duplicates_afterwards() -> None:
    lead, _ = rescore(lead_history(), RULES)
    anon, _ = rescore(anonymous_history(), RULES)
    merged = merge(lead, anon, RULES).state
    assert apply_event(merged, view("a1", T0 - 1800, "/pricing"), RULES).duplicate


def test_merge_can_change_the_stage_with_cause_merge() -> None:
    lead = rescore([event("f1", "form_submit", T0)], RULES)[0]
    other = rescore([event("f2", "form_submit", T0)], RULES)[0]
    update = merge(lead, other, RULES)
    assert update.change is not None
    assert (update.change.from_stage, update.change.to_stage, update.change.cause) == (
        "warm",
        "hot",
        "merge",
    )
    assert update.score == 60.0


def test_merge_keeps_the_explanation_consistent() -> None:
    lead, _ = rescore(lead_history(), RULES)
    anon, _ = rescore(anonymous_history(), RULES)
    merged = merge(lead, anon, RULES).state
    t = T0 + 3 * DAY
    breakdown = explain(merged, t, RULES)
    assert sum(r.value for r in breakdown.rules) == pytest.approx(breakdown.score, rel=1e-9)


def test_merge_does_not_touch_its_inputs() -> None:
    lead, _ = rescore(lead_history(), RULES)
    anon, _ = rescore(anonymous_history(), RULES)
    before = (lead.score_ref, dict(lead.sums), dict(lead.caps), anon.score_ref)
    merge(lead, anon, RULES)
    assert before == (lead.score_ref, lead.sums, lead.caps, anon.score_ref)
    assert merge(new_state(), new_state(), RULES).score == 0.0


def test_merging_leads_whose_cap_windows_were_all_dropped() -> None:
    """A days-late capped event can leave a rule with no window held, only the last closed
    one; merging two such leads used to fail (min() of no windows) instead of merging."""

    def late_pricing(prefix: str) -> LeadState:
        state = apply_event(new_state(), view(f"{prefix}1", T0 + 10 * DAY), RULES).state
        return apply_event(state, view(f"{prefix}2", T0 + 5 * DAY, "/pricing"), RULES).state

    a, b = late_pricing("a"), late_pricing("b")
    assert windows_of(a.caps["pricing"])[1] == {} and windows_of(b.caps["pricing"])[1] == {}
    merged = merge(a, b, RULES)
    assert merged.score == pytest.approx(a.score_ref + b.score_ref, rel=1e-12)
    assert windows_of(merged.state.caps["pricing"])[1] == {}
