"""Slash command names, descriptions and options in every catalog language (e.g. zh-TW)."""

from __future__ import annotations

from collections.abc import Mapping

import discord
from discord import app_commands

from bot.adapters.base import Core
from bot.adapters.discord.render import cut
from bot.i18n import catalogs, normalize_language


def locales_of(lang: str) -> list[str]:
    """The Discord locales a catalog serves, as a locale hint picks a catalog for replies:
    "es" → ["es-ES", "es-419"], "fr" → ["fr"], "zh-TW" → ["zh-TW", "zh-CN"] (the one
    Chinese the bot writes)."""
    return [loc.value for loc in discord.Locale if normalize_language(loc.value) == lang]


def valid_name(text: str) -> str | None:
    """A catalog text as a command or option name Discord accepts, else None."""
    name = "-".join(text.lower().split())[:32]
    return name if name and all(c.isalnum() or c in "-_'" for c in name) else None


def translations(core: Core) -> dict[str, dict[str, str]]:
    """catalog key → {Discord locale → text} for every language but the default."""
    table: dict[str, dict[str, str]] = {}
    for lang in core.languages()[1:]:
        messages = catalogs()[lang].messages
        texts = {f"menu.{e.name}": cut(e.description, 100) for e in core.command_menu(lang)}
        for key, text in messages.items():
            if key.startswith(("discord.command.", "discord.option.")):
                name = valid_name(text)
                if name is not None:
                    texts[key] = name
            elif key.startswith("discord.option_help."):
                texts[key] = cut(text, 100)
        for locale in locales_of(lang):
            for key, text in texts.items():
                table.setdefault(key, {})[locale] = text
    return table


class CatalogTranslator(app_commands.Translator):
    """Command names, descriptions and options in the catalogs' languages (e.g. zh-TW)."""

    def __init__(self, table: Mapping[str, Mapping[str, str]]) -> None:
        super().__init__()
        self._table = table  # catalog key → {Discord locale → text}

    @classmethod
    def for_core(cls, core: Core) -> CatalogTranslator:
        """The translator for the core's languages, from the catalogs."""
        return cls(translations(core))

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The text for this locale, or None to let Discord show the default."""
        key = string.extras.get("key")
        if not isinstance(key, str):
            return None
        return self._table.get(key, {}).get(locale.value)
