"""Which partition of `scoring-input` owns a profile.

A lead's profile is keyed by its lead id, and the collector keys a lead's events by the
same id; an anonymous profile (`anon:<id>`) is placed by the device id alone, as its
events are keyed. So every profile lives in the partition number its own events arrive
in, and the worker reading them can often apply them in place (streams/app.py).
Kafka's default partitioner: leadscore/partitioning.py, which the collector uses too.
"""

from __future__ import annotations

from functools import lru_cache

from leadscore.partitioning import key_hash
from streams.commands import ANON_PREFIX


@lru_cache(maxsize=65_536)  # called for every event; the slicing and encoding cost ~2 us
def partition_of(profile: str, partitions: int) -> int:
    key = profile[len(ANON_PREFIX) :] if profile.startswith(ANON_PREFIX) else profile
    return key_hash(key.encode()) % partitions
