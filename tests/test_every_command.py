"""Every command, typed bare, wrong and far too long, in every language: never the apology.

The generic "something went wrong on my side" is what a viewer gets when the bot failed, so
no command a viewer (or organizer) can type may end in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.adapters.discord.interactions import OPTIONS
from bot.adapters.discord.translator import locales_of
from bot.commands import HELP_ORDER, ORGANIZER_ORDER
from bot.config import Settings
from bot.i18n import languages, t
from bot.messages import Command, Reply
from bot.schedule import Schedule
from bot.store import Store
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeUser
from tests.support.discord_world import Rig, settings_for, text_of
from tests.support.harness import S1, Clock, Harness, summit
from tests.support.telegram_world import WorldFactory

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


def apologises(text: str) -> bool:
    """Whether a reply is the generic failure, in any language (a reply in the wrong
    language would otherwise slip past)."""
    return any(t("error.internal", code) in text for code in languages())


def _plain(reply: Reply | None) -> str:
    assert reply is not None and reply.messages, "a command got no reply at all"
    return "\n\n".join(m.plain() for m in reply.messages)


@pytest.mark.parametrize("lang", languages())
async def test_no_viewer_command_ends_in_the_apology(bot: Harness, lang: str) -> None:
    await bot.say(f"/language {lang}")
    for name in (*HELP_ORDER, "agenda"):
        for argument in ARGUMENTS:
            text = await bot.say(f"/{name} {argument}".strip())
            assert not apologises(text), f"/{name} {argument[:20]!r} in {lang}: {text}"
            assert text.strip(), f"/{name} {argument[:20]!r} in {lang} got an empty reply"


@pytest.mark.parametrize("lang", languages())
async def test_no_organizer_command_ends_in_the_apology(bot: Harness, lang: str) -> None:
    # The console's operator is an organizer: the organizer's own paths run, not the refusal.
    for name in ORGANIZER_ORDER:
        for argument in ARGUMENTS:
            command = Command(
                "console", "op", "op", name, tuple(argument.split()), argument, locale_hint=lang
            )
            text = _plain(await bot.worker.on_command(command))
            assert not apologises(text), f"/{name} {argument[:20]!r} in {lang}: {text}"


async def test_session_without_an_id_offers_the_sessions(bot: Harness) -> None:
    reply = await bot.reply("/session")
    text = "\n".join(m.plain() for m in reply.messages)
    assert "Which session?" in text and "s1" in text and "s2" in text
    # A button for each session, none for an "all" that /session does not take.
    actions = [b.action for m in reply.messages for row in m.buttons for b in row]
    assert actions[:2] == ["session s1", "session s2"] and "session all" not in actions


# --- the same walk through the real SDKs, against the fake platforms -------------------------

# Telegram: each command from a chat of its own, so that neither the throttle nor the chat's
# reply pace is what the test measures; the platform's language hint (the app's language, in
# lower case as Telegram sends it) picks the language.
# What a Telegram user can send at most (4,096 characters): far over the bot's command limit.
TELEGRAM_LONG = "x" * 4_000


@pytest.mark.parametrize("lang", languages())
async def test_no_command_on_telegram_ends_in_the_apology(
    make_world: WorldFactory, lang: str
) -> None:
    world = await make_world()
    chat = 90_000
    for name in (*HELP_ORDER, *ORGANIZER_ORDER):
        for argument in ("", "nosuch-thing", TELEGRAM_LONG):
            chat += 1
            text = await world.say(chat, f"/{name} {argument}".strip(), language_code=lang.lower())
            assert text.strip(), f"/{name} {argument[:20]!r} in {lang} got an empty reply"
            assert not apologises(text), f"/{name} {argument[:20]!r} in {lang}: {text}"


@pytest.mark.parametrize("lang", languages())
async def test_no_slash_command_on_discord_ends_in_the_apology(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
    lang: str,
) -> None:
    guild, ana, _ = people
    settings = settings_for(guild, scheduled_events=False)
    settings = replace(settings, limits=replace(settings.limits, command_burst=0))
    async with Rig(fake_discord, store, schedule, settings, Clock(now)) as rig:
        for name in (*HELP_ORDER, *ORGANIZER_ORDER):
            option = OPTIONS.get(name)
            for argument in ARGUMENTS:
                if option == "language" and argument:
                    continue  # a fixed list of choices: Discord's client sends nothing else
                options = {option: argument} if option and argument else None
                answer = await rig.slash(
                    name, options, user_id=ana.id, guild_id=guild.id, locale=locales_of(lang)[0]
                )
                text = text_of(answer.message)
                assert text.strip(), f"/{name} {argument[:20]!r} in {lang} got an empty reply"
                assert not apologises(text), f"/{name} {argument[:20]!r} in {lang}: {text}"
