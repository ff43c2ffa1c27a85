"""Insert one batch: one INSERT per table, each carrying the batch's deduplication token."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sinks.batch import Batch
from sinks.rows import DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE, Row, TableSpec


class InsertClient(Protocol):
    def insert(
        self,
        table: str,
        data: Sequence[Sequence[object]],
        column_names: Sequence[str] = ...,
        database: str = ...,
        settings: dict[str, object] | None = ...,
    ) -> object: ...


def columns_of(table: str, specs: Mapping[str, TableSpec]) -> tuple[str, ...]:
    if table == DEAD_LETTERS_TABLE:
        return DEAD_LETTER_COLUMNS
    return specs[table].all_columns


def write_batch(
    client: InsertClient, database: str, batch: Batch, specs: Mapping[str, TableSpec]
) -> dict[str, int]:
    """Insert every table's rows; returns rows per table. Safe to call again on failure:
    a table whose insert already landed is dropped by ClickHouse as a duplicate token."""
    written: dict[str, int] = {}
    for table, rows in sorted(batch.rows.items()):
        if not rows:
            continue
        _insert(client, database, table, rows, columns_of(table, specs), batch.token(table))
        written[table] = len(rows)
    return written


def _insert(
    client: InsertClient,
    database: str,
    table: str,
    rows: list[Row],
    columns: tuple[str, ...],
    token: str,
) -> None:
    client.insert(
        table,
        rows,
        column_names=list(columns),
        database=database,
        settings={
            "insert_deduplication_token": token,
            # Also drop duplicates in the leads/profiles views when a retried block is dropped.
            "deduplicate_blocks_in_dependent_materialized_views": 1,
        },
    )
