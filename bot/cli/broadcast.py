"""`summit-bot broadcast`: preview, or queue, an announcement that the running worker sends."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
from typing import TextIO

from bot.app import open_store
from bot.audience import Audience
from bot.broadcasts import BroadcastError, Broadcasts, describe_audience, parse_audience
from bot.cli.common import (
    Clock,
    Context,
    Subcommands,
    add_common,
    database_missing,
    load_inputs,
    open_existing_store,
    parse_moment,
)
from bot.config import Settings
from bot.i18n import normalize_language
from bot.schedule import Schedule
from bot.store import Author
from bot.untrusted import clean_text


def add_broadcast_parser(sub: Subcommands) -> None:
    """Add `summit-bot broadcast --text [LANG=]TEXT ... [--to WHO] [--at WHEN] [--yes]`."""
    cast = sub.add_parser("broadcast", help="send an announcement through the running worker")
    add_common(cast)
    cast.add_argument(
        "--text",
        action="append",
        required=True,
        metavar="[LANG=]TEXT",
        help="the text, once per language: --text 'en=Hello' --text 'zh-TW=你好'",
    )
    cast.add_argument(
        "--to", default="all", help="all (default), a session id, a language (zh-TW) or channels"
    )
    cast.add_argument(
        "--at",
        type=parse_moment,
        metavar="WHEN",
        help="send time: +MINUTES or an ISO date-time with a zone (default: now)",
    )
    cast.add_argument("--yes", action="store_true", help="send it (without: preview only)")
    cast.add_argument(
        "--wait",
        action="store_true",
        help="stay until it is delivered, printing progress and the final report",
    )
    cast.set_defaults(handler=cmd_broadcast)


def cmd_broadcast(args: argparse.Namespace, context: Context) -> int:
    """Preview, or with --yes queue, a broadcast in the ledger the worker drains."""
    loaded = load_inputs(args, context.err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    now = context.clock()
    texts: dict[str, str] = {}
    for item in args.text:
        lang, sep, body = item.partition("=")
        code = normalize_language(lang) if sep else None
        if code is None or code not in schedule.event.languages:
            code, body = schedule.event.languages[0], item
        # Like a broadcast typed in a chat: what the arguments carry is made safe to send.
        texts[code] = clean_text(body)
    try:
        audience = parse_audience(args.to, schedule)
    except BroadcastError:
        sessions = ", ".join(s.id for s in schedule.sessions)
        print(
            f"error: --to: no audience called {args.to!r}; use all, channels, a session "
            f"({sessions}) or a language ({', '.join(schedule.event.languages)})",
            file=context.err,
        )
        return 2
    send_at = args.at(now) if args.at else now
    return asyncio.run(
        _broadcast(settings, schedule, texts, audience, send_at, args, context.out, context.clock)
    )


async def _broadcast(
    settings: Settings,
    schedule: Schedule,
    texts: dict[str, str],
    audience: Audience,
    send_at: dt.datetime,
    args: argparse.Namespace,
    out: TextIO,
    clock: Clock,
) -> int:
    # A preview only looks: with no database yet there is nobody to count, and none is made.
    store = await (open_store(settings) if args.yes else open_existing_store(settings))
    if store is None:
        print(f"No database at {database_missing(settings)} yet: nobody to reach.", file=out)
    try:
        counts = await store.broadcasts.count_audience(audience) if store is not None else {}
        print(
            f"To {describe_audience(audience, 'en', schedule)}: {sum(counts.values())} chats "
            f"({', '.join(f'{p} {n}' for p, n in sorted(counts.items())) or 'none'}), "
            f"at {send_at:%Y-%m-%d %H:%M} UTC",
            file=out,
        )
        for code, body in texts.items():
            print(f"  [{code}] {body}", file=out)
        if store is None or not args.yes:
            print("Preview only: add --yes to send it.", file=out)
            return 0
        now = clock()
        actor = os.environ.get("USER", "operator")
        record = await store.broadcasts.create(
            created_by=Author.cli(actor),
            origin_platform="cli",
            texts=texts,
            audience=audience,
            send_at=send_at,
            now=now,
            status="scheduled",
        )
        await store.audit.record(
            platform="cli",
            actor=actor,
            action="broadcast",
            detail={"broadcast": record.id, "audience": audience.as_json()},
            allowed=True,
            now=now,
        )
        rows = await Broadcasts(store, settings).enqueue(record.id, now=now)
        print(
            f"Broadcast #{record.id} queued: {rows} messages; the running worker sends them.",
            file=out,
        )
        while args.wait:
            await asyncio.sleep(1)  # progress for a person watching, not a test
            done = await store.ledger.delivery_counts(broadcast_id=record.id)
            waiting = done.get("pending", 0) + done.get("sending", 0)
            elapsed = (clock() - send_at).total_seconds()
            print(
                f"#{record.id}: {done.get('sent', 0)} sent, {done.get('blocked', 0)} blocked, "
                f"{done.get('failed', 0)} failed, {waiting} waiting, {max(elapsed, 0):.0f} s",
                file=out,
                flush=True,
            )
            if not waiting:
                break
        return 0
    finally:
        if store is not None:
            await store.close()
