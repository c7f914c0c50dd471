"""`--only discord`: a DM fan-out and an announcement on a fake Discord that holds the bot to
Discord's limits, summit-bot against naive discord.py in the same run (issue 17, items 3-4).

The fake Discord (tests/fakes/discord) runs in the bench's own process and answers with
Discord's rate limits: 50 requests a second per bot (interactions exempt), per-route buckets
(a message: 5 per 5 s per channel; opening a DM: a bucket of its own) and their 429s. The
measured side runs in a process of its own, `python -m bench.discord 'JSON'`:

- `engine`: the worker with its Discord adapter; one reminder to `count` subscribers by DM
  (no DM channel known yet: each is opened, then remembered) and to `channels` announcement
  channels. Meanwhile the bench sends `asks` slash commands from other users, one every
  `every` seconds, and times each interaction's first answer (Discord wants it within 3 s).
- `naive`: discord.py's documented way, `asyncio.gather` over `user.send` and
  `channel.send`, the same messages, against the same fake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bench.common import (
    UTC,
    median,
    percentile,
    run_json,
    run_scenario,
    seed_subscribers,
    summit_at,
    warmed_up,
)

if TYPE_CHECKING:
    from bench.__main__ import Report
    from tests.fakes.discord import FakeDiscord

GLOBAL = 50  # Discord's global limit, requests per second per bot
GOAL_RATE = 0.9
FIRST_USER = 800_000_000_000_000_001  # the subscribers' user ids: FIRST_USER, FIRST_USER + 1, ...
FIRST_ASKER = 810_000_000_000_000_001
MESSAGES = r"/channels/\d+/messages"
DM_OPEN = "/users/@me/channels"
EXEMPT = ("/interactions/", "/webhooks/")


# --- the measured side (its own process) ---------------------------------------------------


async def engine(args: dict[str, Any]) -> dict[str, Any]:
    """One reminder through the worker and its Discord adapter, to DMs and channels."""
    from bench.worker import _db_url, _wait_final
    from bot.adapters.discord import DiscordAdapter
    from bot.app import Worker
    from bot.config import (
        AnnouncementChannels,
        Delivery,
        DiscordConfig,
        Reminders,
        Settings,
    )
    from bot.store import Store

    count, channels = int(args["count"]), [str(c) for c in args["channels"]]
    settings = replace(
        Settings(),
        reminders=replace(Reminders(), default_offsets=(0,)),
        delivery=replace(Delivery(), progress_every=0),
        announcement_channels=AnnouncementChannels(discord=tuple(channels)),
        discord=DiscordConfig(guild_ids=(str(args["guild"]),), scheduled_events=False),
    )
    store = await Store.open(_db_url(args))
    await seed_subscribers(store, "discord", count, first_chat_id=FIRST_USER)
    warmed_up()
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=float(args.get("lead", 5.0)))
    env = {
        "DISCORD_BOT_TOKEN": args["token"],
        "DISCORD_API_BASE_URL": args["api"],
        "DISCORD_GATEWAY_URL": args["gateway"],
    }
    worker = Worker(settings, summit_at(due), store, [DiscordAdapter.from_env(env, settings)])
    await worker.start()
    cpu0 = time.process_time()
    counts = await _wait_final(store, count + len(channels), within=float(args["timeout"]))
    done = time.time()
    cpu = time.process_time() - cpu0
    await asyncio.sleep(float(args.get("linger", 2.0)))  # the last commands' answers
    await worker.stop()
    await store.close()
    return {"due": due.timestamp(), "done": done, "cpu": cpu, "counts": counts}


async def naive(args: dict[str, Any]) -> dict[str, Any]:
    """discord.py's way: log in, then `gather` over `user.send` and `channel.send`."""
    import discord

    from bot.adapters.discord.render import Renderer
    from bot.render import Reader, render_reminder
    from tests.support.discord_rig import point_discord_at

    count = int(args["count"])
    logging.getLogger("discord").setLevel(logging.ERROR)  # a line per 429 otherwise
    point_discord_at(args["api"], args["gateway"])  # this process has one client
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=float(args.get("lead", 5.0)))
    schedule = summit_at(due)
    message = render_reminder(schedule, schedule.sessions[0], Reader("en", "Asia/Taipei"), due)
    assert message is not None
    (post,) = Renderer(2000).posts(message, mention=None)
    client = discord.Client(intents=discord.Intents.default())
    await client.login(args["token"])
    state = client._connection  # users as the gateway would have given them: no request
    payloads: list[Any] = [
        {"id": str(FIRST_USER + i), "username": f"v{i}", "discriminator": "0", "avatar": None}
        for i in range(count)
    ]
    users = [state.store_user(data) for data in payloads]
    targets: list[discord.abc.Messageable] = [
        *users,
        *(client.get_partial_messageable(int(c)) for c in args["channels"]),
    ]
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()))  # the job fires at `due`
    cpu0 = time.process_time()
    sends = [asyncio.ensure_future(t.send(post.content, **post.parts())) for t in targets]
    finished, unfinished = await asyncio.wait(sends, timeout=float(args["timeout"]))
    for task in unfinished:
        task.cancel()
    done = time.time()
    cpu = time.process_time() - cpu0
    await asyncio.gather(*unfinished, return_exceptions=True)
    await client.close()
    errors: dict[str, int] = {}
    if unfinished:
        errors["unsent at the deadline"] = len(unfinished)
    for task in finished:
        error = task.exception()
        if error is not None:
            name = f"{type(error).__name__} {getattr(error, 'status', '')}".strip()
            errors[name] = errors.get(name, 0) + 1
    return {"due": due.timestamp(), "done": done, "cpu": cpu, "errors": errors}


