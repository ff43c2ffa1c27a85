"""sinks/fast_records.py on batches built in memory: the same records as kafka-python's own
decoding, and a corrupted batch refused by the CRC-32C check (the broker never serves one, so
only here can it be shown)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.consumer.fetcher import Fetcher
from kafka.errors import CorruptRecordError
from kafka.record import MemoryRecords, MemoryRecordsBuilder
from kafka.structs import TopicPartition

from sinks import fast_records

TP = TopicPartition("events-x", 1)


def _buffer(compression: int) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=compression, batch_size=1 << 20)
    for i in range(50):
        headers = [("h", b"%d" % i)] if i % 4 == 0 else []
        key = None if i % 3 == 0 else b"k%d" % i
        builder.append(timestamp=1_700_000_000_000 + i, key=key, value=b"v" * i, headers=headers)
    builder.close()
    return bytes(builder.buffer())


def _decode(
    cls: Any, buffer: bytes, *, check_crcs: bool = True, fetch_offset: int = 0
) -> list[Any]:
    records = cls(fetch_offset, TP, MemoryRecords(buffer), check_crcs=check_crcs)
    out: list[Any] = []
    while records:  # until drained, as the fetcher takes them: a few at a time
        out.extend(records.take(7))
    return out


@pytest.mark.parametrize("compression", [0, 1, 3])  # none, gzip, lz4
def test_same_records_as_kafka_python(compression: int) -> None:
    assert fast_records.available()
    buffer = _buffer(compression)
    stock = _decode(Fetcher.PartitionRecords, buffer)
    native = _decode(fast_records.NativePartitionRecords, buffer)
    assert len(stock) == 50
    assert [tuple(r) for r in native] == [tuple(r) for r in stock]
    # a fetch that starts inside the batch skips what comes before, as kafka-python does
    later = _decode(fast_records.NativePartitionRecords, buffer, fetch_offset=20)
    assert [tuple(r) for r in later] == [tuple(r) for r in stock[20:]]


@pytest.mark.parametrize("compression", [0, 3])
def test_corrupted_batch_is_refused(compression: int) -> None:
    buffer = bytearray(_buffer(compression))
    buffer[-5] ^= 0xFF  # a byte of the last record (or of the compressed block)
    for cls in (Fetcher.PartitionRecords, fast_records.NativePartitionRecords):
        with pytest.raises(CorruptRecordError):
            _decode(cls, bytes(buffer))


def test_install_swaps_one_consumers_decoding_only() -> None:
    class FakeConsumer:
        def __init__(self) -> None:
            self._fetcher = type("F", (), {})()

    consumer = FakeConsumer()
    assert fast_records.install(consumer)
    assert consumer._fetcher.PartitionRecords is fast_records.NativePartitionRecords  # type: ignore[attr-defined]
    assert Fetcher.PartitionRecords is not fast_records.NativePartitionRecords
    assert fast_records.crc32c_in_c()
