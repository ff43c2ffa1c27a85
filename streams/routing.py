"""Which partition of `scoring-input` owns a profile.

A lead's profile is keyed by its lead id, and the collector keys a lead's events by the
same id; an anonymous profile (`anon:<id>`) is placed by the device id alone, as its
events are keyed. So every profile lives in the partition number its own events arrive
in, and the worker reading them can often apply them in place (streams/app.py).
Kafka's default partitioner (murmur2, as in the Java client, kafka-python and aiokafka).
"""

from __future__ import annotations

from functools import lru_cache

from kafka.partitioner.default import murmur2

from streams.commands import ANON_PREFIX


# murmur2 is pure Python (~5 us); hot profiles repeat.
@lru_cache(maxsize=65_536)
def partition_of(profile: str, partitions: int) -> int:
    key = profile[len(ANON_PREFIX) :] if profile.startswith(ANON_PREFIX) else profile
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
