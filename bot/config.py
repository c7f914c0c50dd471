"""Settings from config/*.yaml and the environment, validated once at start.

Every field carries its type (the type of its default) and, where that is not enough, a Rule;
the file is checked on its YAML nodes, so that each problem names its line, and all of them
are reported at once: `file:line: key: what is wrong; what would be right`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import Field, dataclass, field, fields, is_dataclass, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml

from bot.errors import SummitBotError
from bot.yaml_lines import Problem, YamlSyntaxError, compose, line_of, to_python

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("config/default.yaml")
# Keys that older releases documented and no release reads, with the reason: a file that still
# sets one loads with a warning, since an operator's old config must not stop a deploy.
RETIRED_KEYS: dict[tuple[str, str], str] = {
    ("reminders", "catch_up_window_minutes"): (
        "no window applies: when several reminders of one session are overdue at once only "
        "the latest goes out, and none after the session ended; remove the key"
    ),
}
ID_EXAMPLE = "123456789"


class ConfigError(SummitBotError):
    """A configuration that cannot be used: each problem names file, line, key and the fix.

    Errors about the environment (a token, an endpoint) carry a message and no problems.
    """

    def __init__(self, problems: str | Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = () if isinstance(problems, str) else tuple(problems)
        text = problems if isinstance(problems, str) else "\n".join(map(str, self.problems))
        super().__init__(text)


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

    def span(self) -> str:
        """The allowed range in words, e.g. "1 to 65535" or "0 or more"."""
        low = _shown(self.low)
        if self.high is not None:
            return f"{low} to {_shown(self.high)}"
        return f"more than {low}" if self.above_low else f"{low} or more"

    def allows(self, number: float) -> bool:
        """Whether a number is inside the range."""
        above = number > self.low if self.above_low else number >= self.low
        return above and (self.high is None or number <= self.high)


def ruled(default: Any, **rule: Any) -> Any:
    """A dataclass field with its default and the Rule its values must follow."""
    return field(default=default, metadata={"rule": Rule(**rule)})


@dataclass(frozen=True)
class Reminders:
    """When reminders go out."""

    default_offsets: tuple[int, ...] = (1440, 60, 10, 0)
    max_offsets: int = ruled(6, low=1)
    max_offset_minutes: int = 10080
    # Waits between attempts to write a due reminder the database refused (the last repeats).
    write_retry_seconds: tuple[float, ...] = ruled((1, 5, 15, 60), nonempty=True)
    # The reminders are planned again at least this often, firing any that was missed.
    replan_seconds: float = ruled(60.0, above_low=True)


@dataclass(frozen=True)
class Delivery:
    """How the ledger is drained."""

    in_flight: int = ruled(8, low=1)
    batch: int = ruled(100, low=1)
    max_attempts: int = ruled(5, low=1)
    backoff_seconds: tuple[float, ...] = ruled((2, 10, 30, 120), nonempty=True)
    progress_every: int = 500


@dataclass(frozen=True)
class Limits:
    """Input limits."""

    max_command_length: int = 300
    # Per viewer (and platform): this many commands at once, then so many a minute; one who
    # sends more is told once to slow down, then ignored until the bucket is full again.
    command_burst: int = 10  # 0: no throttle
    commands_per_minute: int = 60


@dataclass(frozen=True)
class Organizers:
    """Who may act as an organizer on each platform."""

    # Telegram and Discord ids are digits: "@alice" could never match anyone.
    telegram_user_ids: tuple[str, ...] = ruled((), ids_of="Telegram user ids")
    discord_user_ids: tuple[str, ...] = ruled((), ids_of="Discord user ids")
    discord_role_ids: tuple[str, ...] = ruled((), ids_of="Discord role ids")


@dataclass(frozen=True)
class AnnouncementChannels:
    """Chats that get every reminder without subscribing."""

    telegram: tuple[str, ...] = ()  # chat ids, or @channel names
    discord: tuple[str, ...] = ruled((), ids_of="Discord channel ids")


@dataclass(frozen=True)
class TelegramConfig:
    """Telegram adapter settings (the token comes from TELEGRAM_BOT_TOKEN)."""

    poll_timeout: int = 30
    messages_per_second: int = ruled(
        30, low=1, high=1000, why="30 is Telegram's free limit, up to 1000 with paid broadcasts"
    )
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = ruled(8443, low=1, high=65535, why="a TCP port")
    webhook_path: str = "telegram"


@dataclass(frozen=True)
class DiscordConfig:
    """Discord adapter settings (the token comes from DISCORD_BOT_TOKEN)."""

    guild_ids: tuple[str, ...] = ruled((), ids_of="Discord server ids")
    announcement_role_id: str = ruled("", ids_of="Discord role ids")
    scheduled_events: bool = True


@dataclass(frozen=True)
class Settings:
    """Everything the worker is configured with; secrets stay in `env`."""

    schedule: str = "schedule.yaml"
    data_dir: str = ruled("data", folder=True)
    reminders: Reminders = field(default_factory=Reminders)
    delivery: Delivery = field(default_factory=Delivery)
    limits: Limits = field(default_factory=Limits)
    organizers: Organizers = field(default_factory=Organizers)
    announcement_channels: AnnouncementChannels = field(default_factory=AnnouncementChannels)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    database_url: str | None = None  # from DATABASE_URL


class _Invalid(Exception):
    """One value that breaks its rule: the node it was written at and what is wrong."""

    def __init__(self, node: yaml.Node, key: str, message: str) -> None:
        super().__init__(message)
        self.node, self.key, self.message = node, key, message


def _shown(value: Any) -> str:
    """A value as the file would spell it: texts quoted, 60.0 as 60."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _example(default: tuple[Any, ...], rule: Rule) -> str:
    """A list as the file would spell it, for the "write e.g." half of a message."""
    items = default or ((ID_EXAMPLE,) if rule.ids_of or not rule.nonempty else (1, 5))
    return "[" + ", ".join(_shown(v) for v in items) + "]"


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


