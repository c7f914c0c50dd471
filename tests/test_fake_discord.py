"""The real discord.py 2.7 Client + CommandTree against the fake Discord server."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
import warnings
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import discord
import discord.gateway
import pytest
from discord import app_commands

from tests.fakes.discord import ChannelType, FakeDiscord, FakeGuild, FakeUser
from tests.support.discord_rig import point_discord_at, run_discord_client

MESSAGES = r"/channels/\d+/messages"


class RsvpView(discord.ui.View):
    """A persistent view with one button."""

    def __init__(self) -> None:
        """Never time out, so the view is persistent."""
        super().__init__(timeout=None)

    @discord.ui.button(label="Going", custom_id="rsvp:yes", style=discord.ButtonStyle.green)
    async def going(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        """Replace the message content in place (callback type 7)."""
        await interaction.response.edit_message(content="RSVP: going", view=None)


@dataclass
class Bot:
    """A connected client plus what its handlers observed."""

    dc: FakeDiscord
    client: discord.Client
    tree: app_commands.CommandTree[discord.Client]
    guild: FakeGuild
    user: FakeUser
    seen: dict[str, Any] = field(default_factory=dict)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    release_late: asyncio.Event = field(default_factory=asyncio.Event)
    late_error: asyncio.Future[BaseException] | None = None


def build_bot(dc: FakeDiscord, guild: FakeGuild, user: FakeUser) -> Bot:
    """Create a Client with a CommandTree whose handlers record what they saw."""
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    bot = Bot(dc, client, tree, guild, user)
    bot.late_error = asyncio.get_running_loop().create_future()

    @tree.command(name="remind", description="Set a reminder")
    @app_commands.describe(when="When to remind you", minutes="Minutes before")
    async def remind(
        interaction: discord.Interaction, when: str, minutes: app_commands.Range[int, 1, 120] = 10
    ) -> None:
        """Record the call and reply ephemerally."""
        bot.seen["remind"] = (interaction, when, minutes)
        await interaction.response.send_message(f"Reminder {when} -{minutes}m", ephemeral=True)

    @remind.autocomplete("when")
    async def when_autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Suggest times starting with what was typed."""
        options = ("today", "tomorrow", "tonight", "next week")
        return [app_commands.Choice(name=o, value=o) for o in options if o.startswith(current)]

    @tree.command(name="slow", description="Defer, then follow up")
    async def slow(interaction: discord.Interaction) -> None:
        """Defer, follow up twice, then edit the original response."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("done")
        await interaction.followup.send("extra", ephemeral=True)
        await interaction.edit_original_response(content="done (edited)")

    @tree.command(name="dmme", description="Send me a DM")
    async def dmme(interaction: discord.Interaction) -> None:
        """DM the invoking user."""
        await interaction.user.send("Your reminder is set")
        await interaction.response.send_message("Check your DMs", ephemeral=True)

    @tree.command(name="late", description="Answer too late")
    async def late(interaction: discord.Interaction) -> None:
        """Respond only once the test releases it."""
        await bot.release_late.wait()
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            assert bot.late_error is not None
            bot.late_error.set_result(exc)

    @tree.command(name="info", description="Guild-only info", guild=discord.Object(guild.id))
    async def info(interaction: discord.Interaction) -> None:
        """Guild-only command."""
        await interaction.response.send_message(f"Welcome to {interaction.guild}")

    @client.event
    async def on_resumed() -> None:
        """Note that the session was resumed."""
        bot.resumed.set()

    async def setup_hook() -> None:
        """Register the persistent view."""
        client.add_view(RsvpView())

    client.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot


@pytest.fixture
async def bot(stock_discord: FakeDiscord) -> AsyncIterator[Bot]:
    """A client connected to the fake, with its commands synced globally and to the guild."""
    dc = stock_discord
    user = dc.add_user("alice", global_name="Alice")
    guild = dc.add_guild("Summit", members=[user.id], preferred_locale="de")
    bot = build_bot(dc, guild, user)
    async with run_discord_client(bot.client, dc.token):
        await bot.tree.sync()
        await bot.tree.sync(guild=discord.Object(guild.id))
        yield bot


async def test_connects_with_real_protocol(bot: Bot) -> None:
    """IDENTIFY carries the token and default intents over a zlib-stream gateway; READY works."""
    dc, client = bot.dc, bot.client
    assert dc.identifies[0]["token"] == dc.token
    assert dc.identifies[0]["intents"] == discord.Intents.default().value
    assert dc.gateway_connections[0].query == {
        "v": "10",
        "encoding": "json",
        "compress": "zlib-stream",
    }
    assert client.user is not None and client.user.id == dc.bot_user.id
    assert client.application_id == dc.application_id
    guild = client.get_guild(bot.guild.id)
    assert guild is not None and guild.name == "Summit"
    assert guild.preferred_locale is discord.Locale.german
    general = guild.get_channel(bot.guild.channel("general").id)
    news = guild.get_channel(bot.guild.channel("announcements").id)
    assert isinstance(general, discord.TextChannel) and not general.is_news()
    assert isinstance(news, discord.TextChannel) and news.is_news()
    assert guild.me is not None and guild.me.guild_permissions.manage_events
    assert dc.heartbeats >= 1  # discord.py heartbeats right after HELLO


async def test_command_sync_global_and_guild(bot: Bot) -> None:
    """Bulk overwrite stores commands with ids that stay stable across re-syncs."""
    dc = bot.dc
    global_cmds = {c["name"]: c for c in dc.commands()}
    assert set(global_cmds) == {"remind", "slow", "dmme", "late"}
    assert [c["name"] for c in dc.commands(bot.guild.id)] == ["info"]
    remind = global_cmds["remind"]
    assert [o["name"] for o in remind["options"]] == ["when", "minutes"]
    assert remind["options"][0]["autocomplete"] is True
    synced = await bot.tree.sync()
    assert {c.name: str(c.id) for c in synced} == {n: c["id"] for n, c in global_cmds.items()}
    fetched = await bot.tree.fetch_commands(guild=discord.Object(bot.guild.id))
    assert [c.name for c in fetched] == ["info"]
    assert fetched[0].guild_id == bot.guild.id


async def test_slash_command_with_option_responds_ephemeral(bot: Bot) -> None:
    """A slash command arrives with member, locale and options; the reply is ephemeral."""
    dc = bot.dc
    channel = bot.guild.channel("general")
    iid = await dc.send_slash_command(
        "remind",
        {"when": "tomorrow", "minutes": 30},
        user_id=bot.user.id,
        guild_id=bot.guild.id,
        channel_id=channel.id,
        locale="fr",
    )
    (callback,) = await dc.wait_for_responses(iid)
    assert callback.kind == "callback" and callback.type == 4
    assert callback.content == "Reminder tomorrow -30m" and callback.ephemeral
    interaction, when, minutes = bot.seen["remind"]
    assert (when, minutes) == ("tomorrow", 30)
    assert interaction.locale is discord.Locale.french
    assert interaction.guild_locale is discord.Locale.german
    assert isinstance(interaction.user, discord.Member) and interaction.user.id == bot.user.id
    assert interaction.channel is not None and interaction.channel.id == channel.id
    assert dc.messages_in(channel.id) == []  # ephemeral replies are not channel messages


async def test_guild_command_and_dm_command(bot: Bot) -> None:
    """Guild commands work in their guild; global ones in DMs with a User, not a Member."""
    dc = bot.dc
    iid = await dc.send_slash_command("info", user_id=bot.user.id, guild_id=bot.guild.id)
    (callback,) = await dc.wait_for_responses(iid)
    assert callback.content == "Welcome to Summit" and not callback.ephemeral
    assert dc.messages_in(bot.guild.channel("general").id)[0]["content"] == "Welcome to Summit"
    with pytest.raises(LookupError, match="not registered"):  # guild commands are not in DMs
        await dc.send_slash_command("info", user_id=bot.user.id)
    iid = await dc.send_slash_command("remind", {"when": "today"}, user_id=bot.user.id)
    await dc.wait_for_responses(iid)
    interaction = bot.seen["remind"][0]
    assert interaction.guild_id is None and type(interaction.user) is discord.User
    assert isinstance(interaction.channel, discord.DMChannel)


async def test_defer_then_follow_up(bot: Bot) -> None:
    """Defer shows a loading message; the first follow-up resolves it, later ones are new."""
    dc = bot.dc
    iid = await dc.send_slash_command("slow", user_id=bot.user.id, guild_id=bot.guild.id)
    defer, first, second, edit = await dc.wait_for_responses(iid, count=4)
    assert (defer.kind, defer.type) == ("callback", 5)
    assert defer.message is not None and defer.message["flags"] == 64 | 128
    assert first.kind == "followup" and first.message is not None
    assert first.message["id"] == defer.message["id"]  # resolved the "thinking" message
    assert first.content == "done" and first.ephemeral  # ephemeral state comes from the defer
    assert second.message is not None and second.message["id"] != defer.message["id"]
    assert second.ephemeral
    assert edit.kind == "edit_original" and edit.content == "done (edited)"
    assert dc.message(int(defer.message["id"]))["flags"] == 64


async def test_autocomplete(bot: Bot) -> None:
    """Autocomplete interactions get a type 8 result with filtered choices."""
    dc = bot.dc
    iid = await dc.send_autocomplete(
        "remind", {"when": "to"}, focused="when", user_id=bot.user.id, guild_id=bot.guild.id
    )
    (result,) = await dc.wait_for_responses(iid)
    assert result.type == 8
    assert [c["value"] for c in result.choices] == ["today", "tomorrow", "tonight"]


async def test_button_updates_message(bot: Bot) -> None:
    """Clicking a persistent-view button edits the message in place (callback type 7)."""
    dc = bot.dc
    channel = bot.client.get_channel(bot.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("RSVP?", view=RsvpView())
    iid = await dc.send_button("rsvp:yes", user_id=bot.user.id)
    (callback,) = await dc.wait_for_responses(iid)
    assert callback.type == 7
    stored = dc.message(sent.id)
    assert stored["content"] == "RSVP: going" and stored["components"] == []


async def test_dm_channel_created_once(bot: Bot) -> None:
    """DMs go through one DM channel per recipient."""
    dc = bot.dc
    user = await bot.client.fetch_user(bot.user.id)
    await user.send("first")
    await user.send("second")
    data_1 = await bot.client.http.start_private_message(bot.user.id)
    data_2 = await bot.client.http.start_private_message(bot.user.id)
    assert data_1["id"] == data_2["id"] == str(dc.dm_channel_id(bot.user.id))
    assert data_1["type"] == ChannelType.DM
    assert [m["content"] for m in dc.dm_messages_to(bot.user.id)] == ["first", "second"]
    iid = await dc.send_slash_command("dmme", user_id=bot.user.id, guild_id=bot.guild.id)
    await dc.wait_for_responses(iid)
    assert dc.dm_messages_to(bot.user.id)[-1]["content"] == "Your reminder is set"


async def test_enforced_nonce_deduplicates(bot: Bot) -> None:
    """Posting twice with the same nonce (discord.py sets enforce_nonce) yields one message."""
    dc = bot.dc
    channel = bot.client.get_channel(bot.guild.channel("announcements").id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("Keynote in 10 minutes", nonce="reminder-42")
    second = await channel.send("Keynote in 10 minutes", nonce="reminder-42")
    assert first.id == second.id
    assert [m["content"] for m in dc.messages_in(channel.id)] == ["Keynote in 10 minutes"]
    posts = dc.requests_matching("POST", MESSAGES)
    assert [p.json["enforce_nonce"] for p in posts] == [True, True]


async def test_scheduled_event_lifecycle(bot: Bot) -> None:
    """Create, edit and delete an external scheduled event."""
    dc = bot.dc
    guild = bot.client.get_guild(bot.guild.id)
    assert guild is not None
    start = discord.utils.utcnow() + timedelta(days=1)
    event = await guild.create_scheduled_event(
        name="Opening keynote",
        start_time=start,
        end_time=start + timedelta(hours=1),
        entity_type=discord.EntityType.external,
        privacy_level=discord.PrivacyLevel.guild_only,
        location="https://example.org/live",
        description="Welcome!",
    )
    (stored,) = dc.scheduled_events(bot.guild.id)
    assert stored["id"] == str(event.id) and stored["entity_type"] == 3
    assert stored["entity_metadata"] == {"location": "https://example.org/live"}
    assert event.location == "https://example.org/live" and event.creator_id == dc.bot_user.id
    edited = await event.edit(
        name="Opening keynote (moved)",
        start_time=start + timedelta(hours=2),
        end_time=start + timedelta(hours=3),
    )
    assert edited.name == "Opening keynote (moved)"
    assert dc.scheduled_events(bot.guild.id)[0]["name"] == "Opening keynote (moved)"
    fetched = await guild.fetch_scheduled_event(event.id)
    assert fetched.start_time == start + timedelta(hours=2)
    await event.delete()
    assert dc.scheduled_events(bot.guild.id) == []
    with pytest.raises(discord.HTTPException) as info:  # Discord requires entity_type
        await guild.create_scheduled_event(
            name="x", start_time=start, end_time=start + timedelta(hours=1), location="here"
        )
    assert info.value.code == 50035


async def test_forbidden_50007(bot: Bot) -> None:
    """A 403 from Discord surfaces as discord.Forbidden with code 50007."""
    dc = bot.dc
    closed = dc.add_user("bob", dms_open=False)
    user = await bot.client.fetch_user(closed.id)
    with pytest.raises(discord.Forbidden) as info:
        await user.send("hi")
    assert info.value.code == 50007 and info.value.status == 403
    alice = await bot.client.fetch_user(bot.user.id)
    dc.fail_next("POST", MESSAGES, status=403)
    with pytest.raises(discord.Forbidden) as info:
        await alice.send("hi")
    assert info.value.code == 50007
    await alice.send("hi again")  # the injected failure was used up


async def test_429_is_retried_transparently(bot: Bot) -> None:
    """A Discord 429 (with Via) is retried after retry_after; no exception reaches the bot."""
    dc = bot.dc
    channel = bot.client.get_channel(bot.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    dc.fail_next("POST", MESSAGES, status=429, retry_after=0.2)
    await channel.send("rate limited once")
    first, second = dc.requests_matching("POST", MESSAGES)
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 0.2
    dc.fail_next("POST", MESSAGES, status=429, via=False)  # Cloudflare-style ban
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("banned")
    assert info.value.status == 429


async def test_server_errors(bot: Bot) -> None:
    """503 raises DiscordServerError at once; a single 500 is retried by discord.py (~1 s)."""
    dc = bot.dc
    channel = bot.client.get_channel(bot.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    dc.fail_next("POST", MESSAGES, status=503)
    with pytest.raises(discord.DiscordServerError) as info:
        await channel.send("x")
    assert info.value.status == 503
    dc.fail_next("POST", MESSAGES, status=500)
    message = await channel.send("after a 500")
    assert [r.status for r in dc.requests_matching("POST", MESSAGES)] == [503, 500, 200]
    assert dc.message(message.id)["content"] == "after a 500"


async def test_global_rate_limit_and_buckets(bot: Bot) -> None:
    """discord.py obeys the global 429s and the bucket headers; the window stays bounded."""
    dc = bot.dc
    channel = bot.client.get_channel(bot.guild.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    dc.rate_limit(per_second=5)
    await asyncio.gather(*(channel.send(f"burst {i}") for i in range(7)))
    assert len(dc.messages_in(channel.id)) == 7
    assert dc.max_in_any_window(1.0, method="POST", path_pattern=MESSAGES) <= 5
    dc.rate_limit(None)
    dc.bucket_limit, dc.bucket_window = 2, 0.2
    news = bot.client.get_channel(bot.guild.channel("announcements").id)  # a fresh bucket
    assert isinstance(news, discord.TextChannel)
    for i in range(5):
        await news.send(f"paced {i}")
    posts = dc.requests_matching("POST", rf"/channels/{news.id}/messages")
    assert [r.status for r in posts] == [200] * 5  # the limiter honoured the headers


async def test_late_response_is_unknown_interaction(bot: Bot) -> None:
    """Answering after the initial-response window raises NotFound 10062."""
    dc = bot.dc
    iid = await dc.send_slash_command("late", user_id=bot.user.id, guild_id=bot.guild.id)
    dc.expire_interaction(iid)  # as if the handler had taken more than 3 s
    bot.release_late.set()
    assert bot.late_error is not None
    error = await asyncio.wait_for(bot.late_error, 5)
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert dc.interaction_responses(iid) == []


async def test_reconnect_resumes_and_invalid_session_reidentifies(bot: Bot) -> None:
    """Op 7 leads to RESUME (same session); op 9 leads to a fresh IDENTIFY."""
    dc = bot.dc
    session = dc.live_sessions()[0]
    await dc.request_reconnect()
    await asyncio.wait_for(bot.resumed.wait(), 5)
    assert session.resumes == 1 and dc.live_sessions() == [session]
    assert len(dc.gateway_connections) == 2

    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        """Skip discord.py's 5 s pause before a non-initial IDENTIFY."""

    bot.client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    await dc.invalidate_sessions()
    await dc.wait_until(lambda: len(dc.live_sessions()) == 1 and len(dc.identifies) == 2)
    assert dc.live_sessions()[0] is not session
    iid = await dc.send_slash_command(
        "remind", {"when": "today"}, user_id=bot.user.id, guild_id=bot.guild.id
    )
    (callback,) = await dc.wait_for_responses(iid)
    assert callback.content == "Reminder today -10m"


