"""Bounds on per-lead state, each with its reason. Nothing per lead grows without bound."""

from typing import Final

# Applied event ids are remembered for at least this many days of event time...
DEDUPE_DAYS: Final = 7
# ...or the latest this many ids, whichever covers more (the collector and Kafka producers
# retry within minutes; a week covers replays of a partition from a day-old offset).
DEDUPE_IDS: Final = 10_000
# Pruning runs only once this many ids are held, so its sort is amortized over 1,000 events.
DEDUPE_PRUNE_AT: Final = 11_000

# Ids are bucketed by week of event time; the current and previous week are always kept,
# so an id is remembered for at least DEDUPE_DAYS days (weeks keep the JSON small).
DEDUPE_BUCKET: Final = 7 * 86_400.0
# 48 bits of BLAKE2b per id (8 base64 characters: the first 6 bytes of an 8-byte digest,
# so states written with 11-character digests load by truncation). A new event is taken
# for a duplicate by mistake with odds under 10,000 / 2^48 ~ 4e-11.
DIGEST_BYTES: Final = 8
DIGEST_WIDTH: Final = 8
# In memory the 6 bytes themselves are kept, as latin-1 characters (8 base64 characters are
# exactly 6 bytes, so a week's ids encode and decode as one string: stored form unchanged).
ID_BYTES: Final = 6

# Credits listed one by one in explanations; older ones are summed per rule. Six keeps a
# typical 50-event lead under 2 KB of JSON while showing what moved the score lately.
RECENT_CREDITS: Final = 6

# After 30 half-lives a credit is worth 2^-30 ~ 1e-9 of its points: bookkeeping older than
# that (cap windows, once_per keys, trigger times) is dropped as negligible.
HORIZON_HALF_LIVES: Final = 30

# Cap windows are kept while they can still matter to a late event: those ending less than
# CAP_LATENESS seconds before the lead's latest event, at most MAX_CAP_WINDOWS per rule. A
# later event into a dropped window is not credited by that rule (the window counts as
# full). Two days covers mobile SDK offline buffers and Kafka redelivery; older stragglers
# are rare, and this keeps states small.
CAP_LATENESS: Final = 2 * 86_400.0
MAX_CAP_WINDOWS: Final = 4

# Distinct once_per keys kept per rule (e.g. 64 videos); beyond that the oldest key is
# forgotten and counts again if seen again.
MAX_ONCE_KEYS: Final = 64
# 6 bytes of BLAKE2b per once_per key (8 base64 characters).
KEY_DIGEST_BYTES: Final = 6
