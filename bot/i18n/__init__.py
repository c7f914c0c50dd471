"""Message catalogs, one YAML file per language, and `t(key, lang, **fields)`.

A message that shows a count is written once per CLDR plural category of its language
(`one`/`other` in English, `one`/`few`/`many`/`other` in Czech, `other` alone in Chinese), as
i18next, Rails and ICU catalogs write them; `t(key, lang, count=n)` picks the form with
Babel's CLDR plural rules for the catalog's locale. A catalog that lacks a form its language
needs is refused when it is read, naming the file, the key and the missing categories.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from babel import Locale
from babel.numbers import format_decimal

DEFAULT_LANGUAGE = "en"
# CLDR's plural categories: a mapping with only these keys (and `other`) is one plural message.
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})
# Fields that count things, written with the language's digit grouping ("1,500" in English,
# "1 500" in Russian); ids and revisions ("#1234") are names, not amounts, and stay as they are.
COUNTED_FIELDS = frozenset({"count", "sent", "blocked", "failed", "total", "pending", "waiting"})
# Fields that hold a float rate (messages a second), written with one decimal.
RATE_FIELDS = frozenset({"rate"})


@dataclass(frozen=True)
class Catalog:
    """One language's messages and the facts needed to format for it."""

    code: str  # the tag viewers and the schedule use: "en", "zh-TW"
    name: str  # the language's own name, for pickers: "English", "中文（台灣）"
    babel: str  # the CLDR locale used for dates and units: "en_GB", "zh_Hant_TW"
    aliases: tuple[str, ...]  # what else a viewer may type: "zh", "zh_tw", "中文"
    messages: dict[str, str]
    # Messages with a count: key → {CLDR category → template}.
    plurals: dict[str, dict[str, str]]
    # 12 or 24 where the catalog pins the clock; None: the hour cycle CLDR gives the locale.
    clock: int | None = None

    def plural_category(self, count: float) -> str:
        """The CLDR plural category of `count` in this language ("one", "few", "other"...)."""
        return str(_locale(self.babel).plural_form(count))

    def required_categories(self) -> frozenset[str]:
        """The plural categories this language distinguishes (always including `other`)."""
        return frozenset(_locale(self.babel).plural_form.tags) | {"other"}


@cache
def _locale(babel: str) -> Locale:
    # Parsed once per catalog: dates, times and counts are formatted on every message.
    return Locale.parse(babel)


def catalog_locale(cat: Catalog) -> Locale:
    """The CLDR locale a catalog formats dates, times, lists and counts with (parsed once)."""
    return _locale(cat.babel)


def _is_plural(node: Any) -> bool:
    return isinstance(node, dict) and "other" in node and set(node) <= PLURAL_CATEGORIES


def _flatten(
    prefix: str, node: Any, out: dict[str, str], plurals: dict[str, dict[str, str]]
) -> None:
    """Nested YAML sections become dotted keys, so catalogs stay readable."""
    if _is_plural(node):
        plurals[prefix] = {str(k): str(v) for k, v in node.items()}
    elif isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):  # YAML reads a bare `off:` or `no:` as a boolean
                raise ValueError(f"catalog key {key!r} under {prefix!r} must be quoted text")
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out, plurals)
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
        plurals: dict[str, dict[str, str]] = {}
        _flatten("", data, messages, plurals)
        code = entry.name.removesuffix(".yaml")
        aliases = tuple(str(a) for a in meta.get("aliases", ()))
        clock = meta.get("clock")
        if clock not in (None, 12, 24):
            raise ValueError(f"bot/i18n/{entry.name}: _meta.clock: {clock!r}; write 12 or 24")
        found[code] = Catalog(
            code, str(meta["name"]), str(meta["babel"]), aliases, messages, plurals, clock
        )
        check_plural_forms(entry.name, found[code])
    return found


def check_plural_forms(filename: str, cat: Catalog) -> None:
    """Every count message has each form its language needs: a gap is found at start."""
    needed = cat.required_categories()
    for key, forms in cat.plurals.items():
        missing = needed - set(forms)
        if missing:
            raise ValueError(
                f"bot/i18n/{filename}: {key}: no {', '.join(sorted(missing))} form; "
                f"{cat.code} counts need {', '.join(sorted(needed))}"
            )


