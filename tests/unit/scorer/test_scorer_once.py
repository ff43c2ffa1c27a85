"""once_per: once per distinct property tuple per lead, credited at the earliest time."""

import pytest
from scorer_rulebook import SPEC, T0, H, event

from scorer import ScoringEvent, apply_event, new_state, parse_rules, rescore

RULES = parse_rules(SPEC)


def watched(event_id: str, at: float, video: str | None, percent: int = 60) -> ScoringEvent:
    props = {"percent": percent} if video is None else {"percent": percent, "video_id": video}
    return event(event_id, "video_progress", at, **props)


def test_counts_once_per_video() -> None:
    history = [watched("a", T0, "v1"), watched("b", T0 + 60, "v1"), watched("c", T0 + 90, "v2")]
    _, updates = rescore(history, RULES)
    assert [sum(c.points for c in u.contributions) for u in updates] == [3, 0, 3]


def test_below_the_threshold_or_without_the_key_does_not_count() -> None:
    _, updates = rescore(
        [watched("a", T0, "v1", percent=40), watched("b", T0, None)],
        RULES,
    )
    assert all(u.contributions == () for u in updates)


def test_a_late_earlier_view_moves_the_credit_to_the_earlier_time() -> None:
    state = apply_event(new_state(), watched("late-seen", T0 + H, "v1"), RULES).state
    update = apply_event(state, watched("early", T0, "v1"), RULES)
    assert [(c.points, c.at, c.displaced) for c in update.contributions] == [
        (3.0, T0, False),
        (-3.0, T0 + H, True),
    ]
    assert update.score == pytest.approx(1.5, rel=1e-12)


def test_key_digests_come_out_the_same_from_the_cache_and_past_its_bound() -> None:
    import base64
    import hashlib

    from scorer.once import key_of

    def expected(text: str) -> str:
        digest = hashlib.blake2b(text.encode(), digest_size=6).digest()
        return base64.urlsafe_b64encode(digest).decode()

    for _ in range(2):  # the second round reads the cache (or refills it past its bound)
        for i in range(5_000):
            assert key_of({"video_id": f"v{i}", "n": i}, ("video_id", "n")) == expected(
                f"str:v{i}\x1fint:{i}"
            )
    assert key_of({"video_id": "v1"}, ("video_id", "n")) is None

    class Label(str):
        pass

    # one name (its own shortcut): the same text as the general case
    for value in ["v1", "", 7, True, 2.5, Label("v1"), ["a"]]:
        text = f"{type(value).__name__}:{value}"
        assert key_of({"video_id": value}, ["video_id"]) == expected(text)
    assert key_of({"asset_id": "a"}, ["video_id"]) is None