# --- the bench's side: the fake, the commands, the figures ---------------------------------


def _world(dc: FakeDiscord, count: int, channels: int, asks: int) -> dict[str, Any]:
    """Subscribers, askers and a guild with the announcement channels; Discord's limits on."""
    for i in range(count):
        dc.add_user(f"v{i}", user_id=FIRST_USER + i)
    askers = [dc.add_user(f"a{i}", user_id=FIRST_ASKER + i).id for i in range(asks)]
    names = [f"news-{i}" for i in range(channels)]
    guild = dc.add_guild(
        "Summit", text_channels=("general", *names), announcement_channels=(), members=askers
    )
    dc.discord_limits(GLOBAL)
    return {
        "guild": guild.id,
        "general": guild.channel("general").id,
        "channels": [guild.channel(n).id for n in names],
        "askers": askers,
    }


async def _ask(dc: FakeDiscord, world: dict[str, Any], every: float) -> list[int]:
    """Once the fan-out is under way, one slash command from each asker, `every` s apart."""
    await dc.wait_until(
        lambda: bool(dc.requests_matching("POST", MESSAGES)), 120, lambda: "the fan-out"
    )
    asked = []
    for user_id in world["askers"]:
        asked.append(
            await dc.send_slash_command(
                "mysubs", user_id=user_id, guild_id=world["guild"], channel_id=world["general"]
            )
        )
        await asyncio.sleep(every)
    return asked


def _latencies(dc: FakeDiscord, asked: list[int]) -> dict[str, Any]:
    """Each command's first answer (its interaction callback), from the fake's clock."""
    waits, deferred = [], 0
    for iid in asked:
        inter = dc.interaction(iid)
        callbacks = [r for r in inter.responses if r.kind == "callback"]
        if not callbacks:
            waits.append(float("inf"))
            continue
        waits.append(callbacks[0].time - inter.created)
        deferred += callbacks[0].type == 5
    answered = [w for w in waits if w != float("inf")]
    return {
        "p99": percentile(waits, 99),
        "p50": percentile(waits, 50),
        "max": max(waits),
        "unanswered": len(waits) - len(answered),
        "over_3s": sum(1 for w in waits if w > 3.0),
        "deferred": deferred,
    }


def _worst(times: list[float]) -> int:
    """The most of `times` (sorted) within any span shorter than a second."""
    worst = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        worst = max(worst, end - start + 1)
    return worst


def figures(dc: FakeDiscord, world: dict[str, Any], count: int) -> dict[str, Any]:
    """429s, the sustained rate, the worst second, what arrived, from the fake's records."""
    bot = [r for r in dc.requests if not r.path.startswith(EXEMPT)]
    work = [r for r in bot if r.method == "POST" and (r.path == DM_OPEN or "/messages" in r.path)]
    accepted = sorted(r.time for r in work if r.status == 200)
    first, last = accepted[0], accepted[-1]
    # Sustained: the whole seconds in the middle (first and last left out), every request
    # the bot made in them that Discord took.
    seconds = max(int(last - first) - 1, 1)
    middle = [r for r in bot if r.status != 429 and first + 1 <= r.time < first + 1 + seconds]
    delivered = sum(1 for i in range(count) if dc.dm_messages_to(FIRST_USER + i))
    twice = sum(1 for i in range(count) if len(dc.dm_messages_to(FIRST_USER + i)) > 1)
    posted = sum(1 for c in world["channels"] if dc.messages_in(c))
    return {
        "too_many": sum(1 for r in bot if r.status == 429),
        "global_429": sum(1 for r in bot if r.limited == "global"),
        "rate": len(middle) / seconds,
        "worst_window": _worst(sorted(r.time for r in bot)),
        "lost": count - delivered + len(world["channels"]) - posted,
        "duplicates": twice,
        "dm_opens": sum(1 for r in work if r.path == DM_OPEN and r.status == 200),
        "duration": last - first,
    }


