"""The adapter contract: what every chat platform offers the core, and how sends fail."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import ClassVar, Protocol

from bot.errors import SummitBotError
from bot.i18n import first_spoken, normalize_language
from bot.messages import Command, Message, Reply
from bot.schedule import Schedule


@dataclass(frozen=True)
class MenuEntry:
    """One command as a platform's menu lists it: the core's registry, not the adapter's."""

    name: str
    description: str  # short, in the language the menu was asked for
    # Only organizers may run it: a platform may still list it (Discord registers it for
    # everyone; the core refuses and audits the others) or leave it out (Telegram's menu).
    organizer: bool = False


class Core(Protocol):
    """What an adapter may ask of the core; it never sees the store or the scheduler."""

    async def on_command(self, command: Command) -> Reply | None:
        """Answer a command (None while the worker is stopping; a reply without messages
        when there is nothing to say, e.g. to a flooding viewer who was told to slow down)."""

    async def on_chat_status(self, platform: str, chat_id: str, status: str) -> None:
        """The platform says a chat can ("active") or cannot ("blocked", "left") be reached."""

    async def on_chat_migrated(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """A chat moved to a new id (a group became a supergroup); it keeps its settings."""

    async def on_location(self, command: Command, latitude: float, longitude: float) -> Reply:
        """A viewer shared a location: set the chat's zone from it and say which."""

    def command_menu(self, lang: str) -> list[MenuEntry]:
        """Every command, in menu order (organizers' last), described in `lang`."""

    def languages(self) -> tuple[str, ...]:
        """The language codes the bot speaks, default first."""

    def current_schedule(self) -> Schedule:
        """The schedule in force (it may be reloaded while the worker runs)."""

    async def recall(self, platform: str, kind: str, key: str) -> str | None:
        """A value the adapter stored earlier (e.g. a DM channel id), across restarts."""

    async def recall_all(self, platform: str, kind: str) -> dict[str, str]:
        """Every value of one kind the adapter stored."""

    async def remember(self, platform: str, kind: str, key: str, value: str) -> None:
        """Store a value for later, across restarts."""

    async def forget(self, platform: str, kind: str, key: str) -> None:
        """Drop a stored value."""

    def reply_slot(
        self, platform: str, chat_id: str, *, group: bool = False
    ) -> AbstractAsyncContextManager[None]:
        """`async with` it around each reply message to `chat_id` (`group`: a group or
        channel): the chat's rate and the platform's overall one count replies and reminders
        together, so a reply never draws a "too many requests"."""

    def platform_failed(self, platform: str, reason: str) -> None:
        """The platform cannot go on (a revoked token): the worker stops and exits non-zero.

        `reason` is one line for the operator: what failed and what to do; never a secret.
        """


@dataclass(frozen=True)
class Limits:
    """A platform's limits, as data: the delivery engine enforces them, not each adapter."""

    max_text: int  # characters per message; longer texts are split on line boundaries
    per_second: float  # messages in any 1-second window, across all chats
    per_chat_per_second: float  # messages per second to one chat
    per_group_per_minute: float  # messages per minute to one group or channel


@dataclass(frozen=True)
class Recipient:
    """Where a message goes, in the platform's own terms."""

    chat_id: str
    kind: str = "private"  # "private" | "group" | "channel"
    user_id: str | None = None


class SendError(SummitBotError):
    """A send that did not go through; the subclass says what the engine should do."""


class Blocked(SendError):
    """The chat will not take messages (blocked the bot, left, deactivated): never retry."""


class RetryAfter(SendError):
    """The platform asks to wait: pause this platform for `seconds`, then retry."""

    def __init__(self, seconds: float, reason: str = "rate limited") -> None:
        super().__init__(f"{reason}; retry after {seconds:g} s")
        self.seconds = seconds


class Migrated(SendError):
    """The chat moved to a new id (a group upgraded to a supergroup): send there instead."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Transient(SendError):
    """A failure that may pass (time-out, network, 5xx): retry with backoff."""


class Rejected(SendError):
    """The platform refused this message for good (e.g. chat not found): fail the row."""


def hinted_language(core: Core, hint: str | None) -> str:
    """The language for the few texts an adapter words itself: the platform's hint (the
    app's language: "es-419", "pt-BR", "zh-Hant"; see `normalize_language`), else the
    event's first language.

    The chat's own choice lives in the store, which the Core protocol does not expose; a
    viewer who chose another language than their app's sees these few texts in the app's.
    """
    return normalize_language(hint) or first_spoken(core.current_schedule().event.languages)


class StartFailed(SummitBotError):
    """A platform could not be started: what failed, and the operator's next step.

    `transient` failures (the platform could not be reached) are worth another attempt;
    the others (a rejected token) are not.
    """

    def __init__(self, platform: str, what: str, hint: str, *, transient: bool = False) -> None:
        super().__init__(f"{platform}: {what}: {hint}")
        self.platform = platform
        self.what = what
        self.hint = hint
        self.transient = transient


class Adapter(Protocol):
    """A chat platform as the core sees it."""

    platform: ClassVar[str]
    limits: Limits  # an instance may differ from its class (a configured rate)

    async def start(self, core: Core) -> None:
        """Begin taking commands; each goes to `core.on_command` and its reply is rendered.

        Raises StartFailed (after releasing what it opened) when the platform refuses or
        cannot be reached; a failure later on goes to `core.platform_failed`.
        """

    async def stop(self) -> None:
        """Stop taking commands and release the connection."""

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Send one message; `key` is the ledger row, for platforms that can deduplicate."""


def _lines(units: Sequence[str]) -> list[list[str]]:
    """The units between line breaks."""
    lines: list[list[str]] = [[]]
    for unit in units:
        if unit == "\n":
            lines.append([])
        else:
            lines[-1].append(unit)
    return lines


def _cut(line: Sequence[str], limit: int) -> list[str]:
    """One line's units in pieces of at most `limit` characters, cut between units."""
    pieces: list[str] = []
    current = ""
    for unit in line:
        if current and len(current) + len(unit) > limit:
            pieces.append(current)
            current = ""
        current += unit
    return [*pieces, current]


def split_units(units: Sequence[str], limit: int) -> list[str]:
    """Units joined into chunks of at most `limit` characters, split at line breaks where
    possible, a longer line cut between units (a line break between two chunks is dropped).

    A unit is what no split may cut in two: a character, or (Discord) an escaped character or
    a command mention; a plain `str` is a sequence of one-character units.
    """
    chunks: list[str] = []
    current = ""
    for line in _lines(units):
        text = "".join(line)
        if len(text) > limit:  # a line longer than a chunk: cut it between units
            if current:
                chunks.append(current)
                current = ""
            *whole, text = _cut(line, limit)
            chunks.extend(whole)
        candidate = f"{current}\n{text}" if current else text
        if len(candidate) > limit:
            chunks.append(current)
            current = text
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def split_text(text: str, limit: int) -> list[str]:
    """Split a text into chunks of at most `limit` characters, on line boundaries if possible."""
    return split_units(text, limit)


def parts_of(message: Message, limits: Limits) -> int:
    """How many platform messages `message` becomes (a long text is split): what pacing
    counts, so that a long broadcast does not go out at twice the platform's rate."""
    full = f"{message.title}\n{message.text}" if message.title else message.text
    if len(full) <= limits.max_text:
        return 1
    return len(split_text(full, limits.max_text))
