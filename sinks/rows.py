"""Kafka message values (JSON dicts) to table rows. Pure functions, no I/O.

The hot path reads dicts directly rather than validating with pydantic: the producers
(collector, worker) already validated against schemas/, and the sink must keep up with them.
A value that still does not fit raises `BadMessage` and goes to sink_dead_letters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from kafka.structs import TopicPartition

from schemas import topics
from sinks.batch import Row, Source, Sources

# Every table the sink writes ends with the Kafka coordinates of the row (see 001_tables.sql).
COORDINATES: Final = ("_topic", "_partition", "_offset")


class BadMessage(ValueError):
    """A message value the sink cannot turn into a row."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]
    to_row: Callable[[dict[str, Any]], Row]
    # A Null table whose materialized view parses raw JSONEachRow into this table (004 DDL);
    # None: rows are built in Python with `to_row`.
    stage_table: str | None = None

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + COORDINATES


def parse_time(value: Any) -> datetime:
    """ISO-8601 with a zone (the wire format of every topic) to an aware UTC datetime."""
    if not isinstance(value, str):
        raise BadMessage(f"time {value!r} is not an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadMessage(f"time {value!r} is not ISO-8601") from None
    if moment.tzinfo is None:
        raise BadMessage(f"time {value!r} has no zone")
    return moment.astimezone(UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# One encoder, built once: json.dumps with options builds a new one per call (the sink
# re-encodes three objects per event, so this is on the hot path).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _json(value: Any) -> str:
    return _ENCODER.encode(value) if value else "{}"


def _url_parts(url: str) -> tuple[str, dict[str, str]]:
    """Path and utm_* parameters of a URL (the fallback when the client sent no campaign)."""
    if not url:
        return "", {}
    parts = urlsplit(url)
    if "utm_" not in parts.query:
        return parts.path, {}
    query = parse_qs(parts.query)
    return parts.path, {k: v[0] for k, v in query.items() if k.startswith("utm_") and v}


def event_row(value: dict[str, Any]) -> Row:
    props: dict[str, Any] = value.get("properties") or {}
    context: dict[str, Any] = value.get("context") or {}
    campaign: dict[str, Any] = context.get("campaign") or {}
    page: dict[str, Any] = context.get("page") or {}
    url = _text(props.get("url") or page.get("url"))
    url_path, utm = _url_parts(url)
    percent, dwell = props.get("percent"), props.get("dwell_ms")
    try:
        event_id = uuid.UUID(value["event_id"])
        kind = str(value["type"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadMessage(f"event_id/type: {exc}") from None
    return (
        event_id,
        kind,
        _text(value.get("lead_id")),
        _text(value.get("anonymous_id")),
        parse_time(value.get("occurred_at")),
        parse_time(value.get("received_at")),
        url,
        _text(props.get("path") or page.get("path") or url_path),
        _text(props.get("referrer") or page.get("referrer")),
        _text(campaign.get("source") or utm.get("utm_source")),
        _text(campaign.get("medium") or utm.get("utm_medium")),
        _text(campaign.get("name") or utm.get("utm_campaign")),
        _text(props.get("campaign_id")),
        _text(props.get("asset_id")),
        _text(props.get("video_id")),
        None if percent is None else float(percent),
        None if dwell is None else int(dwell),
        [str(f) for f in value.get("flags") or []],
        _json(props),
        _json(value.get("traits")),
        _json(context),
    )


def stage_prefix(topic: str, partition: int) -> bytes:
    """The start of every JSONEachRow line of one partition, up to the offset's digits.
    Kafka topic names are [a-zA-Z0-9._-]: nothing to escape, so no encoder on the hot path."""
    return b'{"_topic":"%s","_partition":%d,"_offset":' % (topic.encode(), partition)


def stage_lines(
    prefix: bytes, tp: TopicPartition, records: Sequence[Source]
) -> tuple[list[bytes], Sources, list[Source]]:
    """(lines, the messages they came from, the other records) for one partition's records:
    each JSON object becomes one JSONEachRow line with its Kafka coordinates spliced in,
    without parsing it; anything else is left for `message_row` (it goes to the dead letters).
    The records themselves are not kept (see `Sources`)."""
    lines: list[bytes] = []
    sources = Sources()
    tps, offsets, keys, values = sources.tps, sources.offsets, sources.keys, sources.values
    others: list[Source] = []
    for record in records:
        value = record.value
        # The common case, `{"` (an object with a first key), is spliced with one format;
        # whitespace or an empty object take the general path.
        if value is not None and value[:2] == b'{"':
            offset = record.offset
            lines.append(b"%s%d,%s" % (prefix, offset, value[1:]))
            tps.append(tp)
            offsets.append(offset)
            keys.append(record.key)
            values.append(value)
            continue
        line = stage_line(value, record.topic, record.partition, record.offset)
        if line is None:
            others.append(record)
        else:
            lines.append(line)
            sources.append(tp, record)
    return lines, sources, others


def stage_line(value: bytes | None, topic: str, partition: int, offset: int) -> bytes | None:
    """The message as one JSONEachRow line with its Kafka coordinates spliced in, without
    parsing it; None when it is not a JSON object (it goes to the dead letters instead)."""
    if not value or value[:1] != b"{":
        return None
    rest = value[1:].lstrip()
    joiner = b"" if rest[:1] == b"}" else b","
    return b"%s%d%s%s" % (stage_prefix(topic, partition), offset, joiner, rest)


EVENTS = TableSpec(
    "events",
    (
        "event_id",
        "type",
        "lead_id",
        "anonymous_id",
        "occurred_at",
        "received_at",
        "url",
        "path",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "campaign_id",
        "asset_id",
        "video_id",
        "percent",
        "dwell_ms",
        "flags",
        "properties",
        "traits",
        "context",
    ),
    event_row,
    stage_table="events_stage",
)


def _contributions(value: dict[str, Any]) -> list[tuple[str, float, str]]:
    return [
        (str(c["rule_id"]), float(c["points"]), _text(c.get("event_id")))
        for c in value.get("contributions") or []
    ]


def make_score_row(default_half_life_s: float) -> Callable[[dict[str, Any]], Row]:
    """LeadScore carries no half-life yet, so the sink stamps the configured one on each row."""

    def score_row(value: dict[str, Any]) -> Row:
        return (
            str(value["lead_id"]),
            float(value["score"]),
            str(value["stage"]),
            parse_time(value["at"]),
            _text(value.get("rules_version")),
            _text(value.get("fit_grade") or "D"),
            bool(value.get("identified", True)),
            _text(value.get("event_id")),
            float(value.get("half_life_s") or default_half_life_s),
            _contributions(value),
        )

    return score_row


def stage_change_row(value: dict[str, Any]) -> Row:
    return (
        str(value["change_id"]),
        str(value["lead_id"]),
        str(value["from_stage"]),
        str(value["to_stage"]),
        float(value["score"]),
        parse_time(value["at"]),
        str(value["cause"]),
        _text(value.get("event_id")),
        _text(value.get("rules_version")),
        _text(value.get("fit_grade") or "D"),
        bool(value.get("identified", True)),
        _text(value.get("rule_id")),
        _contributions(value),
    )


STAGE_CHANGES = TableSpec(
    "lead_stage_changes",
    (
        "change_id",
        "lead_id",
        "from_stage",
        "to_stage",
        "score",
        "at",
        "cause",
        "event_id",
        "rules_version",
        "fit_grade",
        "identified",
        "rule_id",
        "contributions",
    ),
    stage_change_row,
)


def make_outcome_row(now: Callable[[], datetime]) -> Callable[[dict[str, Any]], Row]:
    """An outcome without `at` is stamped when the sink reads it (the CRM sent no time)."""

    def outcome_row(value: dict[str, Any]) -> Row:
        at = parse_time(value["at"]) if value.get("at") else now()
        amount = value.get("amount")
        return (
            _text(value.get("outcome_id")),
            str(value["lead_id"]),
            str(value["outcome"]),
            None if amount is None else float(amount),
            at,
            _json(value.get("traits")),
        )

    return outcome_row


def rejected_row(value: dict[str, Any]) -> Row:
    index = value.get("index")
    return (
        parse_time(value["received_at"]),
        str(value["reason"]),
        json.dumps(value.get("errors") or [], default=str),
        None if index is None else int(index),
        _text(value.get("raw")),
    )


REJECTED = TableSpec(
    "events_rejected", ("received_at", "reason", "errors", "idx", "raw"), rejected_row
)

DEAD_LETTERS_TABLE: Final = "sink_dead_letters"
DEAD_LETTER_COLUMNS: Final = ("key", "value", "error", *COORDINATES)


def message_row(spec: TableSpec, source: Source) -> tuple[str, Row]:
    """(table, row) for one message: the spec's table, or the dead letters if it won't fit."""
    coordinates = (source.topic, source.partition, source.offset)
    try:
        value = json.loads(source.value or b"")
        return spec.name, spec.to_row(value) + coordinates
    except (BadMessage, ValueError, KeyError, TypeError, AttributeError) as exc:
        key = source.key.decode("utf-8", "replace") if source.key else ""
        text = (source.value or b"").decode("utf-8", "replace")
        return DEAD_LETTERS_TABLE, (key, text, str(exc)[:1000] or type(exc).__name__, *coordinates)


def table_specs(default_half_life_s: float) -> dict[str, TableSpec]:
    """Specs by table name, including the ones whose row function is configured."""
    return {
        "events": EVENTS,
        "lead_scores": TableSpec(
            "lead_scores",
            (
                "lead_id",
                "score",
                "stage",
                "at",
                "rules_version",
                "fit_grade",
                "identified",
                "event_id",
                "half_life_s",
                "contributions",
            ),
            make_score_row(default_half_life_s),
        ),
        "lead_stage_changes": STAGE_CHANGES,
        "outcomes": TableSpec(
            "outcomes",
            ("outcome_id", "lead_id", "outcome", "amount", "at", "traits"),
            make_outcome_row(lambda: datetime.now(UTC)),
        ),
        "events_rejected": REJECTED,
    }


def topic_tables(prefix: str) -> dict[str, str]:
    """Which table each consumed topic (with its deployment prefix) lands in.

    Replay topics are not sunk: they hold what-if runs, not history.
    """
    routes = {name: "events" for name in topics.all_event_topics(prefix)}
    routes[prefix + topics.LEAD_SCORES] = "lead_scores"
    routes[prefix + topics.LEAD_STAGE_CHANGES] = "lead_stage_changes"
    routes[prefix + topics.LEAD_OUTCOMES] = "outcomes"
    routes[prefix + topics.EVENTS_REJECTED] = "events_rejected"
    return routes
