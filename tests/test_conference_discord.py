"""The 1,000-talk conference on Discord (the fake server): /schedule with its `when` option and
day buttons, /now, /find with its `words`, a track subscription by the `session` option, and
the same-minute reminders of a track as one DM."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store import Store
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeUser
from tests.support.conference import at as conf_at
from tests.support.conference import conference
from tests.support.discord_world import Rig, settings_for, text_of
from tests.support.harness import Clock


@pytest.fixture
async def conf_rig(
    fake_discord: FakeDiscord, store: Store, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> AsyncIterator[Rig]:
    """The conference's second day at 10:10 in Prague, on the fake Discord."""
    settings = settings_for(people[0], scheduled_events=False)
    async with Rig(fake_discord, store, conference(), settings, Clock(conf_at(2, 10, 10))) as rig:
        yield rig


async def whole(rig: Rig, iid: int, end: str) -> list[dict[str, object]]:
    """Every message of an interaction's answer (a long one comes in follow-ups), once the
    one holding `end` arrived."""
    await rig.answer(iid)

    def messages() -> list[dict[str, object]]:
        return [r.message for r in rig.dc.interaction_responses(iid) if r.message is not None]

    await rig.dc.wait_until(
        lambda: any(end in text_of(m) for m in messages()), 5, lambda: f"{end!r} in {iid}"
    )
    return messages()


async def test_schedule_now_find_and_a_track_on_discord(
    conf_rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    iid = await conf_rig.dc.send_slash_command(
        "schedule", {"when": "tomorrow"}, user_id=ana.id, guild_id=guild.id
    )
    parts = await whole(conf_rig, iid, "Search:")
    texts = [text_of(m) for m in parts]
    assert "Wednesday 3 June · 280 sessions" in texts[0]
    assert sum(text.count("[t0") for text in texts) == 280
    ids = [
        c["custom_id"]
        for m in parts
        for row in m.get("components") or []
        for c in row["components"]
    ]  # type: ignore[union-attr]
    assert ids == ["schedule 2026-06-02", "schedule 2026-06-04"]
    last = await conf_rig.answer(
        await conf_rig.dc.send_button("schedule 2026-06-04", user_id=ana.id)
    )
    assert "Thursday 4 June · 160 sessions" in text_of(last.message)

    iid = await conf_rig.dc.send_slash_command("now", user_id=ana.id, guild_id=guild.id)
    now = "\n".join(text_of(m) for m in await whole(conf_rig, iid, "The day's programme"))
    assert now.count("🔴") == 40 and "https://stream.example.org/room-40" in now

    found = await conf_rig.slash(
        "find", {"words": "ZDENEK room 40"}, user_id=ana.id, guild_id=guild.id
    )
    assert "Zdeněk Hřib" in text_of(found.message)

    # Typing "secu" offers the track before any talk.
    iid = await conf_rig.dc.send_autocomplete(
        "subscribe", {"session": "secu"}, focused="session", user_id=ana.id, guild_id=guild.id
    )
    (result,) = await conf_rig.dc.wait_for_responses(iid)
    assert result.choices[0] == {"name": "track:Security", "value": "track:Security"}

    await conf_rig.slash("remind", {"offsets": "10m"}, user_id=ana.id, guild_id=guild.id)
    done = await conf_rig.slash(
        "subscribe", {"session": "track:security"}, user_id=ana.id, guild_id=guild.id
    )
    assert "Subscribed to the track “Security”" in text_of(done.message)
    before = len(conf_rig.dc.dm_messages_to(ana.id))
    await conf_rig.at(conf_at(2, 10, 50))
    dms = conf_rig.dc.dm_messages_to(ana.id)[before:]
    assert len(dms) == 1
    assert "4 sessions coming up" in text_of(dms[0])
    assert text_of(dms[0]).count("starts in 10 minutes") == 4
