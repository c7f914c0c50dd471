"""The Gateway: its WebSocket protocol (identify, heartbeats, resume, dispatch) and test side."""

# ruff: noqa: ASYNC109  (the wait helpers take ``timeout=`` by design, like asyncio.wait_for)
from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import zlib
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.constants import API_VERSION, JSON, Intent
from tests.fakes.discord.payloads import DiscordPayloads
from tests.fakes.discord.records import GatewayConnection, GatewaySession, _Close
from tests.fakes.discord.wire import _dumps


class Gateway(DiscordPayloads):
    """The Gateway's WebSocket connections and sessions."""

    # ------------------------------------------------------------------ gateway, test side

    def live_sessions(self) -> list[GatewaySession]:
        """Return sessions that are alive (identified, not invalidated)."""
        return [s for s in self.sessions if s.alive]

    async def wait_for_session(
        self, guild_id: int | None = None, timeout: float = 5.0, *, connected: bool = True
    ) -> GatewaySession:
        """Wait for a live session (connected, if asked) that receives ``guild_id``'s events."""

        def pick() -> GatewaySession | None:
            """The newest suitable session, if any."""
            sessions = [
                s for s in self._sessions_for(guild_id) if s.conn is not None or not connected
            ]
            return sessions[-1] if sessions else None

        await self.wait_until(lambda: pick() is not None, timeout, lambda: "no gateway session")
        session = pick()
        assert session is not None
        return session

    def dispatch(
        self, event: str, data: JSON, *, guild_id: int | None = None, intent: int = 0
    ) -> int:
        """Dispatch a raw gateway event to every live session that should get it."""
        sessions = self._sessions_for(guild_id, intent)
        for session in sessions:
            self._dispatch_to(session, event, data)
        return len(sessions)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT on every connection; clients should RESUME."""
        for conn in list(self._conns):
            if conn.session is not None:
                conn.put({"op": 7, "d": None, "s": None, "t": None})

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway websocket with ``code`` (sessions stay resumable)."""
        for conn in list(self._conns):
            conn.put(_Close(code, "dropped by test"))

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION on every connection; kills sessions unless resumable."""
        for conn in list(self._conns):
            if conn.session is not None:
                if not resumable:
                    conn.session.alive = False
                conn.put({"op": 9, "d": resumable, "s": None, "t": None})

    # ------------------------------------------------------------------ gateway internals

    def _sessions_for(self, guild_id: int | None, intent: int = 0) -> list[GatewaySession]:
        """Return live sessions whose shard owns ``guild_id`` (DMs: shard 0) with ``intent``."""
        out = []
        for session in self.live_sessions():
            shard_id, shard_count = session.shard
            target = (guild_id >> 22) % shard_count if guild_id is not None else 0
            if shard_id == target and (session.intents & intent) == intent:
                out.append(session)
        return out

    def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> None:
        """Send a DISPATCH (op 0) with the next sequence number, buffering it for RESUME."""
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        del session.events[:-1000]
        if session.conn is not None:
            session.conn.put(payload)

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway websocket connection."""
        ws = web.WebSocketResponse(autoping=True, compress=False)
        await ws.prepare(request)
        conn = GatewayConnection(ws, dict(request.query))
        if request.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        self.gateway_connections.append(conn)
        self._conns.add(conn)
        writer = asyncio.create_task(self._gateway_writer(conn), name="fake-discord-gw-writer")
        try:
            if request.query.get("encoding", "json") != "json":
                conn.put(_Close(4002, "Only JSON encoding is supported."))
            elif request.query.get("v", str(API_VERSION)) not in ("9", "10"):
                conn.put(_Close(4012, "Invalid API version."))
            else:
                conn.put(
                    {
                        "op": 10,
                        "d": {
                            "heartbeat_interval": self.heartbeat_interval_ms,
                            "_trace": ["fake-discord"],
                        },
                        "s": None,
                        "t": None,
                    }
                )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    conn.put(_Close(4002, "Error while decoding payload."))
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    conn.put(_Close(4002, "Error while decoding payload."))
                    continue
                self._gateway_op(conn, payload)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._conns.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if ws.close_code in (1000, 1001) and not conn.server_closed:
                    session.alive = False
            self._notify()
        return ws

    async def _gateway_writer(self, conn: GatewayConnection) -> None:
        """Send queued payloads in order, applying zlib-stream compression if negotiated."""
        while True:
            item = await conn.queue.get()
            if isinstance(item, _Close):
                conn.server_closed = True
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=item.code, message=item.reason.encode())
                return
            raw = _dumps(item)
            try:
                if conn.compressor is not None:
                    chunk = conn.compressor.compress(raw.encode()) + conn.compressor.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await conn.ws.send_bytes(chunk)
                else:
                    await conn.ws.send_str(raw)
            except (ConnectionError, RuntimeError):
                return
            conn.sent.append(item)

    def _gateway_op(self, conn: GatewayConnection, payload: Any) -> None:
        """Handle one client gateway payload."""
        if not isinstance(payload, dict):
            conn.put(_Close(4002, "Error while decoding payload."))
            return
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            self.heartbeats += 1
            if self.ack_heartbeats:
                conn.put({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            if conn.session is not None:
                conn.put(_Close(4005, "Already authenticated."))
            else:
                self._identify(conn, data if isinstance(data, dict) else {})
        elif op == 6:
            self._resume(conn, data if isinstance(data, dict) else {})
        elif conn.session is None:
            conn.put(_Close(4003, "Not authenticated."))
        elif op == 3:
            self.presence_updates.append(data if isinstance(data, dict) else {})
        elif op == 4:
            pass
        elif op == 8 and isinstance(data, dict):
            self._members_chunk(conn.session, data)
        else:
            conn.put(_Close(4001, "Unknown opcode."))

    def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        """Handle IDENTIFY: check token and intents, send READY and GUILD_CREATEs."""
        if data.get("token") != self.token:
            conn.put(_Close(4004, "Authentication failed."))
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            conn.put(_Close(4013, "Invalid intent(s)."))
            return
        if intents & Intent.PRIVILEGED & ~self.privileged_intents:
            conn.put(_Close(4014, "Disallowed intent(s)."))
            return
        shard = data.get("shard") or [0, 1]
        if len(shard) != 2 or not 0 <= shard[0] < shard[1]:
            conn.put(_Close(4010, "Invalid shard."))
            return
        self.identifies.append(copy.deepcopy(data))
        session = GatewaySession(secrets.token_hex(16), intents, (shard[0], shard[1]), data)
        self.sessions.append(session)
        session.conn = conn
        conn.session = session
        guilds = [g for g in self.guilds.values() if (g.id >> 22) % shard[1] == shard[0]]
        ready: JSON = {
            "v": API_VERSION,
            "user": {
                **self.bot_user.to_json(),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
            },
            "user_settings": {},
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "guild_join_requests": [],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if data.get("shard"):
            ready["shard"] = list(shard)
        self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            self._dispatch_to(session, "GUILD_CREATE", self._guild_create_json(guild))
        self._notify()

    def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        """Handle RESUME: replay missed events then RESUMED, or INVALID_SESSION."""
        if data.get("token") != self.token:
            conn.put(_Close(4004, "Authentication failed."))
            return
        session = next(
            (s for s in self.live_sessions() if s.session_id == data.get("session_id")), None
        )
        seq = data.get("seq")
        first = session.events[0]["s"] if session and session.events else 1
        if session is None or (isinstance(seq, int) and seq + 1 < first):
            conn.put({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.put(_Close(4000, "Session resumed elsewhere."))
        session.conn = conn
        conn.session = session
        session.resumes += 1
        for event in session.events:
            if not isinstance(seq, int) or event["s"] > seq:
                conn.put(event)
        self._dispatch_to(session, "RESUMED", {"_trace": ["fake-discord"]})
        self._notify()

    def _members_chunk(self, session: GatewaySession, data: JSON) -> None:
        """Answer REQUEST_GUILD_MEMBERS with a single GUILD_MEMBERS_CHUNK."""
        guild = self.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        members = [
            self._member_json(guild, m)
            for m in guild.members.values()
            if (not wanted or m.user_id in wanted)
            and self.users[m.user_id].username.lower().startswith(query)
        ]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _application_flags(self) -> int:
        """Application flags matching the enabled privileged intents."""
        flags = 0
        if self.privileged_intents & Intent.GUILD_PRESENCES:
            flags |= 1 << 12
        if self.privileged_intents & Intent.GUILD_MEMBERS:
            flags |= 1 << 14
        if self.privileged_intents & Intent.MESSAGE_CONTENT:
            flags |= 1 << 18
        return flags
