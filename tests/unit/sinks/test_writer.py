"""Bad data on any table: the refused rows are isolated by bisection and dead-lettered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DataError
from kafka.structs import TopicPartition

from sinks.batch import Batch
from sinks.rows import DEAD_LETTERS_TABLE, table_specs
from sinks.writer import write_batch

TP = TopicPartition("lead-scores", 1)
SPECS = table_specs(60.0)


class RefusingClient:
    """Stores inserts like ClickHouse would (a repeated token is dropped) but refuses any
    block holding a row whose score is negative, or, with `down`, everything."""

    def __init__(self, refuse: str = "client") -> None:
        self.refuse = refuse
        self.down = False
        self.tables: dict[str, list[tuple[Any, ...]]] = {}
        self.tokens: set[str] = set()
        self.calls = 0

    def insert(
        self,
        table: str,
        rows: list[tuple[Any, ...]],
        column_names: list[str],
        database: str,
        settings: dict[str, Any],
    ) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("unreachable (simulated)")
        if table != DEAD_LETTERS_TABLE and any(row[1] < 0 for row in rows):
            if self.refuse == "client":
                raise DataError("Unable to create native array for column `score`: error")
            raise Exception("Code: 53. DB::Exception: Type mismatch (simulated)")  # noqa: TRY002
        token = settings["insert_deduplication_token"]
        if token not in self.tokens:
            self.tokens.add(token)
            self.tables.setdefault(table, []).extend(rows)


def _batch(n: int, bad: set[int]) -> Batch:
    batch = Batch()
    for offset in range(n):
        score = -1.0 if offset in bad else float(offset)
        row = (f"lead-{offset}", score, "warm", None, "v1", "D", True, "", 60.0, [])
        batch.add("lead_scores", (*row, TP.topic, TP.partition, offset), TP, offset, 0.0)
    return batch


@pytest.mark.parametrize("refuse", ["client", "server"])
def test_refused_rows_are_isolated_and_dead_lettered(refuse: str) -> None:
    client = RefusingClient(refuse)
    written = write_batch(client, "db", _batch(1000, {17, 900}), SPECS)
    assert written == {"lead_scores": 1000}  # every offset accounted for
    stored = client.tables["lead_scores"]
    assert len(stored) == 998 and {row[-1] for row in stored} == set(range(1000)) - {17, 900}
    dead = client.tables[DEAD_LETTERS_TABLE]
    assert sorted(row[-1] for row in dead) == [17, 900]
    value, reason = json.loads(dead[0][1]), dead[0][2]
    assert value["lead_id"] == "lead-17" and value["score"] == -1.0
    assert reason.startswith("refused by ClickHouse (lead_scores)")
    # Bounded: about 2*log2(1000) extra inserts per bad row, not one per row.
    assert client.calls < 2 * 2 * 11 + 3


def test_a_retry_after_a_failure_half_way_lands_each_row_once() -> None:
    client = RefusingClient()
    batch = _batch(64, {5})
    client.down = False
    original = client.insert
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 6:  # ClickHouse goes away in the middle of the bisection
            raise ConnectionError("unreachable (simulated)")
        original(*args, **kwargs)

    client.insert = flaky  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        write_batch(client, "db", batch, SPECS)
    write_batch(client, "db", batch, SPECS)  # the sink retries the same batch
    assert sorted(row[-1] for row in client.tables["lead_scores"]) == [
        o for o in range(64) if o != 5
    ]
    assert [row[-1] for row in client.tables[DEAD_LETTERS_TABLE]] == [5]


def test_other_failures_are_not_taken_for_bad_data() -> None:
    client = RefusingClient()
    client.down = True
    with pytest.raises(ConnectionError):
        write_batch(client, "db", _batch(10, {3}), SPECS)
    assert client.tables == {}
