"""ClickHouse clients from Settings: embedded chDB (chdb:///path) or a server (http[s]://)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from leadscore.settings import Settings


def database_name(settings: Settings) -> str:
    """A server URL may name the database in its path; otherwise the settings do."""
    if settings.embedded_clickhouse:
        return settings.clickhouse_database
    path = urlsplit(settings.clickhouse).path.strip("/")
    return path or settings.clickhouse_database


def connect(settings: Settings, *, readonly: bool = False, database: str | None = None) -> Client:
    """A new client. `readonly` pins readonly=1 on the session: no write, no SET can undo it
    (verified on chDB: INSERT, CREATE, SET readonly=0 and SETTINGS readonly=0 all refused)."""
    session: dict[str, Any] = {"readonly": 1} if readonly else {}
    url = settings.clickhouse
    if settings.embedded_clickhouse:
        return clickhouse_connect.get_client(dsn=url, settings=session, database=database)
    parts = urlsplit(url)
    # Queries name the database explicitly, so the client connects without one: the database
    # may not exist yet when the sink first starts.
    return clickhouse_connect.get_client(
        host=parts.hostname,
        port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        secure=parts.scheme == "https",
        settings=session,
        database=database,
    )