async def test_gateway_raw_bad_token_and_zlib() -> None:
    """Raw protocol check: zlib-stream HELLO, heartbeat ACK, and close 4004 for a bad token."""
    async with FakeDiscord() as dc, aiohttp.ClientSession() as session:
        url = f"{dc.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        async with session.ws_connect(url) as ws:
            inflater = zlib.decompressobj()
            hello = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41_250
            await ws.send_json({"op": 1, "d": None})
            assert json.loads(inflater.decompress(await ws.receive_bytes()))["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 513}})
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4004


async def test_bad_token_is_login_failure(stock_discord: FakeDiscord) -> None:
    """A wrong token fails at GET /users/@me with discord.LoginFailure."""
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        async with run_discord_client(client, "not-the-token"):
            pass


async def test_close_leaves_nothing_behind() -> None:
    """After client.close() and server shutdown: no tasks, keep-alive threads or warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with FakeDiscord() as dc:
            restore = point_discord_at(dc.api_base_url, dc.gateway_url)
            try:
                user = dc.add_user("carol")
                guild = dc.add_guild("Summit", members=[user.id])
                bot = build_bot(dc, guild, user)
                async with run_discord_client(bot.client, dc.token):
                    await bot.tree.sync()
                    iid = await dc.send_slash_command(
                        "remind", {"when": "today"}, user_id=user.id, guild_id=guild.id
                    )
                    await dc.wait_for_responses(iid)
            finally:
                restore()
        current = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert leftover == []
        for thread in threading.enumerate():
            if isinstance(thread, discord.gateway.KeepAliveHandler):
                thread.join(timeout=2)
                assert not thread.is_alive()
        gc.collect()
    assert [str(w.message) for w in caught] == []


# --- Discord's rate limits, on the wire (raw HTTP: what any client reads) -------------------


async def _post(
    session: aiohttp.ClientSession, dc: FakeDiscord, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, str], Any]:
    """POST a JSON body as the bot; return the status, the headers and the JSON answer."""
    async with session.post(
        dc.api_base_url + path, json=body, headers={"Authorization": f"Bot {dc.token}"}
    ) as response:
        return response.status, dict(response.headers), await response.json()


async def test_a_channel_message_bucket_is_5_per_5_seconds_per_channel_with_its_headers() -> None:
    """Every answer on a limited route carries X-RateLimit-*; the sixth message in a
    channel within 5 s is a 429 of scope "user" with the bucket's headers; another channel
    has a bucket of its own."""
    async with FakeDiscord() as dc, aiohttp.ClientSession() as session:
        dc.discord_limits()
        guild = dc.add_guild("Summit", text_channels=("general", "random"))
        general, other = guild.channel("general").id, guild.channel("random").id
        answers = [
            await _post(session, dc, f"/channels/{general}/messages", {"content": f"m{i}"})
            for i in range(6)
        ]
        assert [status for status, _, _ in answers] == [200] * 5 + [429]
        _, first, _ = answers[0]
        assert first["X-RateLimit-Limit"] == "5" and first["X-RateLimit-Remaining"] == "4"
        assert 4.9 <= float(first["X-RateLimit-Reset-After"]) <= 5.0
        assert float(first["X-RateLimit-Reset"]) == pytest.approx(time.time() + 5, abs=0.5)
        assert "X-RateLimit-Scope" not in first  # only a 429 names its scope
        _, headers, body = answers[5]
        assert body["global"] is False and 0 < body["retry_after"] <= 5.0
        assert headers["X-RateLimit-Scope"] == "user" and headers["X-RateLimit-Remaining"] == "0"
        assert headers["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]
        assert int(headers["Retry-After"]) >= 1 and "X-RateLimit-Global" not in headers
        post = {"content": "x"}
        status, headers, _ = await _post(session, dc, f"/channels/{other}/messages", post)
        assert (status, headers["X-RateLimit-Remaining"]) == (200, "4")  # a bucket of its own
        assert headers["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]  # same route
        assert [r.limited for r in dc.too_many()] == ["user"]


async def test_opening_a_dm_has_a_bucket_of_its_own() -> None:
    """POST /users/@me/channels counts in its own bucket, not in a channel's."""
    async with FakeDiscord() as dc, aiohttp.ClientSession() as session:
        dc.discord_limits()
        dc.limit_route("POST /users/@me/channels", 2, 1.0)
        users = [dc.add_user(f"u{i}") for i in range(3)]
        statuses = []
        for user in users:
            status, headers, body = await _post(
                session, dc, "/users/@me/channels", {"recipient_id": str(user.id)}
            )
            statuses.append(status)
        assert statuses == [200, 200, 429]
        assert headers["X-RateLimit-Limit"] == "2" and body["global"] is False
        dm = dc.dm_channel_id(users[0].id)
        status, message_headers, _ = await _post(
            session, dc, f"/channels/{dm}/messages", {"content": "hi"}
        )
        assert status == 200 and message_headers["X-RateLimit-Limit"] == "5"
        assert message_headers["X-RateLimit-Bucket"] != headers["X-RateLimit-Bucket"]


async def test_the_global_limit_answers_a_global_429_and_spares_interactions(bot: Bot) -> None:
    """Past the global limit in a rolling second: 429 with global true, X-RateLimit-Global
    and Scope global, retry_after until the window has room; an interaction's answer passes."""
    dc = bot.dc
    channels = [dc.add_channel(bot.guild.id, f"c{i}").id for i in range(11)]
    async with aiohttp.ClientSession() as session:
        dc.discord_limits(global_per_second=10)
        answers = [
            await _post(session, dc, f"/channels/{c}/messages", {"content": "x"}) for c in channels
        ]
    assert [status for status, _, _ in answers] == [200] * 10 + [429]
    _, headers, body = answers[10]
    assert body["global"] is True and body["message"] == "You are being rate limited."
    assert 0 < body["retry_after"] <= 1.0
    assert headers["X-RateLimit-Global"] == "true"
    assert headers["X-RateLimit-Scope"] == "global"
    assert headers["Retry-After"] == "1" and headers["Via"] == "1.1 google"
    assert "X-RateLimit-Bucket" not in headers  # the global limit is no route's bucket
    iid = await dc.send_slash_command(
        "remind", {"when": "today"}, user_id=bot.user.id, guild_id=bot.guild.id
    )
    (callback,) = await dc.wait_for_responses(iid)  # exempt, within the same second
    assert callback.content == "Reminder today -10m"
    assert dc.max_in_any_window(1.0, path_pattern=r"/channels/\d+/messages") == 10
    assert [r.limited for r in dc.too_many()] == ["global"]