async def _one(name: str, count: int, channels: int, asks: int, every: float) -> dict[str, Any]:
    """One run of one approach against a fresh fake; its figures."""
    from tests.fakes.discord import FakeDiscord

    async with FakeDiscord() as dc:
        world = _world(dc, count, channels, asks if name == "engine" else 0)
        args = {
            "scenario": name,
            "count": count,
            "channels": world["channels"],
            "guild": world["guild"],
            "token": dc.token,
            "api": dc.api_base_url,
            "gateway": dc.gateway_url,
            "timeout": 60 + 4 * count / GLOBAL,
        }
        asking = asyncio.ensure_future(_ask(dc, world, every)) if name == "engine" else None
        result = await run_json("bench.discord", args)
        found = figures(dc, world, count)
        if asking is not None:
            found["asks"] = _latencies(dc, await asking)
    found["cpu"] = result["cpu"]
    found["errors"] = result.get("errors", {})
    return found


async def section(report: Report, quick: bool, repeat: int) -> None:
    """Both approaches, `repeat` times each, alternately; the medians in the report."""
    count, channels = (300, 20) if quick else (3000, 20)
    asks, every = (50, 0.1) if quick else (200, 0.1)
    runs: dict[str, list[dict[str, Any]]] = {"engine": [], "naive": []}
    for _ in range(repeat):
        for name in runs:
            found = await _one(name, count, channels, asks, every)
            runs[name].append(found)
            print(f"  discord {name}: {json.dumps(found)}", file=sys.stderr)
    report.raw["discord"] = runs

    def med(name: str, key: str) -> float:
        return median([float(r[key]) for r in runs[name]])

    section = f"17.3 Discord: {count:,} DMs + {channels} channels at {GLOBAL} req/s"
    too_many = med("engine", "too_many")
    report.add(
        section,
        "429s received",
        "0",
        f"{too_many:.0f}",
        f"{med('naive', 'too_many'):.0f}",
        too_many == 0,
    )
    rate = med("engine", "rate") / GLOBAL
    report.add(
        section,
        f"sustained requests/s / {GLOBAL}",
        f">= {GOAL_RATE}",
        f"{rate:.3f}",
        f"{med('naive', 'rate') / GLOBAL:.3f}",
        rate >= GOAL_RATE,
    )
    worst = med("engine", "worst_window")
    report.add(
        section,
        "most requests in any 1 s",
        f"<= {GLOBAL}",
        f"{worst:.0f}",
        f"{med('naive', 'worst_window'):.0f}",
        worst <= GLOBAL,
    )
    lost = med("engine", "lost") + med("engine", "duplicates")
    report.add(
        section,
        "messages lost (+ sent twice)",
        "0",
        f"{med('engine', 'lost'):.0f} (+{med('engine', 'duplicates'):.0f})",
        f"{med('naive', 'lost'):.0f} (+{med('naive', 'duplicates'):.0f})",
        lost == 0,
    )
    opens = med("engine", "dm_opens")
    report.add(
        section,
        "DM channels opened",
        f"{count:,} (once each)",
        f"{opens:,.0f}",
        f"{med('naive', 'dm_opens'):,.0f}",
        opens == count,
    )
    report.add(
        section,
        "fan-out duration",
        f"~{(2 * count + channels) / GLOBAL:.0f} s",
        f"{med('engine', 'duration'):.1f} s",
        f"{med('naive', 'duration'):.1f} s",
    )
    asked = [r["asks"] for r in runs["engine"]]
    p99 = median([a["p99"] for a in asked])
    over = median([a["over_3s"] + a["unanswered"] for a in asked])
    report.add(
        f"17.4 Discord: {asks} commands during a fan-out",
        "answer latency p99 (p50)",
        "<= 1 s",
        f"{p99 * 1000:.0f} ms ({median([a['p50'] for a in asked]) * 1000:.0f} ms)",
        "",
        p99 <= 1.0,
    )
    report.add(
        f"17.4 Discord: {asks} commands during a fan-out",
        "slowest first answer (deferred: Discord's 'thinking…')",
        "< 3 s",
        f"{median([a['max'] for a in asked]) * 1000:.0f} ms"
        f" ({median([a['deferred'] for a in asked]):.0f} deferred)",
        "",
    )
    report.add(
        f"17.4 Discord: {asks} commands during a fan-out",
        "answered later than 3 s, or never",
        "0",
        f"{over:.0f}",
        "",
        over == 0,
    )


SCENARIOS = {"engine": engine, "naive": naive}


def main() -> None:
    """Run the scenario the JSON argument names."""
    run_scenario(SCENARIOS)


if __name__ == "__main__":
    main()
