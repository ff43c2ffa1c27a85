"""One flush worth of rows, grouped by table, with the Kafka offset ranges they came from."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from kafka.structs import OffsetAndMetadata, TopicPartition

Row = tuple[Any, ...]


class Source(Protocol):
    """A message as read from Kafka (kafka-python's ConsumerRecord has these fields)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class Message(NamedTuple):
    """A Source built by hand (tests, tools)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Sources:
    """The messages behind one table's stage lines, kept for the fallback that parses them in
    Python (sinks/writer.py). Held as parallel lists of plain values (shared TopicPartition,
    int, bytes), not one record object per message: a batch holds up to max_rows of them,
    and that many live ConsumerRecords (GC-tracked namedtuples, each with a headers list) made
    Python's full collections cost ~1 s of the consumer thread per 200,000 events."""

    __slots__ = ("keys", "offsets", "tps", "values")

    def __init__(self) -> None:
        self.tps: list[TopicPartition] = []
        self.offsets: list[int] = []
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []

    def append(self, tp: TopicPartition, source: Source) -> None:
        self.tps.append(tp)
        self.offsets.append(source.offset)
        self.keys.append(source.key)
        self.values.append(source.value)

    def extend(self, other: Sources) -> None:
        self.tps.extend(other.tps)
        self.offsets.extend(other.offsets)
        self.keys.extend(other.keys)
        self.values.extend(other.values)

    def __len__(self) -> int:
        return len(self.offsets)

    def __iter__(self) -> Iterator[Message]:
        for tp, offset, key, value in zip(
            self.tps, self.offsets, self.keys, self.values, strict=True
        ):
            yield Message(tp.topic, tp.partition, offset, key, value)


@dataclass
class Batch:
    started: float | None = None  # monotonic time of the first record, for the time trigger
    rows: dict[str, list[Row]] = field(default_factory=dict)
    # Tables fed unparsed (see TableSpec.stage_table): JSONEachRow lines, and the messages
    # they came from, kept for the fallback that parses them in Python.
    lines: dict[str, list[bytes]] = field(default_factory=dict)
    sources: dict[str, Sources] = field(default_factory=dict)
    # first and last offset seen per partition, rows or not (skipped offsets move commits too)
    ranges: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    row_count: int = 0

    def add(self, table: str, row: Row | None, tp: TopicPartition, offset: int, now: float) -> None:
        """Record one message; `row` None means the offset is already in ClickHouse."""
        if self.started is None:
            self.started = now
        first, _ = self.ranges.get(tp, (offset, offset))
        self.ranges[tp] = (first, offset)
        if row is not None:
            self.rows.setdefault(table, []).append(row)
            self.row_count += 1

    def add_line(
        self, table: str, line: bytes, tp: TopicPartition, source: Source, now: float
    ) -> None:
        """Record one message sent unparsed: `line` is its JSONEachRow form."""
        self.add(table, None, tp, source.offset, now)
        self.lines.setdefault(table, []).append(line)
        self.sources.setdefault(table, Sources()).append(tp, source)
        self.row_count += 1

    def cover(self, tp: TopicPartition, first: int, last: int, now: float) -> None:
        """Record that offsets first..last of `tp` (read in order) belong to this batch; the
        rows they make are added with `add_lines`/`add_row`. The per-poll form of `add`."""
        if self.started is None:
            self.started = now
        known = self.ranges.get(tp)
        self.ranges[tp] = (first if known is None else known[0], last)

    def add_row(self, table: str, row: Row) -> None:
        self.rows.setdefault(table, []).append(row)
        self.row_count += 1

    def add_lines(self, table: str, lines: list[bytes], sources: Sources) -> None:
        """Rows sent unparsed (see `add_line`), one poll's worth at a time."""
        self.lines.setdefault(table, []).extend(lines)
        known = self.sources.get(table)
        if known is None:
            self.sources[table] = sources
        else:
            known.extend(sources)
        self.row_count += len(lines)

    def due(self, now: float, max_rows: int, max_wait_s: float) -> bool:
        if self.started is None:
            return False
        return self.row_count >= max_rows or now - self.started >= max_wait_s

    @property
    def empty(self) -> bool:
        return not self.ranges

    def commit_offsets(self) -> dict[TopicPartition, OffsetAndMetadata]:
        """Kafka commits the offset of the next message to read."""
        return {tp: OffsetAndMetadata(last + 1, "", -1) for tp, (_, last) in self.ranges.items()}

    def token(self, table: str) -> str:
        """Deterministic per (table, topic, partition, offset range): a retry of this batch
        carries the same token, so ClickHouse drops it if the first attempt landed."""
        spans = sorted(f"{tp.topic}/{tp.partition}/{a}-{b}" for tp, (a, b) in self.ranges.items())
        digest = hashlib.sha256("|".join(spans).encode()).hexdigest()[:32]
        return f"{table}:{digest}"
