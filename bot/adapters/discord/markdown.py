"""Text from outside as Discord markup that reads as typed: escaped, linked, split to fit.

discord.py's `escape_markdown` leaves a span it takes for a link ("[a](https://…)") whole,
so a nested "[[click](https://evil.example)](x)" came out as a working masked link. Here every
character that can begin or end Discord markup is backslashed, one by one, wherever it stands;
URLs stay clickable as autolinks ("<https://…>", inside which Discord reads nothing as
markup); a "/name" of a synced command becomes its mention. The output is a list of atoms
(an escaped character, a URL, a mention) that no split cuts in two, so that lengths are
measured, and texts split, on what Discord receives: after every expansion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# Characters that begin or end Discord markup: the escape itself, emphasis * _, strike ~~,
# spoilers ||, code `, quotes >, headings #, subtext -#, lists - * +, masked links [ ]( ),
# and mentions, channels, emoji, timestamps and autolinks <…>. A backslash before any of
# them shows the character alone. (Mentions that would ping are also refused by the
# allowed_mentions every send carries.)
SPECIAL = frozenset("\\*_~`|>#-+[]()<")

# A URL as typed, or a synced command's name. URLs are found first: "/x" inside one is a path.
_TOKEN_RE = re.compile(
    r"(?P<url>(?P<scheme>(?i:https?://))[^\s<>]+)|(?<![\w/<:])/(?P<command>[a-z][a-z0-9_-]*)\b"
)
_TRAILING = ".,:;!?\"'"  # sentence punctuation after a URL is not part of it
_CLOSERS = {")": "(", "]": "["}  # kept at a URL's end only where the URL opened them


def _escaped(char: str, previous: str) -> str:
    """One character of plain text as markup that shows it alone."""
    # A dot after a digit would make "1." at a line's start an ordered list; a split may put
    # any position at a line's start, so every such dot is escaped.
    if char in SPECIAL or (char == "." and previous.isdigit()):
        return "\\" + char
    return char


def _url(text: str) -> str:
    """A URL match without the punctuation that closes the sentence around it."""
    while text:
        last = text[-1]
        opener = _CLOSERS.get(last)
        if last not in _TRAILING and (opener is None or text.count(opener) >= text.count(last)):
            break
        text = text[:-1]
    return text


def atoms(text: str, commands: Mapping[str, int] | None = None, *, longest: int) -> list[str]:
    """`text` as atoms of Discord markup that show it as typed, "\\n" for each line break.

    `commands` maps a synced command's name to its id: "/name" becomes "</name:id>". A URL
    becomes an autolink atom unless longer than `longest`, the size of the place it must fit
    (0 where links do not show, as in embed titles); its characters are escaped otherwise.
    """
    commands = commands or {}
    out: list[str] = []

    def plain(start: int, end: int) -> None:
        for i in range(start, end):
            out.append(_escaped(text[i], text[i - 1] if i else ""))

    done = 0
    for match in _TOKEN_RE.finditer(text):
        start = match.start()
        plain(done, start)
        done = match.end()
        if match.group("url") is not None:
            url = _url(match.group("url"))
            if len(match.group("scheme")) < len(url) <= longest - 2:
                out.append(f"<{url}>")
                plain(start + len(url), done)
                continue
        else:
            name = match.group("command")
            found = commands.get(name)
            if found is not None:
                out.append(f"</{name}:{found}>")
                continue
        plain(start, done)
    plain(done, len(text))
    return out


def escape(text: str) -> str:
    """`text` as Discord markup that shows it as typed (URLs as autolinks, no mentions)."""
    return "".join(atoms(text, longest=len(text) + 2))


def clip(units: Sequence[str], limit: int) -> str:
    """The atoms joined, or as many as fit before an ellipsis within `limit` characters."""
    if sum(map(len, units)) <= limit:
        return "".join(units)
    kept: list[str] = []
    size = 0
    for unit in units:
        if size + len(unit) > limit - 1:
            break
        kept.append(unit)
        size += len(unit)
    return "".join(kept) + "…"
