"""The sink's read-only SQL endpoint on 127.0.0.1: POST /query {"sql": ...} -> JSON.

Other processes cannot open the embedded chDB while the sink runs, so the sink answers
for them. Loopback only; every query goes through check_read_only and a readonly session.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from leadscore.settings import Settings
from sinks.clickhouse import connect, database_name
from sinks.query import QueryError, check_read_only, execute

log = logging.getLogger("leadscore.sink.query")
MAX_BODY_BYTES = 1_000_000  # a query, not a data upload


class QueryServer:
    def __init__(self, settings: Settings, port: int) -> None:
        self._settings = settings
        self._client: Any = None
        # One query at a time: the readonly session is shared and reports are cheap.
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="sink-query", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def __enter__(self) -> QueryServer:
        self._thread.start()
        log.info("event=query_server_started port=%d", self.port)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.shutdown()
        self._http.server_close()
        if self._client is not None:
            self._client.close()

    def answer(self, sql: str) -> dict[str, Any]:
        text = check_read_only(sql)
        with self._lock:
            if self._client is None:  # lazily: the database exists once the sink has started
                db = database_name(self._settings)
                self._client = connect(self._settings, readonly=True, database=db)
            result = execute(self._client, text)
        return {"columns": result.columns, "rows": [list(row) for row in result.rows]}


def _handler(server: QueryServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/query":
                self._reply(404, {"error": "POST /query"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                if length > MAX_BODY_BYTES:
                    raise QueryError("query too large")
                sql = json.loads(self.rfile.read(length))["sql"]
                self._reply(200, server.answer(str(sql)))
            except QueryError as exc:
                self._reply(400, {"error": str(exc)})
            except (ValueError, KeyError, TypeError):
                self._reply(400, {"error": 'body must be JSON {"sql": "..."}'})

        def do_GET(self) -> None:  # noqa: N802
            self._reply(200, {"ok": True}) if self.path == "/health" else self._reply(404, {})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("event=query_http " + format, *args)

    return Handler
