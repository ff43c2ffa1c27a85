"""Profile values held until the commit: the same outputs and table as writing every step."""

from __future__ import annotations

import random
from typing import Any

import pytest

from scorer import LeadState
from streams.profile import saved, step, unsaved_step
from streams.state_cache import StateCache
from streams.write_behind import WriteBehind
from tests.unit.streams.test_profile_step import RULES, T0
from tests.unit.streams.test_state_cache import DEFAULT_RULES, _history, _without_sums


class Table:
    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.writes: list[str] = []

    def write(self, profile: str, value: dict[str, Any]) -> None:
        self.values[profile] = value
        self.writes.append(profile)


def test_nothing_is_written_until_write_all_and_then_each_profile_once() -> None:
    table = Table()
    held = WriteBehind(table.write)
    held.put("a", {"n": 1})
    held.put("b", {"n": 1})
    held.put("a", {"n": 2})
    assert table.writes == [] and held.get("a") == {"n": 2} and held.get("c") is None
    held.write_all()
    assert table.values == {"a": {"n": 2}, "b": {"n": 1}} and sorted(table.writes) == ["a", "b"]
    assert len(held) == 0 and held.get("a") is None


def test_past_the_limit_every_held_value_is_written() -> None:
    table = Table()
    held = WriteBehind(table.write, limit=2)
    held.put("a", {})
    held.put("b", {})
    assert table.writes == []
    held.put("c", {})
    assert sorted(table.writes) == ["a", "b", "c"] and len(held) == 0


def test_saved_serializes_a_held_state_once_and_remembers_it() -> None:
    cache = StateCache()
    result = unsaved_step("l1", None, _history(random.Random(1))[0], RULES, T0)
    assert result.entry is not None and isinstance(result.entry["state"], LeadState)
    stored = saved("l1", result.entry, cache)
    assert isinstance(stored["state"], dict)
    assert cache.decoded("l1", stored["state"]) is result.entry["state"]
    assert saved("l1", stored, cache) is stored  # already serialized: as it is


@pytest.mark.parametrize("rules", [RULES, DEFAULT_RULES], ids=["step-test", "default"])
def test_holding_values_between_commits_changes_no_output_and_no_written_value(
    rules: Any,
) -> None:
    rng = random.Random(11)
    plain: dict[str, Any] = {}
    table = Table()
    cache = StateCache(size=2)
    held = WriteBehind(lambda p, value: table.write(p, saved(p, value, cache)), limit=2)
    for cmd in _history(rng):
        lead = rng.choice(["l1", "l2", "l3"])
        a = step(lead, plain.get(lead), cmd, rules, T0)
        b = unsaved_step(lead, held.get(lead) or table.values.get(lead), cmd, rules, T0, cache)
        assert b.emit == a.emit and b.forward == a.forward
        assert (b.crossing, b.reschedule) == (a.crossing, a.reschedule)
        if a.entry is not None:
            assert b.entry is not None
            plain[lead] = a.entry
            held.put(lead, b.entry)
        if rng.random() < 0.05:  # a commit
            held.write_all()
    held.write_all()
    assert table.values.keys() == plain.keys()
    for lead, value in plain.items():
        # The per-rule explanation sums round once per write rather than once per event.
        (mine, my_sums), (theirs, their_sums) = (
            _without_sums(table.values[lead]), _without_sums(value)
        )
        assert mine == theirs
        assert my_sums == pytest.approx(their_sums, abs=1e-7)
