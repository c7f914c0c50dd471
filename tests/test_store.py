"""Tests for bot.store: chats, subscriptions, the delivery ledger, audit, refs, URLs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from bot.audience import Audience
from bot.constants import BroadcastStatus
from bot.store import (
    Author,
    ChatRecord,
    NewDelivery,
    Store,
    decode_offsets,
    encode_offsets,
    mask_password,
    normalize_database_url,
)
from bot.store.tables import Broadcast, Delivery

NOW = datetime(2020, 8, 13, 9, 0, tzinfo=UTC)
START = datetime(2020, 8, 13, 10, 0, tzinfo=UTC)
DEFAULTS = (1440, 60, 0)


async def _chat(store: Store, chat_id: str, platform: str = "telegram") -> ChatRecord:
    chat, _ = await store.chats.get_or_create(platform, chat_id, now=NOW)
    return chat


async def _subscribed_chat(
    store: Store, chat_id: str, *sessions: str, platform: str = "telegram"
) -> ChatRecord:
    chat = await _chat(store, chat_id, platform)
    for session in sessions:
        await store.chats.subscribe(chat.pk, session, now=NOW)
    return chat


async def _enqueue(store: Store, ref: str = "s1:60:1597312800", **kw: object) -> int:
    args: dict[str, object] = {
        "session_id": "s1",
        "kind": "reminder",
        "ref": ref,
        "due_at": START - timedelta(minutes=60),
        "offset_minutes": None,
        "default_offsets": DEFAULTS,
        "now": NOW,
    }
    args.update(kw)
    return await store.ledger.enqueue_session_audience(**args)  # type: ignore[arg-type]


async def _ledger(store: Store) -> list[tuple[int, str, str]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Delivery.chat_pk, Delivery.ref, Delivery.status).order_by(
                Delivery.chat_pk, Delivery.ref
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


# ------------------------------------------------------------------------------ URLs


def test_normalize_database_url_default(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    url = normalize_database_url(None, data_dir)
    assert data_dir.is_dir()
    assert url == f"sqlite+aiosqlite:///{data_dir.resolve() / 'summit-bot.sqlite3'}"
    assert normalize_database_url("  ", data_dir) == url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///{tmp}/a.db", "sqlite+aiosqlite:///{tmp}/a.db"),
        ("sqlite+aiosqlite:///{tmp}/a.db", "sqlite+aiosqlite:///{tmp}/a.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgres://u:p@h/db?sslmode=require", "postgresql+asyncpg://u:p@h/db?ssl=require"),
    ],
)
def test_normalize_database_url_accepted(tmp_path: Path, given: str, expected: str) -> None:
    tmp = str(tmp_path)
    assert normalize_database_url(given.format(tmp=tmp), tmp_path) == expected.format(tmp=tmp)


@pytest.mark.parametrize(
    "url", ["mysql://admin:s3cret@db/x", "mongodb://admin:s3cret@db", "admin:s3cret@db"]
)
def test_normalize_database_url_rejects_without_leaking_password(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="accepted") as info:
        normalize_database_url(url, tmp_path)
    assert "s3cret" not in str(info.value)
    if "://" in url:
        assert url.split("://")[0] in str(info.value)


def test_normalize_database_url_rejects_memory_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="in-memory"):
        normalize_database_url("sqlite://", tmp_path)
    with pytest.raises(ValueError, match="in-memory"):
        normalize_database_url("sqlite:///:memory:", tmp_path)


def test_mask_password() -> None:
    assert (
        mask_password("postgresql://bot:p@ss:w0rd@db:5432/x") == "postgresql://bot:***@db:5432/x"
    )
    assert mask_password("postgresql://bot@db/x") == "postgresql://bot@db/x"


def test_offsets_encoding() -> None:
    assert encode_offsets([0, 1440, 60, 60]) == ",1440,60,0,"
    assert encode_offsets([]) == ","
    assert encode_offsets(None) is None
    assert decode_offsets(",1440,60,0,") == (1440, 60, 0)
    assert decode_offsets(",") == ()
    assert decode_offsets(None) is None
    with pytest.raises(ValueError):
        encode_offsets([-5])


# ----------------------------------------------------------------------------- chats


async def test_chat_create_and_get(store: Store) -> None:
    chat, created = await store.chats.get_or_create(
        "telegram", "-100123", now=NOW, user_id="77", kind="group", language="es"
    )
    assert created
    assert chat.platform == "telegram" and chat.chat_id == "-100123"
    assert (chat.user_id, chat.kind, chat.language, chat.status) == ("77", "group", "es", "active")
    assert chat.offsets is None and chat.quiet is None and chat.timezone is None

    again, created = await store.chats.get_or_create("telegram", "-100123", now=NOW)
    assert not created and again == chat
    assert await store.chats.get("telegram", "-100123") == chat
    assert await store.chats.get_by_pk(chat.pk) == chat
    assert await store.chats.get("discord", "-100123") is None
    assert await store.chats.get_by_pk(chat.pk + 1000) is None
    with pytest.raises(ValueError, match="chat kind"):
        await store.chats.get_or_create("telegram", "1", now=NOW, kind="supergroup")


async def test_get_or_create_chat_is_race_safe(store: Store) -> None:
    results = await asyncio.gather(
        *(store.chats.get_or_create("discord", "555", now=NOW) for _ in range(8))
    )
    assert sum(created for _, created in results) == 1
    assert len({chat.pk for chat, _ in results}) == 1


async def test_update_chat(store: Store) -> None:
    chat = await _chat(store, "1")
    updated = await store.chats.update(
        chat.pk,
        now=NOW,
        language="pt",
        timezone="America/Bogota",
        tz_label="Medellín, Colombia",
        offsets=[0, 1440, 60],
        quiet=("22:00", "07:30"),
    )
    assert updated is not None
    assert updated.language == "pt" and updated.timezone == "America/Bogota"
    assert updated.tz_label == "Medellín, Colombia"
    assert updated.offsets == (1440, 60, 0) and updated.quiet == ("22:00", "07:30")
    assert await store.chats.get_by_pk(chat.pk) == updated

    # Only the named fields change; None is stored explicitly.
    cleared = await store.chats.update(chat.pk, now=NOW, offsets=None, quiet=None, language=None)
    assert cleared is not None
    assert cleared.offsets is None and cleared.quiet is None and cleared.language is None
    assert cleared.timezone == "America/Bogota"

    off = await store.chats.update(chat.pk, now=NOW, offsets=[], status="blocked")
    assert off is not None and off.offsets == () and off.status == "blocked"

    with pytest.raises(ValueError, match="quiet"):
        await store.chats.update(chat.pk, now=NOW, quiet=("25:00", "07:00"))
    with pytest.raises(ValueError, match="chat status"):
        await store.chats.update(chat.pk, now=NOW, status="gone")
    assert await store.chats.update(chat.pk + 1000, now=NOW, language="en") is None


async def test_migrate_chat_to_unknown_id_keeps_everything(store: Store) -> None:
    chat = await _subscribed_chat(store, "-1", "s1", "s2")
    assert await _enqueue(store) == 1
    await store.chats.migrate("telegram", "-1", "-1001", now=NOW)

    assert await store.chats.get("telegram", "-1") is None
    moved = await store.chats.get("telegram", "-1001")
    assert moved is not None and moved.pk == chat.pk
    assert await store.chats.subscriptions(chat.pk) == {"s1", "s2"}
    assert await _ledger(store) == [(chat.pk, "s1:60:1597312800", "pending")]
    # Unknown old id: nothing happens.
    await store.chats.migrate("telegram", "-404", "-1404", now=NOW)


async def test_migrate_chat_merges_into_existing_id(store: Store) -> None:
    old = await _subscribed_chat(store, "-2", "s1", "s2")
    await store.chats.update(
        old.pk, now=NOW, language="es", offsets=[60], quiet=("23:00", "06:00")
    )
    new = await _subscribed_chat(store, "-1002", "s2", "s3")
    await store.chats.update(new.pk, now=NOW, timezone="Europe/Madrid")
    await _enqueue(store, ref="s1:60:1")  # old only
    await _enqueue(store, ref="s2:60:1", session_id="s2")  # both: the new chat's row wins

    await store.chats.migrate("telegram", "-2", "-1002", now=NOW)

    assert await store.chats.get("telegram", "-2") is None
    assert await store.chats.get_by_pk(old.pk) is None
    merged = await store.chats.get("telegram", "-1002")
    assert merged is not None and merged.pk == new.pk
    assert merged.language == "es" and merged.timezone == "Europe/Madrid"
    assert merged.offsets == (60,) and merged.quiet == ("23:00", "06:00")
    assert await store.chats.subscriptions(new.pk) == {"s1", "s2", "s3"}
    assert await _ledger(store) == [(new.pk, "s1:60:1", "pending"), (new.pk, "s2:60:1", "pending")]


# --------------------------------------------------------------------- subscriptions


async def test_subscribe_and_unsubscribe(store: Store) -> None:
    chat = await _chat(store, "1")
    assert await store.chats.subscribe(chat.pk, "s1", now=NOW)
    assert not await store.chats.subscribe(chat.pk, "s1", now=NOW)
    assert await store.chats.subscribe(chat.pk, "*", now=NOW)
    assert await store.chats.subscribe(chat.pk, "s2", now=NOW)
    assert await store.chats.subscriptions(chat.pk) == {"s1", "s2", "*"}

    assert await store.chats.unsubscribe(chat.pk, "s1")
    assert not await store.chats.unsubscribe(chat.pk, "s1")
    assert await store.chats.subscriptions(chat.pk) == {"s2", "*"}
    assert await store.chats.unsubscribe_all(chat.pk) == 2
    assert await store.chats.subscriptions(chat.pk) == frozenset()
    assert await store.chats.unsubscribe_all(chat.pk) == 0


async def test_count_subscribers_and_stats(store: Store) -> None:
    a = await _subscribed_chat(store, "a", "s1")
    await _subscribed_chat(store, "b", "*")
    await _subscribed_chat(store, "c", "s2", platform="discord")
    await _subscribed_chat(store, "d", "s1", "*")
    gone = await _subscribed_chat(store, "e", "s1")
    await _chat(store, "f")  # no subscription
    await store.chats.update(gone.pk, now=NOW, status="left")
    await store.chats.update(a.pk, now=NOW, language="es", timezone="America/Bogota")

    assert await store.chats.count_subscribers() == 4
    assert await store.chats.count_subscribers(session_id="s1") == 3  # a, b via "*", d once
    assert await store.chats.count_subscribers(session_id="s2") == 3
    assert await store.chats.count_subscribers(session_id="s2", platform="discord") == 1
    assert await store.chats.count_subscribers(platform="telegram") == 3

    stats = await store.chats.subscriber_stats()
    assert stats["total"] == 4
    assert stats["by_platform"] == {"telegram": 3, "discord": 1}
    assert stats["by_language"] == {"es": 1, None: 3}
    assert stats["by_timezone"] == [(None, 3), ("America/Bogota", 1)]
    assert stats["by_session"] == {"s1": 2, "*": 2, "s2": 1}


# ---------------------------------------------------------------------------- ledger


async def test_enqueue_session_audience_and_idempotence(store: Store) -> None:
    a = await _subscribed_chat(store, "a", "s1")
    b = await _subscribed_chat(store, "b", "*")
    await _subscribed_chat(store, "c", "s2")
    d = await _subscribed_chat(store, "d", "s1", "*")
    blocked = await _subscribed_chat(store, "e", "s1")
    await store.chats.update(blocked.pk, now=NOW, status="blocked")
    discord = await _subscribed_chat(store, "f", "s1", platform="discord")

    assert await _enqueue(store) == 4
    assert await _enqueue(store) == 0
    assert await _enqueue(store, due_at=NOW) == 0  # same (chat, kind, ref): still one row
    ref = "s1:60:1597312800"
    assert await _ledger(store) == [
        (a.pk, ref, "pending"),
        (b.pk, ref, "pending"),
        (d.pk, ref, "pending"),
        (discord.pk, ref, "pending"),
    ]
    assert await store.ledger.pending_count() == 4
    assert await store.ledger.pending_count("discord") == 1
    with pytest.raises(ValueError, match="delivery kind"):
        await _enqueue(store, kind="sms")


async def test_enqueue_filters_on_offsets(store: Store) -> None:
    default = await _subscribed_chat(store, "default", "s1")
    sixty = await _subscribed_chat(store, "sixty", "s1")
    day = await _subscribed_chat(store, "day", "s1")
    off = await _subscribed_chat(store, "off", "s1")
    ten = await _subscribed_chat(store, "ten", "s1")
    await store.chats.update(sixty.pk, now=NOW, offsets=[60, 0])
    await store.chats.update(day.pk, now=NOW, offsets=[1440])
    await store.chats.update(off.pk, now=NOW, offsets=[])
    await store.chats.update(ten.pk, now=NOW, offsets=[10])

    async def audience(minutes: int, defaults: tuple[int, ...] = (60, 0)) -> set[int]:
        ref = f"s1:{minutes}:{defaults}"
        await _enqueue(store, ref=ref, offset_minutes=minutes, default_offsets=defaults)
        return {pk for pk, r, _ in await _ledger(store) if r == ref}

    assert await audience(60) == {default.pk, sixty.pk}
    assert await audience(0) == {default.pk, sixty.pk}  # ",10," must not match 0
    assert await audience(1440) == {day.pk}
    assert await audience(10) == {ten.pk}
    assert await audience(15) == set()
    assert await audience(1440, (1440,)) == {default.pk, day.pk}


async def test_enqueue_quiet_profiles_and_chat_pks(store: Store) -> None:
    loud = await _subscribed_chat(store, "loud", "s1")
    q1 = await _subscribed_chat(store, "q1", "s1")
    q2 = await _subscribed_chat(store, "q2", "*")
    q3 = await _subscribed_chat(store, "q3", "s1")
    other = await _subscribed_chat(store, "other", "s2")
    await store.chats.update(q1.pk, now=NOW, timezone="Europe/Madrid", quiet=("22:00", "07:00"))
    await store.chats.update(q2.pk, now=NOW, timezone="Europe/Madrid", quiet=("22:00", "07:00"))
    await store.chats.update(q3.pk, now=NOW, quiet=("23:00", "08:00"), offsets=[60])
    await store.chats.update(other.pk, now=NOW, timezone="Asia/Tokyo", quiet=("22:00", "07:00"))

    assert await _enqueue(store, ref="r1", only_without_quiet=True) == 1
    assert {pk for pk, r, _ in await _ledger(store) if r == "r1"} == {loud.pk}

    assert await store.chats.quiet_profiles("s1") == [
        (None, "23:00", "08:00", (60,)),
        ("Europe/Madrid", "22:00", "07:00", None),
    ]
    madrid = await store.chats.with_profile("s1", "Europe/Madrid", "22:00", "07:00")
    assert madrid == sorted([q1.pk, q2.pk])
    assert await store.chats.with_profile("s1", None, "23:00", "08:00") == [q3.pk]

    assert await _enqueue(store, ref="r1", chat_pks=madrid, due_at=NOW) == 2
    assert await _enqueue(store, ref="r1", chat_pks=[other.pk]) == 0  # not subscribed to s1
    assert await _enqueue(store, ref="r1", chat_pks=[]) == 0
    assert {pk for pk, r, _ in await _ledger(store) if r == "r1"} == {loud.pk, q1.pk, q2.pk}


async def test_offsets_in_use(store: Store) -> None:
    await _subscribed_chat(store, "default", "s1")
    custom = await _subscribed_chat(store, "custom", "*")
    off = await _subscribed_chat(store, "off", "s2")
    blocked = await _subscribed_chat(store, "blocked", "s1")
    lurker = await _chat(store, "lurker")  # no subscription
    await store.chats.update(custom.pk, now=NOW, offsets=[0, 60])
    await store.chats.update(off.pk, now=NOW, offsets=[])
    await store.chats.update(blocked.pk, now=NOW, offsets=[5], status="blocked")
    await store.chats.update(lurker.pk, now=NOW, offsets=[10])
    assert await store.chats.offsets_in_use() == {None, (60, 0), ()}


async def test_expire_superseded_keeps_only_the_latest_due(store: Store) -> None:
    a = await _chat(store, "a")
    b = await _chat(store, "b")

    def reminder(pk: int, ref: str, due: datetime, session: str = "s1") -> NewDelivery:
        return NewDelivery(pk, "reminder", ref, due, session_id=session)

    await store.ledger.enqueue_chats(
        [
            reminder(a.pk, "s1:60", NOW - timedelta(minutes=60)),
            reminder(a.pk, "s1:10", NOW - timedelta(minutes=10)),
            reminder(a.pk, "s1:0", NOW),
            reminder(a.pk, "s2:60", NOW - timedelta(minutes=60), session="s2"),
            reminder(b.pk, "s1:60", NOW - timedelta(minutes=60)),
            reminder(b.pk, "s1:0", NOW + timedelta(hours=1)),  # not due: supersedes nothing yet
        ],
        now=NOW,
    )
    assert await store.ledger.expire_superseded("s1", now=NOW) == 2
    assert await _ledger(store) == [
        (a.pk, "s1:0", "pending"),
        (a.pk, "s1:10", "expired"),
        (a.pk, "s1:60", "expired"),
        (a.pk, "s2:60", "pending"),
        (b.pk, "s1:0", "pending"),
        (b.pk, "s1:60", "pending"),
    ]
    assert await store.ledger.expire_superseded("s1", now=NOW) == 0


def test_an_author_reads_back_as_it_was_stored() -> None:
    for stored in ("telegram:42:7", "telegram:42", "cli:alice", "system", "discord::5"):
        assert str(Author.parse(stored)) == stored
    assert Author.parse("telegram:42:7") == Author("telegram", "42", "7")
    assert str(Author.cli("alice")) == "cli:alice" and str(Author.system()) == "system"
    assert Author.parse("system").is_system and not Author.cli("system").is_system


async def test_a_broadcast_keeps_its_author_and_audience_as_json(store: Store) -> None:
    audience = Audience.of_language("es", default="en")
    record = await store.broadcasts.create(
        created_by=Author("telegram", "42", "7"),
        origin_platform="telegram",
        texts={"en": "Hi"},
        audience=audience,
        send_at=NOW,
        now=NOW,
    )
    fetched = await store.broadcasts.get(record.id)
    assert fetched is not None and fetched.status == BroadcastStatus.SCHEDULED
    assert fetched.created_by == Author("telegram", "42", "7") and fetched.audience == audience
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(Broadcast.created_by, Broadcast.audience))).one()
    assert tuple(row) == ("telegram:42:7", {"kind": "language", "language": "es", "default": "en"})

    notes = await store.broadcasts.create(
        created_by=Author.system(),
        origin_platform="system",
        texts={"en": "Reloaded"},
        audience=Audience.organizers(),
        send_at=NOW,
        now=NOW,
        status="sending",
    )
    again = await store.broadcasts.get(notes.id)
    assert again is not None and again.created_by.is_system
    assert again.audience == Audience.organizers()
    with pytest.raises(ValueError, match="audience kind"):
        await store.broadcasts.count_audience(Audience.organizers())


async def test_enqueue_chats_explicit_rows(store: Store) -> None:
    tg = await _chat(store, "1")
    dc = await _chat(store, "2", platform="discord")
    broadcast = await store.broadcasts.create(
        created_by=Author.parse("telegram:42"),
        origin_platform="telegram",
        texts={"en": "Hello", "es": "Hola"},
        audience=Audience.from_json({"sessions": ["*"]}),
        send_at=NOW,
        now=NOW,
    )
    rows = [
        NewDelivery(tg.pk, "broadcast", f"b{broadcast.id}", NOW, broadcast_id=broadcast.id),
        NewDelivery(dc.pk, "broadcast", f"b{broadcast.id}", NOW, broadcast_id=broadcast.id),
        NewDelivery(tg.pk, "broadcast", f"b{broadcast.id}", NOW, broadcast_id=broadcast.id),
        NewDelivery(9999, "broadcast", f"b{broadcast.id}", NOW),  # unknown chat: skipped
        NewDelivery(tg.pk, "notice", "s2:moved:1597312800", NOW, session_id="s2"),
    ]
    assert await store.ledger.enqueue_chats(rows, now=NOW) == 3
    assert await store.ledger.enqueue_chats(rows, now=NOW) == 0
    assert await store.ledger.enqueue_chats([], now=NOW) == 0
    assert await store.ledger.delivery_counts(broadcast_id=broadcast.id) == {"pending": 2}
    assert await store.ledger.pending_count("discord") == 1

    claimed = await store.ledger.claim("discord", limit=10, now=NOW)
    assert [(c.kind, c.broadcast_id, c.chat.pk) for c in claimed] == [
        ("broadcast", broadcast.id, dc.pk)
    ]

    fetched = await store.broadcasts.get(broadcast.id)
    assert fetched == broadcast and fetched.texts["es"] == "Hola"
    done = await store.broadcasts.set_status(broadcast.id, "done", now=NOW + timedelta(hours=1))
    assert done is not None and done.finished_at == NOW + timedelta(hours=1)
    assert [b.id for b in await store.broadcasts.recent(status="done")] == [broadcast.id]
    assert await store.broadcasts.recent(status="scheduled") == []


async def test_claim_moves_due_rows_in_order(store: Store) -> None:
    chat = await _subscribed_chat(store, "1", "s1")
    later = await _subscribed_chat(store, "2", "s1")
    await store.ledger.enqueue_chats(
        [
            NewDelivery(chat.pk, "reminder", "s1:60:1", NOW, session_id="s1"),
            NewDelivery(chat.pk, "reminder", "s1:0:1", NOW + timedelta(hours=1), session_id="s1"),
            NewDelivery(later.pk, "reminder", "s1:60:1", NOW - timedelta(minutes=5)),
        ],
        now=NOW,
    )
    claimed = await store.ledger.claim("telegram", limit=10, now=NOW)
    assert [(c.chat.pk, c.ref) for c in claimed] == [(later.pk, "s1:60:1"), (chat.pk, "s1:60:1")]
    first = claimed[1]
    assert first.kind == "reminder" and first.session_id == "s1" and first.attempts == 1
    assert first.due_at == NOW and first.chat == chat
    assert await store.ledger.claim("telegram", limit=10, now=NOW) == []
    assert await store.ledger.claim("discord", limit=10, now=NOW + timedelta(days=1)) == []
    assert await store.ledger.delivery_counts() == {"sending": 2, "pending": 1}
    assert await store.ledger.next_due("telegram") == NOW + timedelta(hours=1)

    limited = await store.ledger.claim("telegram", limit=0, now=NOW + timedelta(days=1))
    assert limited == []
    await store.ledger.mark_sent([c.id for c in claimed], NOW)
    assert await store.ledger.delivery_counts() == {"sent": 2, "pending": 1}


@pytest.mark.parametrize("claimers", [2, 6])
async def test_concurrent_claims_are_disjoint(
    store: Store, database_url: str, claimers: int
) -> None:
    chats = [await _subscribed_chat(store, str(i), "*") for i in range(20)]
    for n in range(5):
        await _enqueue(store, ref=f"s1:{n}:1", due_at=NOW - timedelta(minutes=n))
    total = len(chats) * 5
    # Separate engines, as separate processes would have.
    others = [await Store.open(database_url) for _ in range(claimers - 1)]
    try:
        stores = [store, *others]
        batches = await asyncio.gather(
            *(s.ledger.claim("telegram", limit=total // 2 + 7, now=NOW) for s in stores)
        )
    finally:
        for other in others:
            await other.close()
    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids))
    assert len(ids) == min(total, claimers * (total // 2 + 7))
    assert await store.ledger.delivery_counts() == {"sending": len(ids)} | (
        {"pending": total - len(ids)} if total > len(ids) else {}
    )


async def test_rows_of_inactive_chats_are_not_claimed(store: Store) -> None:
    ok = await _subscribed_chat(store, "ok", "s1")
    blocked = await _subscribed_chat(store, "blocked", "s1")
    left = await _subscribed_chat(store, "left", "s1")
    earlier = NOW - timedelta(minutes=10)
    await store.ledger.enqueue_chats(
        [
            NewDelivery(blocked.pk, "reminder", "due", earlier),
            NewDelivery(left.pk, "reminder", "due", earlier),
            NewDelivery(ok.pk, "reminder", "due", NOW),
        ],
        now=NOW,
    )
    await _enqueue(store, ref="future", due_at=NOW + timedelta(hours=1))
    await store.chats.update(blocked.pk, now=NOW, status="blocked")
    await store.chats.update(left.pk, now=NOW, status="left")

    # The two oldest rows belong to inactive chats: they are settled and the batch
    # is topped up with the next row.
    claimed = await store.ledger.claim("telegram", limit=1, now=NOW)
    assert [(c.chat.pk, c.ref) for c in claimed] == [(ok.pk, "due")]
    ledger = await _ledger(store)
    assert (blocked.pk, "due", "blocked") in ledger
    assert (left.pk, "due", "blocked") in ledger
    # Not yet due: left pending, in case the chat comes back before then.
    assert (blocked.pk, "future", "pending") in ledger
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Delivery.last_error, Delivery.attempts, Delivery.claimed_at).where(
                Delivery.chat_pk == left.pk, Delivery.ref == "due"
            )
        )
        assert rows.one() == ("chat is left", 0, None)


async def test_a_chunk_written_again_queues_only_who_is_missing(store: Store) -> None:
    # A chunk of chat numbers written for the first time is a plain INSERT; written again
    # (a resumed write), partly or wholly, it skips the rows already there.
    chats = [await _subscribed_chat(store, str(i), "s1") for i in range(4)]
    low, high = chats[0].pk, chats[-1].pk + 1
    assert await _enqueue(store, chat_pks=[chats[1].pk]) == 1
    assert await _enqueue(store, pk_range=(low, high)) == 3
    assert await _enqueue(store, pk_range=(low, high)) == 0
    assert [status for _, _, status in await _ledger(store)] == ["pending"] * 4
    # Another chunk of the same reminder is fresh again.
    later = await _subscribed_chat(store, "later", "s1")
    assert await _enqueue(store, pk_range=(high, later.pk + 1)) == 1


async def test_a_row_whose_chat_is_gone_is_settled_not_sent(store: Store) -> None:
    # The ledger has no foreign key to chats (a million-row write's cost): a chat deleted
    # while a reminder's rows were written leaves a row behind, which its claim settles.
    gone = await _subscribed_chat(store, "gone", "s1")
    ok = await _subscribed_chat(store, "ok", "s1")
    await store.ledger.enqueue_chats(
        [
            NewDelivery(gone.pk, "reminder", "due", NOW - timedelta(minutes=1)),
            NewDelivery(ok.pk, "reminder", "due", NOW),
        ],
        now=NOW,
    )
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text("DELETE FROM subscriptions WHERE chat_pk = :pk"), {"pk": gone.pk}
        )
        await conn.execute(sa.text("DELETE FROM chats WHERE id = :pk"), {"pk": gone.pk})

    claimed = await store.ledger.claim("telegram", limit=1, now=NOW)
    assert [(c.chat.pk, c.ref) for c in claimed] == [(ok.pk, "due")]
    assert (gone.pk, "due", "blocked") in await _ledger(store)


async def test_mark_blocked_blocks_the_chat(store: Store) -> None:
    chat = await _subscribed_chat(store, "1", "s1")
    await _enqueue(store, ref="r1", due_at=NOW)
    await _enqueue(store, ref="r2", due_at=NOW)
    [first] = await store.ledger.claim("telegram", limit=1, now=NOW)
    await store.ledger.mark_blocked(first.id, "Forbidden: bot was blocked by the user", NOW)

    refreshed = await store.chats.get_by_pk(chat.pk)
    assert refreshed is not None and refreshed.status == "blocked"
    assert await store.ledger.delivery_counts() == {"blocked": 1, "pending": 1}
    assert await store.ledger.claim("telegram", limit=5, now=NOW) == []
    assert await store.ledger.delivery_counts() == {"blocked": 2}


async def test_retry_later_failed_expired_and_counts(store: Store) -> None:
    for i in range(3):
        await _subscribed_chat(store, str(i), "s1")
    await _enqueue(store, ref="s1:60:1", due_at=NOW)
    await _enqueue(store, ref="s_2:60:1", session_id="s1", due_at=NOW)
    retry, fail, expire, *rest = await store.ledger.claim("telegram", limit=10, now=NOW)
    later = NOW + timedelta(minutes=5)
    await store.ledger.retry_later(retry.id, later, "429 Too Many Requests", NOW)
    await store.ledger.mark_failed(fail.id, "400 Bad Request", NOW)
    await store.ledger.mark_expired(expire.id, "session started", NOW)
    await store.ledger.mark_sent([r.id for r in rest], NOW)

    assert await store.ledger.delivery_counts() == {
        "pending": 1,
        "failed": 1,
        "expired": 1,
        "sent": 3,
    }
    assert await store.ledger.delivery_counts(kind="notice") == {}
    assert sum((await store.ledger.delivery_counts(ref_prefix="s1:")).values()) == 3
    # '_' is literal in a prefix, not a LIKE wildcard.
    assert sum((await store.ledger.delivery_counts(ref_prefix="s_2:")).values()) == 3
    assert await store.ledger.delivery_counts(ref_prefix="sX2:") == {}

    assert await store.ledger.next_due("telegram") == later
    assert await store.ledger.claim("telegram", limit=10, now=later - timedelta(seconds=1)) == []
    [again] = await store.ledger.claim("telegram", limit=10, now=later)
    assert again.id == retry.id and again.attempts == 2


async def test_requeue_inflight(store: Store) -> None:
    await _subscribed_chat(store, "t", "s1")
    await _subscribed_chat(store, "d", "s1", platform="discord")
    await _enqueue(store, due_at=NOW)
    await store.ledger.claim("telegram", limit=10, now=NOW)
    await store.ledger.claim("discord", limit=10, now=NOW)
    assert await store.ledger.pending_count() == 0
    assert await store.ledger.requeue_inflight(now=NOW, platform="discord") == 1
    assert await store.ledger.pending_count("discord") == 1
    assert await store.ledger.requeue_inflight(now=NOW) == 1
    assert await store.ledger.requeue_inflight(now=NOW) == 0
    assert await store.ledger.pending_count() == 2
    assert [c.attempts for c in await store.ledger.claim("telegram", limit=10, now=NOW)] == [2]


async def test_next_due_empty(store: Store) -> None:
    assert await store.ledger.next_due("telegram") is None
    assert await store.ledger.delivery_counts() == {}
    assert await store.ledger.pending_count() == 0


async def test_datetimes_round_trip_as_aware_utc(store: Store) -> None:
    chat = await _subscribed_chat(store, "1", "s1")
    bogota = datetime(2020, 8, 13, 4, 0, tzinfo=ZoneInfo("America/Bogota"))  # 09:00 UTC
    await _enqueue(store, due_at=bogota)
    [claimed] = await store.ledger.claim("telegram", limit=1, now=NOW)
    assert claimed.due_at == NOW and claimed.due_at.tzinfo is UTC
    assert claimed.chat.pk == chat.pk
    await store.audit.record(
        platform="telegram", actor="a", action="x", detail={}, allowed=True, now=bogota
    )
    [entry] = await store.audit.recent(1)
    assert entry.at == NOW and entry.at.tzinfo is UTC
    with pytest.raises(StatementError, match="naive"):
        await _enqueue(store, ref="naive", due_at=datetime(2020, 8, 13, 9, 0))


# ------------------------------------------------------------------------ audit, refs


async def test_audit_log(store: Store) -> None:
    await store.audit.record(
        platform="telegram",
        actor="telegram:42",
        action="broadcast.create",
        detail={"id": 1, "langs": ["en", "es"], "text": "¡Hola!"},
        allowed=True,
        now=NOW,
    )
    await store.audit.record(
        platform="discord",
        actor="discord:7",
        action="broadcast.create",
        detail={},
        allowed=False,
        now=NOW + timedelta(seconds=1),
    )
    log = await store.audit.recent(10)
    assert [(e.actor, e.allowed) for e in log] == [("discord:7", False), ("telegram:42", True)]
    assert log[1].detail == {"id": 1, "langs": ["en", "es"], "text": "¡Hola!"}
    assert log[1].at == NOW
    assert len(await store.audit.recent(1)) == 1


async def test_platform_refs(store: Store) -> None:
    assert await store.refs.get("discord", "event", "guild1:s1") is None
    await store.refs.set("discord", "event", "guild1:s1", "111", now=NOW)
    await store.refs.set("discord", "event", "guild1:s2", "222", now=NOW)
    await store.refs.set("discord", "event", "guild1:s1", "333", now=NOW)
    await store.refs.set("discord", "channel", "guild1", "999", now=NOW)
    assert await store.refs.get("discord", "event", "guild1:s1") == "333"
    assert await store.refs.all("discord", "event") == {"guild1:s1": "333", "guild1:s2": "222"}
    assert await store.refs.delete("discord", "event", "guild1:s1")
    assert not await store.refs.delete("discord", "event", "guild1:s1")
    assert await store.refs.all("discord", "event") == {"guild1:s2": "222"}
    assert await store.refs.all("telegram", "event") == {}
