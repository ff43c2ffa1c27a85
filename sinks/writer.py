"""Insert one batch: one INSERT per table, each carrying the batch's deduplication token.

Bad data never blocks a partition. A block ClickHouse refuses as data (a server error code in
DATA_ERROR_CODES, or clickhouse-connect failing to serialize a value, e.g. an integer too big
for its column) is split in halves until the refused rows are single; those go to
`sink_dead_letters` with the reason, the rest to their table. Every sub-block carries a token
derived from the batch's (its place in the bisection), so a retry after a failure half-way
lands each sub-block once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from clickhouse_connect.driver.exceptions import DataError
from kafka.structs import TopicPartition

from sinks.batch import Batch, Row, Source
from sinks.recovery import present_offsets
from sinks.rows import DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE, TableSpec, message_row

log = logging.getLogger("leadscore.sink")

# ClickHouse error codes that mean "this data is wrong", not "ClickHouse is unwell": retrying
# the same block cannot help, so the batch is parsed in Python to find the bad message.
DATA_ERROR_CODES: Final = frozenset(
    {6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 349, 376, 377, 441, 497}
)
_INSERT_SETTINGS: Final = {
    # Also drop a retried block in the views fed by the table (events_stage -> events -> leads).
    "deduplicate_blocks_in_dependent_materialized_views": 1,
}
_STAGE_SETTINGS: Final = {
    **_INSERT_SETTINGS,
    # properties/traits/context arrive as JSON objects and are kept as raw JSON strings
    "input_format_json_read_objects_as_strings": 1,
    # fields a newer producer adds must not stop the sink
    "input_format_skip_unknown_fields": 1,
    "input_format_null_as_default": 1,
    # Parse on one thread: the insert runs beside the consumer thread (sinks/inserter.py), and
    # leaving it a core was 1.13-1.51x the sink's throughput in 4 of 4 alternating pairs on
    # the 2-core bench box (bench/RESULTS.md, Sink). One thread parses 75-125k rows/s here,
    # more than one kafka-python consumer delivers.
    "max_threads": 1,
    "max_insert_threads": 1,
    "input_format_parallel_parsing": 0,
}


def columns_of(table: str, specs: Mapping[str, TableSpec]) -> tuple[str, ...]:
    if table == DEAD_LETTERS_TABLE:
        return DEAD_LETTER_COLUMNS
    return specs[table].all_columns


def write_batch(
    client: Any, database: str, batch: Batch, specs: Mapping[str, TableSpec]
) -> dict[str, int]:
    """Insert every table's rows; returns rows per table. Safe to call again on failure:
    a table whose insert already landed is dropped by ClickHouse as a duplicate token."""
    written: dict[str, int] = {}
    for table, lines in sorted(batch.lines.items()):
        spec = specs[table]
        _insert_lines(client, database, spec, lines, batch.sources[table], batch.token(table))
        written[table] = len(lines)
    for table, rows in sorted(batch.rows.items()):
        if rows:
            columns = columns_of(table, specs)
            _insert_or_isolate(client, database, table, rows, columns, batch.token(table))
            written[table] = written.get(table, 0) + len(rows)
    return written


def is_data_error(exc: BaseException) -> bool:
    """True when retrying the same rows cannot help: the data itself is refused."""
    return isinstance(exc, DataError) or error_code(exc) in DATA_ERROR_CODES


def _insert_or_isolate(
    client: Any,
    database: str,
    table: str,
    rows: Sequence[Row],
    columns: tuple[str, ...],
    token: str,
) -> None:
    """Insert `rows`; if refused as data, bisect down to the refused rows and dead-letter
    them. One bad row in n costs about 2*log2(n) extra inserts; any other error is raised."""
    try:
        _insert(client, database, table, rows, columns, token)
        return
    except Exception as exc:
        if not is_data_error(exc):
            raise
        refused = exc
    if len(rows) > 1:
        mid = len(rows) // 2
        _insert_or_isolate(client, database, table, rows[:mid], columns, f"{token}:a")
        _insert_or_isolate(client, database, table, rows[mid:], columns, f"{token}:b")
        return
    topic, partition, offset = rows[0][-3:]
    reason = f"refused by ClickHouse ({table}): {str(refused)[:900]}"
    log.warning("event=dead_letter topic=%s partition=%d offset=%d error=%r",
                topic, partition, offset, reason[:300])  # fmt: skip
    if table == DEAD_LETTERS_TABLE:
        # Nowhere left to put it: log it in full and let the partition move on.
        log.error("event=dead_letter_refused row=%r error=%r", rows[0], str(refused)[:300])
        return
    fields = dict(zip(columns[:-3], rows[0][:-3], strict=True))
    value = json.dumps(fields, default=str, ensure_ascii=False)
    dead = ("", value, reason, topic, partition, offset)
    _insert_or_isolate(
        client, database, DEAD_LETTERS_TABLE, [dead], DEAD_LETTER_COLUMNS, f"{token}:dead"
    )


def _insert(
    client: Any,
    database: str,
    table: str,
    rows: Sequence[Row],
    columns: tuple[str, ...],
    token: str,
) -> None:
    settings = {**_INSERT_SETTINGS, "insert_deduplication_token": token}
    client.insert(table, rows, column_names=list(columns), database=database, settings=settings)


def _insert_lines(
    client: Any,
    database: str,
    spec: TableSpec,
    lines: list[bytes],
    sources: Iterable[Source],
    token: str,
) -> None:
    settings = {**_STAGE_SETTINGS, "insert_deduplication_token": token}
    try:
        client.raw_insert(
            f"{database}.{spec.stage_table}",
            insert_block=b"\n".join(lines),
            fmt="JSONEachRow",
            settings=settings,
        )
    except Exception as exc:
        if not is_data_error(exc):
            raise
        log.warning("event=stage_refused table=%s rows=%d error=%r", spec.name, len(lines),
                    str(exc)[:300])  # fmt: skip
        _insert_parsed(client, database, spec, sources, f"{token}:parsed")


def _insert_parsed(
    client: Any, database: str, spec: TableSpec, sources: Iterable[Source], token: str
) -> None:
    """Parse in Python: good messages to the table, bad ones to the dead letters. Offsets
    already stored (part of a refused insert may have landed) are skipped."""
    starts: dict[TopicPartition, int] = {}
    for s in sources:
        tp = TopicPartition(s.topic, s.partition)
        starts[tp] = min(starts.get(tp, s.offset), s.offset)
    present = present_offsets(client, database, {tp.topic: spec.name for tp in starts}, starts)
    rows: dict[str, list[Row]] = {}
    for source in sources:
        if source.offset in present[TopicPartition(source.topic, source.partition)]:
            continue
        table, row = message_row(spec, source)
        rows.setdefault(table, []).append(row)
    for table, table_rows in sorted(rows.items()):
        columns = DEAD_LETTER_COLUMNS if table == DEAD_LETTERS_TABLE else spec.all_columns
        _insert_or_isolate(client, database, table, table_rows, columns, token)


def error_code(exc: BaseException) -> int | None:
    """The ClickHouse error code in an exception's message ("Code: 27. DB::Exception...")."""
    match = re.search(r"Code: (\d+)", str(exc))
    return int(match[1]) if match else None
