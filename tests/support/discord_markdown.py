"""A small model of Discord's markdown: what a reader sees of a text, and the markup in it."""

from __future__ import annotations

import re
import string

_ESCAPABLE = re.compile(r"\\([^0-9A-Za-z\s])")  # simple-markdown's escape rule
_AUTOLINK = re.compile(r"<([^: >]+:/[^ >]+)>")
_COMMAND_MENTION = re.compile(r"</([\w-]+):(\d+)>")
# What can begin or end markup in Discord: emphasis, strike, spoiler, code, quote, heading,
# subtext, list, masked link, mention/emoji/timestamp/autolink, and a stray backslash.
_MARKUP = frozenset("*_~`|>#-+[]()<\\")


def read(markup: str) -> tuple[str, list[str]]:
    """What a Discord reader sees of `markup`, and the markup in it.

    Escapes show their character; autolinks and command mentions show as links ("url",
    "command"); any other character that could open or close markup, or a dot after a digit
    (an ordered list at a line's start), is reported where it stands.
    """
    shown: list[str] = []
    found: list[str] = []
    i = 0
    while i < len(markup):
        if match := _ESCAPABLE.match(markup, i):
            shown.append(match.group(1))
        elif match := _COMMAND_MENTION.match(markup, i):
            shown.append(f"/{match.group(1)}")
            found.append("command")
        elif match := _AUTOLINK.match(markup, i):
            shown.append(match.group(1))
            found.append("url")
        else:
            char = markup[i]
            if char in _MARKUP or (char == "." and shown and shown[-1][-1:] in string.digits):
                found.append(f"{char!r} at {i} in {markup!r}")
            shown.append(char)
            i += 1
            continue
        i = match.end()
    return "".join(shown), found


def unsafe(markup: str) -> list[str]:
    """The markup in `markup` other than links to URLs and commands."""
    return [f for f in read(markup)[1] if f not in ("url", "command")]
