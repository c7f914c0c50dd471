"""Platform-neutral messages: what the core says, before an adapter renders it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from bot.constants import ChatKind
from bot.untrusted import clean_text


@dataclass(frozen=True)
class Link:
    """A link the platform shows as a button where it can (a livestream, a calendar)."""

    label: str
    url: str
    # The link as a line of text in the reader's language ("觀看德文直播：https://…"), for
    # platforms that write links out; empty: the label, a colon and the url.
    line: str = ""

    def as_text(self) -> str:
        """The link written out, for platforms that show links as text."""
        return self.line or f"{self.label}: {self.url}"


@dataclass(frozen=True)
class Button:
    """A button that, when pressed, runs `action` as if the viewer had typed it."""

    label: str
    action: str  # a command line without the slash: "subscribe s1", "language zh-TW"


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a calendar, say)."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """A neutral message: optional bold title, plain text, links and buttons.

    The text is plain (no markup): every adapter escapes it for its own format, so nothing a
    viewer or organizer typed can inject markup.
    """

    text: str
    title: str | None = None
    links: tuple[Link, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    # The session start the message is about, so that a platform that can show an instant
    # in each reader's own clock (Discord's <t:UNIX:F>) does so.
    when: dt.datetime | None = None
    attachment: Attachment | None = None
    # Delivered without a sound or a banner: what reaches a reader in their quiet hours.
    silent: bool = False

    def plain(self) -> str:
        """The whole message as plain text, for consoles, logs and tests."""
        parts = [self.title] if self.title else []
        parts.append(self.text)
        parts.extend(link.as_text() for link in self.links)
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Expired:
    """A ledger row that must not be sent any more, and why (recorded in the ledger)."""

    reason: str


# What a ledger row renders to: a message to send, or why it must not be sent any more.
Rendered = Message | Expired


# The name of a Command that is none: text typed without a slash, or "/" alone.
NOT_A_COMMAND = ""


@dataclass(frozen=True)
class Command:
    """An incoming command, whatever platform it came from."""

    platform: str  # "telegram", "discord", "console", "memory"
    chat_id: str  # where to answer; the chat the settings belong to
    user_id: str  # who typed it
    name: str  # without slash or bot suffix, lower case: "subscribe"; NOT_A_COMMAND: no command
    args: tuple[str, ...] = ()
    text: str = ""  # the whole argument string as typed, for free-text arguments
    chat_kind: str = ChatKind.PRIVATE  # a ChatKind: "private" | "group" | "channel"
    locale_hint: str | None = None  # the platform's language for the user, e.g. "zh-hant"
    is_admin: bool = True  # in a group: whether the user may change the group's settings
    extra: dict[str, str] = field(default_factory=dict)  # platform facts, e.g. coordinates
    # Seconds it waited in the adapter behind its chat's earlier updates: the throttle
    # charges it as of when it arrived, not when its turn came.
    queued: float = 0.0

    def cleaned(self) -> Command:
        """This command with what the viewer typed made safe (`bot.untrusted.clean_text`)."""
        args = (clean_text(arg) for arg in self.args)
        return replace(
            self,
            name=clean_text(self.name),
            # An argument made only of invisible characters was no argument.
            args=tuple(arg for arg in args if arg),
            text=clean_text(self.text),
            locale_hint=None if self.locale_hint is None else clean_text(self.locale_hint),
            extra={key: clean_text(value) for key, value in self.extra.items()},
        )


@dataclass(frozen=True)
class Reply:
    """The core's answer to one command: one or more messages to the same chat."""

    messages: tuple[Message, ...]
    ephemeral: bool = True  # concerns only the caller (Discord shows it to them alone)
    lang: str | None = None  # the language it is written in, for the adapter's own words

    @classmethod
    def of(cls, *messages: Message, ephemeral: bool = True) -> Reply:
        """A reply made of these messages."""
        return cls(tuple(messages), ephemeral)


# A command line read: its name, its arguments, and the argument text as typed.
ParsedCommand = tuple[str, tuple[str, ...], str]


def _split(line: str) -> ParsedCommand:
    """ "Subscribe@SummitBot s1" → ("subscribe", ("s1",), "s1")."""
    # Split on any whitespace: "/broadcast\nen: ..." keeps its lines in the text.
    head, *tail = line.split(maxsplit=1)
    rest = tail[0] if tail else ""
    return head.split("@", 1)[0].lower(), tuple(rest.split()), rest.strip()


def parse_command(text: str) -> ParsedCommand | None:
    """What a viewer typed: "/Subscribe@SummitBot s1" → ("subscribe", ("s1",), "s1").

    Text without a command ("hello there", or "/" alone) is ("", (), ""): a command named
    "" that the core answers with a hint to /help (in private chats). None: blank text.
    """
    stripped = text.strip()
    if not stripped:
        return None
    body = stripped.removeprefix("/")
    if body == stripped or not body or body[0].isspace():
        return NOT_A_COMMAND, (), ""
    parsed = _split(body)
    return parsed if parsed[0] else (NOT_A_COMMAND, (), "")  # "/@SummitBot"


def parse_action(action: str) -> ParsedCommand | None:
    """A button's action, a command line without the slash: "subscribe s1" →
    ("subscribe", ("s1",), "s1"); None if blank."""
    stripped = action.strip()
    return _split(stripped) if stripped else None
