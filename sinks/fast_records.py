"""Native record decoding for kafka-python's consumer.

kafka-python 3.0.12 decodes record batches in pure Python (`_read_msg`, varints, one
`DefaultRecord` per message): about 10 us of CPU per ~650-byte event here, more than all of
the sink's own per-event work, which made the consumer the sink's bound (bench/RESULTS.md,
Sink). aiokafka (installed with Faust) ships a Cython decoder for the same v2 record format.
`install(consumer)` makes one consumer decode its v2 batches' records with it; everything
else stays kafka-python's: fetching, positions, the batch-level checks (CRC-32C of each batch,
control batches, aborted transactions under read_committed, leader epochs), group membership
and rebalances. Legacy (v0/v1) message sets keep kafka-python's own path.

It replaces one method of one kafka-python class (`Fetcher.PartitionRecords._unpack_records`),
on one consumer's fetcher only; when that class, or aiokafka's C decoder, is not what this was
written against, `install` leaves the consumer as it is and says so (returns False).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Final

import kafka
from kafka.consumer.fetcher import ConsumerRecord, Fetcher
from kafka.errors import CorruptRecordError
from kafka.protocol.consumer import IsolationLevel

log = logging.getLogger("leadscore.sink")

try:
    from aiokafka.record._crecords import DefaultRecordBatch as _NativeBatch
except ImportError:  # aiokafka absent or built without its extensions
    _NativeBatch = None

_Base: Any = getattr(Fetcher, "PartitionRecords", None)
# The kafka-python release whose `_unpack_records` this mirrors. Another one leaves the stock
# decoding in place (and tests/integration/sinks/test_fast_records.py fails until this is
# checked against it).
WRITTEN_FOR: Final = "3.0."


def available() -> bool:
    return (
        _NativeBatch is not None
        and kafka.__version__.startswith(WRITTEN_FOR)
        and isinstance(_Base, type)
        and callable(getattr(_Base, "_unpack_records", None))
        and callable(getattr(_Base, "_consume_aborted_transactions_up_to", None))
    )


NativePartitionRecords: Any = None

if available():

    class NativePartitionRecords(_Base):  # type: ignore[no-redef]
        """kafka-python's PartitionRecords, its per-record loop run by aiokafka's decoder.
        The batch-level logic is kafka-python 3.0.12's `_unpack_records`, unchanged."""

        def _unpack_records(  # noqa: C901 - mirrors kafka-python's method, branch for branch
            self, tp: Any, records: Any, key_deserializer: Any, value_deserializer: Any
        ) -> Iterator[ConsumerRecord]:
            try:
                batch = records.next_batch()
                last_batch = None
                while batch is not None:
                    last_batch = batch
                    if self.check_crcs and not batch.validate_crc():
                        raise CorruptRecordError(
                            f"Record batch for partition {self.topic_partition} at offset "
                            f"{batch.base_offset} failed crc check"
                        )
                    if batch.magic != 2:
                        # Legacy message set: kafka-python's own path, one batch at a time.
                        yield from self._legacy(tp, batch, key_deserializer, value_deserializer)
                        batch = records.next_batch()
                        continue
                    self.leader_epoch = batch.leader_epoch
                    if (
                        self.isolation_level == IsolationLevel.READ_COMMITTED
                        and batch.has_producer_id()
                    ):
                        self._consume_aborted_transactions_up_to(batch.last_offset)
                        producer_id = batch.producer_id
                        if self._contains_abort_marker(batch):
                            self.aborted_producer_ids.discard(producer_id)
                        elif self._is_batch_aborted(batch):
                            self.next_fetch_offset = batch.next_offset
                            batch = records.next_batch()
                            continue
                    if batch.is_control_batch:
                        self.next_fetch_offset = batch.next_offset
                        batch = records.next_batch()
                        continue
                    # The batch's bytes as fetched (kafka-python decompresses only when its
                    # own records are iterated, which they are not here).
                    native = _NativeBatch(bytes(batch._buffer))
                    topic, partition, epoch = tp.topic, tp.partition, self.leader_epoch
                    plain = key_deserializer is None and value_deserializer is None
                    size = batch.size_in_bytes
                    count = 0
                    for record in native:
                        key, value, headers = record.key, record.value, record.headers
                        key_size = -1 if key is None else len(key)
                        value_size = -1 if value is None else len(value)
                        header_size = (
                            sum(len(k.encode()) + (0 if v is None else len(v)) for k, v in headers)
                            if headers
                            else -1
                        )
                        if not plain:
                            key = self._deserialize(key_deserializer, topic, headers, key)
                            value = self._deserialize(value_deserializer, topic, headers, value)
                        offset = record.offset
                        count += 1
                        self.next_fetch_offset = offset + 1
                        yield ConsumerRecord(
                            topic, partition, epoch, offset, record.timestamp,
                            record.timestamp_type, key, value, headers, None,
                            key_size, value_size, header_size,
                        )  # fmt: skip
                    # Metrics only: kafka-python counts each record's size; the batch's is
                    # the same bytes plus its header.
                    self.records_read += count
                    self.bytes_read += size
                    batch = records.next_batch()
                else:
                    if last_batch is not None and last_batch.magic == 2:
                        self.next_fetch_offset = last_batch.next_offset
                    self.drain()
            except StopIteration as exc:
                # As kafka-python: a StopIteration inside a generator would end it silently.
                raise RuntimeError("StopIteration raised unpacking messageset") from exc

        def _legacy(
            self, tp: Any, batch: Any, key_deserializer: Any, value_deserializer: Any
        ) -> Iterator[ConsumerRecord]:
            """A legacy (v0/v1) message set, record by record as kafka-python does it."""
            for record in batch:
                if self.check_crcs and not record.validate_crc():
                    raise CorruptRecordError(
                        f"Record for partition {self.topic_partition} at offset "
                        f"{record.offset} failed crc check"
                    )
                key, value, headers = record.key, record.value, record.headers
                key_size = -1 if key is None else len(key)
                value_size = -1 if value is None else len(value)
                key = self._deserialize(key_deserializer, tp.topic, headers, key)
                value = self._deserialize(value_deserializer, tp.topic, headers, value)
                self.records_read += 1
                self.bytes_read += record.size_in_bytes
                self.next_fetch_offset = record.offset + 1
                yield ConsumerRecord(
                    tp.topic, tp.partition, self.leader_epoch, record.offset, record.timestamp,
                    record.timestamp_type, key, value, headers, record.checksum,
                    key_size, value_size, -1,
                )  # fmt: skip


def crc32c_in_c() -> bool:
    """Whether kafka-python checks CRC-32C with the `crc32c` C package (~0.1 us per record)
    rather than its pure-Python fallback (~170 us per 650-byte record)."""
    from kafka.record import util

    return getattr(util, "crc32c_c", None) is not None


def install(consumer: Any) -> bool:
    """Make `consumer` (a KafkaConsumer) decode v2 records natively. True when installed."""
    fetcher = getattr(consumer, "_fetcher", None)
    if NativePartitionRecords is None or fetcher is None:
        log.warning("event=native_records_unavailable")
        return False
    fetcher.PartitionRecords = NativePartitionRecords
    return True
