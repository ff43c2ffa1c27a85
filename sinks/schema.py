"""Versioned DDL: sinks/sql/NNN_name.sql applied in order, every statement idempotent."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"

# Statements end with ';' at the end of a line; comments never contain one (see the files).
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)


class CommandClient(Protocol):
    def command(self, cmd: str, *args: object, **kwargs: object) -> object: ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


def migrations() -> list[Migration]:
    """The shipped DDL files, oldest first."""
    found = []
    for entry in SQL_DIR.iterdir():
        match = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def statements(sql: str, database: str) -> list[str]:
    """Split a DDL file into statements, with `{db}` bound to the database name."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise ValueError(f"database name {database!r} must be a plain identifier")
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    parts = _STATEMENT_END.split(body)
    return [p.strip().replace("{db}", database) for p in parts if p.strip()]


def ensure_schema(client: CommandClient, database: str) -> list[int]:
    """Create the database, tables and views if missing; returns the versions (re)applied.

    A file is re-applied when its checksum is new, so an edited view (CREATE OR REPLACE)
    reaches existing installs; tables are IF NOT EXISTS and never dropped here.
    """
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_versions "
        "(version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')) "
        "ENGINE = ReplacingMergeTree(applied_at) ORDER BY (version, checksum)"
    )
    done = _applied(client, database)
    applied = []
    for migration in migrations():
        if (migration.version, migration.checksum) in done:
            continue
        for statement in statements(migration.sql, database):
            client.command(statement)
        client.command(
            f"INSERT INTO {database}.schema_versions VALUES "
            f"({migration.version}, '{migration.name}', '{migration.checksum}', now64(3))"
        )
        applied.append(migration.version)
        log.info("event=schema_applied version=%03d name=%s", migration.version, migration.name)
    return applied


def _applied(client: CommandClient, database: str) -> set[tuple[int, str]]:
    raw = client.command(
        f"SELECT arrayStringConcat(groupArray(concat(toString(version), ':', checksum)), ',') "
        f"FROM {database}.schema_versions"
    )
    text = raw if isinstance(raw, str) else ""
    pairs = [item.split(":", 1) for item in text.split(",") if ":" in item]
    return {(int(v), c) for v, c in pairs}
