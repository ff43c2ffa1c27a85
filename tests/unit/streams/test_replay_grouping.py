from scorer import parse_rules
from streams.replay import profiles_of, replay_messages

RULES = parse_rules("""
version = "r2"
[decay]
half_life = "1d"
[stages]
warm = 2
hot = 5
[[rule]]
id = "page"
event = "page_view"
points = 3
""")


def event(
    n: int, at: str, anon: str | None = None, lead: str | None = None, kind: str = "page_view"
) -> dict[str, object]:
    return {
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "type": kind,
        "anonymous_id": anon,
        "lead_id": lead,
        "occurred_at": at,
        "properties": {"url": "/x"},
        "traits": {},
    }


def test_anonymous_history_counts_for_the_lead_it_identified_as() -> None:
    history = [
        event(1, "2026-11-01T10:00:00Z", anon="a"),
        event(2, "2026-11-01T10:05:00Z", anon="a", lead="L", kind="identify"),
        event(3, "2026-11-01T10:06:00Z", anon="b"),
    ]
    grouped = profiles_of(history)
    assert sorted(grouped) == ["L", "anon:b"]
    assert [e["event_id"] for e in grouped["L"]] == [history[0]["event_id"], history[1]["event_id"]]


def test_replay_outputs_go_to_replay_topics_tagged_with_the_version() -> None:
    history = [
        event(1, "2026-11-01T10:00:00Z", lead="L"),
        event(2, "2026-11-01T10:01:00Z", lead="L"),
    ]
    now = 1_793_000_000.0  # 2026-10-26: before the events, so no decay demotion is due yet
    out = list(replay_messages(history, RULES, now))
    assert {topic for topic, _, _ in out} == {"lead-scores-replay", "lead-stage-changes-replay"}
    assert all(value["rules_version"] == "r2" for _, _, value in out)
    changes = [v for t, _, v in out if t == "lead-stage-changes-replay"]
    assert [(c["from_stage"], c["to_stage"]) for c in changes] == [
        ("cold", "warm"),
        ("warm", "hot"),
    ]
    scores = [v for t, _, v in out if t == "lead-scores-replay"]
    assert [s["event_id"] for s in scores] == [history[0]["event_id"], history[1]["event_id"]]
