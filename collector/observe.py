"""Per-request metrics, error logs and CORS headers, and the ingest routes' short way in.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: that one runs every request in
an extra task with a wrapped body stream, which cost a fifth of a single event's time.

It wraps the whole FastAPI app (see `CollectorApp`), so it sees every request, and the
ingest routes (`direct`: POST path -> plain ASGI handler) are answered here without
FastAPI's per-request machinery (its middleware stack, route matching over every
route, dependency solving): on a single event that machinery cost as much as our own
validation and enrichment. The same handlers stay registered as FastAPI routes, so the
OpenAPI document describes them; a route not in `direct` takes the usual way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.auth import key_from_headers
from collector.cors import OriginPolicy
from collector.metrics import Metrics
from collector.request_log import log_request_error

log = logging.getLogger("leadscore.collector")

KEY_PARAM = "writeKey"


def header(scope: Scope, name: bytes) -> str | None:
    """One request header (the first), without building a Headers object."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


_STATUS_TEXT = {status: str(status) for status in range(100, 600)}

# A direct handler (plain ASGI) that answers and returns the status it answered with.
Direct = Callable[[Scope, Receive, Send], Awaitable[int]]


def internal_error() -> JSONResponse:
    """FastAPI's ServerErrorMiddleware is not on the direct way: its 500 is made here."""
    return JSONResponse({"error": "internal", "message": "internal error"}, 500)


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics, origins: OriginPolicy,
                 direct: Mapping[str, Direct] | None = None) -> None:
        self.app, self.metrics, self.origins = app, metrics, origins
        self.direct = dict(direct or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        origin = header(scope, b"origin")
        if not origin and scope["method"] == "POST":
            direct = self.direct.get(scope["path"])
            if direct is not None:
                # The ingest routes without CORS (servers, SDKs): nothing to add to the
                # answer, so `send` is passed as it is; the handler says its status.
                answered_with = 500
                try:
                    answered_with = await direct(scope, receive, send)
                except Exception:
                    log.exception("error in %s", scope["path"])  # while answering
                finally:
                    self._record(scope, scope["path"], answered_with, started)
                return
        key = None
        if origin:
            key = (key_from_headers(Headers(scope=scope))
                   or QueryParams(scope["query_string"]).get(KEY_PARAM))
        direct = self.direct.get(scope["path"]) if scope["method"] == "POST" else None
        status = [500]
        answered = [False]
        try:
            if scope["method"] == "OPTIONS" and origin:
                response = self._preflight(key, origin)
                status[0] = response.status_code
                await response(scope, receive, send)
                return
            cors = self.origins.headers(origin) if origin and self.origins.allows(
                key, origin) else None

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0], answered[0] = message["status"], True
                    if cors:
                        message["headers"] = [*message.get("headers", []), *(
                            (k.lower().encode(), v.encode()) for k, v in cors.items())]
                await send(message)

            if direct is None:
                await self.app(scope, receive, sending)
                return
            try:
                await direct(scope, receive, sending)
            except Exception:
                log.exception("error in %s", scope["path"])  # while answering
                if not answered[0]:
                    await internal_error()(scope, receive, sending)
        finally:
            route = scope["path"] if direct is not None else getattr(
                scope.get("route"), "path", "unmatched")
            self._record(scope, route, status[0], started)

    def _preflight(self, key: str | None, origin: str) -> Response:
        if not self.origins.allows(key, origin):
            return Response(status_code=403)
        return Response(status_code=204, headers=self.origins.preflight_headers(origin))

    def _record(self, scope: Scope, route: str, status: int, started: float) -> None:
        self.metrics.requests(route, _STATUS_TEXT.get(status) or str(status)).inc()
        if status >= 400:
            client = scope.get("client")
            log_request_error(
                route=route, method=scope["method"], status=status,
                ip=client[0] if client else None,
                ms=round((time.perf_counter() - started) * 1000, 2))

