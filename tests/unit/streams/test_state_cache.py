"""The worker's cache of decoded states: reused only while the table holds what it wrote."""

from __future__ import annotations

import random
from typing import Any

import pytest

from schemas.timestamps import format_epoch
from scorer import apply_event, load_rules, new_state, state_from_dict, state_to_dict
from streams import commands
from streams.conversion import scoring_event
from streams.profile import step
from streams.state_cache import StateCache
from tests.unit.streams.test_profile_step import RULES, T0, event

DEFAULT_RULES = load_rules("deploy/rules.toml")


def test_the_state_written_is_handed_back_while_the_table_holds_an_equal_dict() -> None:
    cache = StateCache()
    state = apply_event(new_state(), scoring_event(event(1)["event"]), RULES).state
    stored = state_to_dict(state)
    cache.remember("lead-1", stored, state)
    assert cache.decoded("lead-1", stored) is state
    assert cache.decoded("lead-1", dict(stored)) is state  # as a RocksDB store reads it back


def test_any_other_dict_is_decoded() -> None:
    cache = StateCache()
    first = apply_event(new_state(), scoring_event(event(1)["event"]), RULES).state
    cache.remember("lead-1", state_to_dict(first), first)
    second = apply_event(first, scoring_event(event(2, T0 + 60)["event"]), RULES).state
    recovered = state_to_dict(second)  # e.g. written by another worker
    decoded = cache.decoded("lead-1", recovered)
    assert decoded is not first and state_to_dict(decoded) == recovered
    assert state_to_dict(cache.decoded("lead-2", recovered)) == recovered


def test_the_least_recently_applied_profile_is_dropped_first() -> None:
    cache = StateCache(size=2)
    state = new_state()
    stored = state_to_dict(state)
    for profile in ("a", "b", "a", "c"):
        cache.remember(profile, stored, state)
    assert len(cache) == 2
    assert cache.decoded("a", stored) is state and cache.decoded("c", stored) is state
    assert cache.decoded("b", stored) is not state


def _history(rng: random.Random) -> list[dict[str, Any]]:
    """Page views, downloads and video progress of three leads over two days, some late,
    some delivered twice, with decay ticks between them."""
    cmds: list[dict[str, Any]] = []
    for n in range(600):
        at = T0 + n * 300 - rng.choice([0, 0, 0, 90, 4_000])
        kind = rng.choice(["page_view", "page_view", "download", "video_progress"])
        props = {
            "page_view": {"url": rng.choice(["/", "/pricing", "/careers", "/docs"]),
                          "dwell_ms": rng.randint(0, 60_000)},
            "download": {"url": "/a.pdf"},
            "video_progress": {"video_id": rng.choice("xyz"), "percent": rng.choice([25, 50])},
        }[kind]
        raw = {"event_id": f"e-{n}", "type": kind, "occurred_at": format_epoch(at),
               "properties": props, "traits": {}}
        cmds.append(commands.event_command(raw))
        if rng.random() < 0.1:
            cmds.append(commands.event_command(raw))
        if rng.random() < 0.1:
            cmds.append(commands.tick(at + 3_600))
    return cmds


@pytest.mark.parametrize("rules", [RULES, DEFAULT_RULES], ids=["step-test", "default"])
def test_steps_with_the_cache_emit_what_steps_without_it_emit(rules: Any) -> None:
    cache = StateCache(size=2)  # three leads: hits, misses and evictions
    rng = random.Random(7)
    plain: dict[str, Any] = {}
    cached: dict[str, Any] = {}
    for cmd in _history(rng):
        lead = rng.choice(["l1", "l2", "l3"])
        now = T0
        a = step(lead, plain.get(lead), cmd, rules, now)
        b = step(lead, cached.get(lead), cmd, rules, now, cache)
        assert b.emit == a.emit
        assert (b.crossing, b.reschedule) == (a.crossing, a.reschedule)
        if a.entry is not None:
            plain[lead] = a.entry
            cached[lead] = b.entry
            # Only the per-rule explanation sums may differ: written to nine decimals, they
            # round once per event without the cache, once per write with it.
            (entry_a, sums_a), (entry_b, sums_b) = _without_sums(a.entry), _without_sums(b.entry)
            assert entry_b == entry_a
            assert sums_b == pytest.approx(sums_a, abs=1e-7)
    assert {k: state_from_dict(v["state"]).score_ref for k, v in cached.items()} == {
        k: state_from_dict(v["state"]).score_ref for k, v in plain.items()
    }


def _without_sums(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    state = dict(entry["state"])
    sums = state.pop("r", {})
    return {**entry, "state": state}, sums
