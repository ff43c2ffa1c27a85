"""What is wrong with a rules file, reported so that a reader can fix every problem in one go."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in a rules file. `rule_id` is None for file-level settings."""

    rule_id: str | None
    field: str
    message: str
    kind: str = "rule"  # "rule", "trigger" or "fit": which table the id belongs to

    def __str__(self) -> str:
        where = f"field {self.field!r}: {self.message}"
        if self.rule_id is None:
            return where
        return f"{self.kind} {self.rule_id!r}: {where}"


class RulesError(ValueError):
    """A rules file that cannot be used; `problems` lists every problem, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
