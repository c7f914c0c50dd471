"""Settings from config/*.yaml and the environment, validated once at start."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from bot.errors import SummitBotError

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
    """A configuration that cannot be used: names the key and the reason."""


@dataclass(frozen=True)
class Reminders:
    """When reminders go out."""

    default_offsets: tuple[int, ...] = (1440, 60, 10, 0)
    max_offsets: int = 6
    max_offset_minutes: int = 10080
    # Waits between attempts to write a due reminder the database refused (the last repeats).
    write_retry_seconds: tuple[float, ...] = (1, 5, 15, 60)
    # The reminders are planned again at least this often, firing any that was missed.
    replan_seconds: float = 60.0


@dataclass(frozen=True)
class Delivery:
    """How the ledger is drained."""

    in_flight: int = 8
    batch: int = 100
    max_attempts: int = 5
    backoff_seconds: tuple[float, ...] = (2, 10, 30, 120)
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

    telegram_user_ids: tuple[str, ...] = ()
    discord_user_ids: tuple[str, ...] = ()
    discord_role_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnnouncementChannels:
    """Chats that get every reminder without subscribing."""

    telegram: tuple[str, ...] = ()
    discord: tuple[str, ...] = ()


@dataclass(frozen=True)
class TelegramConfig:
    """Telegram adapter settings (the token comes from TELEGRAM_BOT_TOKEN)."""

    poll_timeout: int = 30
    messages_per_second: int = 30
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_path: str = "telegram"


@dataclass(frozen=True)
class DiscordConfig:
    """Discord adapter settings (the token comes from DISCORD_BOT_TOKEN)."""

    guild_ids: tuple[str, ...] = ()
    announcement_role_id: str = ""
    scheduled_events: bool = True


@dataclass(frozen=True)
class Settings:
    """Everything the worker is configured with; secrets stay in `env`."""

    schedule: str = "schedule.yaml"
    data_dir: str = "data"
    reminders: Reminders = field(default_factory=Reminders)
    delivery: Delivery = field(default_factory=Delivery)
    limits: Limits = field(default_factory=Limits)
    organizers: Organizers = field(default_factory=Organizers)
    announcement_channels: AnnouncementChannels = field(default_factory=AnnouncementChannels)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    database_url: str | None = None  # from DATABASE_URL


def _coerce(path: str, expected: Any, value: Any) -> Any:
    """One value checked against the type of its default; ConfigError says key and reason."""
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if isinstance(expected, int) and not isinstance(expected, bool):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{path}: expected a whole number >= 0, got {value!r}")
        return value
    if isinstance(expected, float):
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{path}: expected a number >= 0, got {value!r}")
        return float(value)
    if isinstance(expected, str):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # ids are often written as bare numbers
        if not isinstance(value, str) or (not value and expected):
            raise ConfigError(f"{path}: expected a non-empty text, got {value!r}")
        return value
    if isinstance(expected, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, e.g. [1440, 60], got {value!r}")
        sample = expected[0] if expected else ""
        if isinstance(sample, float | int) and not isinstance(sample, bool):
            bad = [v for v in value if not isinstance(v, int | float) or v < 0]
            if bad:
                raise ConfigError(f"{path}: expected numbers >= 0, got {bad[0]!r}")
            return tuple(value)
        return tuple(str(v) for v in value)  # ids may be written as numbers
    raise ConfigError(f"{path}: unsupported value {value!r}")


def _build(cls: type, path: str, data: Mapping[str, Any]) -> Any:
    defaults = cls()
    known = {f.name: f for f in fields(cls) if f.name != "database_url"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in known:
            raise ConfigError(f"{where}: unknown key; known keys: {', '.join(known)}")
        default = getattr(defaults, key)
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a section of keys")
            values[key] = _build(type(default), where, value)
        else:
            values[key] = _coerce(where, default, value)
    return cls(**values)


def _without_retired(source: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The file's keys less the retired ones, each logged with file, key and reason."""
    kept = dict(data)
    for (section, key), reason in RETIRED_KEYS.items():
        values = kept.get(section)
        if isinstance(values, dict) and key in values:
            log.warning("%s: %s.%s is ignored: %s", source, section, key, reason)
            kept[section] = {k: v for k, v in values.items() if k != key}
    return kept


def _check(settings: Settings) -> None:
    """Cross-field rules that types alone cannot express."""
    r = settings.reminders
    if len(r.default_offsets) > r.max_offsets:
        raise ConfigError("reminders.default_offsets: more offsets than reminders.max_offsets")
    if any(o > r.max_offset_minutes for o in r.default_offsets):
        raise ConfigError("reminders.default_offsets: an offset exceeds max_offset_minutes")
    if not r.write_retry_seconds:
        raise ConfigError("reminders.write_retry_seconds: give at least one wait, e.g. [1, 5]")
    if r.replan_seconds <= 0:
        raise ConfigError("reminders.replan_seconds: expected more than 0, e.g. 60")
    d = settings.delivery
    if d.in_flight < 1 or d.batch < 1 or d.max_attempts < 1:
        raise ConfigError("delivery: in_flight, batch and max_attempts must be at least 1")
    if not d.backoff_seconds:
        raise ConfigError("delivery.backoff_seconds: give at least one wait, e.g. [2, 10]")
    lim = settings.limits
    if lim.command_burst and lim.commands_per_minute < 1:
        raise ConfigError(
            "limits.commands_per_minute: must be at least 1 while limits.command_burst is on "
            "(set command_burst to 0 to turn the throttle off)"
        )
    rate = settings.telegram.messages_per_second
    if not 1 <= rate <= 1000:
        raise ConfigError(
            f"telegram.messages_per_second: expected 1 to 1000 (30 is Telegram's free limit, "
            f"up to 1000 with paid broadcasts), got {rate}"
        )


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from `path` (default config/default.yaml if present) and the environment."""
    env = os.environ if env is None else env
    data: Any = {}
    source = Path(path) if path else DEFAULT_CONFIG
    if path or source.exists():
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping of keys at the top level")
        data = _without_retired(source, data)
    try:
        settings: Settings = _build(Settings, "", data)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    _check(settings)
    url = env.get("DATABASE_URL") or None
    return replace(settings, database_url=url)
