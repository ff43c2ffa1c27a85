"""What is wrong with an event, field by field, and by its index in a batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    index: int | None
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.index is not None:
            out["index"] = self.index
        return out


def field_errors(exc: ValidationError, index: int | None = None) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"]) or "(event)"
        errors.append(FieldError(index, field, err["msg"]))
    return errors


class InvalidEvents(Exception):
    def __init__(self, errors: list[FieldError], reason: str = "invalid") -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
        # The label on events-rejected and in metrics: invalid, too_large, unsupported...
        self.reason = reason
