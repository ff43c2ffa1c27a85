"""Email tracking: the open pixel and the click redirect, both driven by signed tokens."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from collector.config import CollectorConfig
from collector.dispatch import Dispatcher
from collector.email_tokens import BadToken, EmailToken, ExpiredToken, read_token
from collector.enrichment import Edge, enrich
from collector.machine_opens import is_machine_open
from collector.metrics import Metrics
from collector.producer import DeliveryError
from collector.proxies import TrustedProxies
from schemas.events import MAX_ID_LENGTH, Event, StoredEvent

log = logging.getLogger("leadscore.collector.email")

# The smallest transparent GIF: 1x1, 43 bytes.
PIXEL: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Mail clients and proxies must ask every time, or repeat opens are invisible.
NO_STORE: Final = {"Cache-Control": "no-store, no-cache, must-revalidate, private",
                   "Pragma": "no-cache", "Expires": "0"}
# The snippet's first-party anonymous id: cookie name, and query parameter on click URLs.
ANON_COOKIE: Final = "ls_aid"
ANON_PARAM: Final = "aid"


def email_router(dispatcher: Dispatcher, config: CollectorConfig, metrics: Metrics,
                 proxies: TrustedProxies | None = None) -> APIRouter:
    router = APIRouter(tags=["email"])
    proxies = proxies or TrustedProxies()

    def edge(request: Request, now: datetime) -> Edge:
        ip = proxies.client_ip(request.scope)
        return Edge(now, ip, request.headers.get("user-agent"), config.truncate_ips)

    async def record(events: list[StoredEvent]) -> None:
        # A reader must get the image or the page even when Kafka is away: logged, counted.
        try:
            await dispatcher.send(events)
        except DeliveryError as exc:
            metrics.dropped("kafka_unavailable").inc(len(events))
            log.warning("email event not recorded: %s", exc)

    @router.get("/v1/o/{token}.gif", response_class=Response,
                responses={200: {"content": {"image/gif": {}}}})
    async def open_pixel(token: str, request: Request) -> Response:
        now = datetime.now(UTC)
        try:
            parsed = read_token(config.signing_secret, token, "open", now)
        except (BadToken, ExpiredToken):
            metrics.rejected("bad_email_token").inc()
        else:
            await record([_open_event(parsed, edge(request, now), config.machine_open_s)])
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)

    @router.get("/v1/c/{token}", response_class=Response, responses={
        302: {"description": "to the signed target"}, 404: {"description": "bad token"}})
    async def click(token: str, request: Request) -> Response:
        now = datetime.now(UTC)
        try:
            parsed = read_token(config.signing_secret, token, "click", now)
        except ExpiredToken as exc:
            # Authentic, so its target is the signer's: send the reader on, record nothing.
            metrics.rejected("expired_email_token").inc()
            return _redirect(exc.token.url)
        except BadToken:
            metrics.rejected("bad_email_token").inc()
            return Response("This link is not valid.", 404, media_type="text/plain",
                            headers=NO_STORE)
        anon = request.query_params.get(ANON_PARAM) or request.cookies.get(ANON_COOKIE)
        await record(_click_events(parsed, edge(request, now), anon))
        return _redirect(parsed.url)

    return router


def _redirect(url: str | None) -> Response:
    if url is None:  # a click token always has one (make_token checks); belt and braces
        return Response("This link is not valid.", 404, media_type="text/plain")
    return RedirectResponse(url, 302, headers=NO_STORE)


def _open_event(token: EmailToken, edge: Edge, machine_window_s: float) -> StoredEvent:
    machine = is_machine_open(edge.user_agent, token.sent_at, edge.received_at, machine_window_s)
    props = {"campaign_id": token.campaign_id, "message_id": token.message_id,
             "machine": machine}
    event = Event(type="email_open", lead_id=token.lead_id, occurred_at=edge.received_at,
                  properties=props)
    return enrich(event, edge, ["machine"] if machine else [])


def _click_events(token: EmailToken, edge: Edge, anon: str | None) -> list[StoredEvent]:
    props = {"campaign_id": token.campaign_id, "message_id": token.message_id, "url": token.url}
    events = [enrich(Event(type="email_click", lead_id=token.lead_id,
                           occurred_at=edge.received_at, properties=props), edge, [])]
    if anon and len(anon) <= MAX_ID_LENGTH:
        # The browser that clicked is the lead's: the identify links its anonymous history.
        link = Event(type="identify", anonymous_id=anon, lead_id=token.lead_id,
                     occurred_at=edge.received_at, properties={"source": "email_click"})
        events.append(enrich(link, edge, []))
    return events
