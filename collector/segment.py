"""Segment's HTTP Tracking API spec (RudderStack speaks the same) onto our native events.

Pure translation, no I/O: a Segment message in, a native event dict out, which then
goes through the same validation and enrichment as every native event. Segment is
lenient about extra top-level fields (integrations, _metadata, channel...), so this
translation keeps only what it understands instead of refusing the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from collector.errors import FieldError, InvalidEvents

SEGMENT_TYPES: Final = frozenset({"track", "page", "identify", "alias"})

# A fixed namespace: the same messageId always gives the same event_id, so an SDK's
# retry of a batch dedupes downstream instead of counting twice.
MESSAGE_ID_NAMESPACE: Final = uuid.UUID("6f1c3c8e-2b7a-5d43-9a51-0c2f4e9b7d10")

# Segment's Video spec: progress-like events carry position/total_length (seconds).
VIDEO_PROGRESS_EVENTS: Final = frozenset({
    "Video Content Started", "Video Content Playing", "Video Playback Started",
    "Video Playback Progress", "Video Playback Paused", "Video Playback Resumed",
    "Video Playback Seek Completed",
})
VIDEO_COMPLETED_EVENTS: Final = frozenset({"Video Content Completed", "Video Playback Completed"})
TRACK_TYPES: Final[dict[str, str]] = {
    "Email Opened": "email_open",
    "Email Link Clicked": "email_click",
    "File Downloaded": "download",
    "Asset Downloaded": "download",
    "Form Submitted": "form_submit",
}


@dataclass(frozen=True, slots=True)
class Translated:
    event: dict[str, Any]
    sent_at: Any  # Segment's sentAt, for clock-skew correction; None when absent


def is_segment(raw: Mapping[str, Any]) -> bool:
    """Segment messages use Segment's type names; `identify` exists in both dialects,
    and the camelCase ids tell them apart."""
    kind = raw.get("type")
    if kind == "identify":
        return "userId" in raw or "anonymousId" in raw
    return isinstance(kind, str) and kind in SEGMENT_TYPES


def event_id(message_id: Any) -> str | None:
    if not isinstance(message_id, str) or not message_id:
        return None
    try:
        return str(uuid.UUID(message_id))
    except ValueError:
        return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, message_id))


def translate(
    raw: Mapping[str, Any], track_mapping: Mapping[str, str], index: int | None = None
) -> Translated:
    """One Segment message as a native event dict; InvalidEvents names the Segment field."""
    kind = raw.get("type")
    context = _dict(raw.get("context"))
    event: dict[str, Any] = {
        "event_id": event_id(raw.get("messageId")),
        "anonymous_id": raw.get("anonymousId"),
        "lead_id": raw.get("userId"),
        "occurred_at": raw.get("originalTimestamp") or raw.get("timestamp"),
        "context": _context(context),
    }
    if kind == "page":
        event.update(type="page_view", properties=_page(raw, context, index))
    elif kind == "identify":
        traits = {**_dict(context.get("traits")), **_dict(raw.get("traits"))}
        event.update(type="identify", traits=traits)
    elif kind == "alias":
        # An identify with both ids is how the stream layer links two ids.
        event.update(type="identify", anonymous_id=raw.get("previousId"))
        if not raw.get("previousId") or not raw.get("userId"):
            raise InvalidEvents(
                [FieldError(index, "previousId", "alias needs previousId and userId")])
    elif kind == "track":
        event.update(_track(raw, track_mapping, index))
    else:
        raise InvalidEvents([FieldError(index, "type", f"unsupported Segment type {kind!r}")])
    return Translated({k: v for k, v in event.items() if v is not None}, raw.get("sentAt"))


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _context(context: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in context.items() if k not in ("userAgent", "traits")}
    if isinstance(context.get("userAgent"), str):
        out["user_agent"] = context["userAgent"]
    return out


def _page(raw: Mapping[str, Any], context: dict[str, Any], index: int | None) -> dict[str, Any]:
    props = _dict(raw.get("properties"))
    page = _dict(context.get("page"))
    url = props.get("url") or page.get("url") or props.get("path") or page.get("path")
    if not url:
        raise InvalidEvents([FieldError(index, "properties.url", "a page needs url or path")])
    props["url"] = url
    if raw.get("name") and "name" not in props:
        props["name"] = raw["name"]
    return props


def _track(
    raw: Mapping[str, Any], track_mapping: Mapping[str, str], index: int | None
) -> dict[str, Any]:
    name = raw.get("event")
    if not isinstance(name, str) or not name:
        raise InvalidEvents([FieldError(index, "event", "a track call needs an event name")])
    props = _dict(raw.get("properties"))
    if name in VIDEO_PROGRESS_EVENTS or name in VIDEO_COMPLETED_EVENTS:
        return {"type": "video_progress", "properties": _video(name, props, index)}
    kind = TRACK_TYPES.get(name) or track_mapping.get(name)
    if kind == "email_open" or kind == "email_click":
        props.setdefault("message_id", props.get("email_id"))
        if kind == "email_click":
            props.setdefault("url", props.get("link_url"))
    elif kind == "download":
        props.setdefault(
            "asset_id", props.get("file_name") or props.get("asset_name") or props.get("url")
        )
    elif kind == "form_submit":
        props.setdefault("form_id", props.get("form_name"))
    elif kind is None:
        # Kept for analysts, not scored: the custom topic is outside the scoring rules.
        return {"type": "custom", "properties": {**props, "name": name}}
    props.setdefault("event_name", name)
    return {"type": kind, "properties": {k: v for k, v in props.items() if v is not None}}


def _video(name: str, props: dict[str, Any], index: int | None) -> dict[str, Any]:
    video_id = (props.get("asset_id") or props.get("content_asset_id") or props.get("video_id")
                or props.get("title"))
    if isinstance(props.get("content_asset_ids"), list) and props["content_asset_ids"]:
        video_id = video_id or props["content_asset_ids"][0]
    if not video_id:
        raise InvalidEvents(
            [FieldError(index, "properties.asset_id", "video events need asset_id")])
    if name in VIDEO_COMPLETED_EVENTS:
        percent = 100.0
    else:
        percent = _percent(props, index)
    return {**props, "video_id": str(video_id), "percent": percent, "event_name": name}


def _percent(props: dict[str, Any], index: int | None) -> float:
    position, total = props.get("position"), props.get("total_length")
    if isinstance(props.get("percent"), int | float) and not isinstance(props["percent"], bool):
        return float(min(max(props["percent"], 0), 100))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (position, total))
    if not numeric or total <= 0:  # type: ignore[operator]
        raise InvalidEvents([FieldError(index, "properties.total_length",
                                        "video progress needs position and total_length > 0")])
    return round(min(max(position / total * 100, 0.0), 100.0), 2)  # type: ignore[operator]
