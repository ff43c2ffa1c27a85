"""Headless Debian Chromium (never a downloaded browser), a test site and a live collector."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from tests.e2e.snippet.live_collector import WRITE_KEY, LiveCollector, ThreadServer, free_port

CHROMIUM = "/usr/bin/chromium"
SNIPPET = Path(__file__).resolve().parents[3] / "collector" / "snippet" / "leadscore.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required"]

PAGE = """<!doctype html><html><head><title>Pricing</title>
<script>
(function (w, d, host, writeKey, src) {{
  var ls = w.leadscore = w.leadscore || [];
  ls.config = {{ host: host, writeKey: writeKey, optIn: {opt_in}, respectDnt: true }};
  ["page", "identify", "track", "consent", "flush"].forEach(function (m) {{
    ls[m] = function () {{ ls.push([m].concat([].slice.call(arguments))); }};
  }});
  var s = d.createElement("script"); s.async = true; s.src = src; d.head.appendChild(s);
}})(window, document, "{collector}", "{key}", "/leadscore.js");
{calls}
</script></head><body>
<h1>Pricing</h1>
<video id="demo-video" src="/video.webm" muted playsinline></video>
<a id="guide" href="/files/guide.pdf" onclick="event.preventDefault()">Guide</a>
<button id="roi" data-leadscore-asset="roi-calculator">ROI</button>
<form id="contact" data-leadscore-identify onsubmit="event.preventDefault()">
  <input type="email" name="email" value="dana@acme.test">
  <input name="company" value="Acme"><input type="password" name="pw" value="secret">
  <button id="send" type="submit">Send</button>
</form>
<a id="leave" href="/next.html">next</a>
</body></html>"""


@pytest.fixture(scope="session")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 32x32 WebM made by Debian's ffmpeg: small, real, playable."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg missing: apt-get install -y ffmpeg")
    out = tmp_path_factory.mktemp("video") / "video.webm"
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=blue:s=32x32:d=2:r=10", "-c:v", "libvpx", "-b:v", "20k", str(out)],
                   check=True)
    return out


class Site(ThreadServer):
    """The customer's site: pages with the loader, the snippet as a CDN would serve it."""

    def __init__(self, collector_url: str, video: Path) -> None:
        self.collector_url = collector_url

        async def page(request: Request) -> Response:
            return HTMLResponse(PAGE.format(
                collector=self.collector_url, key=WRITE_KEY, src="/leadscore.js",
                opt_in=request.query_params.get("opt_in", "false"),
                calls=request.query_params.get("calls", "")))

        async def snippet(_: Request) -> Response:
            return Response(SNIPPET.read_bytes(), media_type="application/javascript")

        async def nxt(_: Request) -> Response:
            return HTMLResponse("<!doctype html><title>next</title><p>next page</p>")

        async def video_route(_: Request) -> Response:
            return FileResponse(video, media_type="video/webm")

        app = Starlette(routes=[Route("/page.html", page), Route("/leadscore.js", snippet),
                                Route("/next.html", nxt), Route("/video.webm", video_route)])
        super().__init__(app, free_port())


@pytest.fixture
def collector(kafka_bootstrap: str, topic_prefix: str) -> Iterator[LiveCollector]:
    live = LiveCollector(kafka_bootstrap, topic_prefix)
    live.start()
    yield live
    live.close()


@pytest.fixture
def site(collector: LiveCollector, video_file: Path) -> Iterator[Site]:
    served = Site(collector.url, video_file)
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: Playwright's sync API holds an event loop only while it is needed."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
