"""Who the client is: X-Forwarded-For only from trusted proxies, rightmost untrusted hop."""

from __future__ import annotations

import pytest

from collector.config import CollectorConfig
from collector.proxies import MAX_HOPS, TrustedProxies
from leadscore.settings import Settings


def scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    return {"client": (peer, 443) if peer else None,
            "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


PROXIES = TrustedProxies(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])


def test_default_trusts_nobody_and_ignores_the_header() -> None:
    nobody = TrustedProxies()
    assert not nobody.enabled
    assert nobody.client_ip(scope("10.1.1.1", "198.51.100.9")) == "10.1.1.1"
    assert nobody.client_ip(scope("203.0.113.5", "198.51.100.9")) == "203.0.113.5"


def test_untrusted_peer_cannot_spoof_its_address() -> None:
    assert PROXIES.client_ip(scope("203.0.113.5", "198.51.100.9")) == "203.0.113.5"
    assert PROXIES.client_ip(scope("203.0.113.5", "10.0.0.1")) == "203.0.113.5"


def test_trusted_peer_names_the_client() -> None:
    assert PROXIES.client_ip(scope("10.1.1.1", "198.51.100.9")) == "198.51.100.9"
    assert PROXIES.client_ip(scope("192.0.2.7", "198.51.100.9")) == "198.51.100.9"
    assert PROXIES.client_ip(scope("2001:db8::5", "2001:db9::1")) == "2001:db9::1"
    assert PROXIES.client_ip(scope("::ffff:10.0.0.3", "198.51.100.9")) == "198.51.100.9"


def test_rightmost_untrusted_hop_wins_over_what_the_client_wrote() -> None:
    # The client wrote "1.1.1.1" itself; our load balancer appended what it saw.
    assert PROXIES.client_ip(scope("10.0.0.2", "1.1.1.1, 198.51.100.9")) == "198.51.100.9"
    # Two trusted proxies in a row are skipped.
    assert PROXIES.client_ip(
        scope("10.0.0.2", "1.1.1.1, 198.51.100.9, 10.0.0.8")) == "198.51.100.9"
    # Several headers are one list, in order.
    assert PROXIES.client_ip(scope("10.0.0.2", "1.1.1.1", "198.51.100.9")) == "198.51.100.9"


def test_odd_headers() -> None:
    assert PROXIES.client_ip(scope("10.0.0.2")) == "10.0.0.2"  # no header: the peer
    assert PROXIES.client_ip(scope("10.0.0.2", "")) == "10.0.0.2"
    assert PROXIES.client_ip(scope("10.0.0.2", " , ")) == "10.0.0.2"
    # Garbage to the left of trusted hops: the last address a trusted proxy vouched for.
    assert PROXIES.client_ip(scope("10.0.0.2", "not-an-ip, 10.0.0.9")) == "10.0.0.9"
    assert PROXIES.client_ip(scope("10.0.0.2", "198.51.100.9:4711")) == "10.0.0.2"
    # Every hop trusted: the leftmost is as far as anyone saw.
    assert PROXIES.client_ip(scope("10.0.0.2", "10.0.0.3, 10.0.0.4")) == "10.0.0.3"
    assert PROXIES.client_ip(scope(None, "198.51.100.9")) is None


def test_a_long_chain_is_cut() -> None:
    chain = ", ".join(["198.51.100.1"] + ["10.0.0.1"] * (MAX_HOPS + 5))
    assert PROXIES.client_ip(scope("10.0.0.2", chain)) == "10.0.0.1"


def test_bad_cidr_fails_loudly_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="LEADSCORE_COLLECTOR_TRUSTED_PROXIES.*'10.0.0.0/33'"):
        CollectorConfig(trusted_proxies=("10.0.0.0/33",))


def test_setting_takes_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_COLLECTOR_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
    config = CollectorConfig.from_settings(Settings())
    assert config.trusted_proxies == ("10.0.0.0/8", "192.0.2.7")
    monkeypatch.setenv("LEADSCORE_COLLECTOR_TRUSTED_PROXIES", '["fd00::/8"]')
    assert Settings().collector_trusted_proxies == ["fd00::/8"]
    monkeypatch.delenv("LEADSCORE_COLLECTOR_TRUSTED_PROXIES")
    assert Settings().collector_trusted_proxies == []
