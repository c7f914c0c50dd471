"""The MarkdownV2 and legacy Markdown parse modes (ports of TDLib's parsers)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tests.fakes.telegram.entities import (
    _PAD,
    _SPACE,
    MarkupError,
    _custom_emoji_id,
    _default_user,
    _make_link_entity,
    _sorted_entities,
    _u16_bytes,
)
from tests.fakes.telegram.records import JSON

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
