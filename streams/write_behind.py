"""Profile table values held in memory from one commit to the next, then written once.

Writing a profile's value on every event cost the worker a `state_to_dict`, a JSON
encoding, a store write and ~1.3 KB of changelog per event, ~20% of its CPU on a backlog
(bench/RESULTS.md, Worker). Kafka Streams' record cache does what this does: the latest
value of each profile applied since the last commit stays here (its state unserialized),
and all of them are written to the table, store and changelog, just before Faust commits
offsets (streams/outbox.py `OutboxProducer`), before the schedule is rebuilt, when more
than `limit` profiles are held, and when the worker stops. A lead's events between two
commits then cost one serialization and one changelog record.

Nothing is lost: a value not yet written belongs to events whose offsets are not yet
committed, so after a crash they are delivered again and applied to the value the
changelog holds, as the worker always did for a crash between a write and a commit.
Readers of a profile (the agents) look here before the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

# Profiles held at most; past it every held value is written at once.
HELD_PROFILES: Final = 10_000

Write = Callable[[str, dict[str, Any]], None]


class WriteBehind:
    def __init__(self, write: Write, limit: int = HELD_PROFILES) -> None:
        """`write(profile, value)` writes one value to the table."""
        self._write, self._limit = write, limit
        self._held: dict[str, dict[str, Any]] = {}

    def get(self, profile: str) -> dict[str, Any] | None:
        """The profile's value applied since the last write, if any."""
        return self._held.get(profile)

    def put(self, profile: str, value: dict[str, Any]) -> None:
        self._held[profile] = value
        if len(self._held) > self._limit:
            self.write_all()

    def write_all(self) -> None:
        held, self._held = self._held, {}
        for profile, value in held.items():
            self._write(profile, value)

    def __len__(self) -> int:
        return len(self._held)


__all__ = ["HELD_PROFILES", "WriteBehind"]
