"""The channel routes: channels, DMs, messages, typing and crossposts."""

from __future__ import annotations

import copy
import time

from aiohttp import web

from tests.fakes.discord.constants import MSG_FLAG_CROSSPOSTED, ChannelType, Perm
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.wire import DiscordAPIError, _json_response, form_error


class RestChannels(Messages):
    """Channel and message routes."""

    # ------------------------------------------------------------------ REST: channels

    async def _get_channel(self, request: web.Request) -> web.Response:
        """GET /channels/{id}."""
        channel = self._channel_or_404(request)
        self._check_bot_access(channel, Perm.VIEW_CHANNEL)
        return _json_response(self._channel_json(channel))

    async def _create_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels (same channel for the same recipient)."""
        body = self._body(request) or {}
        try:
            user = self.users[int(body["recipient_id"])]
        except (KeyError, TypeError, ValueError):
            raise DiscordAPIError(400, 50033, "Invalid Recipient(s)") from None
        return _json_response(self._dm_json(self._dm_channel(user.id)))

    async def _typing(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/typing."""
        self._channel_or_404(request)
        return web.Response(status=204)

    async def _list_messages(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages (newest first, ``limit``/``before``/``after``)."""
        channel = self._channel_or_404(request)
        self._check_bot_access(channel, Perm.READ_MESSAGE_HISTORY)
        ids = [
            mid
            for mid in self._channel_messages.get(channel.id, [])
            if not self._message_meta[mid].ephemeral
        ]
        if "before" in request.query:
            ids = [m for m in ids if m < int(request.query["before"])]
        if "after" in request.query:
            ids = [m for m in ids if m > int(request.query["after"])]
        limit = min(100, int(request.query.get("limit", 50)))
        newest = sorted(ids, reverse=True)[:limit]
        return _json_response([self._messages[m] for m in newest])

    async def _create_channel_message(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages (honours ``nonce`` + ``enforce_nonce``)."""
        channel = self._channel_or_404(request)
        body = self._body(request) or {}
        files: list[str] = self._files(request)
        if channel.type == ChannelType.CATEGORY:
            raise DiscordAPIError(400, 50008, "Cannot send messages in a non-text channel")
        if channel.type == ChannelType.DM:
            assert channel.recipient_id is not None
            if not self.users[channel.recipient_id].dms_open:
                raise DiscordAPIError(403, 50007, "Cannot send messages to this user")
        else:
            self._check_bot_access(channel, Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
        self._validate_message(body, files=files)
        nonce = body.get("nonce")
        if nonce is not None:
            if not isinstance(nonce, (int, str)) or len(str(nonce)) > 25:
                raise form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            key = (channel.id, str(nonce))
            seen = self._nonces.get(key)
            now = time.monotonic()
            if (
                body.get("enforce_nonce")
                and seen is not None
                and now - seen[1] <= self.nonce_window
                and seen[0] in self._messages
            ):
                return _json_response(copy.deepcopy(self._messages[seen[0]]))
        message = self._create_message(channel.id, body, author=self.bot_user, files=files)
        if nonce is not None:
            self._nonces[(channel.id, str(nonce))] = (int(message["id"]), time.monotonic())
        return _json_response(copy.deepcopy(message))

    async def _get_channel_message(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages/{id}."""
        return _json_response(copy.deepcopy(self._channel_message_or_404(request)[1]))

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        """PATCH /channels/{id}/messages/{id}."""
        _, message = self._channel_message_or_404(request)
        if int(message["author"]["id"]) != self.bot_user.id:
            raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        self._edit_message(message, self._body(request) or {})
        return _json_response(copy.deepcopy(message))

    async def _delete_channel_message(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}/messages/{id}."""
        channel, message = self._channel_message_or_404(request)
        if int(message["author"]["id"]) != self.bot_user.id:
            self._check_bot_access(channel, Perm.MANAGE_MESSAGES)
        self._delete_message(int(message["id"]))
        return web.Response(status=204)

    async def _crosspost(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages/{id}/crosspost (announcement channels only)."""
        channel, message = self._channel_message_or_404(request)
        if channel.type != ChannelType.ANNOUNCEMENT:
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        if int(message["flags"]) & MSG_FLAG_CROSSPOSTED:
            raise DiscordAPIError(400, 40033, "This message has already been crossposted.")
        message["flags"] = int(message["flags"]) | MSG_FLAG_CROSSPOSTED
        self._message_event("MESSAGE_UPDATE", message)
        return _json_response(copy.deepcopy(message))