def _number(
    node: yaml.Node, key: str, value: Any, rule: Rule, *, whole: bool, example: str
) -> Any:
    """A number (whole where `whole`) inside the rule's range, returned as written."""
    if not isinstance(value, int if whole else int | float) or isinstance(value, bool):
        what = "a whole number" if whole else "a number"
        raise _Invalid(node, key, f"{_shown(value)} is not {what}; write e.g. {example}")
    if not rule.allows(value):
        right = f" ({rule.why})" if rule.why else f", e.g. {example}"
        raise _Invalid(node, key, f"{value} is out of range; write {rule.span()}{right}")
    return value


def _text(node: yaml.Node, key: str, value: Any, default: str, rule: Rule) -> str:
    """A text; ids may be written as bare numbers, and an id or a folder must be usable."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Invalid(node, key, f"{_shown(value)} is not a text; write e.g. {_shown(default)}")
    if not value and default:
        raise _Invalid(node, key, f"the text is empty; write one, e.g. {_shown(default)}")
    if rule.ids_of and value and not value.isdigit():
        raise _Invalid(
            node,
            key,
            f"{_shown(value)} can never match: {rule.ids_of} are digits; "
            f'write the number, e.g. "{ID_EXAMPLE}"',
        )
    why = _unwritable(Path(value)) if rule.folder else None
    if why:
        raise _Invalid(
            node,
            key,
            f"{_shown(value)} cannot be written: {why}; "
            "give a folder the worker may create files in",
        )
    return value


def _value(node: yaml.Node, key: str, spec: Field[Any], default: Any) -> Any:
    """One value checked against the type of its default and its field's Rule."""
    rule: Rule = spec.metadata.get("rule", Rule())
    if isinstance(default, tuple):
        example = _example(default, rule)
        if not isinstance(node, yaml.SequenceNode):
            raise _Invalid(node, key, f"{_shown(to_python(node))} is not a list; write {example}")
        if rule.nonempty and not node.value:
            raise _Invalid(
                node, key, f"the list is empty; give at least one value, e.g. {example}"
            )
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
            raise _Invalid(node, key, f"{_shown(value)} is not true or false; write true or false")
        return value
    if isinstance(default, int | float):
        whole = isinstance(default, int)
        value = _number(node, key, value, rule, whole=whole, example=_shown(default))
        return value if whole else float(value)
    return _text(node, key, value, default, rule)


