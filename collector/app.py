"""The HTTP surface of the collector. Thin: decode, authorize, intake, dispatch."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from collector.auth import is_valid, key_from_headers, known_keys
from collector.config import CollectorConfig
from collector.cors import OriginPolicy
from collector.dispatch import Dispatcher
from collector.email_routes import email_router
from collector.enrichment import Edge
from collector.errors import field_errors
from collector.intake import BODY_KEY_FIELD, Intake, parse_batch
from collector.limits import MAX_BATCH_EVENTS, RETRY_AFTER_S
from collector.metrics import CONTENT_TYPE_LATEST, Metrics
from collector.observe import Direct, Observe, internal_error
from collector.producer import Delivery, DeliveryError
from collector.proxies import TrustedProxies
from collector.ratelimit import TokenBuckets, retry_after
from collector.request_body import BodyError, header_map, read_json
from collector.snippet_route import snippet_router
from schemas.events import Event
from schemas.messages import Outcome
from schemas.timestamps import parse_time

log = logging.getLogger("leadscore.collector")

SEGMENT_ROUTES = {"track": "/v1/track", "page": "/v1/page", "identify": "/v1/identify",
                  "alias": "/v1/alias"}


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None,
           **extra: Any) -> JSONResponse:
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S), **(headers or {})}
    return JSONResponse({"error": error, "message": message, **extra}, status, headers=headers)


class Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


class _Prebuilt(Response):
    """A response whose bytes never change, built once (its header list is never mutated:
    Observe adds CORS headers to a copy)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body, status, media_type="application/json")


# The answer to nearly every single-event request.
ACCEPTED_ONE = _Prebuilt(202, b'{"accepted":1}')

Handler = Callable[[Request], Awaitable[Response]]


class CollectorApp(FastAPI):
    """FastAPI with `Observe` around all of it, so the ingest routes skip FastAPI's own
    per-request layers (see collector/observe.py)."""

    observe: Observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.observe(scope, receive, send)

    async def _fastapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def _direct(handler: Handler) -> Direct:
    """A route handler as plain ASGI: the Request is made here, Refused and errors are
    answered here; it returns the status it answered with (for Observe's metrics)."""
    async def app(scope: Scope, receive: Receive, send: Send) -> int:
        try:
            response = await handler(Request(scope, receive))
        except Refused as exc:
            response = exc.response
        except Exception:
            log.exception("error in %s", scope["path"])
            response = internal_error()
        await response(scope, receive, send)
        return response.status_code
    return app


