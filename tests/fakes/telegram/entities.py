"""Message entities as Telegram makes them: UTF-16 lengths, links, bot commands, trimming."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from tests.fakes.telegram.records import JSON


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


_SPACE: Final = frozenset(b" \t\r\n\x00\x0b\x0c")


_PAD: Final = b"\x00" * 8


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
