"""The worker process's cyclic garbage collector settings.

Almost everything the worker allocates per event is freed by reference counting; the
cyclic collector only finds work in its long-lived objects. Yet at CPython's default
threshold (a young-generation pass every 700 net allocations) a pass ran every ~220
events and cost ~1.6 ms each here: ~10 us per event, 3% of the worker's CPU
(bench/RESULTS.md, Worker). At 10,000 a pass runs every few thousand events, ~1 us per
event. Freezing what exists at start-up (modules, classes, the app) takes it out of every
later full pass.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 10_000


def tune_gc() -> None:
    """Call once the process is set up, just before it starts processing."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


__all__ = ["YOUNG_THRESHOLD", "tune_gc"]
