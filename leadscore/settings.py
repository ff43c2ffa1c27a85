"""Settings: `LEADSCORE_*` environment variables, read once per process and passed down.

A malformed value fails loudly at start, naming the variable.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSCORE_", extra="ignore", frozen=True)

    # Where local state lives: the broker (var/kafka), chDB (var/clickhouse), worker tables.
    var: Path = Path("var")
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    # Kafka's unit of parallelism: N workers share these (see README, scale-out).
    partitions: Annotated[int, Field(ge=1, le=256)] = 8
    clickhouse_url: str = ""
    clickhouse_database: str = "leadscore"
    rules: Path = PROJECT_ROOT / "deploy" / "rules.toml"

    collector_host: str = "127.0.0.1"
    collector_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    write_keys: Annotated[list[str], NoDecode] = ["dev-write-key"]
    signing_secret: SecretStr = SecretStr("dev-signing-secret-change-me")

    # --- collector ---
    # Client IPs are cut to /24 (IPv4) or /48 (IPv6) before Kafka; false keeps them whole.
    collector_ip_truncation: bool = True
    # Token buckets (requests per second, burst); a rate of 0 turns that limit off.
    # Abuse limits, not quotas: one server-side SDK or the demo sends ~100 batches/s
    # from one IP, and a browser sends one batch per 2 s.
    collector_rate_per_key: Annotated[float, Field(ge=0)] = 1000.0
    collector_burst_per_key: Annotated[int, Field(ge=1)] = 2000
    collector_rate_per_ip: Annotated[float, Field(ge=0)] = 200.0
    collector_burst_per_ip: Annotated[int, Field(ge=1)] = 1000
    # JSON {"write-key": ["https://www.acme.com"]}; a key not listed accepts any origin.
    collector_cors_origins: dict[str, list[str]] = {}
    # JSON {"Webinar Registered": "form_submit"}: Segment track names onto our types.
    collector_track_mapping: dict[str, str] = {}
    # An open this soon after the send is a scanner or a privacy proxy, not a reader.
    collector_machine_open_s: Annotated[float, Field(ge=0)] = 10.0
    # Where email links point (the collector as the internet sees it).
    collector_public_url: str = "http://127.0.0.1:8000"
    email_token_ttl_days: Annotated[int, Field(ge=1, le=3650)] = 90
    # Proxies whose X-Forwarded-For names the client (for rate limits, IP truncation, bot
    # checks): CIDRs, comma-separated or a JSON list. Empty: trust nobody, use the TCP peer.
    collector_trusted_proxies: Annotated[list[str], NoDecode] = []

    @field_validator("collector_trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, v: object) -> object:
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                import json  # here, to keep this block self-contained

                return json.loads(text)
            return [cidr.strip() for cidr in text.split(",") if cidr.strip()]
        return v
    # --- end collector ---

    worker_store: str = "rocksdb://"
    # The worker's own lines (rebalances, rewinds, decay schedule) are INFO; Faust's stay
    # at WARNING whatever this is (leadscore/cli.py).
    worker_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    worker_web_port: Annotated[int, Field(ge=0, le=65535)] = 6066
    # The sink owns the chDB data path and answers read-only SQL for other processes here.
    sink_query_port: Annotated[int, Field(ge=0, le=65535)] = 8124

    @field_validator("write_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: object) -> object:
        if isinstance(v, str):
            keys = [k.strip() for k in v.split(",") if k.strip()]
            if not keys:
                raise ValueError("needs at least one write key (comma-separated)")
            return keys
        return v

    @field_validator("clickhouse_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("chdb:", "http://", "https://")):
            raise ValueError("must be chdb:///path, http://user:pass@host:8123/db or https://...")
        return v

    @cached_property
    def var_dir(self) -> Path:
        return self.var.resolve()

    @cached_property
    def clickhouse(self) -> str:
        """The ClickHouse URL; by default embedded chDB with data under var/clickhouse."""
        return self.clickhouse_url or f"chdb://{self.var_dir / 'clickhouse'}"

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse.startswith("chdb:")


def load_settings() -> Settings:
    """Read the environment once; callers pass the result down."""
    return Settings()
