"""Per-request metrics, error logs and CORS headers, as plain ASGI middleware.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: that one runs every request in
an extra task with a wrapped body stream, which cost a fifth of a single event's time.
"""

from __future__ import annotations

import time

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.auth import key_from_headers
from collector.cors import OriginPolicy
from collector.metrics import Metrics
from collector.request_log import log_request_error

KEY_PARAM = "writeKey"


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics, origins: OriginPolicy) -> None:
        self.app, self.metrics, self.origins = app, metrics, origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        key = None
        if origin:
            key = key_from_headers(headers) or QueryParams(scope["query_string"]).get(KEY_PARAM)
        status = [500]
        if scope["method"] == "OPTIONS" and origin:
            response = self._preflight(key, origin)
            status[0] = response.status_code
            await response(scope, receive, send)
        else:
            cors = self.origins.headers(origin) if origin and self.origins.allows(
                key, origin) else None

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                    if cors:
                        message["headers"] = [*message.get("headers", []), *(
                            (k.lower().encode(), v.encode()) for k, v in cors.items())]
                await send(message)

            await self.app(scope, receive, sending)
        self._record(scope, status[0], started)

    def _preflight(self, key: str | None, origin: str) -> Response:
        if not self.origins.allows(key, origin):
            return Response(status_code=403)
        return Response(status_code=204, headers=self.origins.preflight_headers(origin))

    def _record(self, scope: Scope, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.requests.labels(route, str(status)).inc()
        if status >= 400:
            client = scope.get("client")
            log_request_error(
                route=route, method=scope["method"], status=status,
                ip=client[0] if client else None,
                ms=round((time.perf_counter() - started) * 1000, 2))
