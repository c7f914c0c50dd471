"""Settings from config/*.yaml and the environment, validated once at start.

Every field carries its type (the type of its default) and, where that is not enough, a Rule;
the file is checked on its YAML nodes, so that each problem names its line, and all of them
are reported at once: `file:line: key: what is wrong; what would be right`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml

from bot.config_rules import Invalid, check_value, ruled, shown
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


class ConfigError(SummitBotError):
    """A configuration that cannot be used: each problem names file, line, key and the fix.

    Errors about the environment (a token, an endpoint) carry a message and no problems.
    """

    def __init__(self, problems: str | Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = () if isinstance(problems, str) else tuple(problems)
        text = problems if isinstance(problems, str) else "\n".join(map(str, self.problems))
        super().__init__(text)


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
    # A reminder's audience is written in chunks of this many chat pks, each its own
    # transaction, so that the first message goes out before the whole audience is written.
    write_chunk: int = ruled(25_000, low=100)
    # On PostgreSQL, this many chunks are written at once, each on its own connection
    # (SQLite has one writer: there, one at a time).
    write_parallel: int = ruled(2, low=1, high=8)
    # Organizers get a reminder fan-out's progress each minute once it has run a minute.
    report_progress: bool = False


@dataclass(frozen=True)
class Delivery:
    """How the ledger is drained."""

    # 0: from the platform's rate (see bot.delivery.engine.in_flight_for).
    in_flight: int = ruled(0, low=0)
    batch: int = ruled(100, low=1)
    max_attempts: int = ruled(5, low=1)
    backoff_seconds: tuple[float, ...] = ruled((2, 10, 30, 120), nonempty=True)
    progress_every: int = 500
    # Final rows (sent, blocked, failed, expired) older than this many days are counted in a
    # summary table and deleted, so the ledger does not grow without end (0: kept forever).
    keep_days: int = ruled(30, low=0)


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

    def private_chats(self) -> list[tuple[str, str]]:
        """(platform, chat id) of every organizer's private chat with the bot."""
        # On both platforms a private chat's id is the user's id (Discord: the core's chat id).
        chats = [("telegram", uid) for uid in self.telegram_user_ids]
        chats += [("discord", uid) for uid in self.discord_user_ids]
        return chats


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
class WebConfig:
    """The worker's web server: health, metrics, the public page, feeds, the dashboard."""

    enabled: bool = True
    # host:port; the PORT environment variable, as hosting platforms set it, means 0.0.0.0:PORT.
    listen: str = ruled("127.0.0.1:8080", address=True)
    # The address links point to (calendar feeds, sign-in links); empty: http://<listen>.
    public_url: str = ruled("", web_url=True)


@dataclass(frozen=True)
class DiscordConfig:
    """Discord adapter settings (the token comes from DISCORD_BOT_TOKEN)."""

    guild_ids: tuple[str, ...] = ruled((), ids_of="Discord server ids")
    announcement_role_id: str = ruled("", ids_of="Discord role ids")
    scheduled_events: bool = True
    requests_per_second: int = ruled(
        50,
        low=1,
        high=10000,
        why="50 is Discord's global limit per bot; Discord raises it on request",
    )


@dataclass(frozen=True)
class Settings:
    """Everything the worker is configured with; secrets stay in `env`."""

    schedule: str = "schedule.yaml"
    # The overlay of an imported schedule (bot/schedule/overlay.py); empty: the file named
    # like a local schedule with .overlay.yaml (schedule.json -> schedule.overlay.yaml).
    schedule_overlay: str = ""
    # A schedule at an https:// URL is fetched again this often (minutes).
    schedule_poll_minutes: int = ruled(5, low=1)
    data_dir: str = ruled("data", folder=True)
    reminders: Reminders = field(default_factory=Reminders)
    delivery: Delivery = field(default_factory=Delivery)
    limits: Limits = field(default_factory=Limits)
    organizers: Organizers = field(default_factory=Organizers)
    announcement_channels: AnnouncementChannels = field(default_factory=AnnouncementChannels)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    web: WebConfig = field(default_factory=WebConfig)
    database_url: str | None = None  # from DATABASE_URL


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
            wrong = f"{shown(to_python(node))} is not a section of keys"
            right = "write keys such as" if not path else "indent its keys below it:"
            self.fail(line_of(node), where, f"{wrong}; {right} {', '.join(specs)}")
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
                values[key] = check_value(value_node, where, specs[key], default)
            except Invalid as bad:
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
                    f"{shown(offset)} is earlier than {latest} ({r.max_offset_minutes}) "
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
