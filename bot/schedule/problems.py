"""What is wrong with a schedule file: one Problem per defect, a ScheduleError for them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import SummitBotError


@dataclass(frozen=True)
class Problem:
    """One defect in a schedule file: where it is, which field, what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ScheduleError(SummitBotError):
    """A schedule file that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
