"""Durations as written in rules files: an integer and one unit letter (45s, 15m, 36h, 14d)."""

import re
from typing import Final

UNIT_SECONDS: Final[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_HINT: Final = "use 45s, 15m, 36h, 14d"

_DURATION: Final = re.compile(r"(\d+)([smhd])")


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises ValueError naming the accepted forms.

    Only one unit per duration: "1d12h" is rejected so that every value in a rules
    file reads the same way to a marketing-ops reviewer.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"malformed duration {text!r} ({DURATION_HINT})")
    return float(int(match.group(1)) * UNIT_SECONDS[match.group(2)])
