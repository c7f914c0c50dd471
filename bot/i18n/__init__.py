"""Message catalogs, one YAML file per language, and `t(key, lang, **fields)`."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Catalog:
    """One language's messages and the facts needed to format for it."""

    code: str  # the tag viewers and the schedule use: "en", "zh-TW"
    name: str  # the language's own name, for pickers: "English", "中文（台灣）"
    babel: str  # the CLDR locale used for dates and units: "en_GB", "zh_Hant_TW"
    aliases: tuple[str, ...]  # what else a viewer may type: "zh", "zh_tw", "中文"
    messages: dict[str, str]


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    """Nested YAML sections become dotted keys, so catalogs stay readable."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):  # YAML reads a bare `off:` or `no:` as a boolean
                raise ValueError(f"catalog key {key!r} under {prefix!r} must be quoted text")
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node)


@cache
def catalogs() -> dict[str, Catalog]:
    """Every catalog shipped in this package, by language code (read once)."""
    found: dict[str, Catalog] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        meta = data.pop("_meta")
        messages: dict[str, str] = {}
        _flatten("", data, messages)
        code = entry.name.removesuffix(".yaml")
        aliases = tuple(str(a) for a in meta.get("aliases", ()))
        found[code] = Catalog(code, str(meta["name"]), str(meta["babel"]), aliases, messages)
    return found


def languages() -> tuple[str, ...]:
    """The language codes the bot speaks, default first."""
    codes = sorted(catalogs(), key=lambda c: (c != DEFAULT_LANGUAGE, c))
    return tuple(codes)


def _fold(text: str) -> str:
    return text.strip().lower().replace("_", "-")


def normalize_language(text: str | None) -> str | None:
    """A supported language code for what a viewer typed or a platform hinted, else None."""
    if not text:
        return None
    wanted = _fold(text)
    table = catalogs()
    for code, catalog in table.items():
        if wanted == _fold(code) or wanted in (_fold(a) for a in catalog.aliases):
            return code
    # A platform hint such as "en-US" or "zh-Hant-TW" falls back to its base language.
    base = wanted.split("-")[0]
    for code, catalog in table.items():
        if base == _fold(code) or base in (_fold(a) for a in catalog.aliases):
            return code
    return None


def catalog(lang: str | None) -> Catalog:
    """The catalog for `lang`, or the default one."""
    table = catalogs()
    return table.get(lang or DEFAULT_LANGUAGE) or table[DEFAULT_LANGUAGE]


def t(key: str, lang: str | None, **fields: Any) -> str:
    """The message `key` in `lang` (falling back to the default language) with fields filled."""
    template = catalog(lang).messages.get(key)
    if template is None:
        template = catalog(DEFAULT_LANGUAGE).messages.get(key)
    if template is None:
        raise KeyError(f"no message {key!r} in any catalog")
    return template.format(**fields)


def placeholders(template: str) -> frozenset[str]:
    """The field names a message template expects."""
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(template) if name is not None
    )
