"""The HTTP surface of the collector. Thin: decode, validate (intake), deliver (producer)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from collector.auth import is_valid, key_from_headers
from collector.intake import BODY_KEY_FIELD, InvalidEvents, parse_batch, parse_event
from collector.producer import Delivery, DeliveryError, Record
from schemas.events import Event, StoredEvent
from schemas.topics import event_topic

log = logging.getLogger("leadscore.collector")

# Segment's limits, which clients already respect: 512 KiB a request, 500 events a batch.
MAX_BODY_BYTES = 512 * 1024
MAX_BATCH_EVENTS = 500
# How long a client should wait before retrying when Kafka did not acknowledge.
RETRY_AFTER_S = 5


def _error(status: int, error: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse({"error": error, "message": message, **extra}, status, headers=headers)


async def _read_json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise _Refused(_error(413, "too_large", f"body exceeds {MAX_BODY_BYTES} bytes"))
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _Refused(_error(400, "invalid_json", f"body is not JSON: {exc}")) from None


class _Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _event_schema() -> dict[str, Any]:
    return {"content": {"application/json": {"schema": Event.model_json_schema()}}}


def create_app(delivery: Delivery, write_keys: list[str], topic_prefix: str = "") -> FastAPI:
    app = FastAPI(title="leadscore collector", version="1")

    def authorize(request: Request, body: Any) -> None:
        key = key_from_headers(request.headers)
        if key is None and isinstance(body, dict):
            body_key = body.get(BODY_KEY_FIELD)
            key = body_key if isinstance(body_key, str) else None
        if not is_valid(key, write_keys):
            raise _Refused(_error(401, "unauthorized", "missing or unknown write key"))

    async def deliver(events: list[StoredEvent]) -> JSONResponse:
        records = [
            Record(event_topic(e.type, topic_prefix), e.key, e.model_dump_json().encode())
            for e in events
        ]
        try:
            await run_in_threadpool(delivery.deliver, records)
        except DeliveryError as exc:
            return _error(503, "unavailable", f"events not acknowledged by Kafka: {exc}")
        return JSONResponse({"accepted": len(events)}, 202)

    @app.exception_handler(_Refused)
    async def _refused(_: Request, exc: _Refused) -> JSONResponse:
        return exc.response

    @app.exception_handler(InvalidEvents)
    async def _invalid(_: Request, exc: InvalidEvents) -> JSONResponse:
        return _error(
            422, "invalid_event", str(exc), errors=[e.as_json() for e in exc.errors]
        )

    @app.post("/v1/events", status_code=202, openapi_extra={"requestBody": _event_schema()})
    async def post_event(request: Request) -> JSONResponse:
        body = await _read_json(request)
        authorize(request, body)
        return await deliver([parse_event(body, datetime.now(UTC))])

    @app.post("/v1/batch", status_code=202)
    async def post_batch(request: Request) -> JSONResponse:
        body = await _read_json(request)
        authorize(request, body)
        items = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return _error(422, "invalid_batch", "body must be {\"batch\": [...]}",
                          errors=[{"field": "batch", "message": "must be a list of events"}])
        if len(items) > MAX_BATCH_EVENTS:
            return _error(413, "too_many_events", f"a batch holds at most {MAX_BATCH_EVENTS}")
        return await deliver(parse_batch(items, datetime.now(UTC)))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if await run_in_threadpool(delivery.ready):
            return JSONResponse({"status": "ready"})
        return _error(503, "not_ready", "Kafka broker is not reachable")

    return app
