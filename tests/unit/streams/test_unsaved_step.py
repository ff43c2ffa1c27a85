"""Profile values kept unserialized in the store until their commit: the same outputs and
changelog as serializing every step."""

from __future__ import annotations

import random
from typing import Any

import pytest

from scorer import LeadState
from streams.profile import saved, step
from streams.state_cache import StateCache
from tests.unit.streams.test_profile_step import RULES, T0
from tests.unit.streams.test_state_cache import DEFAULT_RULES, _history, _without_sums


def test_saved_serializes_a_state_once_and_remembers_it() -> None:
    cache = StateCache()
    result = step("l1", None, _history(random.Random(1))[0], RULES, T0, serialize=False)
    assert result.entry is not None and isinstance(result.entry["state"], LeadState)
    stored = saved("l1", result.entry, cache)
    assert isinstance(stored["state"], dict)
    assert cache.decoded("l1", stored["state"]) is result.entry["state"]
    assert saved("l1", stored, cache) is stored  # already serialized: as it is


@pytest.mark.parametrize("rules", [RULES, DEFAULT_RULES], ids=["step-test", "default"])
def test_unserialized_values_between_commits_change_no_output_and_no_written_value(
    rules: Any,
) -> None:
    rng = random.Random(11)
    plain: dict[str, Any] = {}
    store: dict[str, Any] = {}  # an in-memory store: values as the worker set them
    pending: set[str] = set()
    changelog: dict[str, Any] = {}
    cache = StateCache(size=2)

    def commit() -> None:
        for lead in pending:
            changelog[lead] = saved(lead, store[lead], cache)
        pending.clear()

    for cmd in _history(rng):
        lead = rng.choice(["l1", "l2", "l3"])
        a = step(lead, plain.get(lead), cmd, rules, T0)
        b = step(lead, store.get(lead), cmd, rules, T0, cache, serialize=False)
        assert b.emit == a.emit and b.forward == a.forward
        assert (b.crossing, b.reschedule) == (a.crossing, a.reschedule)
        if a.entry is not None:
            assert b.entry is not None
            plain[lead], store[lead] = a.entry, b.entry
            pending.add(lead)
        if rng.random() < 0.05:
            commit()
            if rng.random() < 0.3:  # a restart: the store recovered from the changelog
                store = dict(changelog)
    commit()
    assert changelog.keys() == plain.keys()
    for lead, value in plain.items():
        # The per-rule explanation sums round once per write rather than once per event.
        (mine, my_sums), (theirs, their_sums) = _without_sums(changelog[lead]), _without_sums(value)
        assert mine == theirs
        assert my_sums == pytest.approx(their_sums, abs=1e-7)
