from datetime import UTC, datetime, timedelta

import pytest

from collector.email_tokens import BadToken, ExpiredToken, main, make_token, read_token
from leadscore.settings import Settings

SECRET = b"s3cret"
SENT = datetime(2026, 11, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def click_token(url: str = "https://acme.test/pricing") -> str:
    return make_token(SECRET, "click", "lead-1", "c1", "m1", SENT, DAY, url)


def test_round_trip() -> None:
    token = read_token(SECRET, click_token(), "click", SENT + timedelta(hours=1))
    assert (token.lead_id, token.campaign_id, token.message_id, token.url) == (
        "lead-1", "c1", "m1", "https://acme.test/pricing")
    assert token.sent_at == SENT


def test_tampered_wrong_secret_wrong_kind_and_expired() -> None:
    token = click_token()
    body, _, sig = token.partition(".")
    evil = make_token(SECRET, "click", "lead-1", "c1", "m1", SENT, DAY, "https://evil.test")
    with pytest.raises(BadToken):
        read_token(SECRET, evil.partition(".")[0] + "." + sig, "click", SENT)
    with pytest.raises(BadToken):
        read_token(b"other", token, "click", SENT)
    with pytest.raises(BadToken):
        read_token(SECRET, token, "open", SENT)
    with pytest.raises(BadToken):
        read_token(SECRET, "garbage", "click", SENT)
    with pytest.raises(ExpiredToken):
        read_token(SECRET, token, "click", SENT + 2 * DAY)


def test_click_tokens_need_an_absolute_http_target() -> None:
    for bad in ("javascript:alert(1)", "/relative", "//evil.test/x"):
        with pytest.raises(ValueError):
            click_token(bad)


def test_cli_prints_urls(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(signing_secret="cli-secret", collector_public_url="https://t.acme.test")
    assert main(["open", "--lead", "l1", "--campaign", "c", "--message", "m"], settings) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://t.acme.test/v1/o/") and url.endswith(".gif")
    token = url.removeprefix("https://t.acme.test/v1/o/").removesuffix(".gif")
    assert read_token(b"cli-secret", token, "open", datetime.now(UTC)).lead_id == "l1"
    assert main(["click", "--lead", "l1", "--campaign", "c", "--message", "m"], settings) == 2