def languages() -> tuple[str, ...]:
    """The language codes the bot speaks, default first."""
    codes = sorted(catalogs(), key=lambda c: (c != DEFAULT_LANGUAGE, c))
    return tuple(codes)


def _fold(text: str) -> str:
    return text.strip().lower().replace("_", "-")


def normalize_language(text: str | None) -> str | None:
    """A supported language code for what a viewer typed or a platform hinted, else None.

    A code or alias of a catalog first ("zh-Hant-TW", "en-us"), then the base language of a
    regional or script variant: "es-419", "es-MX", "fr-CA", "pt-BR" (None: no Portuguese
    catalog). Every Chinese hint, Simplified ones too ("zh-CN", "zh-Hans"), is zh-TW, the one
    Chinese the bot writes: a Chinese reader reads Traditional characters more easily than
    the English the alternative would be.
    """
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


def first_spoken(codes: Sequence[str]) -> str:
    """The first of `codes` (an event's languages) the bot speaks, else the default language:
    the language of a viewer whose platform hinted none the bot speaks."""
    for code in codes:
        spoken = normalize_language(code)
        if spoken is not None:
            return spoken
    return DEFAULT_LANGUAGE


def catalog(lang: str | None) -> Catalog:
    """The catalog for `lang`, or the default one."""
    table = catalogs()
    return table.get(lang or DEFAULT_LANGUAGE) or table[DEFAULT_LANGUAGE]


def _template(cat: Catalog, key: str, fields: dict[str, Any]) -> str | None:
    plain = cat.messages.get(key)
    if plain is not None:
        return plain
    forms = cat.plurals.get(key)
    if forms is None:
        return None
    count = fields.get("count")
    if not isinstance(count, int | float):
        raise TypeError(f"message {key!r} takes a count: t({key!r}, lang, count=N)")
    return forms.get(cat.plural_category(count), forms["other"])


def t(key: str, lang: str | None, **fields: Any) -> str:
    """The message `key` in `lang` (falling back to the default language) with fields filled;
    a message with plural forms picks the one `count` needs in that language."""
    chosen = catalog(lang)
    template = _template(chosen, key, fields)
    if template is None and chosen.code != DEFAULT_LANGUAGE:
        template = _template(catalog(DEFAULT_LANGUAGE), key, fields)
    if template is None:
        raise KeyError(f"no message {key!r} in any catalog")
    fields = {name: _amount(name, value, chosen) for name, value in fields.items()}
    if "}{" in template:
        return _fill_side_by_side(template, fields)
    return template.format(**fields)


def _amount(name: str, value: Any, cat: Catalog) -> Any:
    """A counted field as the language writes the number (a rate with one decimal: "12,5" in
    French); any other field unchanged."""
    if name in COUNTED_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, locale=_locale(cat.babel))
    if name in RATE_FIELDS and isinstance(value, float):
        return format_decimal(value, format="#,##0.0", locale=_locale(cat.babel))
    return value


def _wide(char: str) -> bool:
    """Whether `char` is written without spaces around it (Chinese, Japanese, Korean)."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def _fill_side_by_side(template: str, fields: dict[str, Any]) -> str:
    """Fill a template that sets two fields side by side, as Chinese writes a place
    ("{country}{city}": 德國柏林), with a space where the words meeting there are not both
    wide: a fallback to Latin texts reads "Deutschland Berlin", never "DeutschlandBerlin"."""
    formatter = string.Formatter()
    out: list[str] = []
    last_field = ""  # the field just filled, when nothing has followed it yet
    for literal, name, spec, conversion in formatter.parse(template):
        if literal:
            out.append(literal)
            last_field = ""
        if name is None:
            continue
        value, _ = formatter.get_field(name, (), fields)
        shown = formatter.format_field(formatter.convert_field(value, conversion), spec or "")
        if last_field and shown:
            before, after = last_field[-1], shown[0]
            if before.isalnum() and after.isalnum() and not (_wide(before) and _wide(after)):
                out.append(" ")
        out.append(shown)
        last_field = shown or last_field
    return "".join(out)


def placeholders(template: str | dict[str, str]) -> frozenset[str]:
    """The field names a message template (or every form of a plural one) expects."""
    texts = template.values() if isinstance(template, dict) else (template,)
    return frozenset(
        name
        for text in texts
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None
    )
