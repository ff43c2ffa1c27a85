"""Explanations: per rule, each listed credit decayed; the breakdown sums to the score."""

import pytest
from scorer_rulebook import DAY, SPEC, T0, H, event, view

from scorer import explain, parse_rules, rescore, score_at
from scorer.limits import RECENT_CREDITS

RULES = parse_rules(SPEC)


def test_breakdown_by_rule_sums_to_the_score() -> None:
    history = [view("a", T0, "/pricing", dwell_ms=40000), event("f", "form_submit", T0 + DAY)]
    history += [view("c", T0 + 2 * DAY, "/careers")]
    state, _ = rescore(history, RULES)
    t = T0 + H
    breakdown = explain(state, t, RULES)
    assert breakdown.score == score_at(state, t, RULES)
    assert sum(r.value for r in breakdown.rules) == pytest.approx(breakdown.score, rel=1e-12)
    by_id = {r.rule_id: r for r in breakdown.rules}
    assert set(by_id) == {"any-page", "pricing", "long-read", "form", "careers"}
    assert by_id["form"].value == pytest.approx(30 * 2 ** (-(t - T0 - DAY) / H), rel=1e-12)
    (credit,) = by_id["form"].credits
    assert (credit.event_id, credit.points, credit.at) == ("f", 30.0, T0 + DAY)
    assert credit.value == pytest.approx(by_id["form"].value, rel=1e-12)
    assert breakdown.rules[0].rule_id == "form"  # largest first


def test_old_credits_are_summed_as_earlier() -> None:
    history = [view(f"v{i}", T0 + i * 60, "/blog") for i in range(20)]
    state, _ = rescore(history, RULES)
    (rule,) = explain(state, T0 + DAY, RULES).rules
    assert len(rule.credits) == RECENT_CREDITS
    assert rule.earlier + sum(c.value for c in rule.credits) == pytest.approx(rule.value)
    assert rule.earlier > 0
