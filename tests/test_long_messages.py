"""Long texts fit each platform's limit as the platform counts it: after every expansion."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from bot.adapters.base import Recipient
from bot.config import DiscordConfig, Organizers, Settings
from bot.messages import Message
from bot.schedule import Schedule
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeTelegram
from tests.support.discord_markdown import read, unsafe
from tests.support.discord_world import MESSAGES, S1_2020, Rig, settings_for
from tests.support.harness import Clock, summit
from tests.support.telegram_world import VIEWER, TelegramWorld, plain

HELPS = "/help " * 340  # 2,040 characters; each "/help" becomes a ~27-character mention


def upcoming() -> tuple[Clock, Schedule]:
    """A clock at the real minute and the summit two days ahead (as Discord events want)."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    return Clock(now), summit().shifted(now + dt.timedelta(days=2) - S1_2020)


async def test_a_discord_dm_of_command_names_fits_after_they_become_mentions(
    fake_discord: FakeDiscord, store: Store
) -> None:
    clock, schedule = upcoming()
    settings = replace(Settings(), discord=DiscordConfig(scheduled_events=False))
    async with Rig(fake_discord, store, schedule, settings, clock) as rig:  # global commands
        viewer = fake_discord.add_user("viewer")
        message = Message(HELPS + "\n" + "*" * 3000, title="_" * 300)
        await rig.adapter.send(Recipient(str(viewer.id)), message, key="9")
        posts = fake_discord.requests_matching("POST", MESSAGES)
        assert posts and all(p.status == 200 for p in posts)
        descriptions = [str(p.json["embeds"][0]["description"]) for p in posts]
        assert all(len(d) <= 2000 for d in descriptions)
        assert all("</help:" in d for d in descriptions[:4])  # mentions, each whole
        assert all(unsafe(d) == [] for d in descriptions)
        shown = "".join(read(d)[0] for d in descriptions)
        assert shown.replace("\n", "") == HELPS + "*" * 3000


async def test_a_broadcast_preview_of_command_names_is_answered_in_parts(
    fake_discord: FakeDiscord, store: Store
) -> None:
    clock, schedule = upcoming()
    ana, host = fake_discord.add_user("ana"), fake_discord.add_user("host")
    guild = fake_discord.add_guild("Summit", members=[ana.id])
    role = fake_discord.add_role(guild.id, "Organizers")
    fake_discord.add_member(guild.id, host.id, roles=[role.id])
    base = settings_for(guild, scheduled_events=False)
    settings = replace(
        base,
        organizers=Organizers(discord_role_ids=(str(role.id),)),
        limits=replace(base.limits, max_command_length=4000),  # room for a long broadcast
    )
    async with Rig(fake_discord, store, schedule, settings, clock) as rig:  # guild commands
        await rig.slash("subscribe", {"session": "all"}, user_id=ana.id, guild_id=guild.id)
        iid = await fake_discord.send_slash_command(
            "broadcast", {"text": HELPS}, user_id=host.id, guild_id=guild.id
        )

        def bodies() -> list[dict[str, Any]]:
            return [r.message for r in fake_discord.interaction_responses(iid) if r.message]

        # The preview comes in parts, the buttons on the last one.
        await fake_discord.wait_until(
            lambda: any(b.get("components") for b in bodies()), 5, lambda: "the last part"
        )
        descriptions = [str(e["description"]) for b in bodies() for e in b.get("embeds") or []]
        assert sum(d.count("</help:") for d in descriptions) == 340
        assert all(len(d) <= 2000 for d in descriptions)
        rows = [row for b in bodies() for row in b.get("components") or []]
        buttons = [c for row in rows for c in row["components"]]
        assert [c["custom_id"] for c in buttons] == ["broadcast confirm 1", "broadcast cancel 1"]


async def test_a_telegram_text_that_grows_when_escaped_fits_as_telegram_counts_it(
    fake_telegram: FakeTelegram, store: Store
) -> None:
    # Telegram counts the text after its HTML is parsed, in code points (TDLib's
    # utf8_length): "&amp;" is one character and so is "😀".
    line = "&<>😀/help " * 900  # 9,000 characters, one line, 5× longer as HTML
    message = Message(line, title="<b>&</b>")
    world = TelegramWorld(fake_telegram, store)
    await world.start()
    try:
        await world.adapter.send(Recipient(str(VIEWER)), message, key="long")
    finally:
        await world.worker.stop()
    sent = fake_telegram.requests("sendMessage", chat_id=VIEWER)
    assert len(sent) == 4 and all(r.ok for r in sent)  # the title alone, then the line
    texts = [plain(str(r.params["text"])) for r in sent]
    assert all(len(t) <= 4096 for t in texts)
    assert "".join(texts).replace("\n", "") == (message.title or "") + line
