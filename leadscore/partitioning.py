"""Kafka's default partitioner hash, shared by the collector (which places events) and the
worker (which must know where a profile's events were placed; streams/routing.py).

murmur2 as in the Java client, kafka-python and aiokafka: a keyed record goes to partition
`key_hash(key) % count` of its topic's sorted partitions.
"""

from __future__ import annotations

from functools import lru_cache

from kafka.partitioner.default import murmur2


@lru_cache(maxsize=65_536)  # a visitor's or a lead's records share a key; murmur2 is pure Python
def key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF
