"""The scoring agent's logic, command by command, without a broker."""

from __future__ import annotations

from typing import Any

import pytest

from scorer import parse_rules, state_from_dict
from streams import commands
from streams.conversion import decoded, outcome_traits
from streams.profile import CHANGE, RECENT_CHANGES, SCORE, Step, step

RULES = parse_rules("""
version = "step-test"
[decay]
half_life = "1h"
[stages]
warm = 2
hot = 5
[[rule]]
id = "page"
event = "page_view"
points = 3
[[trigger]]
id = "dormant"
event = "*"
where_traits = { customer_status = "dormant" }
raise_to = "hot"
""")
T0 = 1_793_000_000.0


def event(n: int, at: float = T0) -> dict[str, Any]:
    from schemas.timestamps import format_epoch

    return commands.event_command(
        {
            "event_id": f"00000000-0000-4000-8000-{n:012d}",
            "type": "page_view",
            "occurred_at": format_epoch(at),
            "properties": {"url": "/x"},
            "traits": {},
        }
    )


def run(
    profile: str, entry: dict[str, Any] | None, *cmds: dict[str, Any], now: float = T0
) -> tuple[dict[str, Any] | None, list[Step]]:
    steps = []
    for cmd in cmds:
        result = step(profile, entry, cmd, RULES, now)
        steps.append(result)
        entry = result.entry if result.entry is not None else entry
    return entry, steps


def kinds(s: Step) -> list[str]:
    return [kind for kind, _ in s.emit]


def test_an_event_emits_its_score_and_the_stage_change_it_caused() -> None:
    entry, (first, second) = run("L", None, event(1), event(2, T0 + 1))
    assert kinds(first) == [SCORE, CHANGE] and kinds(second) == [SCORE, CHANGE]
    change = second.emit[1][1]
    assert (change["from_stage"], change["to_stage"], change["cause"]) == ("warm", "hot", "event")
    assert change["rules_version"] == "step-test" and len(change["change_id"]) == 64
    assert entry is not None and state_from_dict(entry["state"]).stage == "hot"
    assert second.reschedule and second.crossing is not None and second.crossing > T0


def test_a_redelivered_event_changes_nothing_and_re_emits_what_it_caused() -> None:
    entry, (first, again) = run("L", None, event(1), event(1))
    assert again.entry is None  # the table is left alone
    assert again.emit == first.emit  # same score and change: consumers dedupe by change_id


def test_a_redelivered_older_event_re_emits_only_its_changes() -> None:
    _, steps = run("L", None, event(1), event(2, T0 + 1), event(3, T0 + 2), event(1))
    assert kinds(steps[-1]) == [CHANGE]  # its cold -> warm change; not the stale score


def test_merge_moves_the_anonymous_state_to_the_lead_exactly() -> None:
    anon, _ = run("anon:a", None, event(1), event(2, T0 + 1))
    stub, (out,) = run("anon:a", anon, commands.merge_out("L"))
    assert stub == {"merged_into": "L"}
    ((target, absorb),) = out.forward
    assert target == "L" and absorb["kind"] == commands.ABSORB
    lead, (merged,) = run("L", None, absorb)
    assert [m["cause"] for k, m in merged.emit if k == CHANGE] == ["merge"]
    assert merged.emit[0][1]["score"] == pytest.approx(3 * 2 ** (-1 / 3600) + 3)
    assert merged.emit[0][1]["identified"]
    # A straggler for the merged profile is forwarded, not scored.
    _, (straggler,) = run("anon:a", stub, event(9))
    assert straggler.forward == [("L", event(9))] and straggler.entry is None


def test_a_tick_demotes_at_the_crossing_time() -> None:
    entry, (hot, _) = run("L", None, event(1), event(2))
    due = step("L", entry, commands.tick(0), RULES, T0).crossing
    assert due is not None
    _, (tick,) = run("L", entry, commands.tick(due), now=due + 0.1)
    changes = [m for k, m in tick.emit if k == CHANGE]
    assert [(c["to_stage"], c["cause"]) for c in changes] == [("warm", "decay")]
    from streams.conversion import epoch

    assert abs(epoch(changes[0]["at"]) - due) < 0.001


def test_a_tick_before_the_crossing_emits_nothing() -> None:
    entry, _ = run("L", None, event(1), event(2))
    _, (tick,) = run("L", entry, commands.tick(T0), now=T0 + 1)
    assert tick.emit == [] and tick.entry is not None


def test_crm_outcomes_become_traits_rules_can_use() -> None:
    traits, at = outcome_traits(
        {
            "lead_id": "L",
            "outcome": "lost",
            "traits": {"customer_status": "dormant"},
            "at": "2026-10-27T00:00:00Z",
        },
        now=0,
    )
    assert traits == {"last_outcome": "lost", "customer_status": "dormant"}
    entry, (updated, hot) = run("L", None, commands.traits(traits, at), event(1, at + 60))
    assert state_from_dict(updated.entry["state"]).traits["customer_status"] == "dormant"
    assert [(m["to_stage"], m["cause"]) for k, m in hot.emit if k == CHANGE] == [("hot", "trigger")]
    assert outcome_traits({"lead_id": "L", "outcome": "won"}, now=5.0) == (
        {"last_outcome": "won", "customer_status": "customer"},
        5.0,
    )


def test_recent_changes_stay_bounded() -> None:
    entry: dict[str, Any] | None = None
    for i in range(40):  # up and down: warm, hot, ... every few events
        entry, _ = run("L", entry, event(i, T0 + i * 1_800))
    assert entry is not None and len(entry["recent"]) <= RECENT_CHANGES


def test_undecodable_and_unknown_commands_are_skipped() -> None:
    assert step("L", None, {"kind": commands.EVENT, "event": {"type": "x"}}, RULES, T0) == Step()
    assert step("L", None, {"kind": "teleport"}, RULES, T0) == Step()


def test_a_value_that_is_not_a_json_object_is_skipped_with_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert decoded(b'{"kind": "event"}', "command") == {"kind": "event"}
    for raw in (b"not json", b"[1, 2]", None):
        assert decoded(raw, "event") is None
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 3
