"""What is wrong with a schedule file: one Problem per defect, a ScheduleError for them all."""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import SummitBotError
from bot.yaml_lines import Problem

__all__ = ["Problem", "ScheduleError"]


class ScheduleError(SummitBotError):
    """A schedule file that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
