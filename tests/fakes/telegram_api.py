"""A fake Telegram Bot API server (aiohttp) for driving the real python-telegram-bot in tests.

Start it with ``async with FakeTelegram() as tg:`` and point PTB at ``tg.base_url`` /
``tg.base_file_url``. Tests inject updates (``push_*``), read what the bot sent (``sent``,
``wait_for``, ``pop_message``) and inject failures (``fail_next``, ``block``, ``rate_limit``).

Wire format notes (what PTB 22 actually sends and expects):

* PTB posts ``application/x-www-form-urlencoded`` bodies (``multipart/form-data`` when files are
  uploaded) in which string parameters are sent raw and everything else is JSON-encoded; plain
  JSON bodies are accepted too. Parameters are decoded accordingly (see ``_STRING_PARAMS``).
* Every answer is ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with the HTTP
  status equal to ``error_code``; PTB maps 400/401/403/404/409/429 and ``parameters`` to its
  exception classes.
* ``parse_mode`` HTML / MarkdownV2 / Markdown is parsed like Telegram (a port of TDLib's parsers):
  the returned message carries the plain text and ``entities`` with UTF-16 offsets, and invalid
  markup is rejected with Telegram's ``can't parse entities`` errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Drop",
    "Failure",
    "FakeTelegram",
    "MarkupError",
    "Request",
    "Stall",
    "UploadedFile",
    "bot_command_entities",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]

_LOG = logging.getLogger(__name__)

JSON: TypeAlias = dict[str, Any]

DEFAULT_TOKEN: Final = "123456789:AAFakeTelegramTokenForTests_0123456789"
DEFAULT_USER_ID: Final = 1001
FIRST_UPDATE_ID: Final = 10001

# Parameters whose form value is a plain string; every other form value is JSON-decoded.
_STRING_PARAMS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "inline_message_id",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "query_id",
        "emoji",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "question",
        "explanation",
        "address",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
        "custom_title",
        "invite_link",
        "sticker",
        "document",
        "photo",
        "audio",
        "video",
        "animation",
        "voice",
        "video_note",
        "thumbnail",
        "file_id",
        "action",
        "user_id_str",
    }
)
# Methods counted as "sends" for block(), migrated chats and the flood limit.
_SEND_PREFIXES: Final = ("send", "edit", "copy", "forward")
_DEFAULT_ALLOWED_UPDATES_EXCLUDED: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_MESSAGE_MAX_LEN: Final = 4096
_CAPTION_MAX_LEN: Final = 1024
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_RE: Final = re.compile(r"^[a-z]{2}$")


# --------------------------------------------------------------------------------------------
# Records and failures
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(slots=True)
class Request:
    """One Bot API call as the fake received it (the token is never recorded).

    ``time`` is the arrival time on the server's clock (``time.monotonic`` by default);
    ``status`` is the HTTP status answered (0 while pending or if never answered).
    """

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    chat_id: int | str | None
    time: float
    status: int = 0
    response: JSON | None = None

    @property
    def ok(self) -> bool:
        """Whether the call was answered with ``"ok": true``."""
        return self.status == 200

    @property
    def text(self) -> str | None:
        """The ``text`` (or ``caption``) parameter as sent."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (None otherwise)."""
        return self.response.get("result") if self.response else None


