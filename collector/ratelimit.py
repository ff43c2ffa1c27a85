"""Token buckets per write key and per client IP. In memory, per process: with N
collector processes behind a balancer the effective limit is N times this."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from collector.config import RateLimit

# Enough distinct IPs for a busy hour; the oldest idle buckets go first, so a flood of
# spoofed sources cannot grow memory without bound.
MAX_BUCKETS: Final = 100_000


class TokenBuckets:
    """`take(name)` returns 0 when allowed, else the seconds until a token is there."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = limit.per_second
        self._burst = float(limit.burst)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def take(self, name: str) -> float:
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(name, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self._rate
            self._buckets[name] = (tokens, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        return wait


def retry_after(wait_s: float) -> str:
    """Retry-After is whole seconds; never 0, or clients would hammer."""
    return str(max(1, math.ceil(wait_s)))
