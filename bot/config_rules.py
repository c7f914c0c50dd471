"""What one config value must be: its Rule, and the check of its YAML node against it.

A value's type is the type of its field's default; a Rule adds what the type cannot say (a
range, at least one item, digits only, a folder the worker can write). Every message reads
"what is wrong; what would be right".
"""

from __future__ import annotations

import os
from dataclasses import Field, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.yaml_lines import to_python

ID_EXAMPLE = "123456789"


@dataclass(frozen=True)
class Rule:
    """What a value must be beyond its type: a range, at least one item, digits, a folder."""

    low: float = 0
    high: float | None = None
    above_low: bool = False  # strictly more than `low`
    why: str = ""  # said after the range, instead of an example
    nonempty: bool = False
    ids_of: str = ""  # whose ids these are, e.g. "Telegram user ids": digits only
    folder: bool = False  # a folder the worker must be able to create files in
    address: bool = False  # host:port to listen on, the port 1 to 65535
    web_url: bool = False  # empty, or an http(s):// address (no query, no fragment)

    def span(self) -> str:
        """The allowed range in words, e.g. "1 to 65535" or "0 or more"."""
        low = shown(self.low)
        if self.high is not None:
            return f"{low} to {shown(self.high)}"
        return f"more than {low}" if self.above_low else f"{low} or more"

    def allows(self, number: float) -> bool:
        """Whether a number is inside the range."""
        above = number > self.low if self.above_low else number >= self.low
        return above and (self.high is None or number <= self.high)


def ruled(default: Any, **rule: Any) -> Any:
    """A dataclass field with its default and the Rule its values must follow."""
    return field(default=default, metadata={"rule": Rule(**rule)})


class Invalid(Exception):
    """One value that breaks its rule: the node it was written at and what is wrong."""

    def __init__(self, node: yaml.Node, key: str, message: str) -> None:
        super().__init__(message)
        self.node, self.key, self.message = node, key, message


def shown(value: Any) -> str:
    """A value as the file would spell it: texts quoted, 60.0 as 60."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _example(default: tuple[Any, ...]) -> str:
    """A list as the file would spell it, for the "write e.g." half of a message."""
    return shown(default or (ID_EXAMPLE,))


def _unwritable(folder: Path) -> str | None:
    """Why the worker could not create files in `folder` (made on first run), or None."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the nearest folder that exists is where it would be made
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable by this user"
    return None


def split_address(value: str) -> tuple[str, int] | None:
    """`host:port` (`[::1]:8080` for IPv6) as (host, port); None unless the port is 1-65535."""
    host, colon, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isascii() or not port.isdigit():
        return None
    number = int(port)
    return (host, number) if 1 <= number <= 65535 else None


def _shape(value: str, rule: Rule) -> str | None:
    """What is wrong with a listen address or a public URL, or None."""
    if rule.address and split_address(value) is None:
        return 'is not host:port with a port 1 to 65535; write e.g. "127.0.0.1:8080"'
    if rule.web_url and value:
        scheme, _, rest = value.partition("://")
        if scheme not in ("http", "https") or not rest or any(c in rest for c in "?# "):
            return 'is not an http(s) address; write e.g. "https://summit.example.org"'
    return None


def _number(
    node: yaml.Node, key: str, value: Any, rule: Rule, *, whole: bool, example: str
) -> Any:
    """A number (whole where `whole`) inside the rule's range, returned as written."""
    if not isinstance(value, int if whole else int | float) or isinstance(value, bool):
        what = "a whole number" if whole else "a number"
        raise Invalid(node, key, f"{shown(value)} is not {what}; write e.g. {example}")
    if not rule.allows(value):
        right = f" ({rule.why})" if rule.why else f", e.g. {example}"
        raise Invalid(node, key, f"{value} is out of range; write {rule.span()}{right}")
    return value


def _text(node: yaml.Node, key: str, value: Any, default: str, rule: Rule) -> str:
    """A text; ids may be written as bare numbers, and an id or a folder must be usable."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(node, key, f"{shown(value)} is not a text; write e.g. {shown(default)}")
    if not value and default:
        raise Invalid(node, key, f"the text is empty; write one, e.g. {shown(default)}")
    if rule.ids_of and value and not value.isdigit():
        raise Invalid(
            node,
            key,
            f"{shown(value)} can never match: {rule.ids_of} are digits; "
            f'write the number, e.g. "{ID_EXAMPLE}"',
        )
    wrong = _shape(value, rule)
    if wrong:
        raise Invalid(node, key, f"{shown(value)} {wrong}")
    why = _unwritable(Path(value)) if rule.folder else None
    if why:
        raise Invalid(
            node,
            key,
            f"{shown(value)} cannot be written: {why}; "
            "give a folder the worker may create files in",
        )
    return value


def check_value(node: yaml.Node, key: str, spec: Field[Any], default: Any) -> Any:
    """One value checked against the type of its default and its field's Rule."""
    rule: Rule = spec.metadata.get("rule", Rule())
    if isinstance(default, tuple):
        example = _example(default)
        if not isinstance(node, yaml.SequenceNode):
            raise Invalid(node, key, f"{shown(to_python(node))} is not a list; write {example}")
        if rule.nonempty and not node.value:
            raise Invalid(node, key, f"the list is empty; give at least one value, e.g. {example}")
        sample = default[0] if default else ""
        items = []
        for index, item in enumerate(node.value):
            where = f"{key}[{index}]"
            if isinstance(sample, str):
                items.append(_text(item, where, to_python(item), "", rule))
            else:
                # Any number 0 or more: a list keeps 60 as written, 0.5 too.
                value = to_python(item)
                items.append(_number(item, where, value, Rule(), whole=False, example=example))
        return tuple(items)
    value = to_python(node)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise Invalid(node, key, f"{shown(value)} is not true or false; write true or false")
        return value
    if isinstance(default, int | float):
        whole = isinstance(default, int)
        value = _number(node, key, value, rule, whole=whole, example=shown(default))
        return value if whole else float(value)
    return _text(node, key, value, default, rule)
