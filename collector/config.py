"""The collector's own configuration, built once from Settings (the composition root's job)."""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.proxies import parse_networks
from leadscore.settings import Settings
from schemas.event_types import EVENT_TYPES


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float  # 0 = no limit
    burst: int


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    signing_secret: bytes = b"dev-signing-secret-change-me"
    truncate_ips: bool = True
    key_limit: RateLimit = RateLimit(0, 1)
    ip_limit: RateLimit = RateLimit(0, 1)
    cors_origins: dict[str, list[str]] = field(default_factory=dict)
    track_mapping: dict[str, str] = field(default_factory=dict)
    machine_open_s: float = 10.0
    # Proxies (CIDRs) whose X-Forwarded-For is believed; empty: the TCP peer is the client.
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parse_networks(self.trusted_proxies)  # a bad entry fails at start, naming the key
        for name, kind in self.track_mapping.items():
            if kind not in EVENT_TYPES:
                raise ValueError(
                    f"LEADSCORE_COLLECTOR_TRACK_MAPPING: {name!r} maps to unknown type {kind!r}"
                )

    @classmethod
    def from_settings(cls, settings: Settings) -> CollectorConfig:
        return cls(
            signing_secret=settings.signing_secret.get_secret_value().encode(),
            truncate_ips=settings.collector_ip_truncation,
            key_limit=RateLimit(settings.collector_rate_per_key, settings.collector_burst_per_key),
            ip_limit=RateLimit(settings.collector_rate_per_ip, settings.collector_burst_per_ip),
            cors_origins=dict(settings.collector_cors_origins),
            track_mapping=dict(settings.collector_track_mapping),
            machine_open_s=settings.collector_machine_open_s,
            trusted_proxies=tuple(settings.collector_trusted_proxies),
        )
