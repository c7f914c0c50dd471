"""YAML read with its line numbers: the node tree, and one Problem per defect found in it.

The schedule and the config are both checked on the composed nodes rather than on the
loaded values, because only the nodes remember where in the file each value was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from bot.errors import SummitBotError


@dataclass(frozen=True)
class Problem:
    """One defect in a file: where it is, which field, what is wrong and what would be right."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class YamlSyntaxError(SummitBotError):
    """A file that is not YAML at all; `problem` says where the parser gave up."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


# libyaml's parser when PyYAML was built with it: a conference's schedule of 1,000 talks
# composes in a tenth of the time (its nodes carry the same line marks).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: yaml.Node | None) -> int:
    """The 1-based line a node starts on (1 when there is no node, e.g. a missing key)."""
    return node.start_mark.line + 1 if node is not None else 1


def compose(text: str, file: str) -> yaml.Node | None:
    """The node tree of one YAML document (None when empty); YamlSyntaxError otherwise."""
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or "not valid YAML"
        raise YamlSyntaxError(
            Problem(
                file,
                mark.line + 1 if mark else 1,
                "(syntax)",
                f"{reason}; check the indentation and quoting near this line",
            )
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Problem(file, 1, "(syntax)", str(exc))) from None


def to_python(node: yaml.Node) -> Any:
    """The value of a node as yaml.safe_load would give it (numbers, booleans, lists)."""
    return yaml.SafeLoader("").construct_document(node)