def create_app(
    delivery: Delivery, write_keys: list[str], topic_prefix: str = "",
    config: CollectorConfig | None = None,
) -> FastAPI:
    config = config or CollectorConfig()
    app = CollectorApp(title="leadscore collector", version="1")
    metrics = Metrics()
    dispatcher = Dispatcher(delivery, topic_prefix, metrics)
    origins = OriginPolicy(config.cors_origins)
    proxies = TrustedProxies(config.trusted_proxies)
    key_buckets, ip_buckets = TokenBuckets(config.key_limit), TokenBuckets(config.ip_limit)
    key_limited, ip_limited = key_buckets.enabled, ip_buckets.enabled
    direct: dict[str, Direct] = {}
    valid_keys = known_keys(write_keys)

    def limit(buckets: TokenBuckets, name: str, scope: str) -> None:
        if not buckets.enabled:
            return
        wait = buckets.take(name)
        if wait > 0:
            metrics.rate_limited(scope).inc()
            raise Refused(_error(429, "rate_limited", f"too many requests for this {scope}",
                                 {"Retry-After": retry_after(wait)}))

    async def admit(request: Request) -> tuple[Any, Edge]:
        """IP limit, body, write key, origin, key limit: everything before intake."""
        received_at = datetime.now(UTC)
        ip = proxies.client_ip(request.scope)
        if ip_limited:
            limit(ip_buckets, ip or "-", "ip")
        headers = header_map(request)
        try:
            body, size = await read_json(request, headers)
        except BodyError as exc:
            raise Refused(_error(exc.status, exc.error, exc.message)) from None
        key = key_from_headers(headers) or request.query_params.get(BODY_KEY_FIELD)
        if key is None and isinstance(body, dict) and isinstance(body.get(BODY_KEY_FIELD), str):
            key = body[BODY_KEY_FIELD]
        if not is_valid(key, valid_keys):
            raise Refused(_error(401, "unauthorized", "missing or unknown write key"))
        origin = headers.get("origin")
        if origin and not origins.allows(key, origin):
            raise Refused(_error(403, "origin_not_allowed", f"origin {origin} not allowed"))
        if key_limited:
            limit(key_buckets, key or "", "write_key")
        sent_at = _sent_at(body)
        return body, Edge(received_at, ip, headers.get("user-agent"),
                          config.truncate_ips, sent_at, size)

    async def ingest(items: list[Any], edge: Edge, indexed: bool = True) -> Intake:
        intake = parse_batch(items, edge.received_at, edge=edge,
                             track_mapping=config.track_mapping, indexed=indexed)
        if intake.dropped:
            metrics.dropped("consent").inc(intake.dropped)
        try:
            await dispatcher.send(intake.accepted, intake.rejected, edge.received_at,
                                  intake.values)
        except DeliveryError as exc:
            raise Refused(_error(503, "unavailable", f"not acknowledged by Kafka: {exc}")) from None
        return intake

    def counts(intake: Intake) -> dict[str, Any]:
        out: dict[str, Any] = {"accepted": len(intake.accepted) + intake.dropped}
        if intake.dropped:
            out["dropped"] = intake.dropped  # consent withheld: accepted, counted, not stored
        return out

    def single(intake: Intake) -> JSONResponse:
        if intake.rejected:
            rejection = intake.rejected[0]
            status = 413 if rejection.reason == "too_large" else 422
            errors = [e.as_json() for e in rejection.errors]
            return _error(status, "invalid_event", "; ".join(
                f"{e['field']}: {e['message']}" for e in errors), errors=errors)
        if len(intake.accepted) == 1 and not intake.dropped:
            return ACCEPTED_ONE
        return JSONResponse(counts(intake), 202)

    @app.exception_handler(Refused)
    async def _refused(_: Request, exc: Refused) -> JSONResponse:
        return exc.response

    def ingest_route(path: str, handler: Handler, **route: Any) -> None:
        """A FastAPI route (for the OpenAPI document) and the direct way in (for speed)."""
        app.post(path, status_code=202, **route)(handler)
        direct[path] = _direct(handler)

    async def post_event(request: Request) -> Response:
        body, edge = await admit(request)
        return single(await ingest([body], edge, indexed=False))

    ingest_route("/v1/events", post_event, openapi_extra=_body("Event"))

    async def post_batch(request: Request) -> Response:
        body, edge = await admit(request)
        items = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return _error(422, "invalid_batch", "body must be {\"batch\": [...]}",
                          errors=[{"field": "batch", "message": "must be a list of events"}])
        if len(items) > MAX_BATCH_EVENTS:
            return _error(413, "too_many_events", f"a batch holds at most {MAX_BATCH_EVENTS}")
        intake = await ingest(items, edge)
        errors = [{**e.as_json(), "reason": r.reason} for r in intake.rejected for e in r.errors]
        return JSONResponse(
            {**counts(intake), "rejected": len(intake.rejected), "errors": errors}, 202)

    ingest_route("/v1/batch", post_batch, openapi_extra=_body("Batch"))

    def segment_route(kind: str) -> None:
        async def post_segment(request: Request) -> Response:
            body, edge = await admit(request)
            if not isinstance(body, dict):
                return _error(422, "invalid_event", "body must be a JSON object",
                              errors=[{"field": "(event)", "message": "must be a JSON object"}])
            # Segment's single-call endpoints imply the type; the body may omit it.
            return single(await ingest([{**body, "type": kind}], edge, indexed=False))

        ingest_route(SEGMENT_ROUTES[kind], post_segment, name=f"segment_{kind}",
                     summary=f"Segment-spec {kind} call", openapi_extra=_body("SegmentMessage"))

    for kind in SEGMENT_ROUTES:
        segment_route(kind)

    @app.post("/v1/outcomes", status_code=202, openapi_extra=_body("Outcome"))
    async def post_outcome(request: Request) -> JSONResponse:
        body, _ = await admit(request)
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != BODY_KEY_FIELD}
        try:
            outcome = Outcome.model_validate(body)
            if outcome.at is not None:
                parse_time(outcome.at)
        except ValidationError as exc:
            errors = [e.as_json() for e in field_errors(exc)]
            return _error(422, "invalid_outcome", str(exc.errors()[0]["msg"]), errors=errors)
        except ValueError as exc:
            return _error(422, "invalid_outcome", str(exc),
                          errors=[{"field": "at", "message": str(exc)}])
        try:
            await dispatcher.send_outcome(outcome)
        except DeliveryError as exc:
            return _error(503, "unavailable", f"not acknowledged by Kafka: {exc}")
        return JSONResponse({"accepted": 1}, 202)

    app.include_router(email_router(dispatcher, config, metrics, proxies))
    app.include_router(snippet_router())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if await run_in_threadpool(delivery.ready):
            return JSONResponse({"status": "ready"})
        return _error(503, "not_ready", "Kafka broker is not reachable")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.observe = Observe(app._fastapi, metrics, origins, direct)
    return app


def _sent_at(body: Any) -> datetime | None:
    """The client clock at send time (batch envelope `sentAt`); wrong values are ignored."""
    if not isinstance(body, dict) or body.get("sentAt") is None:
        return None
    try:
        return parse_time(body["sentAt"])
    except ValueError:
        return None


def _body(model: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


_SEGMENT_MESSAGE: dict[str, Any] = {
    "type": "object",
    "description": "A Segment HTTP Tracking API message (track, page, identify, alias)",
    "properties": {
        "messageId": {"type": "string"}, "anonymousId": {"type": "string"},
        "userId": {"type": "string"}, "previousId": {"type": "string"},
        "event": {"type": "string"}, "name": {"type": "string"},
        "timestamp": {"type": "string"}, "sentAt": {"type": "string"},
        "originalTimestamp": {"type": "string"},
        "properties": {"type": "object"}, "traits": {"type": "object"},
        "context": {"type": "object"},
    },
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the request models our raw-body routes validate by hand."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    template = "#/components/schemas/{model}"
    for model in (Event, Outcome):
        model_schema = model.model_json_schema(ref_template=template)
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    components["SegmentMessage"] = _SEGMENT_MESSAGE
    components["Batch"] = {
        "type": "object", "required": ["batch"],
        "properties": {
            "batch": {"type": "array", "maxItems": MAX_BATCH_EVENTS,
                      "items": {"anyOf": [{"$ref": template.format(model="Event")},
                                          {"$ref": template.format(model="SegmentMessage")}]}},
            "writeKey": {"type": "string"}, "sentAt": {"type": "string"},
        },
    }
    app.openapi_schema = schema
    return schema