class ApiError(Exception):
    """An error answer in the exact Bot API shape; raise or pass to ``fail_next``."""

    def __init__(
        self, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.description!r}, {self.parameters!r})"

    def body(self) -> JSON:
        """The JSON body Telegram would send."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body

    @classmethod
    def too_many_requests(cls, retry_after: int = 5) -> ApiError:
        """429 flood-control answer with ``parameters.retry_after``."""
        return cls(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    @classmethod
    def blocked(cls) -> ApiError:
        """403: the user blocked the bot."""
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def deactivated(cls) -> ApiError:
        """403: the user deleted their account."""
        return cls(403, "Forbidden: user is deactivated")

    @classmethod
    def kicked(cls, *, supergroup: bool = False) -> ApiError:
        """403: the bot was removed from the group."""
        kind = "supergroup" if supergroup else "group"
        return cls(403, f"Forbidden: bot was kicked from the {kind} chat")

    @classmethod
    def chat_not_found(cls) -> ApiError:
        """400: unknown chat."""
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def migrated(cls, new_chat_id: int) -> ApiError:
        """400 with ``parameters.migrate_to_chat_id``: the group became a supergroup."""
        return cls(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        """400 ``Bad Request: <detail>``."""
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def conflict(cls, detail: str) -> ApiError:
        """409 ``Conflict: <detail>``."""
        return cls(409, f"Conflict: {detail}")

    @classmethod
    def server_error(cls) -> ApiError:
        """500 Internal Server Error."""
        return cls(500, "Internal Server Error")

    @classmethod
    def bad_gateway(cls) -> ApiError:
        """502 Bad Gateway (Telegram's front end when the backend is down)."""
        return cls(502, "Bad Gateway")

    @classmethod
    def unauthorized(cls) -> ApiError:
        """401 for a token the server does not know."""
        return cls(401, "Unauthorized")

    @classmethod
    def not_found(cls) -> ApiError:
        """404 for an unknown method."""
        return cls(404, "Not Found")


@dataclass(frozen=True, slots=True)
class Stall:
    """Hold the answer: ``seconds=None`` holds until the client gives up (a time-out).

    With ``deliver=True`` the call takes effect at once and only the answer is held (the message
    is in the chat although the client timed out); with ``deliver=False`` it takes effect after
    ``seconds`` (a slow server) - unless the client gives up first, then never.
    """

    seconds: float | None = None
    deliver: bool = False


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without answering (optionally after performing the call)."""

    deliver: bool = False


Failure: TypeAlias = ApiError | Stall | Drop


@dataclass(slots=True)
class _FailRule:
    method: str
    chat_id: int | str | None
    remaining: int
    error: Failure


@dataclass(slots=True)
class _RateLimit:
    per_second: int | None
    per_chat_per_second: int | None
    per_group_per_minute: int | None
    methods: frozenset[str] | None
    global_window: deque[float] = field(default_factory=deque)
    chat_windows: dict[int | str, deque[float]] = field(default_factory=dict)
    group_windows: dict[int | str, deque[float]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Text helpers: UTF-16 lengths, links, bot commands
# --------------------------------------------------------------------------------------------


class MarkupError(ValueError):
    """Markup that Telegram would reject with ``can't parse entities``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of Telegram entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _u16_bytes(chunk: bytes | bytearray) -> int:
    return len(chunk.decode("utf-8", "surrogatepass").encode("utf-16-le", "surrogatepass")) // 2


def _link_user_id(url: str) -> int | None:
    """User id of a ``tg://user?id=N`` link (TDLib ``get_link_user_id``)."""
    rest = url.lower()
    if not rest.startswith("tg:"):
        return None
    rest = rest[3:]
    rest = rest.removeprefix("//")
    if not rest.startswith("user"):
        return None
    rest = rest[4:].removeprefix("/")
    if not rest.startswith("?"):
        return None
    for parameter in rest[1:].split("#", 1)[0].split("&"):
        key, _, value = parameter.partition("=")
        if key == "id":
            return int(value) if value.isdigit() and 0 < int(value) < 2**53 else None
    return None


def _custom_emoji_id(url: str) -> str | None:
    """Id of a ``tg://emoji?id=N`` link."""
    rest = url.lower()
    if not rest.startswith("tg:"):
        return None
    rest = rest[3:].removeprefix("//")
    if not rest.startswith("emoji"):
        return None
    rest = rest[5:].removeprefix("/")
    if not rest.startswith("?"):
        return None
    for parameter in rest[1:].split("#", 1)[0].split("&"):
        key, _, value = parameter.partition("=")
        if key == "id":
            ok = value.isdigit() and not value.startswith("0")
            return value if ok else None
    return None


_HOST_RE: Final = re.compile(r"^[a-z0-9\-._~%\u0080-\U0010ffff]+(:\d{1,5})?$")


def _checked_link(url: str) -> str:
    """Normalised URL as Telegram stores it in a text_link, or "" if Telegram rejects it."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ""
    lower = url.lower()
    for scheme in ("tg:", "ton:", "tonsite:"):
        if lower.startswith(scheme):
            return url
    if "://" in url:
        scheme, rest = url.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            return ""
    else:
        if ":" in url.split("/", 1)[0] and not re.match(r"^[^:/]+:\d+", url):
            return ""
        scheme, rest = "http", url
    cut = len(rest)
    for sep in "/?#":
        position = rest.find(sep)
        if position != -1:
            cut = min(cut, position)
    host, tail = rest[:cut].lower(), rest[cut:]
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    bare_host = host.split(":", 1)[0]
    if not _HOST_RE.match(host) or "." not in bare_host.strip("."):
        return ""
    tld = bare_host.rstrip(".").rsplit(".", 1)[1]
    if not tld or (tld.isdigit() and not re.match(r"^\d+\.\d+\.\d+\.\d+$", bare_host)):
        return ""
    if not tail.startswith("/"):
        tail = "/" + tail
    return f"{scheme}://{host}{tail}"


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_command_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def bot_command_entities(text: str) -> list[JSON]:
    """``bot_command`` entities exactly as Telegram detects them in an incoming text."""
    entities: list[JSON] = []
    size = len(text)
    position = 0
    while (start := text.find("/", position)) != -1:
        previous = text[start - 1] if start else ""
        if previous and (_is_word_char(previous) or previous in "/<>\\"):
            position = start + 1
            continue
        end = start + 1
        while end < size and _is_command_char(text[end]):
            end += 1
        position = max(end, start + 1)
        if not 1 <= end - start - 1 <= 64:
            continue
        if end < size and text[end] == "@":
            mention_end = end + 1
            while mention_end < size and _is_command_char(text[mention_end]):
                mention_end += 1
            position = mention_end
            if not 3 <= mention_end - end - 1 <= 32:
                continue
            end = mention_end
        following = text[end] if end < size else ""
        if following and (_is_word_char(following) or following in "/<>\\"):
            continue
        entities.append(
            {"type": "bot_command", "offset": utf16_len(text[:start]), "length": end - start}
        )
    return entities


_ENTITY_PRIORITY: Final = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


def _entity_sort_key(entity: JSON) -> tuple[int, int, int]:
    priority = _ENTITY_PRIORITY.get(entity["type"], 50)
    if entity["type"] == "pre" and entity.get("language"):
        priority = 10
    return entity["offset"], -entity["length"], priority


def _sorted_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(entities, key=_entity_sort_key)


# --------------------------------------------------------------------------------------------
# HTML parse mode (port of TDLib parse_html)
# --------------------------------------------------------------------------------------------

_SPACE: Final = frozenset(b" \t\r\n\x00\x0b\x0c")
_DIGITS: Final = frozenset(b"0123456789")
_HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")
_ALPHA: Final = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_TOKEN: Final = _ALPHA | _DIGITS | frozenset(b".-")
_ATTR_NAME_STOP: Final = _SPACE | frozenset(b"=>/\"'")
_NAMED_HTML_ENTITIES: Final = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}
_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SIMPLE: Final = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_SPECIAL: Final = re.compile(rb"[<&]")
_PAD: Final = b"\x00" * 8


def _decode_html_entity(s: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after it) for ``&...;`` at ``pos``, or (0, pos) if unsupported."""
    end = pos + 1
    code = 0
    if s[end] == 0x23:  # '#'
        end += 1
        if s[end] == 0x78:  # 'x'
            end += 1
            while s[end] in _HEX_DIGITS:
                code = code * 16 + int(chr(s[end]), 16)
                end += 1
        else:
            while s[end] in _DIGITS:
                code = code * 10 + s[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while s[end] in _ALPHA:
            end += 1
        named = _NAMED_HTML_ENTITIES.get(s[pos + 1 : end])
        if named is None:
            return 0, pos
        code = named
    if s[end] == 0x3B:  # ';'
        end += 1
    return code, end


def _encode_code_point(code: int) -> bytes:
    return chr(code).encode("utf-8", "surrogatepass")


def _make_link_entity(
    url: str, offset: int, length: int, user_lookup: Callable[[int], JSON]
) -> JSON | None:
    user_id = _link_user_id(url)
    if user_id is not None:
        return {
            "type": "text_mention",
            "offset": offset,
            "length": length,
            "user": user_lookup(user_id),
        }
    checked = _checked_link(url)
    if not checked:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": checked}


def _default_user(user_id: int) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}


def parse_html(
    text: str, user_lookup: Callable[[int], JSON] = _default_user
) -> tuple[str, list[JSON]]:
    """Plain text and entities of Telegram-HTML ``text``; raises MarkupError like Telegram."""
    raw = text.encode("utf-8", "surrogatepass")
    if b"<" not in raw and b"&" not in raw:
        return text, []
    n = len(raw)
    s = raw + _PAD
    out = bytearray()
    u16 = 0
    bad_unicode = False
    stack: list[tuple[str, str, int, int]] = []
    entities: list[JSON] = []
    i = 0
    while i < n:
        match = _HTML_SPECIAL.search(raw, i)
        j = match.start() if match else n
        if j > i:
            out += raw[i:j]
            u16 += _u16_bytes(raw[i:j])
            i = j
            continue
        c = s[i]
        if c == 0x26:  # '&'
            code, end = _decode_html_entity(s, i)
            if code:
                bad_unicode = bad_unicode or 0xD800 <= code <= 0xDFFF
                out += _encode_code_point(code)
                u16 += 2 if code > 0xFFFF else 1
                i = end
            else:
                out.append(c)
                u16 += 1
                i += 1
            continue
        begin = i
        i += 1
        if s[i] != 0x2F:  # not '/': a start tag
            while s[i] not in _SPACE and s[i] != 0x3E:
                i += 1
            if s[i] == 0:
                raise MarkupError(f"Unclosed start tag at byte offset {begin}")
            tag = s[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while s[i] != 0x3E:
                while s[i] != 0 and s[i] in _SPACE:
                    i += 1
                if s[i] == 0x3E:
                    break
                attribute_begin = i
                while s[i] not in _ATTR_NAME_STOP:
                    i += 1
                attribute = s[attribute_begin:i]
                if not attribute:
                    raise MarkupError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while s[i] != 0 and s[i] in _SPACE:
                    i += 1
                if s[i] != 0x3D:  # no '=': a valueless attribute
                    if s[i] == 0:
                        raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attribute == b"expandable":
                        argument = "1"
                    continue
                i += 1
                while s[i] != 0 and s[i] in _SPACE:
                    i += 1
                if s[i] == 0:
                    raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if s[i] not in (0x22, 0x27):
                    token_begin = i
                    while s[i] in _NAME_TOKEN:
                        i += 1
                    value = s[token_begin:i].decode("ascii").lower()
                    if s[i] not in _SPACE and s[i] != 0x3E:
                        raise MarkupError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = s[i]
                    i += 1
                    buffer = bytearray()
                    while s[i] != quote and s[i] != 0:
                        if s[i] == 0x26:
                            code, end = _decode_html_entity(s, i)
                            if code:
                                buffer += _encode_code_point(code)
                                i = end
                                continue
                        buffer.append(s[i])
                        i += 1
                    if s[i] == quote:
                        i += 1
                    value = buffer.decode("utf-8", "replace")
                if s[i] == 0:
                    raise MarkupError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attribute == b"href":
                    argument = value
                elif tag == "code" and attribute == b"class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attribute == b"class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attribute == b"emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == b"expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise MarkupError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append((tag, argument, u16, len(out)))
            i += 1
            continue
        # an end tag
        if not stack:
            raise MarkupError(f"Unexpected end tag at byte offset {begin}")
        while s[i] not in _SPACE and s[i] != 0x3E:
            i += 1
        end_tag = s[begin + 2 : i].decode("utf-8", "replace").lower()
        while s[i] != 0 and s[i] in _SPACE:
            i += 1
        if s[i] != 0x3E:
            raise MarkupError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, byte_start = stack[-1]
        if end_tag and end_tag != tag:
            raise MarkupError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if u16 > offset:
            length = u16 - offset
            last = entities[-1] if entities else None
            same_span = last is not None and (last["offset"], last["length"]) == (offset, length)
            if tag in _HTML_SIMPLE:
                entities.append({"type": _HTML_SIMPLE[tag], "offset": offset, "length": length})
            elif tag == "tg-emoji":
                if not argument.isdigit() or int(argument) == 0:
                    raise MarkupError("Invalid custom emoji identifier specified")
                entities.append(
                    {
                        "type": "custom_emoji",
                        "offset": offset,
                        "length": length,
                        "custom_emoji_id": str(int(argument)),
                    }
                )
            elif tag == "a":
                url = argument or out[byte_start:].decode("utf-8", "replace")
                link = _make_link_entity(url, offset, length, user_lookup)
                if link is not None:
                    entities.append(link)
            elif tag == "pre":
                if same_span and last is not None and last["type"] == "code" and last["_lang"]:
                    last["type"] = "pre"
                    last["language"] = last.pop("_lang")
                else:
                    entities.append({"type": "pre", "offset": offset, "length": length})
            elif tag == "code":
                if last is not None and same_span and last["type"] == "pre" and argument:
                    last["language"] = argument
                else:
                    entities.append(
                        {"type": "code", "offset": offset, "length": length, "_lang": argument}
                    )
            else:  # blockquote
                kind = "expandable_blockquote" if argument else "blockquote"
                entities.append({"type": kind, "offset": offset, "length": length})
        stack.pop()
        i += 1
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if bad_unicode:
        raise MarkupError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    for entity in entities:
        entity.pop("_lang", None)
    return out.decode("utf-8"), _sorted_entities(entities)


# --------------------------------------------------------------------------------------------
# MarkdownV2 and legacy Markdown parse modes (ports of TDLib parse_markdown_v2 / parse_markdown)
# --------------------------------------------------------------------------------------------

_MD_RESERVED: Final = frozenset(b"_*[]()~`>#+-=|{}.!\n")
_MD_CODE_RESERVED: Final = frozenset(b"`")
_MD_SPECIAL: Final = re.compile(rb"[_*\[\]()~`>#+\-=|{}.!\n\\]")
_MD_CODE_SPECIAL: Final = re.compile(rb"[`\\]")
_MD_TYPE_NAMES: Final = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_url": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


@dataclass(slots=True)
class _MdOpen:
    kind: str
    argument: str
    offset: int
    byte_offset: int
    out_pos: int


def _md_reserved_error(char: int) -> MarkupError:
    return MarkupError(
        f"Character '{chr(char)}' is reserved and must be escaped with the preceding '\\'"
    )


def _md_unclosed(entry: _MdOpen) -> MarkupError:
    name = _MD_TYPE_NAMES[entry.kind]
    return MarkupError(f"Can't find end of {name} entity at byte offset {entry.byte_offset}")


def _md_read_url(s: bytes, i: int, n: int) -> tuple[str, int]:
    """Read ``(url)`` starting at the byte after '('; returns the URL and the index of ')'."""
    begin = i
    buffer = bytearray()
    while i < n and s[i] != 0x29:
        if s[i] == 0x5C and 0 < s[i + 1] <= 126:
            buffer.append(s[i + 1])
            i += 2
            continue
        buffer.append(s[i])
        i += 1
    if s[i] != 0x29:
        raise MarkupError(f"Can't find end of a URL at byte offset {begin}")
    return buffer.decode("utf-8", "replace"), i


def parse_markdown_v2(
    text: str, user_lookup: Callable[[int], JSON] = _default_user
) -> tuple[str, list[JSON]]:
    """Plain text and entities of MarkdownV2 ``text``; raises MarkupError like Telegram."""
    raw = text.encode("utf-8", "surrogatepass")
    n = len(raw)
    s = raw + _PAD
    out = bytearray()
    u16 = 0
    stack: list[_MdOpen] = []
    entities: list[JSON] = []
    have_blockquote = False
    can_start_blockquote = True
    i = 0
    while i < n:
        c = s[i]
        in_code = bool(stack) and stack[-1].kind in ("code", "pre", "pre_code")
        if c == 0x5C and 0 < s[i + 1] <= 126:  # backslash escape
            i += 1
            u16 += 1
            out.append(s[i])
            if s[i] != 0x0D:
                can_start_blockquote = s[i] == 0x0A
            i += 1
            continue
        reserved = _MD_CODE_RESERVED if in_code else _MD_RESERVED
        if c not in reserved:
            if c == 0x5C:
                j = i + 1
            else:
                match = (_MD_CODE_SPECIAL if in_code else _MD_SPECIAL).search(raw, i)
                j = match.start() if match else n
            chunk = raw[i:j]
            out += chunk
            u16 += _u16_bytes(chunk)
            if chunk.strip(b"\r"):
                can_start_blockquote = False
            i = j
            continue

        is_end = False
        if stack:
            top = stack[-1].kind
            if have_blockquote and c == 0x0A and (i + 1 == n or s[i + 1] != 0x3E):
                is_end = True
            elif top == "bold":
                is_end = c == 0x2A
            elif top == "italic":
                is_end = c == 0x5F and s[i + 1] != 0x5F
            elif top == "code":
                is_end = c == 0x60
            elif top in ("pre", "pre_code"):
                is_end = c == 0x60 and s[i + 1] == 0x60 and s[i + 2] == 0x60
            elif top in ("text_url", "custom_emoji"):
                is_end = c == 0x5D
            elif top == "underline":
                is_end = c == 0x5F and s[i + 1] == 0x5F
            elif top == "strikethrough":
                is_end = c == 0x7E
            elif top == "spoiler":
                is_end = c == 0x7C and s[i + 1] == 0x7C

        if not is_end:
            kind: str | None
            argument = ""
            byte_offset = i
            if c == 0x5F:
                if s[i + 1] == 0x5F:
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == 0x2A:
                kind = "bold"
            elif c == 0x7E:
                kind = "strikethrough"
            elif c == 0x7C:
                if s[i + 1] != 0x7C:
                    raise _md_reserved_error(c)
                i += 1
                kind = "spoiler"
            elif c == 0x5B:
                kind = "text_url"
            elif c == 0x60:
                if s[i + 1] == 0x60 and s[i + 2] == 0x60:
                    i += 3
                    kind = "pre"
                    language_end = i
                    while s[language_end] not in _SPACE and s[language_end] != 0x60:
                        language_end += 1
                    if i != language_end and language_end < n and s[language_end] != 0x60:
                        kind = "pre_code"
                        argument = s[i:language_end].decode("utf-8", "replace")
                        i = language_end
                    if s[i] in (0x0A, 0x0D):
                        if s[i + 1] in (0x0A, 0x0D) and s[i] != s[i + 1]:
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == 0x21:
                if s[i + 1] != 0x5B:
                    raise _md_reserved_error(c)
                i += 1
                kind = "custom_emoji"
            elif c == 0x0A:
                u16 += 1
                out.append(0x0A)
                can_start_blockquote = True
                kind = None
            elif c == 0x3E:
                if not can_start_blockquote:
                    raise _md_reserved_error(c)
                if have_blockquote:
                    kind = None
                else:
                    kind = "blockquote"
                    have_blockquote = True
            else:
                raise _md_reserved_error(c)
            if kind is not None:
                stack.append(_MdOpen(kind, argument, u16, byte_offset, len(out)))
            i += 1
            continue

        # end of an entity
        kind_end = stack[-1].kind
        if c == 0x0A and kind_end != "blockquote":
            top_entry = stack[-1]
            expandable = kind_end == "spoiler" and (
                top_entry.byte_offset == i - 2
                or (top_entry.byte_offset == i - 3 and out and out[-1] == 0x0D)
            )
            if not expandable:
                raise _md_unclosed(top_entry)
            stack.pop()
            if stack[-1].kind != "blockquote":
                raise _md_unclosed(stack[-1])
            kind_end = "expandable_blockquote"
        entry = stack[-1]
        argument = entry.argument
        skip = u16 == entry.offset
        entity: JSON | None = None
        if kind_end in ("underline", "spoiler"):
            i += 1
        elif kind_end in ("pre", "pre_code"):
            i += 2
        elif kind_end == "text_url":
            if s[i + 1] != 0x28:
                url = out[entry.out_pos :].decode("utf-8", "replace")
            else:
                url, i = _md_read_url(s, i + 2, n)
            if not skip:
                entity = _make_link_entity(url, entry.offset, u16 - entry.offset, user_lookup)
            skip = True
        elif kind_end == "custom_emoji":
            if s[i + 1] != 0x28:
                raise MarkupError("The entity must contain a tg://emoji or tg://time URL")
            url, i = _md_read_url(s, i + 2, n)
            emoji_id = _custom_emoji_id(url)
            if emoji_id is None:
                raise MarkupError("Invalid tg://emoji or tg://time URL specified")
            if not skip:
                entity = {
                    "type": "custom_emoji",
                    "offset": entry.offset,
                    "length": u16 - entry.offset,
                    "custom_emoji_id": emoji_id,
                }
            skip = True
        elif kind_end in ("blockquote", "expandable_blockquote"):
            have_blockquote = False
            out.append(s[i])
            can_start_blockquote = True
            u16 += 1
            skip = False
        if entity is not None:
            entities.append(entity)
        elif not skip:
            entities.append(_md_entity(kind_end, entry.offset, u16 - entry.offset, argument))
        stack.pop()
        i += 1

    if have_blockquote:
        kind_end = "blockquote"
        if stack[-1].kind == "spoiler" and stack[-1].byte_offset == n - 2:
            stack.pop()
            kind_end = "expandable_blockquote"
        if stack[-1].kind == "blockquote":
            entry = stack.pop()
            if u16 != entry.offset:
                entities.append(_md_entity(kind_end, entry.offset, u16 - entry.offset, ""))
    if stack:
        raise _md_unclosed(stack[-1])
    return out.decode("utf-8", "surrogatepass"), _sorted_entities(entities)


def _md_entity(kind: str, offset: int, length: int, argument: str) -> JSON:
    if kind == "pre_code":
        return {"type": "pre", "offset": offset, "length": length, "language": argument}
    return {"type": kind, "offset": offset, "length": length}


def parse_markdown(
    text: str, user_lookup: Callable[[int], JSON] = _default_user
) -> tuple[str, list[JSON]]:
    """Plain text and entities of legacy ``Markdown`` text (TDLib ``parse_markdown``)."""
    raw = text.encode("utf-8", "surrogatepass")
    n = len(raw)
    s = raw + _PAD
    out = bytearray()
    u16 = 0
    entities: list[JSON] = []
    i = 0
    while i < n:
        c = s[i]
        if c == 0x5C and s[i + 1] in b"_*`[":
            out.append(s[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in b"_*`[":
            j = i + 1
            while j < n and s[j] not in b"_*`[\\":
                j += 1
            out += raw[i:j]
            u16 += _u16_bytes(raw[i:j])
            i = j
            continue
        begin = i
        end_char = 0x5D if c == 0x5B else c
        is_pre = False
        i += 1
        language = ""
        if c == 0x60 and s[i] == 0x60 and s[i + 1] == 0x60:
            i += 2
            is_pre = True
            language_end = i
            while s[language_end] not in _SPACE and s[language_end] != 0x60:
                language_end += 1
            if i != language_end and language_end < n and s[language_end] != 0x60:
                language = s[i:language_end].decode("utf-8", "replace")
                i = language_end
            if s[i] in (0x0A, 0x0D):
                i += 2 if s[i + 1] in (0x0A, 0x0D) and s[i] != s[i + 1] else 1
        offset = u16
        content_start = len(out)
        while i < n and (s[i] != end_char or (is_pre and not (s[i + 1] == s[i + 2] == 0x60))):
            out.append(s[i])
            if s[i] & 0xC0 != 0x80:
                u16 += 2 if s[i] >= 0xF0 else 1
            i += 1
        if i == n:
            raise MarkupError(f"Can't find end of the entity starting at byte offset {begin}")
        if offset != u16:
            length = u16 - offset
            if c == 0x5F:
                entities.append({"type": "italic", "offset": offset, "length": length})
            elif c == 0x2A:
                entities.append({"type": "bold", "offset": offset, "length": length})
            elif c == 0x5B:
                if s[i + 1] != 0x28:
                    url = out[content_start:].decode("utf-8", "replace")
                else:
                    i += 2
                    url_start = i
                    while i < n and s[i] != 0x29:
                        i += 1
                    url = s[url_start:i].decode("utf-8", "replace")
                link = _make_link_entity(url, offset, length, user_lookup)
                if link is not None:
                    entities.append(link)
            elif is_pre:
                entity: JSON = {"type": "pre", "offset": offset, "length": length}
                if language:
                    entity["language"] = language
                entities.append(entity)
            else:
                entities.append({"type": "code", "offset": offset, "length": length})
        if is_pre:
            i += 2
        i += 1
    return out.decode("utf-8", "surrogatepass"), _sorted_entities(entities)


def _trim_formatted(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram's trimming of spaces/newlines around a formatted text (fix_formatted_text)."""
    stripped = text.rstrip(" \n")
    if len(stripped) != len(text):
        limit = utf16_len(stripped)
        kept: list[JSON] = []
        for entity in entities:
            if entity["offset"] >= limit:
                continue
            if entity["offset"] + entity["length"] > limit:
                entity = {**entity, "length": limit - entity["offset"]}
            kept.append(entity)
        entities = _sorted_entities(kept)
        text = stripped
    first_entity = entities[0]["offset"] if entities else len(text)
    lead = 0
    while lead < first_entity and lead < len(text) and text[lead] in " \n":
        lead += 1
    if lead:
        text = text[lead:]
        entities = [{**entity, "offset": entity["offset"] - lead} for entity in entities]
    return text, entities


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_Handler: TypeAlias = Callable[[Request], Any]


def _norm_chat_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    return None


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _dumps(body: JSON) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _chat_member(user: JSON, status: str) -> JSON:
    """A ChatMember object with every field PTB requires for ``status``."""
    member: JSON = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
            can_manage_topics=False,
        )
    elif status == "restricted":
        member.update(
            is_member=True,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_send_messages=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_manage_topics=False,
            until_date=0,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_edit_tag=False,
        )
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unknown chat member status {status!r}")
    return member


class FakeTelegram:
    """In-process fake of the Telegram Bot API for one bot token, on 127.0.0.1."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "summit_test_bot",
        first_name: str = "Summit Test Bot",
        strict_chats: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the bot identity; ``strict_chats`` answers "chat not found" for unknown
        chats; ``clock`` stamps arrival times (for flood control)."""
        self.token = token
        self.clock = clock
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.strict_chats = strict_chats
        self.port = 0
        # what the bot did
        self.sent: list[Request] = []
        self.too_many_requests = 0
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self.callback_answers: dict[str, JSON] = {}
        self.files: dict[str, UploadedFile] = {}
        # world the tests set up
        self.admins: dict[int, set[int]] = {}
        self.owners: dict[int, int] = {}
        self.chats: dict[int | str, JSON] = {}
        self.users: dict[int, JSON] = {}
        # internals
        self._by_method: dict[str, list[Request]] = {}
        self._by_method_chat: dict[tuple[str, int | str | None], list[Request]] = {}
        self._outbox: dict[int | str, list[str]] = {}
        self._popped: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], JSON] = {}
        self._last_bot_message: dict[int | str, int] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._callback_queries: dict[str, JSON] = {}
        self._updates: deque[JSON] = deque()
        self._next_update_id = FIRST_UPDATE_ID
        self._fetched_upto = FIRST_UPDATE_ID - 1
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._fail_rules: list[_FailRule] = []
        self._blocked: dict[int | str, ApiError] = {}
        self._migrated: dict[int | str, int] = {}
        self._rate: _RateLimit | None = None
        self._file_counter = 0
        self._changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._webhook_target: str | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self.webhook_answers: list[int] = []  # HTTP status of every webhook POST, in order
        self._handlers: dict[str, tuple[str, _Handler]] = {}
        for name, handler in self._handler_table().items():
            self._handlers[name.lower()] = (name, handler)

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Value for ``Bot(base_url=...)`` / ``ApplicationBuilder().base_url(...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``Bot(base_file_url=...)``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        """Serve on 127.0.0.1: on a free port, or after a `stop` on the port it had."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release held requests and long polls, then close the server."""
        self._closing.set()
        self._fire_updates()
        self._fire()
        if self._webhook_task is not None:
            task, self._webhook_task = self._webhook_task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-side: the world

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str = "Test",
        username: str | None = None,
    ) -> JSON:
        """Register (or update) a chat; ``chat_type`` is inferred from the id when None."""
        kind = chat_type or self._infer_chat_type(chat_id)
        chat: JSON = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = title or f"Test {kind} {abs(chat_id)}"
        if username:
            chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSON:
        """Register (or update) a user."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        return user

    # ---------------------------------------------------------------- test-side: webhooks

    def deliver_webhooks_to(self, target: str) -> None:
        """While a webhook is set, POST each update to `target`, as Telegram does to its URL.

        Telegram calls only the https:// URL given to setWebhook; `target` stands for the
        TLS-terminating proxy in front of the bot (its plain-HTTP listener on 127.0.0.1).
        Like Telegram, an update is posted again until the bot answers 200, one at a time.
        """
        self._webhook_target = target
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._pump_webhook())
        self._fire_updates()

    async def _pump_webhook(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._closing.is_set():
                changed = self._updates_changed
                hook, target = self.webhook, self._webhook_target
                if hook is None or target is None or not self._updates:
                    await changed.wait()
                    continue
                update = self._updates[0]
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
                try:
                    async with session.post(
                        target, data=json.dumps(update), headers=headers
                    ) as res:
                        self.webhook_answers.append(res.status)
                        taken = res.status == 200
                except aiohttp.ClientError:
                    taken = False
                if taken:
                    self._updates.popleft()
                    self._fetched_upto = int(update["update_id"])
                    self._fire_updates()
                else:
                    await asyncio.sleep(0.1)  # Telegram too retries a failed delivery later

    # ---------------------------------------------------------------- test-side: updates

    def push_raw(self, update: Mapping[str, Any]) -> JSON:
        """Queue an update as is (an ``update_id`` is assigned unless present)."""
        item = dict(update)
        if "update_id" in item:
            self._next_update_id = max(self._next_update_id, int(item["update_id"]) + 1)
        else:
            item["update_id"] = self._next_update_id
            self._next_update_id += 1
        self._updates.append(item)
        self._fire_updates()
        return item

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
        username: str | None = None,
        title: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """Queue an incoming text message; "/cmd" gets ``bot_command`` entities like
        Telegram."""
        chat, user = self._chat_and_user(
            chat_id, user_id, chat_type, title, first_name, username, language_code
        )
        message = self._incoming_message(chat, user)
        message["text"] = text
        found = bot_command_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to_message_id is not None:
            replied = self._messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = self._shallow(replied)
        return self.push_raw({"message": message})

    def push_location(
        self,
        chat_id: int,
        user_id: int | None,
        latitude: float,
        longitude: float,
        *,
        chat_type: str | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> JSON:
        """Queue an incoming location message."""
        chat, user = self._chat_and_user(
            chat_id, user_id, chat_type, None, first_name, None, language_code
        )
        message = self._incoming_message(chat, user)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self.push_raw({"message": message})

    def push_callback_query(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> JSON:
        """Queue a button press on a bot message (default: the bot's last message there)."""
        user = self.users.get(user_id) or self.add_user(
            user_id, first_name=first_name, language_code=language_code
        )
        if message_id is None:
            message_id = self._last_bot_message.get(chat_id)
            if message_id is None:
                raise ValueError(f"the bot has sent no message to chat {chat_id} yet")
        stored = self._messages.get((chat_id, message_id))
        message = (
            self._shallow(stored)
            if stored is not None
            else {"chat": self._chat_for(chat_id), "message_id": message_id, "date": 0}
        )
        query_id = str(4_000_000_000_000_000 + self._next_update_id)
        query: JSON = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(-abs(chat_id) * 7919 - 1),
            "data": data,
        }
        self._callback_queries[query_id] = {"chat_id": chat_id, "message_id": message_id}
        return self.push_raw({"callback_query": query})

    def push_my_chat_member(
        self,
        chat_id: int,
        user_id: int,
        old_status: str,
        new_status: str,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        auto_block: bool = True,
    ) -> JSON:
        """Queue a change of the bot's own membership (e.g. "member" -> "kicked" = blocked).

        With ``auto_block`` a kicked/left status makes later sends to that chat fail with the
        matching 403, and "member"/"administrator" lifts it.
        """
        chat, user = self._chat_and_user(
            chat_id, user_id, chat_type, title, "Test", None, "en", update_user=False
        )
        update = {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": _chat_member(self.bot_user, old_status),
                "new_chat_member": _chat_member(self.bot_user, new_status),
            }
        }
        if auto_block:
            if new_status in ("kicked", "left"):
                if chat["type"] == "private":
                    self.block(chat_id)
                elif new_status == "kicked":
                    self.block(chat_id, ApiError.kicked(supergroup=chat["type"] == "supergroup"))
                else:
                    self.block(
                        chat_id, ApiError(403, "Forbidden: bot is not a member of the group chat")
                    )
            elif new_status in ("member", "administrator", "creator"):
                self.unblock(chat_id)
        return self.push_raw(update)

    @property
    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed by a later getUpdates offset."""
        return len(self._updates)

    async def wait_fetched(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until getUpdates has handed out every update pushed so far."""
        target = self._next_update_id - 1
        await self._wait_until(
            lambda: self._fetched_upto >= target,
            timeout,
            lambda: f"updates up to {target} not fetched (fetched up to {self._fetched_upto})",
        )

    # ---------------------------------------------------------------- test-side: reading

    def requests(
        self, method: str | None = None, *, chat_id: int | str | None = None
    ) -> list[Request]:
        """Recorded calls, optionally filtered by method and chat."""
        if method is None:
            return [r for r in self.sent if chat_id is None or r.chat_id == chat_id]
        if chat_id is None:
            return list(self._by_method.get(method, ()))
        return list(self._by_method_chat.get((method, chat_id), ()))

    async def wait_for(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the brief's signature; no sleeping involved
    ) -> list[Request]:
        """Wait until at least ``count`` matching calls arrived; return all matching calls."""
        key = (method, chat_id)

        def matching() -> list[Request]:
            if chat_id is None:
                return self._by_method.get(method, [])
            return self._by_method_chat.get(key, [])

        await self._wait_until(
            lambda: len(matching()) >= count,
            timeout,
            lambda: (
                f"expected {count} {method} call(s)"
                + (f" to chat {chat_id}" if chat_id is not None else "")
                + f", got {len(matching())}; methods seen: {self._method_summary()}"
            ),
        )
        return list(matching())

    def messages_to(self, chat_id: int | str) -> list[str]:
        """Texts of all successful sendMessage calls to ``chat_id``, as sent."""
        return list(self._outbox.get(chat_id, ()))

    async def pop_message(
        self,
        chat_id: int | str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Next not yet popped text the bot successfully sent to ``chat_id`` (errbot style)."""
        await self._wait_until(
            lambda: len(self._outbox.get(chat_id, ())) > self._popped.get(chat_id, 0),
            timeout,
            lambda: (
                f"no new message to chat {chat_id} within {timeout}s; "
                f"already popped {self._popped.get(chat_id, 0)}; "
                f"methods seen: {self._method_summary()}"
            ),
        )
        index = self._popped.get(chat_id, 0)
        self._popped[chat_id] = index + 1
        return self._outbox[chat_id][index]

    def message(self, chat_id: int | str, message_id: int) -> JSON | None:
        """Current state of a stored message (after edits), or None."""
        return self._messages.get((chat_id, message_id))

    def commands_for(
        self, language_code: str = "", scope: Mapping[str, Any] | None = None
    ) -> list[JSON]:
        """Commands the bot registered for a scope (default scope) and language."""
        key = json.dumps(dict(scope or {"type": "default"}), sort_keys=True)
        return list(self.commands.get((key, language_code), []))

    def max_in_any_window(self, seconds: float = 1.0, method: str = "sendMessage") -> int:
        """Most calls of ``method`` that arrived within any window of ``seconds``."""
        times = sorted(r.time for r in self._by_method.get(method, ()))
        best = start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ---------------------------------------------------------------- test-side: failures

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        times: int = 1,
        error: Failure | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail.

        ``error`` is an ``ApiError`` (e.g. ``ApiError.too_many_requests(3)``), a ``Stall`` (time
        out) or a ``Drop`` (connection reset); the default is a 500.
        """
        rule = _FailRule(method, chat_id, times, error or ApiError.server_error())
        self._fail_rules.append(rule)

    def block(self, chat_id: int | str, error: ApiError | None = None) -> None:
        """Every send to ``chat_id`` fails (default: 403 blocked by the user) until unblock."""
        self._blocked[chat_id] = error or ApiError.blocked()

    def unblock(self, chat_id: int | str) -> None:
        """Lift ``block``."""
        self._blocked.pop(chat_id, None)

    def migrate_chat(self, chat_id: int, new_chat_id: int) -> None:
        """Turn a group into a supergroup: every later call on the old id gets the migrate
        error."""
        self._migrated[chat_id] = new_chat_id
        old = self.chats.get(chat_id, {})
        self.add_chat(new_chat_id, chat_type="supergroup", title=old.get("title"))

    def rate_limit(
        self,
        per_second: int | None = 30,
        *,
        per_chat_per_second: int | None = None,
        per_group_per_minute: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Enable flood control: sends beyond the limits in a sliding window get 429.

        Limits count accepted sends by arrival time (send*/edit*/copy*/forward* methods unless
        ``methods`` is given); ``rate_limit(None)`` with no other limit disables it.
        """
        if per_second is None and per_chat_per_second is None and per_group_per_minute is None:
            self._rate = None
            return
        self._rate = _RateLimit(
            per_second,
            per_chat_per_second,
            per_group_per_minute,
            frozenset(methods) if methods is not None else None,
        )

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrival = self.clock()
        if request.match_info["token"] != self.token:
            return self._json(401, ApiError.unauthorized().body())
        raw_method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ValueError as exc:
            return self._json(400, ApiError.bad_request(f"can't parse request: {exc}").body())
        known = self._handlers.get(raw_method.lower())
        name = known[0] if known else raw_method
        req = Request(name, params, files, self._request_chat_id(name, params), arrival)
        self._record(req)
        if known is None:
            _LOG.warning("FakeTelegram: method %s is not implemented (answering 404)", name)
            return self._finish(req, 404, ApiError.not_found().body())
        handler = known[1]
        failure = self._take_failure(req)
        if isinstance(failure, ApiError):
            return self._finish(req, failure.status, failure.body())
        if isinstance(failure, Drop):
            if failure.deliver:
                self._complete(req, *await self._dispatch(req, handler))
            return self._drop(request)
        if isinstance(failure, Stall):
            if failure.deliver:
                status, body = await self._dispatch(req, handler)
                self._complete(req, status, body)
                await self._hold(failure.seconds)
                return self._json(status, body)
            await self._hold(failure.seconds)
            if self._closing.is_set():
                return self._drop(request)
        return self._finish(req, *await self._dispatch(req, handler))

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._json(401, ApiError.unauthorized().body())
        path = request.match_info["path"]
        for file_id, upload in self.files.items():
            if self._file_path(file_id) == path:
                return web.Response(body=upload.content, content_type=upload.content_type)
        return self._json(404, ApiError.not_found().body())

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the JSON body must be an object")
            params.update(body)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _decode_form_value(key, value)
            elif isinstance(value, web.FileField):
                content = value.file.read()
                files[key] = UploadedFile(
                    key, value.filename, content, value.content_type or "application/octet-stream"
                )
            else:  # bytes
                params[key] = _decode_form_value(key, bytes(value).decode("utf-8", "replace"))
        return params, files

    async def _dispatch(self, req: Request, handler: _Handler) -> tuple[int, JSON]:
        try:
            result = handler(req)
            if isinstance(result, Awaitable):
                result = await result
        except ApiError as error:
            return error.status, error.body()
        if isinstance(result, tuple):  # (result, description)
            return 200, {"ok": True, "result": result[0], "description": result[1]}
        return 200, {"ok": True, "result": result}

    def _complete(self, req: Request, status: int, body: JSON) -> None:
        req.status = status
        req.response = body
        if status == 429:
            self.too_many_requests += 1
        elif status == 200 and req.method == "sendMessage" and req.chat_id is not None:
            self._outbox.setdefault(req.chat_id, []).append(str(req.params.get("text", "")))
        self._fire()

    def _finish(self, req: Request, status: int, body: JSON) -> web.Response:
        self._complete(req, status, body)
        return self._json(status, body)

    def _drop(self, request: web.Request) -> web.StreamResponse:
        """Abort the connection so the client sees it closed without an answer."""
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError

    @staticmethod
    def _json(status: int, body: JSON) -> web.Response:
        return web.Response(status=status, body=_dumps(body), content_type="application/json")

    async def _hold(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    def _record(self, req: Request) -> None:
        self.sent.append(req)
        self._by_method.setdefault(req.method, []).append(req)
        self._by_method_chat.setdefault((req.method, req.chat_id), []).append(req)
        self._fire()

    def _request_chat_id(self, method: str, params: JSON) -> int | str | None:
        if method == "answerCallbackQuery":
            query = self._callback_queries.get(str(params.get("callback_query_id")))
            return query["chat_id"] if query else None
        return _norm_chat_id(params.get("chat_id"))

    def _take_failure(self, req: Request) -> Failure | None:
        for rule in self._fail_rules:
            if rule.method == req.method and (rule.chat_id is None or rule.chat_id == req.chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._fail_rules.remove(rule)
                return rule.error
        if req.chat_id is not None and req.method != "getUpdates":
            new_id = self._migrated.get(req.chat_id)
            if new_id is not None:
                return ApiError.migrated(new_id)
            if req.method.startswith(_SEND_PREFIXES):
                blocked = self._blocked.get(req.chat_id)
                if blocked is not None:
                    return blocked
        if self._rate is not None:
            return self._check_rate(req)
        return None

    def _check_rate(self, req: Request) -> ApiError | None:
        rate = self._rate
        assert rate is not None
        if rate.methods is not None:
            if req.method not in rate.methods:
                return None
        elif not req.method.startswith(_SEND_PREFIXES):
            return None
        now = req.time
        windows: list[tuple[deque[float], int, float]] = []
        if rate.per_second is not None:
            windows.append((rate.global_window, rate.per_second, 1.0))
        if req.chat_id is not None:
            if rate.per_chat_per_second is not None:
                window = rate.chat_windows.setdefault(req.chat_id, deque())
                windows.append((window, rate.per_chat_per_second, 1.0))
            is_group = isinstance(req.chat_id, int) and req.chat_id < 0
            if rate.per_group_per_minute is not None and is_group:
                window = rate.group_windows.setdefault(req.chat_id, deque())
                windows.append((window, rate.per_group_per_minute, 60.0))
        wait = 0.0
        for window, limit, span in windows:
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                wait = max(wait, window[0] + span - now)
        if wait > 0:
            return ApiError.too_many_requests(max(1, math.ceil(wait)))
        for window, _, _ in windows:
            window.append(now)
        return None

    def _fire(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _fire_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    async def _wait_until(
        self, predicate: Callable[[], bool], seconds: float, describe: Callable[[], str]
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            event = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _method_summary(self) -> str:
        return ", ".join(f"{m}×{len(v)}" for m, v in self._by_method.items()) or "none"

    # ---------------------------------------------------------------- world helpers

    @staticmethod
    def _infer_chat_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if chat_id <= -1_000_000_000_000 else "group"

    def _chat_for(self, chat_id: int | str | None) -> JSON:
        if chat_id is None or chat_id == "":
            raise ApiError.bad_request("chat_id is empty")
        chat = self.chats.get(chat_id)
        if chat is not None:
            return chat
        if isinstance(chat_id, str) or self.strict_chats:
            raise ApiError.chat_not_found()
        return self.add_chat(chat_id)

    def _user_for(self, user_id: int) -> JSON:
        return self.users.get(user_id) or _default_user(user_id)

    def _chat_and_user(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str | None,
        title: str | None,
        first_name: str,
        username: str | None,
        language_code: str | None,
        *,
        update_user: bool = True,
    ) -> tuple[JSON, JSON]:
        known = self.chats.get(chat_id)
        kind = chat_type or (known["type"] if known else self._infer_chat_type(chat_id))
        if user_id is None:
            user_id = chat_id if kind == "private" else DEFAULT_USER_ID
        user = self.users.get(user_id)
        if user is None or update_user:
            user = self.add_user(
                user_id, first_name=first_name, username=username, language_code=language_code
            )
        if chat_id not in self.chats or chat_type is not None or title is not None:
            self.add_chat(
                chat_id, chat_type=kind, title=title, first_name=first_name, username=username
            )
        return self.chats[chat_id], user

    def _new_message_id(self, chat_id: int | str) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _incoming_message(self, chat: JSON, user: JSON) -> JSON:
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    @staticmethod
    def _shallow(message: JSON) -> JSON:
        return {k: v for k, v in message.items() if k != "reply_to_message"}

    def _format(self, req: Request, key: str, limit: int, what: str) -> tuple[str, list[JSON]]:
        text = req.params.get(key)
        if text is None:
            text = ""
        if not isinstance(text, str):
            text = json.dumps(text)
        mode = req.params.get("parse_mode")
        given = req.params.get(f"{key}_entities" if key == "caption" else "entities")
        entities: list[JSON] = []
        if isinstance(given, list):
            entities = _sorted_entities([e for e in given if isinstance(e, dict)])
        elif isinstance(mode, str) and mode:
            parser = {
                "html": parse_html,
                "markdownv2": parse_markdown_v2,
                "markdown": parse_markdown,
            }.get(mode.lower())
            if parser is None:
                raise ApiError.bad_request("unsupported parse_mode")
            try:
                text, entities = parser(text, self._user_for)
            except MarkupError as exc:
                raise ApiError.bad_request(f"can't parse entities: {exc}") from None
        if not text.strip(" \n"):
            if key == "text":
                raise ApiError.bad_request("message text is empty")
            return "", []
        text, entities = _trim_formatted(text, entities)
        if len(text) > limit:
            raise ApiError.bad_request(f"message {what}is too long")
        return text, entities

    def _reply_markup(self, req: Request) -> JSON | None:
        markup = req.params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None
        if not isinstance(rows, list):
            raise ApiError.bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for button in row if isinstance(row, list) else ():
                if not isinstance(button, dict) or "text" not in button:
                    raise ApiError.bad_request('can\'t find field "text"')
                actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
                if not actions:
                    raise ApiError.bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError.bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, req: Request, chat_id: int | str) -> JSON | None:
        parameters = req.params.get("reply_parameters")
        allow = bool(req.params.get("allow_sending_without_reply"))
        message_id = req.params.get("reply_to_message_id")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            allow = bool(parameters.get("allow_sending_without_reply", allow))
        if message_id is None:
            return None
        replied = self._messages.get((chat_id, int(message_id)))
        if replied is None:
            if allow:
                return None
            raise ApiError.bad_request("message to be replied not found")
        return self._shallow(replied)

    def _outgoing(self, req: Request) -> tuple[JSON, int | str]:
        chat = self._chat_for(req.chat_id)
        chat_id = chat["id"]
        message: JSON = {
            "message_id": 0,
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        replied = self._reply_to(req, chat_id)
        if replied is not None:
            message["reply_to_message"] = replied
        return message, chat_id

    def _store_outgoing(self, message: JSON, chat_id: int | str) -> JSON:
        message["message_id"] = self._new_message_id(chat_id)
        self._messages[(chat_id, message["message_id"])] = message
        self._last_bot_message[chat_id] = message["message_id"]
        return message

    def _file_path(self, file_id: str) -> str:
        upload = self.files[file_id]
        suffix = upload.filename.rsplit(".", 1)[1] if "." in upload.filename else "bin"
        return f"documents/{file_id}.{suffix}"

    # ---------------------------------------------------------------- Bot API methods

    def _handler_table(self) -> dict[str, _Handler]:
        return {
            "getMe": lambda req: self.bot_user,
            "logOut": lambda req: True,
            "close": lambda req: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
        }

    async def _get_updates(self, req: Request) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError.conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first"
            )
        params = req.params
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        self._poll_generation += 1
        generation = self._poll_generation
        self._fire_updates()  # a newer getUpdates terminates an older one, as on Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._select_updates(limit)
            if batch or self._closing.is_set():
                break
            if generation != self._poll_generation:
                raise ApiError.conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()
        if batch:
            self._fetched_upto = max(self._fetched_upto, batch[-1]["update_id"])
            self._fire()
        return batch

    def _select_updates(self, limit: int) -> list[JSON]:
        """Up to ``limit`` pending updates; types excluded by allowed_updates are discarded
        (Telegram would not have created them)."""
        allowed = self._allowed_updates
        batch: list[JSON] = []
        excluded: list[JSON] = []
        for update in self._updates:
            kind = next((k for k in update if k != "update_id"), "")
            if allowed is None:
                wanted = kind not in _DEFAULT_ALLOWED_UPDATES_EXCLUDED
            else:
                wanted = kind in allowed
            if not wanted:
                excluded.append(update)
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        if excluded:
            dropped = {id(update) for update in excluded}
            self._updates = deque(u for u in self._updates if id(u) not in dropped)
            self._fetched_upto = max(self._fetched_upto, excluded[-1]["update_id"])
            self._fire()
        return batch

    def _set_webhook(self, req: Request) -> tuple[bool, str]:
        url = str(req.params.get("url") or "")
        if not url:
            return self._delete_webhook(req)
        if not url.lower().startswith("https://"):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {k: v for k, v in req.params.items() if k != "certificate"}
        if isinstance(req.params.get("allowed_updates"), list):
            allowed = req.params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        return True, "Webhook was set"

    def _delete_webhook(self, req: Request) -> tuple[bool, str]:
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
        if self.webhook is None:
            return True, "Webhook is already deleted"
        self.webhook = None
        return True, "Webhook was deleted"

    def _get_webhook_info(self, req: Request) -> JSON:
        info: JSON = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = int(self.webhook.get("max_connections") or 40)
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _send_message(self, req: Request) -> JSON:
        if req.chat_id is None:
            raise ApiError.bad_request("chat_id is empty")
        text, entities = self._format(req, "text", _MESSAGE_MAX_LEN, "")
        markup = self._reply_markup(req)
        message, chat_id = self._outgoing(req)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if isinstance(req.params.get("link_preview_options"), dict):
            message["link_preview_options"] = req.params["link_preview_options"]
        if markup is not None:
            message["reply_markup"] = markup
        return self._store_outgoing(message, chat_id)

    def _editable(self, req: Request) -> tuple[JSON | None, int | str | None]:
        if req.params.get("inline_message_id"):
            return None, None
        chat = self._chat_for(req.chat_id)
        message_id = req.params.get("message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        stored = self._messages.get((chat["id"], int(message_id)))
        if stored is None:
            raise ApiError.bad_request("message to edit not found")
        if stored.get("from", {}).get("id") != self.bot_id:
            raise ApiError.bad_request("message can't be edited")
        return stored, chat["id"]

    def _edit_message_text(self, req: Request) -> JSON | bool:
        text, entities = self._format(req, "text", _MESSAGE_MAX_LEN, "")
        markup = self._reply_markup(req)
        stored, _ = self._editable(req)
        if stored is None:
            return True
        if "text" not in stored:
            raise ApiError.bad_request("there is no text in the message to edit")
        unchanged = (
            stored.get("text") == text
            and stored.get("entities", []) == entities
            and stored.get("reply_markup") == markup
        )
        if unchanged:
            raise ApiError.bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored["text"] = text
        stored["edit_date"] = int(time.time())
        stored.pop("entities", None)
        stored.pop("reply_markup", None)
        if entities:
            stored["entities"] = entities
        if markup is not None:
            stored["reply_markup"] = markup
        return stored

    def _edit_message_reply_markup(self, req: Request) -> JSON | bool:
        markup = self._reply_markup(req)
        stored, _ = self._editable(req)
        if stored is None:
            return True
        if stored.get("reply_markup") == markup:
            raise ApiError.bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored.pop("reply_markup", None)
        if markup is not None:
            stored["reply_markup"] = markup
        stored["edit_date"] = int(time.time())
        return stored

    def _delete_message(self, req: Request) -> bool:
        chat = self._chat_for(req.chat_id)
        key = (chat["id"], int(req.params.get("message_id") or 0))
        if self._messages.pop(key, None) is None:
            raise ApiError.bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, req: Request) -> bool:
        query_id = str(req.params.get("callback_query_id") or "")
        if query_id not in self._callback_queries:
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = req.params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(req.params)
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise ApiError.bad_request("can't parse BotCommandScope JSON object")
        language = str(params.get("language_code") or "")
        if language and not _LANGUAGE_RE.match(language):
            raise ApiError.bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def _set_my_commands(self, req: Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request('parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict) or "command" not in command:
                raise ApiError.bad_request("can't parse BotCommand: Can't find field \"command\"")
            if "description" not in command:
                raise ApiError.bad_request(
                    "can't parse BotCommand: Can't find field \"description\""
                )
            if not _COMMAND_RE.match(str(command["command"])):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if not str(command["description"]).strip():
                raise ApiError.bad_request("command description must be non-empty")
        self.commands[self._commands_key(req.params)] = [
            {"command": str(c["command"]), "description": str(c["description"])} for c in commands
        ]
        return True

    def _get_my_commands(self, req: Request) -> list[JSON]:
        return list(self.commands.get(self._commands_key(req.params), []))

    def _delete_my_commands(self, req: Request) -> bool:
        self.commands.pop(self._commands_key(req.params), None)
        return True

    def _send_document(self, req: Request) -> JSON:
        if req.chat_id is None:
            raise ApiError.bad_request("chat_id is empty")
        caption, caption_entities = self._format(req, "caption", _CAPTION_MAX_LEN, "caption ")
        markup = self._reply_markup(req)
        document = req.params.get("document")
        upload = req.files.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            upload = req.files.get(document[len("attach://") :])
        if upload is None:
            if isinstance(document, str) and document in self.files:
                upload = self.files[document]
            elif isinstance(document, str) and document:
                raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
            else:
                raise ApiError.bad_request("there is no document in the request")
        if not upload.content:
            raise ApiError.bad_request("file must be non-empty")
        message, chat_id = self._outgoing(req)
        file_id = self._register_file(upload)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"U{file_id[-12:]}",
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_size": len(upload.content),
        }
        if caption:
            message["caption"] = caption
        if caption_entities:
            message["caption_entities"] = caption_entities
        if markup is not None:
            message["reply_markup"] = markup
        return self._store_outgoing(message, chat_id)

    def _register_file(self, upload: UploadedFile) -> str:
        for file_id, known in self.files.items():
            if known is upload:
                return file_id
        self._file_counter += 1
        file_id = f"BQACAgIAAxkBAAF{self._file_counter:012d}"
        self.files[file_id] = upload
        return file_id

    def _get_file(self, req: Request) -> JSON:
        file_id = str(req.params.get("file_id") or "")
        upload = self.files.get(file_id)
        if upload is None:
            raise ApiError.bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id[-12:]}",
            "file_size": len(upload.content),
            "file_path": self._file_path(file_id),
        }

    def _send_chat_action(self, req: Request) -> bool:
        self._chat_for(req.chat_id)
        return True

    def _get_chat(self, req: Request) -> JSON:
        chat = dict(self._chat_for(req.chat_id))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    def _member_status(self, chat_id: int, user_id: int) -> str:
        if self.owners.get(chat_id) == user_id:
            return "creator"
        if user_id in self.admins.get(chat_id, set()):
            return "administrator"
        return "member"

    def _member_user(self, user_id: int) -> JSON:
        return self.bot_user if user_id == self.bot_id else self._user_for(user_id)

    def _get_chat_member(self, req: Request) -> JSON:
        chat = self._chat_for(req.chat_id)
        user_id = req.params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError.bad_request("invalid user_id specified")
        if chat["type"] == "private" and user_id not in (chat["id"], self.bot_id):
            raise ApiError.bad_request("user not found")
        status = self._member_status(chat["id"], user_id)
        return _chat_member(self._member_user(user_id), status)

    def _get_chat_administrators(self, req: Request) -> list[JSON]:
        chat = self._chat_for(req.chat_id)
        if chat["type"] == "private":
            raise ApiError.bad_request("there are no administrators in the private chat")
        members: list[JSON] = []
        owner = self.owners.get(chat["id"])
        if owner is not None:
            members.append(_chat_member(self._member_user(owner), "creator"))
        for user_id in sorted(self.admins.get(chat["id"], set())):
            if user_id != owner:
                members.append(_chat_member(self._member_user(user_id), "administrator"))
        return members
