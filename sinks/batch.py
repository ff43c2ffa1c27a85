"""One flush worth of rows, grouped by table, with the Kafka offset ranges they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from kafka.structs import OffsetAndMetadata, TopicPartition

from sinks.rows import Row


@dataclass
class Batch:
    started: float | None = None  # monotonic time of the first record, for the time trigger
    rows: dict[str, list[Row]] = field(default_factory=dict)
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
