"""The snippet in real headless Chromium, against a live collector and the real broker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.snippet.conftest import Site
from tests.e2e.snippet.live_collector import LiveCollector
from tests.kafka_io import TopicReader, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def topic(kafka_bootstrap: str, topic_prefix: str) -> Iterator[Callable[[str], TopicReader]]:
    readers: list[TopicReader] = []

    def read(base: str) -> TopicReader:
        readers.append(TopicReader(kafka_bootstrap, topic_prefix + base))
        return readers[-1]
    yield read
    for r in readers:
        r.close()


def open_site(page: Page, site: Site, calls: str = "", opt_in: bool = False) -> None:
    page.goto(f"{site.url}/page.html?opt_in={json.dumps(opt_in)}&calls={quote(calls)}")
    page.wait_for_function("window.leadscore && window.leadscore.loaded === true")


def stored_queue(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("JSON.parse(localStorage.getItem('ls_q') || '[]')")  # type: ignore[no-any-return]


def test_page_view_dwell_is_sent_on_pagehide(
    page: Page, site: Site, topic: Callable[[str], TopicReader]
) -> None:
    open_site(page, site)
    # Visible for 700 ms after the snippet loaded (it measures from its own start, which on a
    # cold browser comes well after navigation start): a condition, not a sleep.
    loaded_at = page.evaluate("performance.now()")
    page.wait_for_function(f"performance.now() > {loaded_at + 700}")
    page.click("#leave")  # navigation: pagehide, sendBeacon
    views = topic("events-page-view").until(lambda vs: len(vs) == 1)
    view = views[0]
    assert view["properties"]["url"].endswith("/page.html?opt_in=false&calls=")
    assert view["properties"]["title"] == "Pricing"
    assert view["properties"]["dwell_ms"] >= 600
    assert view["anonymous_id"] == page.context.cookies()[0]["value"]


def test_video_milestones_and_a_replay(
    page: Page, site: Site, topic: Callable[[str], TopicReader]
) -> None:
    open_site(page, site)
    play = "document.getElementById('demo-video').play()"
    page.evaluate(play)
    page.wait_for_function("document.getElementById('demo-video').ended")
    page.evaluate(play)  # a second full watch is its own set of events
    page.wait_for_function("document.getElementById('demo-video').ended")
    page.evaluate("leadscore.flush()")
    events = topic("events-video-progress").until(lambda vs: len(vs) >= 10)
    seen = sorted((e["properties"]["watch"], e["properties"]["percent"]) for e in events)
    assert seen == [(w, p) for w in (1, 2) for p in (10, 25, 50, 75, 100)]
    assert all(e["properties"]["video_id"] == "demo-video" for e in events)
    assert {e["properties"]["replay"] for e in events if e["properties"]["watch"] == 2} == {True}


def test_download_identify_and_queued_calls(
    page: Page, site: Site, topic: Callable[[str], TopicReader]
) -> None:
    # Called before the snippet loaded: kept by the stub queue, replayed in order.
    open_site(page, site, calls='leadscore.identify("lead-77", {title: "CTO"});')
    page.click("#guide")
    page.click("#roi")
    page.click("#send")
    page.evaluate("leadscore.flush()")
    downloads = topic("events-download").until(lambda vs: len(vs) == 2)
    assert {d["properties"]["asset_id"].rsplit("/", 1)[-1] for d in downloads} == {
        "guide.pdf", "roi-calculator"}
    identifies = topic("events-identify").until(lambda vs: len(vs) == 2)
    assert {i["lead_id"] for i in identifies} == {"lead-77"}
    form = next(i for i in identifies if "email" in i["traits"])
    assert form["traits"] == {"email": "dana@acme.test", "company": "Acme",
                              "company_domain": "acme.test"}
    forms = topic("events-form-submit").until(lambda vs: len(vs) == 1)
    assert forms[0]["properties"]["form_id"] == "contact"


def test_collector_outage_loses_nothing_and_duplicates_nothing(
    page: Page, site: Site, collector: LiveCollector, topic: Callable[[str], TopicReader]
) -> None:
    open_site(page, site)
    collector.stop()
    # Wait until the snippet tried, and the collector was away.
    with page.expect_event("requestfailed", timeout=20_000):
        page.evaluate("for (let i = 0; i < 3; i++) leadscore.track('During Outage', {n: i})")
    assert len(stored_queue(page)) == 3
    page.reload()  # the queue survives a reload (and the page view of the first load joins it)
    page.wait_for_function("window.leadscore && window.leadscore.loaded === true")
    assert len(stored_queue(page)) == 4
    collector.start()
    customs = topic("events-custom").until(lambda vs: len(vs) >= 3, timeout=90)
    wait_for(lambda: stored_queue(page) == [], timeout=30)
    # A marker sent after the backlog: once it lands, any duplicate would have too.
    page.evaluate("leadscore.track('Marker'); leadscore.flush()")
    customs = topic("events-custom").until(
        lambda vs: any(v["properties"]["name"] == "Marker" for v in vs))
    ids = [c["event_id"] for c in customs]
    assert len(ids) == len(set(ids)) == 4
    assert sorted(c["properties"]["n"] for c in customs if "n" in c["properties"]) == [0, 1, 2]
    views = topic("events-page-view").until(lambda vs: len(vs) >= 1)
    assert len({v["event_id"] for v in views}) == len(views)


def test_consent_off_sends_nothing(
    page: Page, site: Site, topic: Callable[[str], TopicReader]
) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/v1/" in r.url else None)
    # Opt-in mode without consent: nothing is tracked, no id is set.
    open_site(page, site, opt_in=True)
    page.evaluate("leadscore.track('No Consent'); leadscore.identify({email: 'x@acme.test'})")
    page.click("#guide")
    assert stored_queue(page) == [] and page.context.cookies() == []
    # Consent given, then withdrawn: what was queued is forgotten, later calls are ignored.
    page.evaluate("leadscore.consent(true); leadscore.track('Queued Then Withdrawn')")
    page.evaluate("leadscore.consent(false); leadscore.track('After Withdrawal')")
    assert stored_queue(page) == []
    page.click("#leave")
    page.wait_for_url("**/next.html")
    assert sent == []
    # Proof on the topic: a consented marker from a fresh visitor is the only custom event.
    open_site(page, site)
    page.evaluate("leadscore.consent(true); leadscore.track('Marker'); leadscore.flush()")
    customs = topic("events-custom").until(lambda vs: len(vs) >= 1)
    assert [c["properties"]["name"] for c in customs] == ["Marker"]


def test_global_privacy_control_is_honoured_when_configured(
    browser: Browser, site: Site
) -> None:
    # The loader on the test page sets respectDnt: true.
    context = browser.new_context()
    context.add_init_script(
        "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    tab = context.new_page()
    try:
        sent: list[str] = []
        tab.on("request", lambda r: sent.append(r.url) if "/v1/" in r.url else None)
        open_site(tab, site)
        tab.evaluate("leadscore.track('Under GPC'); leadscore.flush()")
        tab.click("#guide")
        assert stored_queue(tab) == [] and context.cookies() == []
        assert tab.evaluate("leadscore.anonymousId()") is None
        tab.click("#leave")
        tab.wait_for_url("**/next.html")
        assert sent == []
    finally:
        context.close()
