"""Opens no person made: privacy proxies and link scanners fetch the pixel themselves."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final

from collector.enrichment import is_bot

# Apple Mail Privacy Protection prefetches with a bare "Mozilla/5.0"; security
# gateways (Proofpoint, Mimecast, Barracuda, Microsoft Defender...) announce themselves.
_SCANNER_UA: Final = re.compile(
    r"^Mozilla/5\.0$|proofpoint|mimecast|barracuda|symantec|forcepoint|trendmicro|"
    r"trend micro|zscaler|ironport|cisco|sophos|fortinet|messagelabs|safelinks|"
    r"microsoft office protection|google-safety|yahoo! slurp|python|java/|go-http-client",
    re.IGNORECASE,
)


def is_machine_open(
    user_agent: str | None, sent_at: datetime, now: datetime, window_s: float
) -> bool:
    """Known machine user agents, no user agent, or an open within seconds of the send."""
    if not user_agent or not user_agent.strip():
        return True
    if _SCANNER_UA.search(user_agent.strip()) or is_bot(user_agent):
        return True
    return now - sent_at < timedelta(seconds=window_s)
