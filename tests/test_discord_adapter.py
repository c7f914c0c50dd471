"""The Discord adapter: the real discord.py against the fake Discord server, through the core."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from dataclasses import replace
from typing import Any

import discord
import discord.gateway
import discord.http
import pytest

from bot.adapters import build_adapters
from bot.adapters.base import Blocked, Recipient, Rejected, RetryAfter, StartFailed, Transient
from bot.adapters.discord import DiscordAdapter
from bot.app import Worker
from bot.commands import HELP_ORDER
from bot.config import AnnouncementChannels, ConfigError, DiscordConfig, Organizers, Settings
from bot.i18n import languages, t
from bot.messages import Command, Message
from bot.schedule import Schedule
from bot.store import Store
from tests.fakes.discord import (
    MSG_FLAG_SUPPRESS_NOTIFICATIONS,
    FakeDiscord,
    FakeGuild,
    FakeUser,
)
from tests.support.discord_world import (
    DM_OPEN,
    EN_STREAM,
    EVENTS,
    MESSAGES,
    MIN,
    Rig,
    link_urls,
    session_start,
    settings_for,
    text_of,
)
from tests.support.harness import Clock


async def test_viewer_subscribes_with_a_slash_command_and_gets_the_reminder_dm(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    dc = rig.dc
    answer = await rig.slash("subscribe", {"session": "s1"}, user_id=ana.id, guild_id=guild.id)
    assert "Subscribed to “Mayors' Summit, session 1" in text_of(answer.message)
    assert answer.ephemeral  # shown to the caller alone, not to the channel
    assert dc.messages_in(guild.channel("general").id) == []

    s1 = session_start(rig.schedule, "s1")
    await rig.at(s1 - 10 * MIN)
    (dm,) = dc.dm_messages_to(ana.id)
    unix = int(s1.timestamp())
    assert f"<t:{unix}:F>" in dm["content"] and f"<t:{unix}:R>" in dm["content"]
    assert "starts in 10 minutes" in dm["embeds"][0]["title"]
    assert link_urls(dm) == [EN_STREAM]
    (post,) = dc.requests_matching("POST", MESSAGES)
    assert post.json["enforce_nonce"] is True and post.json["nonce"].isdigit()
    assert post.json["allowed_mentions"]["parse"] == []
    dm_id = str(dc.dm_channel_id(ana.id))
    assert await rig.store.refs.get("discord", "dm", str(ana.id)) == dm_id

    again = await rig.restart()  # the DM channel id comes from the store, not a new request
    try:
        await again.at(s1)
        assert "live now" in text_of(dc.dm_messages_to(ana.id)[-1])
        assert len(dc.requests_matching("POST", DM_OPEN)) == 1
        counts = await rig.store.ledger.delivery_counts(kind="reminder")
        assert counts["sent"] == 2  # the two overdue at the first drain expired: only 1 went
    finally:
        await again.worker.stop()


async def test_a_closed_dm_marks_the_viewer_blocked_and_stops_retrying(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, bob = people
    for user in (ana, bob):
        await rig.slash("subscribe", {"session": "all"}, user_id=user.id, guild_id=guild.id)
    s1 = session_start(rig.schedule, "s1")
    await rig.at(s1 - dt.timedelta(days=1))
    assert len(rig.dc.dm_messages_to(ana.id)) == 1 and rig.dc.dm_messages_to(bob.id) == []
    chat = await rig.store.chats.get("discord", str(bob.id))
    assert chat is not None and chat.status == "blocked"
    tried = len(rig.dc.requests_matching("POST", MESSAGES))
    await rig.at(s1 - dt.timedelta(hours=1))
    await rig.at(s1 - dt.timedelta(hours=1) + dt.timedelta(seconds=30))  # past any backoff
    posts = rig.dc.requests_matching("POST", MESSAGES)
    assert len(posts) == tried + 1  # ana's second reminder only: nothing more for bob
    assert await rig.store.ledger.delivery_counts(kind="reminder") == {"sent": 2, "blocked": 1}


async def test_a_429_storm_loses_nothing_and_sends_nothing_twice(
    rig: Rig, fake_discord: FakeDiscord
) -> None:
    dc = fake_discord
    users = [dc.add_user(f"viewer{i}") for i in range(8)]
    for user in users:
        uid = str(user.id)
        await rig.worker.on_command(Command("discord", uid, uid, "subscribe", ("s1",)))
    await rig.worker.settle()
    # Discord-style 429s (discord.py retries them, and gives up after five in a row), then a
    # Cloudflare-style one that reaches the adapter at once.
    dc.fail_next("POST", MESSAGES, status=429, times=14, retry_after=0.01, is_global=True)
    dc.fail_next("POST", MESSAGES, status=429, times=1, via=False)
    when = session_start(rig.schedule, "s1") - 10 * MIN
    for _ in range(10):
        await rig.at(when)
        if await rig.store.ledger.pending_count("discord") == 0:
            break
        when += dt.timedelta(seconds=2)
    assert [len(dc.dm_messages_to(u.id)) for u in users] == [1] * 8
    counts = await rig.store.ledger.delivery_counts(kind="reminder")
    assert counts["sent"] == 8 and set(counts) <= {"sent", "expired"}  # expired: superseded
    assert len(dc.requests_matching("POST", MESSAGES)) >= 8 + 15
    assert dc.max_in_any_window(1.0, method="POST", path_pattern=MESSAGES) <= 50


def discord_locales() -> dict[str, str]:
    """Discord locale → the catalog language it shows, for every catalog but English: "es"
    serves es-ES and es-419, "zh-TW" zh-TW and zh-CN (as replies to a zh-CN client are)."""
    bases = {lang.split("-")[0]: lang for lang in languages()[1:]}
    return {
        locale.value: bases[locale.value.split("-")[0]]
        for locale in discord.Locale
        if locale.value.split("-")[0] in bases
    }


async def test_commands_are_synced_to_the_guild_with_zh_tw_localizations(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    dc = rig.dc
    assert dc.commands() == []  # guild_ids set: the guild only, not global
    commands = {c["name"]: c for c in dc.commands(guild.id)}
    assert list(commands) == [*HELP_ORDER, "broadcast", "stats", "reload", "dashboard"]
    subscribe = commands["subscribe"]
    assert subscribe["description"] == t("menu.subscribe", "en")
    # Every catalog language Discord has a locale for: its name and description there.
    expected = discord_locales()
    assert subscribe["name_localizations"]["zh-TW"] == "訂閱"
    assert subscribe["name_localizations"] == {
        locale: t("discord.command.subscribe", lang) for locale, lang in expected.items()
    }
    assert subscribe["description_localizations"] == {
        locale: t("menu.subscribe", lang) for locale, lang in expected.items()
    }
    (option,) = subscribe["options"]
    assert option["name"] == "session" and option["autocomplete"] is True
    assert option["name_localizations"]["zh-TW"] == "場次"
    assert set(option["name_localizations"]) == set(expected)
    assert not option.get("required")
    (language,) = commands["language"]["options"]
    assert [c["value"] for c in language["choices"]] == list(languages())
    assert commands["timezone"]["options"][0]["name"] == "place"
    assert "options" not in commands["mysubs"] or commands["mysubs"]["options"] == []

    # A zh-TW client gets Chinese answers and Chinese choices.
    answer = await rig.slash("next", user_id=ana.id, guild_id=guild.id, locale="zh-TW")
    assert "首長高峰會第一場次" in text_of(answer.message)
    iid = await dc.send_autocomplete(
        "subscribe",
        {"session": ""},
        focused="session",
        user_id=ana.id,
        guild_id=guild.id,
        locale="zh-TW",
    )
    (result,) = await dc.wait_for_responses(iid)
    names = [c["name"] for c in result.choices]
    assert names[0] == f"all · {t('button.all', 'zh-TW')}" and len(names) == 7
    assert names[1].startswith("s1 · 首長高峰會第一場次")
    iid = await dc.send_autocomplete(
        "subscribe", {"session": "al"}, focused="session", user_id=ana.id, guild_id=guild.id
    )
    (result,) = await dc.wait_for_responses(iid)
    assert [c["value"] for c in result.choices] == ["all", "ctalk1", "ctalk2", "ctalk3"]
    iid = await dc.send_autocomplete(
        "timezone", {"place": "Medellin"}, focused="place", user_id=ana.id, guild_id=guild.id
    )
    (result,) = await dc.wait_for_responses(iid, timeout=5)
    assert result.choices[0] == {
        "name": "Medellín, Colombia (America/Bogota)",
        "value": "Medellín, Colombia",
    }


async def test_commands_named_in_a_reply_are_mentions_a_zh_tw_client_shows_in_chinese(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    ids = {c["name"]: c["id"] for c in rig.dc.commands(guild.id)}
    answer = await rig.slash("help", user_id=ana.id, guild_id=guild.id, locale="zh-TW")
    text = text_of(answer.message)
    # Discord renders </name:id> with the name the reader's locale gives it (/訂閱).
    assert f"</subscribe:{ids['subscribe']}>" in text
    assert f"</timezone:{ids['timezone']}>" in text
    assert "/subscribe" not in text.replace(f"</subscribe:{ids['subscribe']}>", "")
    # A link is left alone: https://example.org/subscribe is no command.
    message = Message("Watch at https://example.org/subscribe or send /subscribe s1")
    await rig.adapter.send(Recipient(str(ana.id)), message, key="9")
    [dm] = rig.dc.dm_messages_to(ana.id)
    # Commands live in the guild only (guild_ids set), so in a DM they stay plain text.
    assert text_of(dm).endswith("https://example.org/subscribe or send /subscribe s1")


async def test_commands_sync_globally_without_guilds(
    fake_discord: FakeDiscord, store: Store, schedule: Schedule, now: dt.datetime
) -> None:
    settings = replace(Settings(), discord=DiscordConfig(scheduled_events=False))
    async with Rig(fake_discord, store, schedule, settings, Clock(now)) as rig:
        names = [c["name"] for c in fake_discord.commands()]
        assert names == [*HELP_ORDER, "broadcast", "stats", "reload", "dashboard"]
        ids = {c["name"]: c["id"] for c in fake_discord.commands()}
        viewer = fake_discord.add_user("dm-only")
        answer = await rig.slash("timezone", {"place": "Prague"}, user_id=viewer.id)  # in DMs
        assert "Prague, Czechia (Europe/Prague)" in text_of(answer.message)
        # Global commands work in DMs too: a DM names them as mentions.
        message = Message("Send /subscribe s1 to follow session 1")
        await rig.adapter.send(Recipient(str(viewer.id)), message, key="5")
        [dm] = fake_discord.dm_messages_to(viewer.id)
        assert f"Send </subscribe:{ids['subscribe']}> s1" in text_of(dm)


async def test_a_slow_core_is_deferred_within_the_deadline_then_answered(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guild, ana, _ = people
    dc = fake_discord
    dc.callback_deadline = 0.5  # Discord's 3 s, scaled down so that the test stays fast
    settings = settings_for(guild, scheduled_events=False)
    async with Rig(dc, store, schedule, settings, Clock(now), defer_after=0.05) as rig:
        gate = asyncio.Event()
        handle = rig.worker.commands.handle

        async def slow(command: Command) -> Any:
            await gate.wait()  # a database that does not answer for a while
            return await handle(command)

        monkeypatch.setattr(rig.worker.commands, "handle", slow)
        iid = await dc.send_slash_command("mysubs", user_id=ana.id, guild_id=guild.id)
        (defer,) = await dc.wait_for_responses(iid)
        assert (defer.kind, defer.type) == ("callback", 5) and defer.ephemeral
        assert defer.time - dc.interaction(iid).created < dc.callback_deadline
        gate.set()
        answer = await rig.answer(iid)
        assert answer.kind == "followup" and "Your subscriptions" in text_of(answer.message)


async def test_buttons_run_their_action_as_a_command(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    welcome = (await rig.slash("start", user_id=ana.id, guild_id=guild.id)).message
    assert welcome is not None
    ids = [c["custom_id"] for row in welcome["components"] for c in row["components"]]
    assert "subscribe all" in ids and "language zh-TW" in ids
    answer = await rig.answer(await rig.dc.send_button("subscribe all", user_id=ana.id))
    assert "every session" in text_of(answer.message)
    answer = await rig.answer(await rig.dc.send_button("language zh-TW", user_id=ana.id))
    assert "中文" in text_of(answer.message)


async def test_replies_and_sends_fit_discords_limits(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    # Eight places, five of them in one zone: 8 rows of buttons packed into Discord's 5, and
    # buttons with the same action told apart without changing what they run.
    answer = await rig.slash(
        "timezone", {"place": "Springfield"}, user_id=ana.id, guild_id=guild.id
    )
    assert answer.message is not None
    rows = answer.message["components"]
    ids = [c["custom_id"] for row in rows for c in row["components"]]
    assert len(rows) <= 5 and len(ids) == 8 and len(set(ids)) == 8
    assert ids.count("timezone America/New_York") == 1
    again = await rig.answer(
        await rig.dc.send_button("timezone America/New_York  ", user_id=ana.id)
    )
    assert "(America/New_York)" in text_of(again.message)

    long = Message("\n".join(f"line {i}: " + "x" * 90 for i in range(60)), title="Long")
    await rig.adapter.send(Recipient(str(ana.id)), long, key="77")
    posts = rig.dc.requests_matching("POST", MESSAGES)
    assert [p.json["nonce"] for p in posts] == ["77", "77.1", "77.2"]  # 3 × 20 lines
    assert all(len(p.json["embeds"][0]["description"]) <= 4096 for p in posts)
    texts = [text_of(m) for m in rig.dc.dm_messages_to(ana.id)]
    assert "line 0:" in texts[0] and "line 59:" in texts[-1]


async def test_a_message_in_quiet_hours_is_posted_silently(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    _, ana, _ = people
    await rig.adapter.send(Recipient(str(ana.id)), Message("loud"), key="1")
    await rig.adapter.send(Recipient(str(ana.id)), Message("hush", silent=True), key="2")
    loud, hush = rig.dc.dm_messages_to(ana.id)
    assert not loud["flags"] & MSG_FLAG_SUPPRESS_NOTIFICATIONS
    assert hush["flags"] & MSG_FLAG_SUPPRESS_NOTIFICATIONS


async def test_send_failures_map_to_what_the_delivery_engine_should_do(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, bob = people
    dc, send = rig.dc, rig.adapter.send
    hello = Message("hello")
    to_ana = Recipient(str(ana.id))
    with pytest.raises(Blocked):
        await send(Recipient(str(bob.id)), hello, key="1")
    dc.fail_next("POST", MESSAGES, status=503)
    with pytest.raises(Transient):
        await send(to_ana, hello, key="2")
    dc.fail_next("POST", MESSAGES, status=429, via=False)  # Cloudflare: discord.py gives up
    with pytest.raises(RetryAfter) as retry:
        await send(to_ana, hello, key="3")
    assert retry.value.seconds == 1
    dc.fail_next("POST", MESSAGES, status=403, code=50013, message="Missing Permissions")
    with pytest.raises(Rejected):
        await send(Recipient(str(guild.channel("general").id), "channel"), hello, key="4")
    with pytest.raises(Rejected):
        await send(Recipient("not-a-snowflake", "channel"), hello, key="5")
    # A remembered DM channel that Discord no longer knows is forgotten, then reopened.
    dc.fail_next("POST", MESSAGES, status=404, code=10003, message="Unknown Channel")
    with pytest.raises(Transient):
        await send(to_ana, hello, key="6")
    assert await rig.store.refs.get("discord", "dm", str(ana.id)) is None
    await send(to_ana, hello, key="7")
    assert len(dc.requests_matching("POST", DM_OPEN)) == 3  # bob, ana, ana again
    assert [text_of(m) for m in dc.dm_messages_to(ana.id)] == ["hello"]


async def test_scheduled_events_are_created_once_survive_restarts_and_follow_the_schedule(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
) -> None:
    guild = people[0]
    dc = fake_discord
    rig = await Rig(dc, store, schedule, settings_for(guild), Clock(now)).start()
    try:
        events = {e["name"]: e for e in dc.scheduled_events(guild.id)}
        s1 = session_start(schedule, "s1")
        assert len(events) == 3  # the timed sessions; the CTalks have no time yet
        first = events["Mayors' Summit, session 1: Europe and Eurasia"]
        assert (first["entity_type"], first["privacy_level"]) == (3, 2)
        assert first["entity_metadata"] == {"location": EN_STREAM}
        assert dt.datetime.fromisoformat(first["scheduled_start_time"]) == s1
        assert "首長高峰會第一場次" in first["description"]
        second = events["Mayors' Summit, session 2: the Americas and Asia-Pacific"]
        assert second["entity_metadata"] == {"location": "Livestream link to be announced"}
        refs = await store.refs.all("discord", "scheduled_event")
        assert set(refs) == {f"{guild.id}:s1", f"{guild.id}:s2", f"{guild.id}:s3"}

        # A restart, even one that lost an id (a crash right after creating), adds nothing.
        await store.refs.delete("discord", "scheduled_event", f"{guild.id}:s1")
        rig = await rig.restart()
        assert len(dc.scheduled_events(guild.id)) == 3
        assert len(dc.requests_matching("POST", EVENTS)) == 3
        assert dc.requests_matching("PATCH", EVENTS) == []
        assert await store.refs.all("discord", "scheduled_event") == refs

        moved = schedule.shifted(dt.timedelta(hours=1))
        await rig.adapter.schedule_changed(moved)
        assert len(dc.requests_matching("PATCH", EVENTS)) == 3
        starts = {e["id"]: e["scheduled_start_time"] for e in dc.scheduled_events(guild.id)}
        assert set(starts) == set(refs.values())
        assert dt.datetime.fromisoformat(starts[refs[f"{guild.id}:s1"]]) == s1 + 60 * MIN
        await rig.adapter.schedule_changed(moved)  # nothing changed: nothing sent
        assert len(dc.requests_matching("PATCH", EVENTS)) == 3

        without_s3 = replace(moved, sessions=tuple(s for s in moved.sessions if s.id != "s3"))
        await rig.adapter.schedule_changed(without_s3)
        assert {e["id"] for e in dc.scheduled_events(guild.id)} == {
            refs[f"{guild.id}:s1"],
            refs[f"{guild.id}:s2"],
        }
        assert f"{guild.id}:s3" not in await store.refs.all("discord", "scheduled_event")
        assert len(dc.requests_matching("POST", EVENTS)) == 3
    finally:
        await rig.worker.stop()


async def test_announcement_channel_gets_both_languages_and_the_role_mention(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
) -> None:
    guild = people[0]
    dc = fake_discord
    role = dc.add_role(guild.id, "summit-news")
    news = guild.channel("announcements")
    settings = replace(
        settings_for(guild, scheduled_events=False, announcement_role_id=str(role.id)),
        announcement_channels=AnnouncementChannels(discord=(str(news.id),)),
    )
    async with Rig(dc, store, schedule, settings, Clock(now)) as rig:
        await rig.at(session_start(schedule, "s1"))
        (message,) = dc.messages_in(news.id)
        assert message["content"].startswith(f"<@&{role.id}> <t:")
        assert "正在直播" in text_of(message)
        assert set(link_urls(message)) == {EN_STREAM, "https://youtu.be/5B_aKaTUu3k"}
        (post,) = dc.requests_matching("POST", rf"/channels/{news.id}/messages")
        mentions = post.json["allowed_mentions"]
        assert mentions["parse"] == [] and [str(r) for r in mentions["roles"]] == [str(role.id)]


async def test_the_token_never_reaches_a_log(
    rig: Rig,
    people: tuple[FakeGuild, FakeUser, FakeUser],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="discord")
    guild, ana, _ = people
    await rig.slash("subscribe", {"session": "s1"}, user_id=ana.id, guild_id=guild.id)
    await rig.at(session_start(rig.schedule, "s1") - 10 * MIN)
    logging.getLogger("discord.http").warning("sending with token %s", rig.dc.token)
    again = await rig.restart()
    await again.worker.stop()
    assert any(r.name.startswith("discord.") for r in caplog.records)
    assert rig.dc.token not in caplog.text
    assert "sending with token <redacted>" in caplog.text


async def test_two_adapters_in_one_process_each_reach_their_own_server(
    store: Store, schedule: Schedule, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # discord.py builds its URLs from process-wide class attributes; each adapter points its
    # own client instead (REST, gateway, interaction answers), and leaves those alone.
    api, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord() as one, FakeDiscord() as two:
        started: list[tuple[Rig, FakeGuild, FakeUser]] = []
        try:
            for dc in (one, two):
                monkeypatch.setenv("DISCORD_API_BASE_URL", dc.api_base_url)
                monkeypatch.setenv("DISCORD_GATEWAY_URL", dc.gateway_url)
                user = dc.add_user("ana")
                guild = dc.add_guild("Summit", members=[user.id])
                settings = settings_for(guild, scheduled_events=False)
                rig = await Rig(dc, store, schedule, settings, Clock(now)).start()
                started.append((rig, guild, user))
            for rig, guild, user in started:  # both connected at once, each to its own
                dc = rig.dc
                assert "subscribe" in [c["name"] for c in dc.commands(guild.id)]
                answer = await rig.slash(
                    "timezone", {"place": "Prague"}, user_id=user.id, guild_id=guild.id
                )
                assert "Prague, Czechia (Europe/Prague)" in text_of(answer.message)
                hello = f"hello from {dc.api_base_url}"
                await rig.adapter.send(Recipient(str(user.id)), Message(hello), key="1")
                assert [text_of(m) for m in dc.dm_messages_to(user.id)] == [hello]
                assert len(dc.requests_matching("POST", MESSAGES)) == 1
        finally:
            for rig, _, _ in started:
                await rig.worker.stop()
    assert api == discord.http.Route.BASE
    assert gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def test_configuration_comes_from_the_environment() -> None:
    settings = Settings()
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN"):
        DiscordAdapter.from_env({"DISCORD_BOT_TOKEN": " "}, settings)
    with pytest.raises(ConfigError, match="DISCORD_API_BASE_URL"):
        DiscordAdapter.from_env(
            {"DISCORD_BOT_TOKEN": "x", "DISCORD_API_BASE_URL": "discord.com/api"}, settings
        )
    (adapter,) = build_adapters({"DISCORD_BOT_TOKEN": "secret-token"}, settings)
    assert isinstance(adapter, DiscordAdapter)
    assert adapter.api_base_url == "https://discord.com/api/v10"
    assert "secret-token" not in repr(adapter)


def test_discord_ids_in_the_configuration_are_checked() -> None:
    settings = replace(Settings(), discord=DiscordConfig(guild_ids=("summit",)))
    with pytest.raises(ConfigError, match=r"discord\.guild_ids: expected a Discord id"):
        DiscordAdapter.from_env({"DISCORD_BOT_TOKEN": "x"}, settings)


async def test_a_wrong_token_fails_the_start_loudly(
    fake_discord: FakeDiscord, store: Store, schedule: Schedule, now: dt.datetime
) -> None:
    env = {**os.environ, "DISCORD_BOT_TOKEN": "not-the-token"}
    adapter = DiscordAdapter.from_env(env, Settings(), guild_ready_timeout=0.05)
    worker = Worker(Settings(), schedule, store, [adapter], Clock(now))
    with pytest.raises(StartFailed, match="DISCORD_BOT_TOKEN"):  # was discord.LoginFailure
        await adapter.start(worker)
    await adapter.stop()  # idempotent after a failed start


async def test_an_organizer_role_broadcasts_with_a_slash_command(
    fake_discord: FakeDiscord,
    store: Store,
    schedule: Schedule,
    now: dt.datetime,
    people: tuple[FakeGuild, FakeUser, FakeUser],
) -> None:
    guild, ana, _ = people
    host = fake_discord.add_user("host")
    role = fake_discord.add_role(guild.id, "Organizers")
    fake_discord.add_member(guild.id, host.id, roles=[role.id])
    settings = replace(
        settings_for(guild, scheduled_events=False),
        organizers=Organizers(discord_role_ids=(str(role.id),)),
    )
    async with Rig(fake_discord, store, schedule, settings, Clock(now)) as rig:
        await rig.slash("subscribe", {"session": "all"}, user_id=ana.id, guild_id=guild.id)
        refused = await rig.slash("broadcast", {"text": "hi"}, user_id=ana.id, guild_id=guild.id)
        assert "Only the event's organizers" in text_of(refused.message)
        preview = await rig.slash(
            "broadcast",
            {"text": "to=all en: Stream is up! zh-TW: 直播開始！"},
            user_id=host.id,
            guild_id=guild.id,
        )
        assert "Broadcast #1 to all subscribers (1: discord 1)" in text_of(preview.message)
        confirm = await rig.answer(
            await fake_discord.send_button("broadcast confirm 1", user_id=host.id)
        )
        assert "1 message." in text_of(confirm.message)
        await rig.at(now)
        assert "Stream is up!" in text_of(fake_discord.dm_messages_to(ana.id)[-1])
        audit = [(a.actor, a.allowed) for a in await store.audit.recent()]
        assert (str(ana.id), False) in audit and (str(host.id), True) in audit


async def test_a_button_that_runs_nothing_is_still_answered(
    rig: Rig, people: tuple[FakeGuild, FakeUser, FakeUser]
) -> None:
    guild, ana, _ = people
    # A message from elsewhere (another bot version, a hand-made post): an empty button id
    # and a select menu, neither of which names a command.
    rig.dc.add_message(
        guild.channel("general").id,
        content="old",
        components=[
            {"type": 1, "components": [{"type": 2, "style": 2, "label": "?", "custom_id": ""}]},
            {
                "type": 1,
                "components": [
                    {"type": 3, "custom_id": "pick", "options": [{"label": "a", "value": "a"}]}
                ],
            },
        ],
    )
    empty = await rig.answer(await rig.dc.send_button("", user_id=ana.id))
    assert empty.ephemeral and "no longer works" in text_of(empty.message)
    picked = await rig.answer(
        await rig.dc.send_component("pick", user_id=ana.id, component_type=3, values=["a"])
    )
    assert picked.ephemeral and "no longer works" in text_of(picked.message)
    chinese = await rig.answer(await rig.dc.send_button("", user_id=ana.id, locale="zh-TW"))
    assert "已失效" in text_of(chinese.message)
