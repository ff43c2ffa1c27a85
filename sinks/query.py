"""Read-only SQL from any process: through the running sink when it owns chDB, else direct.

Two locks on writes: statements that are not reads are refused here with a clear message,
and the ClickHouse session runs with readonly=1, which refuses writes, DDL and any attempt to
change settings back (checked on chDB 26.9).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from leadscore.settings import Settings
from sinks.clickhouse import connect, database_name
from sinks.owner import LOCK_NAME, owner_or_lock, read_owner

READ_STATEMENTS: Final = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS")
# The owner publishes its port right after opening chDB; wait this long for a starting sink.
OWNER_START_WAIT_S: Final = 10.0
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


class QueryError(RuntimeError):
    """The query was refused or failed; the message says why."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def check_read_only(sql: str) -> str:
    """The statement without comments and trailing ';', or QueryError if it is not a read."""
    text = _COMMENTS.sub(" ", sql).strip().rstrip(";").strip()
    if not text:
        raise QueryError("empty query")
    if ";" in text:
        raise QueryError("one statement at a time (found ';' inside the query)")
    first = text.split(None, 1)[0].upper()
    if first not in READ_STATEMENTS:
        raise QueryError(f"read-only: {first} is refused; allowed are {', '.join(READ_STATEMENTS)}")
    if re.search(r"\bINTO\s+OUTFILE\b", text, re.IGNORECASE):
        raise QueryError("read-only: INTO OUTFILE is refused")
    return text


def jsonable(value: Any) -> Any:
    """Values as JSON carries them, so both query paths return the same types."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def execute(client: Any, sql: str) -> QueryResult:
    """Run an already-checked read on a readonly client."""
    try:
        result = client.query(sql, settings={"readonly": 1})
    except Exception as exc:  # noqa: BLE001 - surfaced with ClickHouse's own message
        raise QueryError(str(exc).strip()) from None
    rows = [tuple(jsonable(v) for v in row) for row in result.result_rows]
    columns = list(result.column_names)
    if not columns and not rows:
        columns = _describe(client, sql)
    return QueryResult(columns, rows)


def _describe(client: Any, sql: str) -> list[str]:
    """Column names of a query that returned nothing (chDB then sends no header)."""
    if sql.split(None, 1)[0].upper() not in ("SELECT", "WITH"):
        return []
    try:
        described = client.query(f"DESCRIBE TABLE ({sql})", settings={"readonly": 1})
    except Exception:  # noqa: BLE001 - a header is a nicety; the empty result stands
        return []
    return [str(row[0]) for row in described.result_rows]


def run_query(settings: Settings, sql: str, timeout_s: float = 60.0) -> QueryResult:
    """Run one read-only statement; unqualified tables resolve in the leadscore database."""
    text = check_read_only(sql)
    if not settings.embedded_clickhouse:
        return _direct(settings, text)
    with owner_or_lock(settings.var_dir) as owner:
        if owner is None:
            return _direct(settings, text)  # we hold the lock: no sink can open chDB meanwhile
    return _via_owner(settings, text, timeout_s)


def _direct(settings: Settings, sql: str) -> QueryResult:
    database = database_name(settings)
    try:
        # Check the database first: a client constructed on a missing database fails, and on
        # chDB that failure path closes the engine connection under other clients too.
        probe = connect(settings, readonly=True)
    except Exception as exc:  # noqa: BLE001 - unreachable server, unreadable path
        raise QueryError(f"cannot open ClickHouse: {str(exc).strip()}") from None
    try:
        found = probe.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}",
            parameters={"db": database},
        ).result_rows[0][0]
        if not found:
            raise QueryError(
                f"no database {database!r} at {settings.clickhouse} yet: "
                "start the sink (`leadscore sink`), which creates it"
            )
        probe.database = database
        return execute(probe, sql)
    finally:
        probe.close()


def _via_owner(settings: Settings, sql: str, timeout_s: float) -> QueryResult:
    port = _owner_port(settings)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/query",
        data=json.dumps({"sql": sql}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("error", str(exc))
        raise QueryError(detail) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise QueryError(f"the sink at 127.0.0.1:{port} did not answer: {exc}") from None
    return QueryResult(body["columns"], [tuple(row) for row in body["rows"]])


def _owner_port(settings: Settings) -> int:
    deadline = time.monotonic() + OWNER_START_WAIT_S
    while True:
        owner = read_owner(settings.var_dir / LOCK_NAME)
        if owner.get("port"):
            return int(owner["port"])  # type: ignore[arg-type]
        if time.monotonic() >= deadline:
            raise QueryError(f"the sink (pid {owner.get('pid')}) owns chDB but serves no port")
        time.sleep(0.05)
