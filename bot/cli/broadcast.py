"""`summit-bot broadcast`: preview, or queue, an announcement that the running worker sends."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
from collections.abc import Sequence
from typing import TextIO

from bot.app import open_store
from bot.audience import Audience
from bot.broadcasts import (
    BroadcastError,
    Broadcasts,
    audience_groups,
    describe_audience,
    parse_audience,
)
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
from bot.constants import still_waiting
from bot.i18n import normalize_language
from bot.schedule import Schedule
from bot.store import Author
from bot.untrusted import clean_text

# What a "LANG=" prefix looks like: a language tag ("fr", "zh-TW", "pt_BR"); "A=B" is text.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


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


def counted(count: int, noun: str) -> str:
    """ "1 chat", "2 chats": the command line speaks English, whose plural is one "s"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _language_of(prefix: str, languages: Sequence[str]) -> str | None:
    """The event language `prefix` names, spelt as /language accepts it ("zh_tw", "中文")."""
    folded = prefix.casefold().replace("_", "-")
    exact = next((code for code in languages if code.casefold() == folded), None)
    code = exact or normalize_language(prefix)
    return code if code in languages else None


def parse_cli_texts(
    items: Sequence[str], languages: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """`--text` values → (text by language, one error line per bad value).

    "LANG=TEXT" is LANG's text when LANG names a language (a tag such as "fr" or "zh-TW",
    or a name /language accepts); an unmarked text is the event's first language's. A
    language the event does not have, or a second text for one language, is an error: a
    text is never dropped without a word.
    """
    texts: dict[str, str] = {}
    errors: list[str] = []
    for item in items:
        prefix, sep, body = item.partition("=")
        marked = sep and (_LANGUAGE_TAG.fullmatch(prefix) or normalize_language(prefix))
        code = _language_of(prefix, languages) if marked else languages[0]
        # Like a broadcast typed in a chat: what the arguments carry is made safe to send.
        text = clean_text(body if marked else item)
        if code is None:
            use = " or ".join(languages)
            errors.append(f"--text {item!r}: {prefix} is not a language of this event; use {use}")
        elif code in texts:
            errors.append(f"--text {item!r}: a second text for {code}; give one per language")
        elif not text:
            errors.append(f"--text {item!r}: the text is empty")
        else:
            texts[code] = text
    return texts, errors


def cmd_broadcast(args: argparse.Namespace, context: Context) -> int:
    """Preview, or with --yes queue, a broadcast in the ledger the worker drains."""
    loaded = load_inputs(args, context.err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    now = context.clock()
    texts, errors = parse_cli_texts(args.text, schedule.event.languages)
    for error in errors:
        print(f"error: {error}", file=context.err)
    if errors:
        return 2
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
        groups = audience_groups(audience, schedule)
        counts = (
            await store.broadcasts.count_audience(audience, groups) if store is not None else {}
        )
        print(
            f"To {describe_audience(audience, 'en', schedule)}: "
            f"{counted(sum(counts.values()), 'chat')} "
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
        rows = await Broadcasts(store, settings).enqueue(record.id, now=now, schedule=schedule)
        print(
            f"Broadcast #{record.id} queued: {counted(rows, 'message')}; "
            "the running worker sends them.",
            file=out,
        )
        while args.wait:
            await asyncio.sleep(1)  # progress for a person watching, not a test
            done = await store.ledger.delivery_counts(broadcast_id=record.id)
            waiting = still_waiting(done)
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
