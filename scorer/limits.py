"""Bounds on per-lead state, each with its reason. Nothing per lead grows without bound."""

from typing import Final

# Applied event ids are remembered for at least this many days of event time...
DEDUPE_DAYS: Final = 7
# ...or the latest this many ids, whichever covers more (the collector and Kafka producers
# retry within minutes; a week covers replays of a partition from a day-old offset).
DEDUPE_IDS: Final = 10_000
# Pruning runs only once this many ids are held, so its sort is amortized over 1,000 events.
DEDUPE_PRUNE_AT: Final = 11_000

# 9 bytes of BLAKE2b per id (12 base64 characters): ~1e-14 collision odds among 10,000 ids.
DIGEST_BYTES: Final = 9
DIGEST_WIDTH: Final = 12

# Credits listed one by one in explanations; older ones are summed per rule. Eight keeps a
# typical 50-event lead under 2 KB of JSON while showing what moved the score lately.
RECENT_CREDITS: Final = 8

# After 30 half-lives a credit is worth 2^-30 ~ 1e-9 of its points: bookkeeping older than
# that (cap windows, once_per keys, trigger times) is dropped as negligible.
HORIZON_HALF_LIVES: Final = 30

# Cap windows kept per rule. A late event into an older, dropped window is not credited
# (the window is treated as full); with 1-day windows that needs an event 16+ days late.
MAX_CAP_WINDOWS: Final = 16

# Distinct once_per keys kept per rule (e.g. 64 videos); beyond that the oldest key is
# forgotten and counts again if seen again.
MAX_ONCE_KEYS: Final = 64
# 6 bytes of BLAKE2b per once_per key (8 base64 characters).
KEY_DIGEST_BYTES: Final = 6
