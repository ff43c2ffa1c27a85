"""Bounded pure caches of what is derived from text.

The same few texts come back in event after event (a site's page urls, a campaign's videos
and papers), and what the engine derives from them costs far more than a dict lookup. A
memo is cleared whole when full: no eviction order to keep up per hit, and texts that never
repeat (urls with per-visitor query strings) cost one slot each until the next clear.
"""

from typing import Final, Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """str -> V, holding at most `size` entries. Keys must be exact str (not a subclass,
    which could hash or compare differently); callers check that where it can happen."""

    def __init__(self, size: int) -> None:
        self.size: Final = size
        self.held: Final[dict[str, V]] = {}

    def get(self, key: str) -> V | None:
        return self.held.get(key)

    def keep(self, key: str, value: V) -> V:
        """Hold `value` under `key` (clearing a full memo first) and return it."""
        held = self.held
        if len(held) >= self.size:
            held.clear()
        held[key] = value
        return value
