"""After a crash or a failed insert: which offsets of an uncommitted range already landed.

Kafka offsets are committed only after an insert succeeds, so a crash between the two leaves
a range that will be read again. Rows carry their _topic/_partition/_offset, so the sink asks
ClickHouse which of those offsets it already has and skips them: exact, even when a killed
insert left some of its parts behind, which a single "max offset" watermark would get wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from kafka.structs import TopicPartition

from sinks.rows import DEAD_LETTERS_TABLE


class QueryClient(Protocol):
    def query(self, query: str, parameters: object = None, settings: object = None) -> object: ...


def present_offsets(
    client: QueryClient,
    database: str,
    table_of_topic: Mapping[str, str],
    starts: Mapping[TopicPartition, int],
) -> dict[TopicPartition, set[int]]:
    """Offsets >= start already stored, per partition (dead letters count as stored)."""
    found: dict[TopicPartition, set[int]] = {tp: set() for tp in starts}
    if not starts:
        return found
    by_table: dict[str, list[TopicPartition]] = {}
    for tp in starts:
        by_table.setdefault(table_of_topic[tp.topic], []).append(tp)
    by_table.setdefault(DEAD_LETTERS_TABLE, []).extend(starts)
    for table, tps in by_table.items():
        for topic, partition, offset in _scan(client, database, table, tps, starts):
            found[TopicPartition(topic, partition)].add(offset)
    return found


def _scan(
    client: QueryClient,
    database: str,
    table: str,
    tps: list[TopicPartition],
    starts: Mapping[TopicPartition, int],
) -> list[tuple[str, int, int]]:
    # One OR-term per partition keeps the minmax index on _offset useful.
    terms = [
        f"(_topic = {{t{i}:String}} AND _partition = {tp.partition} AND _offset >= {starts[tp]})"
        for i, tp in enumerate(tps)
    ]
    params = {f"t{i}": tp.topic for i, tp in enumerate(tps)}
    sql = f"SELECT _topic, _partition, _offset FROM {database}.{table} WHERE " + " OR ".join(terms)
    result = client.query(sql, parameters=params)
    return [(str(t), int(p), int(o)) for t, p, o in result.result_rows]  # type: ignore[attr-defined]
