"""Every command, typed bare, wrong and far too long, in every language: never the apology.

The generic "something went wrong on my side" is what a viewer gets when the bot failed, so
no command a viewer (or organizer) can type may end in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.commands import HELP_ORDER, ORGANIZER_ORDER
from bot.config import Settings
from bot.i18n import languages, t
from bot.messages import Command, Reply
from bot.store import Store
from tests.support.harness import S1, Harness, summit

# What a viewer may put after a command name: nothing, a word the command cannot use, and a
# paste far longer than any command (the limit's own refusal is a fine answer, a crash is not).
ARGUMENTS = ("", "nosuch-thing", "x" * 5_000)


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[Harness]:
    """The summit bot with no input throttle: one viewer types every command in a row."""
    settings = Settings()
    settings = replace(settings, limits=replace(settings.limits, command_burst=0))
    harness = Harness(store, summit(), settings, S1 - dt.timedelta(days=2))
    await harness.start()
    yield harness
    await harness.worker.stop()


def _plain(reply: Reply | None) -> str:
    assert reply is not None and reply.messages, "a command got no reply at all"
    return "\n\n".join(m.plain() for m in reply.messages)


@pytest.mark.parametrize("lang", languages())
async def test_no_viewer_command_ends_in_the_apology(bot: Harness, lang: str) -> None:
    await bot.say(f"/language {lang}")
    apology = t("error.internal", lang)
    for name in (*HELP_ORDER, "agenda"):
        for argument in ARGUMENTS:
            text = await bot.say(f"/{name} {argument}".strip())
            assert apology not in text, f"/{name} {argument[:20]!r} in {lang}: {text}"
            assert text.strip(), f"/{name} {argument[:20]!r} in {lang} got an empty reply"


@pytest.mark.parametrize("lang", languages())
async def test_no_organizer_command_ends_in_the_apology(bot: Harness, lang: str) -> None:
    # The console's operator is an organizer: the organizer's own paths run, not the refusal.
    apology = t("error.internal", lang)
    for name in ORGANIZER_ORDER:
        for argument in ARGUMENTS:
            command = Command(
                "console", "op", "op", name, tuple(argument.split()), argument, locale_hint=lang
            )
            text = _plain(await bot.worker.on_command(command))
            assert apology not in text, f"/{name} {argument[:20]!r} in {lang}: {text}"


async def test_session_without_an_id_offers_the_sessions(bot: Harness) -> None:
    text = await bot.say("/session")
    assert "Which session?" in text and "s1" in text and "s2" in text
