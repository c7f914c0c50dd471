"""Text from outside never becomes Discord markup: replies, DMs, session cards, events."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.adapters.base import Recipient, split_units
from bot.adapters.discord.markdown import atoms, clip, escape
from bot.messages import Message
from bot.schedule import Text
from bot.store import Store
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeUser
from tests.support.discord_markdown import read, unsafe
from tests.support.discord_world import EVENTS, S1_2020, Rig, settings_for
from tests.support.harness import Clock, summit

EXPLOIT = "[[click](https://evil.example)](x) **b** ||sp||"
COMMANDS = {"help": 1001, "sub_scribe": 1002}


def test_the_model_sees_the_bypass_that_discord_py_let_through() -> None:
    import discord

    assert unsafe(discord.utils.escape_markdown(EXPLOIT))  # what the adapter sent before
    assert read(r"\*\*b\*\* <https://x.y> </help:1>") == (
        "**b** https://x.y /help",
        ["url", "command"],
    )


# --- the escaping, as a property ----------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        *"\\*_~`|>#-+[]()<>.:'\" \n1aé😀@",
        "https://",
        "http://x.y/a_b",
        "https://e.x/(a)_b).",
        "/help",
        "/sub_scribe",
        "](",
        "**",
        "||",
        "```",
        "> ",
        "# ",
        "-# ",
        "- ",
        "1. ",
        "<@123>",
        "<t:1:R>",
        "<:e:1>",
        "@everyone",
        EXPLOIT,
    ]
)
TEXTS = st.lists(FRAGMENTS | st.text(max_size=3), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS)
@example(text=EXPLOIT)
@example(text="see https://x.y/a_(b)_c). 12. next")
def test_escaped_text_shows_as_typed_and_is_never_markup(text: str) -> None:
    out = escape(text)
    shown, _ = read(out)
    assert unsafe(out) == []
    assert shown == text


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, limit=st.integers(min_value=20, max_value=80))
def test_split_text_fits_and_no_chunk_holds_markup(text: str, limit: int) -> None:
    units = atoms(text, COMMANDS, longest=limit)
    assert read("".join(units))[0] == text  # "/help" shows as the command it names
    chunks = split_units(units, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert all(unsafe(chunk) == [] for chunk in chunks)  # each chunk is parsed on its own
    shown = "".join(read(chunk)[0] for chunk in chunks)
    assert shown.replace("\n", "") == text.replace("\n", "")
    title = clip(units, limit)
    assert len(title) <= limit and unsafe(title) == []


# --- through the fake Discord --------------------------------------------------------------


@pytest.fixture
async def hostile(
    fake_discord: FakeDiscord, store: Store
) -> AsyncIterator[tuple[Rig, FakeGuild, FakeUser]]:
    """The bot on the fake Discord, session 1's title and description written by an
    attacker, scheduled events on; with the guild and a viewer in it."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)  # events lie ahead
    schedule = summit().shifted(now + dt.timedelta(days=2) - S1_2020)
    evil = Text.neutral("**b** ||sp||"), Text.neutral(EXPLOIT)
    sessions = tuple(
        replace(s, title=evil[0], description=evil[1]) if s.id == "s1" else s
        for s in schedule.sessions
    )
    ana = fake_discord.add_user("ana")
    guild = fake_discord.add_guild("Summit", members=[ana.id])
    settings = settings_for(guild, scheduled_events=True)
    schedule = replace(schedule, sessions=sessions)
    async with Rig(fake_discord, store, schedule, settings, Clock(now)) as rig:
        yield rig, guild, ana


def texts(message: dict[str, Any] | None) -> list[str]:
    """Every text of a Discord message that can carry text from outside: its embeds' (the
    content holds only the bot's own role mention and timestamps)."""
    if message is None:
        return []
    assert re.fullmatch(r"(<@&\d+> ?)?(<t:\d+:F> \(<t:\d+:R>\))?", message.get("content") or "")
    found: list[str] = []
    for embed in message.get("embeds") or []:
        found += [embed.get("title") or "", embed.get("description") or ""]
        for field in embed.get("fields") or []:
            found += [field["name"], field["value"]]
    return [f for f in found if f]


def shown(message: dict[str, Any] | None) -> str:
    """What the reader sees of a message's texts."""
    return "\n".join(read(t)[0] for t in texts(message))


async def test_a_place_that_looks_like_a_link_comes_back_as_typed(
    hostile: tuple[Rig, FakeGuild, FakeUser],
) -> None:
    rig, guild, ana = hostile
    answer = await rig.slash("timezone", {"place": EXPLOIT}, user_id=ana.id, guild_id=guild.id)
    assert answer.message is not None
    assert [unsafe(t) for t in texts(answer.message)] == [[]] * len(texts(answer.message))
    assert EXPLOIT in shown(answer.message)


async def test_a_session_card_from_a_hostile_schedule_shows_its_text_as_typed(
    hostile: tuple[Rig, FakeGuild, FakeUser],
) -> None:
    rig, guild, ana = hostile
    card = await rig.slash("session", {"session": "s1"}, user_id=ana.id, guild_id=guild.id)
    assert card.message is not None
    assert [u for t in texts(card.message) for u in unsafe(t)] == []
    assert EXPLOIT in shown(card.message) and "**b** ||sp||" in shown(card.message)
    # The same card as a DM and in a channel: the delivery path renders it the same way.
    message = Message(f"{EXPLOIT}\n/help", title="**b** ||sp||")
    await rig.adapter.send(Recipient(str(ana.id)), message, key="1")
    channel = guild.channel("general").id
    await rig.adapter.send(Recipient(str(channel), "channel"), message, key="2")
    for sent in (rig.dc.dm_messages_to(ana.id)[-1], rig.dc.messages_in(channel)[-1]):
        assert all(unsafe(t) == [] for t in texts(sent))
        assert EXPLOIT in shown(sent)


async def test_a_scheduled_events_description_shows_the_schedule_as_typed(
    hostile: tuple[Rig, FakeGuild, FakeUser],
) -> None:
    rig, _, _ = hostile
    creates = rig.dc.requests_matching("POST", EVENTS)
    create = next(r for r in creates if "click" in str(r.json.get("description")))
    description = str(create.json["description"])
    assert unsafe(description) == []
    assert EXPLOIT in read(description)[0]
