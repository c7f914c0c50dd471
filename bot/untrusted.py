"""Text from outside made safe to keep and show: nothing unencodable, nothing that reorders.

One function, applied where outside text enters: every command (`Command.cleaned`, at the
top of the dispatcher) and every schedule text (the YAML loader's scalars).
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

# Lone surrogates (half of a UTF-16 pair: no UTF-8 encoding, so no platform accepts the
# reply) and control characters other than tab and line breaks (PostgreSQL stores no NUL).
_UNENCODABLE_RE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Embeddings, overrides and isolates (U+202A-202E, U+2066-2069) reorder what follows them:
# "\u202egpj.exe" reads as "exe.jpg". Zero-width spaces, the word joiner and the BOM hide
# inside words ("Key\u200bnote" looks like "Keynote" but is not). No place name, title or
# command needs them, so they are removed, never replaced.
_REMOVED_RE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")
# The joiners shape emoji sequences (👨‍👩‍👧) and Persian or Indic words, so they stay between
# two visible characters; at an edge or beside a space they join nothing and only hide.
_STRAY_JOINERS_RE = re.compile(r"(?<!\S)[\u200c\u200d]+|[\u200c\u200d]+(?!\S)")
_JOINER_RUNS_RE = re.compile(r"([\u200c\u200d])[\u200c\u200d]+")
# Directional marks (LRM, RLM, ALM) move only neutral characters, and only matter in text
# with right-to-left letters; elsewhere they just shuffle punctuation, so they go.
_MARKS_RE = re.compile("[\u200e\u200f\u061c]")
_RTL_RE = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


def clean_text(text: str) -> str:
    """`text` with unencodable code points replaced by U+FFFD and bidi controls removed."""
    text = _UNENCODABLE_RE.sub(REPLACEMENT, text)
    text = _REMOVED_RE.sub("", text)
    if "\u200c" in text or "\u200d" in text:
        text = _JOINER_RUNS_RE.sub(r"\1", _STRAY_JOINERS_RE.sub("", text))
    if _MARKS_RE.search(text) and not _RTL_RE.search(text):
        text = _MARKS_RE.sub("", text)
    return text
