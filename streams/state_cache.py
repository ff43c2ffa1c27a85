"""The decoded scorer states of the profiles the worker applied last.

The profile table holds each state as the dict `state_to_dict` wrote; decoding it again
(`state_from_dict`) on the profile's next event cost ~11 us of the worker's ~300 us per
event (bench/RESULTS.md, Worker). This cache keeps, per profile, the dict written and
the state it was written from, and hands that state back while the table still holds
an equal dict: a RocksDB store's values, and an in-memory store's after a recovery (until
its next commit an in-memory store holds the state itself, streams/tables.py). Anything
else (written by another worker, or evicted here) is decoded as before.

A state handed back is the one `apply_event` returned, before the dict's rounding (cap
and counter times in whole milliseconds from t_ref, per-rule explanation sums to nine
decimals); the score itself and t_ref are stored exactly, so scores, stages and crossing
times are the same either way (unless a time sits within a float rounding of a cap or
trigger window's edge, where the decoded millisecond could fall on the other side:
the kept state is then the exact one). States are never modified (the scorer is pure),
so holding one is safe. At most `size` profiles are kept, the least recently applied
dropped first.
"""

from __future__ import annotations

from typing import Any, Final

from scorer import LeadState, state_from_dict

CACHED_PROFILES: Final = 10_000


class StateCache:
    def __init__(self, size: int = CACHED_PROFILES) -> None:
        self._size = size
        self._states: dict[str, tuple[dict[str, Any], LeadState]] = {}

    def decoded(self, profile: str, stored: dict[str, Any]) -> LeadState:
        """The state of `stored`, the profile's table value's state dict."""
        hit = self._states.get(profile)
        if hit is not None and (hit[0] is stored or hit[0] == stored):
            return hit[1]
        return state_from_dict(stored)

    def remember(self, profile: str, stored: dict[str, Any], state: LeadState) -> None:
        """`stored` (= state_to_dict(state)) is the profile's new table value's state."""
        states = self._states
        states.pop(profile, None)  # re-inserted last: the most recently applied
        states[profile] = (stored, state)
        if len(states) > self._size:
            del states[next(iter(states))]

    def __len__(self) -> int:
        return len(self._states)


__all__ = ["CACHED_PROFILES", "StateCache"]
