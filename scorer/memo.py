"""Bounded pure caches of what is derived from text.

The same few texts come back in event after event (a site's page urls, a campaign's videos
and papers), and what the engine derives from them costs far more than a dict lookup. A
memo is cleared whole when full: no eviction order to keep up per hit, and texts that never
repeat (urls with per-visitor query strings) cost one slot each until the next clear.
"""

from typing import Final, Generic, TypeVar

V = TypeVar("V")

# Texts are first looked for among the few held of their own length, by comparing them:
# each text comes decoded with its event, a str of its own whose hash a dict lookup
# computes first (~350 instructions for a 50-character url), where telling texts of one
# length apart takes a memory compare or two. A length's first _PER_LENGTH texts are held
# that way; the rest, and texts of _LENGTHS characters or more, go to the dict.
_LENGTHS: Final = 256
_PER_LENGTH: Final = 4


class Memo(Generic[V]):
    """str -> V, holding at most `size` entries. Keys must be exact str (not a subclass,
    which could hash or compare differently); callers check that where it can happen."""

    def __init__(self, size: int) -> None:
        self.size: Final = size
        self.held: Final[dict[str, V]] = {}
        # by length: (key, value) pairs (see _PER_LENGTH), each added whole
        self.by_length: Final[list[list[tuple[str, V]]]] = [[] for _ in range(_LENGTHS)]
        self.count = 0  # entries held, both ways

    def get(self, key: str) -> V | None:
        length = len(key)
        if length < _LENGTHS:
            near = self.by_length[length]
            for pair in near:
                if pair[0] == key:
                    return pair[1]
            if len(near) < _PER_LENGTH:  # every key of this length is among them
                return None
        return self.held.get(key)

    def keep(self, key: str, value: V) -> V:
        """Hold `value` under `key` (clearing a full memo first) and return it.

        `key` must not be held already (callers keep what get() did not find)."""
        if self.count >= self.size:
            self.held.clear()
            for near in self.by_length:
                near.clear()
            self.count = 0
        self.count += 1
        length = len(key)
        if length < _LENGTHS and len(self.by_length[length]) < _PER_LENGTH:
            self.by_length[length].append((key, value))
        else:
            self.held[key] = value
        return value
