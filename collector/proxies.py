"""Which address is the client: the TCP peer, or what trusted proxies say in X-Forwarded-For.

X-Forwarded-For is written by whoever sends the request, so a client can put any address
in it. Only hops appended by proxies we trust are believed: walking the list from the
right, every entry that is itself a trusted proxy is skipped, and the first one that is
not is the client (the "rightmost untrusted" rule). With no trusted proxies configured
(the default), the header is ignored and the client is the TCP peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_XFF: Final = b"x-forwarded-for"
# A longer chain than this is not a proxy path but an attempt to make us parse a lot.
MAX_HOPS: Final = 32


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (a bare address means that one host); a bad entry fails loudly, naming it."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"LEADSCORE_COLLECTOR_TRUSTED_PROXIES: {cidr!r} is not a CIDR or address"
            ) from None
    return tuple(networks)


class TrustedProxies:
    def __init__(self, cidrs: Sequence[str] = ()) -> None:
        self._networks = parse_networks(cidrs)
        # The same few proxies and clients repeat: decide each address once.
        self.trusts = lru_cache(maxsize=4096)(self._trusts)

    @property
    def enabled(self) -> bool:
        return bool(self._networks)

    def _trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 on a dual-stack socket
        return any(ip.version == n.version and ip in n for n in self._networks)

    def client_ip(self, scope: Scope) -> str | None:
        """The client's address for rate limits, truncation and bot checks."""
        client = scope.get("client")
        peer: str | None = client[0] if client else None
        if not self._networks or peer is None or not self.trusts(peer):
            return peer
        forwarded = [value for name, value in scope["headers"] if name == _XFF]
        if not forwarded:
            return peer
        return self.from_forwarded(b",".join(forwarded).decode("latin-1"), peer)

    def from_forwarded(self, header: str, peer: str) -> str:
        """The rightmost hop that is not a trusted proxy; `peer` is trusted already."""
        hops = [hop.strip() for hop in header.split(",")[-MAX_HOPS:]]
        client = peer
        for hop in reversed(hops):
            if not hop:
                continue
            if not _is_address(hop):
                # Trusted proxies write addresses: this came from further left. Keep the
                # last hop one of them vouched for.
                return client
            client = hop
            if not self.trusts(hop):
                return hop
        return client  # every hop is trusted: the leftmost is as far as anyone saw


@lru_cache(maxsize=4096)
def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
