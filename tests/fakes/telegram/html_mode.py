"""The HTML parse mode: a port of TDLib's parse_html."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from tests.fakes.telegram.entities import (
    _PAD,
    _SPACE,
    MarkupError,
    _default_user,
    _encode_code_point,
    _make_link_entity,
    _sorted_entities,
    _u16_bytes,
)
from tests.fakes.telegram.records import JSON

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
