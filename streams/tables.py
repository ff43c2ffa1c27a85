"""A Faust table whose changelog is written through the worker's outbox, once per commit.

Faust sends each table write with `send_soon`: a future-message, its producer buffer, a
background task and a sensor call per value, about as much as the send itself. Here the
store is written at once, as Faust does, but a key's changelog record waits for the next
offset commit: the outbox asks for it just before the flush that precedes every commit
and the worker's stop (streams/outbox.py). So the records still reach the broker before
the offsets of the events behind them are committed, and a key set several times between
two commits costs one record, the latest value, which is all that compaction keeps.

Values may be objects that are not JSON (the worker's profile values hold the scorer's
`LeadState`): `encode` turns a value into its JSON form. An in-memory store keeps the
value as it is, and it is encoded only when its record is written; any other store
(RocksDB) serializes what it is given, so it gets the encoded value at once.

The changelog is what Faust itself would write: key and value as JSON (the table's
serializers; Faust's JSON codec is orjson in the worker), in the partition of the key's
event, so recovery reads it as Faust wrote it (tests/unit/streams/test_tables.py).
Acknowledged batches advance the store's persisted offset as Faust's own callback does,
so a RocksDB store resumes recovery from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import faust
import orjson
from aiokafka.structs import TopicPartition
from faust.stores.memory import Store as MemoryStore

from streams.outbox import Outbox

# Keys waiting for a commit at most; past it they are all written at once.
PENDING_KEYS: Final = 20_000

Encode = Callable[[Any, Any], Any]  # (key, value) -> the value as JSON types


def as_is(key: Any, value: Any) -> Any:
    return value


class OutboxTable(faust.Table):  # type: ignore[misc]
    """For JSON keys and values; no TTL, windows or per-key sensors."""

    outbox: Outbox
    changelog: str
    pending_keys: int = PENDING_KEYS

    def use_outbox(self, outbox: Outbox, encode: Encode = as_is) -> None:
        self.outbox, self.changelog = outbox, self.changelog_topic.get_topic_name()
        self.encode = encode
        self._keeps_objects = isinstance(self.data, MemoryStore)
        # key -> (partition, latest value); first set, first written
        self._pending: dict[Any, tuple[int, Any]] = {}
        outbox.on_stored(self.changelog, self._stored)
        outbox.on_commit(self.write_pending)

    def __setitem__(self, key: Any, value: Any) -> None:
        if not self._keeps_objects:
            value = self.encode(key, value)
        self.on_key_set(key, value)
        self.data[key] = value

    def on_key_set(self, key: Any, value: Any) -> None:
        pending = self._pending
        pending[key] = (self.partition_for_key(key), value)
        if len(pending) > self.pending_keys:
            self.write_pending()

    def write_pending(self) -> None:
        """Add the latest value of every key set since the last call to the outbox."""
        pending, self._pending = self._pending, {}
        add, changelog, encode, dumps = self.outbox.add, self.changelog, self.encode, orjson.dumps
        for key, (partition, value) in pending.items():
            add(TopicPartition(changelog, partition), dumps(key), dumps(encode(key, value)))

    def on_key_del(self, key: Any) -> None:
        raise NotImplementedError("profiles are never deleted, only replaced")

    def _stored(self, partition: int, offset: int) -> None:
        self.data.set_persisted_offset(TopicPartition(self.changelog, partition), offset)


__all__ = ["PENDING_KEYS", "Encode", "OutboxTable", "as_is"]
