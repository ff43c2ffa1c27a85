"""GET /v1/snippet.js: the browser snippet, cacheable, revalidated by ETag."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request, Response

SNIPPET: Final = Path(__file__).resolve().parent / "snippet" / "leadscore.js"
# An hour in browsers and CDNs, then a cheap 304: a fix reaches every site within the hour.
CACHE_CONTROL: Final = "public, max-age=3600, stale-while-revalidate=86400"


def snippet_router(path: Path = SNIPPET) -> APIRouter:
    router = APIRouter(tags=["snippet"])
    source = path.read_bytes() if path.exists() else b"/* leadscore snippet missing */\n"
    etag = '"' + hashlib.sha256(source).hexdigest()[:32] + '"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag,
               "Access-Control-Allow-Origin": "*"}

    @router.get("/v1/snippet.js", response_class=Response,
                responses={200: {"content": {"application/javascript": {}}}})
    async def snippet(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(source, media_type="application/javascript; charset=utf-8",
                        headers=headers)

    return router
