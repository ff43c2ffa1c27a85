"""A Faust table whose changelog is written through the worker's outbox.

Faust sends each table write with `send_soon`: a future-message, its producer buffer, a
background task and a sensor call per value, about as much as the send itself. The
changelog is the same either way: key and value as JSON (the table's serializers; Faust's
JSON codec is orjson in the worker), in the partition of the event being processed, so
recovery reads it as Faust wrote it (tests/unit/streams/test_tables.py). Acknowledged
batches advance the store's persisted offset as Faust's own callback does, so a RocksDB
store resumes recovery from there.
"""

from __future__ import annotations

from typing import Any

import faust
import orjson
from aiokafka.structs import TopicPartition

from streams.outbox import Outbox


class OutboxTable(faust.Table):  # type: ignore[misc]
    """For JSON keys and values; no TTL, windows or per-key sensors."""

    outbox: Outbox
    changelog: str

    def use_outbox(self, outbox: Outbox) -> None:
        self.outbox, self.changelog = outbox, self.changelog_topic.get_topic_name()
        outbox.on_stored(self.changelog, self._stored)

    def on_key_set(self, key: Any, value: Any) -> None:
        tp = TopicPartition(self.changelog, self.partition_for_key(key))
        self.outbox.add(tp, orjson.dumps(key), orjson.dumps(value))

    def on_key_del(self, key: Any) -> None:
        raise NotImplementedError("profiles are never deleted, only replaced")

    def _stored(self, partition: int, offset: int) -> None:
        self.data.set_persisted_offset(TopicPartition(self.changelog, partition), offset)


__all__ = ["OutboxTable"]