@dataclass
class _Reader:
    """Walks one config file's nodes, building settings and collecting every problem."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # key -> line, for cross-key rules

    def fail(self, line: int, key: str, message: str) -> None:
        """Note one problem; reading goes on, so that the operator sees every one at once."""
        self.problems.append(Problem(self.file, line, key, message))

    def section(self, cls: type, path: str, node: yaml.Node | None) -> Any:
        """An instance of `cls` from a mapping node; a bad value keeps its default."""
        defaults = cls()
        specs = {f.name: f for f in fields(cls) if f.name != "database_url"}
        if node is None:
            return defaults
        if not isinstance(node, yaml.MappingNode):
            where = path or "(top level)"
            known = ", ".join(specs)
            self.fail(line_of(node), where, f"expected a section of keys; indent {known} below")
            return defaults
        values: dict[str, Any] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{path}.{key}" if path else key
            if key in seen:
                self.fail(line_of(key_node), where, "duplicate key; keep one of them")
                continue
            seen.add(key)
            if (path, key) in RETIRED_KEYS:
                log.warning("%s: %s is ignored: %s", self.file, where, RETIRED_KEYS[path, key])
                continue
            if key not in specs:
                self.fail(line_of(key_node), where, _unknown(key, list(specs)))
                continue
            self.lines[where] = line_of(key_node)
            default = getattr(defaults, key)
            if is_dataclass(default):
                values[key] = self.section(type(default), where, value_node)
                continue
            try:
                values[key] = _value(value_node, where, specs[key], default)
            except _Invalid as bad:
                self.fail(line_of(bad.node), bad.key, bad.message)
        return cls(**values)

    def line(self, *keys: str) -> int:
        """The line of the first of `keys` the file sets (1 if none: the defaults clash)."""
        return next((self.lines[k] for k in keys if k in self.lines), 1)

    def cross_check(self, settings: Settings) -> None:
        """Rules between keys, which no single value can break alone."""
        r = settings.reminders
        offsets, most = "reminders.default_offsets", "reminders.max_offsets"
        if len(r.default_offsets) > r.max_offsets:
            self.fail(
                self.line(offsets, most),
                offsets,
                f"{len(r.default_offsets)} offsets, but reminders.max_offsets is "
                f"{r.max_offsets}; remove some or raise max_offsets",
            )
        latest = "reminders.max_offset_minutes"
        for offset in r.default_offsets:
            if offset > r.max_offset_minutes:
                self.fail(
                    self.line(offsets, latest),
                    offsets,
                    f"{_shown(offset)} is earlier than {latest} ({r.max_offset_minutes}) "
                    "allows; lower it or raise max_offset_minutes",
                )
        lim, rate = settings.limits, "limits.commands_per_minute"
        if lim.command_burst and lim.commands_per_minute < 1:
            self.fail(
                self.line(rate, "limits.command_burst"),
                rate,
                f"{lim.commands_per_minute} lets no command through while "
                "limits.command_burst is on; write 1 or more, or set command_burst to 0 to "
                "turn the throttle off",
            )


def _unknown(key: str, known: list[str]) -> str:
    """An unknown key's message: the likely intended key first, then all of them."""
    close = get_close_matches(key, known, n=1)
    guess = f"did you mean {close[0]}? " if close else ""
    return f"unknown key; {guess}known keys: {', '.join(known)}"


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from `path` (default config/default.yaml if present) and the environment.

    Raises ConfigError carrying every problem of the file, each with its line.
    """
    env = os.environ if env is None else env
    source = Path(path) if path else DEFAULT_CONFIG
    root: yaml.Node | None = None
    if path or source.exists():
        try:
            root = compose(source.read_text(encoding="utf-8"), str(source))
        except FileNotFoundError:
            fix = "no such file; pass --config PATH or create config/default.yaml"
            raise ConfigError([Problem(str(source), 1, "(file)", fix)]) from None
        except (OSError, UnicodeDecodeError) as exc:
            why = f"cannot read it ({exc}); give a readable UTF-8 file"
            raise ConfigError([Problem(str(source), 1, "(file)", why)]) from None
        except YamlSyntaxError as exc:
            raise ConfigError([exc.problem]) from None
    reader = _Reader(str(source))
    settings: Settings = reader.section(Settings, "", root)
    reader.cross_check(settings)
    if reader.problems:
        raise ConfigError(reader.problems)
    return replace(settings, database_url=env.get("DATABASE_URL") or None)
