"""JSON Schema files for every event and output message, for downstream consumers."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.events import Event, StoredEvent
from schemas.messages import LeadScore, Outcome, RejectedEvent, StageChangeMessage

EXPORTED: dict[str, type[BaseModel]] = {
    "event": Event,
    "stored-event": StoredEvent,
    "lead-score": LeadScore,
    "lead-stage-change": StageChangeMessage,
    "rejected-event": RejectedEvent,
    "lead-outcome": Outcome,
}


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in EXPORTED.items():
        path = directory / f"{name}.schema.json"
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  **model.model_json_schema(mode="serialization")}
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
