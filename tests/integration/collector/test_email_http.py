"""The open pixel and the click redirect with signed tokens, against the real broker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from collector.email_routes import PIXEL
from collector.email_tokens import make_token
from tests.integration.collector.conftest import SECRET
from tests.kafka_io import TopicReader

HUMAN = {"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko)"}
TARGET = "https://acme.test/pricing?x=1"


def token(kind: str, sent_ago: timedelta = timedelta(hours=1), ttl: timedelta = timedelta(days=1),
          secret: bytes = SECRET) -> str:
    return make_token(secret, kind, "lead-5", "camp-1", "msg-1",  # type: ignore[arg-type]
                      datetime.now(UTC) - sent_ago, ttl, TARGET if kind == "click" else None)


def test_open_pixel_records_human_and_machine_opens(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    r = c.get(f"/v1/o/{token('open')}.gif", headers=HUMAN)
    assert r.status_code == 200 and r.content == PIXEL and "no-store" in r.headers["cache-control"]
    c.get(f"/v1/o/{token('open')}.gif", headers={"User-Agent": "Mozilla/5.0"})
    c.get(f"/v1/o/{token('open', sent_ago=timedelta(seconds=1))}.gif", headers=HUMAN)
    opens = read_topic("events-email-open").until(lambda vs: len(vs) == 3)
    assert [o["properties"]["machine"] for o in opens] == [False, True, True]
    assert [o["flags"] for o in opens] == [[], ["machine"], ["machine"]]
    assert opens[0]["lead_id"] == "lead-5" and opens[0]["properties"]["campaign_id"] == "camp-1"


def test_bad_tokens_record_nothing_but_still_get_a_gif(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    for bad in ("nonsense", token("open", secret=b"wrong"), token("click"),
                token("open", sent_ago=timedelta(days=3))):
        r = c.get(f"/v1/o/{bad}.gif", headers=HUMAN)
        assert r.status_code == 200 and r.content == PIXEL
    c.get(f"/v1/o/{token('open')}.gif", headers=HUMAN)  # a marker: the first thing on the topic
    opens = read_topic("events-email-open").until(lambda vs: len(vs) >= 1)
    assert len(opens) == 1


def test_click_redirects_only_to_the_signed_target_and_links_the_browser(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    c.cookies.set("ls_aid", "anon-browser-1")
    r = c.get(f"/v1/c/{token('click')}", headers=HUMAN, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == TARGET
    clicks = read_topic("events-email-click").until(lambda vs: len(vs) == 1)
    assert clicks[0]["properties"]["url"] == TARGET
    link = read_topic("events-identify").until(lambda vs: len(vs) == 1)[0]
    assert (link["anonymous_id"], link["lead_id"]) == ("anon-browser-1", "lead-5")


def test_tampered_click_never_redirects(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    good = token("click")
    body, _, sig = good.partition(".")
    forged = make_token(SECRET + b"x", "click", "lead-5", "c", "m", datetime.now(UTC),
                        timedelta(days=1), "https://evil.test/")
    for bad in (forged, forged.partition(".")[0] + "." + sig, "x.y", token("open"),
                "https:%2F%2Fevil.test", body + "." + sig[:-2]):
        r = c.get(f"/v1/c/{bad}", follow_redirects=False)
        assert r.status_code == 404, bad
        assert "location" not in r.headers
    # Extra query parameters change nothing: the target is the signed one.
    r = c.get(f"/v1/c/{good}?next=https://evil.test&url=https://evil.test",
              follow_redirects=False)
    assert r.headers["location"] == TARGET
    expired = c.get(f"/v1/c/{token('click', sent_ago=timedelta(days=3))}", follow_redirects=False)
    assert expired.status_code == 302 and expired.headers["location"] == TARGET
