"""Messages: validation, storage, edits and deletes, and their gateway events."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from aiohttp import web

from tests.fakes.discord.constants import (
    JSON,
    MSG_FLAG_COMPONENTS_V2,
    MSG_FLAG_EPHEMERAL,
    MSG_FLAG_LOADING,
    MSG_FLAG_SUPPRESS_EMBEDS,
    SETTABLE_MESSAGE_FLAGS,
    Intent,
    Perm,
)
from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.models import FakeChannel, FakeUser
from tests.fakes.discord.records import FakeInteraction, _MessageMeta
from tests.fakes.discord.wire import DiscordAPIError, _iter_components, _now_iso, form_error


class Messages(Gateway):
    """Messages in channels and DMs, shared by the channel and interaction routes."""

    # ------------------------------------------------------------------ messages

    def _validate_message(
        self, payload: JSON, *, files: Sequence[str] = (), partial: bool = False
    ) -> None:
        """Check message limits (content, embeds, components) and emptiness."""
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            raise form_error("content", "BASE_TYPE_STRING", "Must be a string.")
        if content and len(content) > 2000:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        limits = {"title": 256, "description": 4096}
        for i, embed in enumerate(embeds):
            for key, limit in limits.items():
                text = embed.get(key) or ""
                total += len(text)
                if len(text) > limit:
                    raise form_error(
                        f"embeds.{i}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise form_error(
                    f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for j, fld in enumerate(fields):
                if not 1 <= len(fld.get("name") or "") <= 256:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 256 in length.",
                    )
                if not 1 <= len(fld.get("value") or "") <= 1024:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.value",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 1024 in length.",
                    )
                total += len(fld["name"]) + len(fld["value"])
            total += len((embed.get("footer") or {}).get("text") or "")
            total += len((embed.get("author") or {}).get("name") or "")
        if total > 6000:
            raise form_error(
                "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
            )
        components = payload.get("components") or []
        flags = int(payload.get("flags") or 0)
        if not flags & MSG_FLAG_COMPONENTS_V2:
            if len(components) > 5:
                raise form_error(
                    "components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
                )
            for i, row in enumerate(components):
                if row.get("type") != 1:
                    raise form_error(
                        f"components.{i}.type",
                        "UNION_TYPE_CHOICES",
                        "Top-level components must be action rows",
                    )
                if not 1 <= len(row.get("components") or []) <= 5:
                    raise form_error(
                        f"components.{i}.components",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 5 in length.",
                    )
        for comp in _iter_components(components):
            if len(str(comp.get("custom_id") or "")) > 100:
                raise form_error(
                    "components",
                    "BASE_TYPE_MAX_LENGTH",
                    "custom_id must be 100 or fewer in length.",
                )
            if len(str(comp.get("label") or "")) > 80:
                raise form_error(
                    "components", "BASE_TYPE_MAX_LENGTH", "label must be 80 or fewer in length."
                )
        if partial:
            return
        if not (
            content
            or embeds
            or components
            or files
            or payload.get("sticker_ids")
            or payload.get("poll")
        ):
            raise DiscordAPIError(400, 50006, "Cannot send an empty message")

    def _create_message(
        self,
        channel_id: int,
        payload: JSON,
        *,
        author: FakeUser,
        msg_type: int = 0,
        flags: int | None = None,
        interaction: FakeInteraction | None = None,
        files: Sequence[str] = (),
    ) -> JSON:
        """Store a new message and dispatch MESSAGE_CREATE for visible ones."""
        mid = self.snowflake()
        if flags is None:
            flags = int(payload.get("flags") or 0) & SETTABLE_MESSAGE_FLAGS
        message: JSON = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": msg_type,
            "content": payload.get("content") or "",
            "author": author.to_json(),
            "attachments": [self._attachment_json(name) for name in files],
            "embeds": copy.deepcopy(payload.get("embeds") or []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(payload.get("tts", False)),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": flags,
            "components": copy.deepcopy(payload.get("components") or []),
        }
        if payload.get("nonce") is not None:
            message["nonce"] = payload["nonce"]
        reference = payload.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            ref_id = int(reference["message_id"])
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": str(ref_id),
                "channel_id": str(reference.get("channel_id") or channel_id),
            }
            message["referenced_message"] = copy.deepcopy(self._messages.get(ref_id))
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            user = self.users[interaction.user_id].to_json()
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": interaction.payload[
                    "authorizing_integration_owners"
                ],
            }
            if interaction.type == 2:
                message["interaction_metadata"]["name"] = interaction.payload["data"]["name"]
                message["interaction"] = {
                    "id": str(interaction.id),
                    "type": 2,
                    "name": interaction.payload["data"]["name"],
                    "user": user,
                }
        ephemeral = bool(flags & MSG_FLAG_EPHEMERAL)
        self._messages[mid] = message
        self._message_meta[mid] = _MessageMeta(
            channel_id,
            ephemeral,
            interaction.id if interaction else None,
            interaction.user_id if interaction and ephemeral else None,
        )
        self._channel_messages.setdefault(channel_id, []).append(mid)
        channel = self._channels.get(channel_id)
        if channel is not None and not ephemeral:
            channel.last_message_id = mid
        if not ephemeral:
            self._message_event("MESSAGE_CREATE", message)
        return message

    def _attachment_json(self, filename: str) -> JSON:
        """Return an attachment object for an uploaded file."""
        aid = self.snowflake()
        url = f"{self.base_url}/attachments/{aid}/{filename}"
        return {"id": str(aid), "filename": filename, "size": 0, "url": url, "proxy_url": url}

    def _message_event(self, event: str, message: JSON) -> None:
        """Dispatch a message event to sessions with the matching intent."""
        channel = self._channels.get(int(message["channel_id"]))
        guild_id = channel.guild_id if channel else None
        data = copy.deepcopy(message)
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
            guild = self.guilds[guild_id]
            author_id = int(message["author"]["id"])
            if author_id in guild.members and event != "MESSAGE_DELETE":
                member = self._member_json(guild, guild.members[author_id])
                member.pop("user")
                data["member"] = member
        intent = Intent.GUILD_MESSAGES if guild_id is not None else Intent.DIRECT_MESSAGES
        self.dispatch(event, data, guild_id=guild_id, intent=intent)

    def _edit_message(self, message: JSON, payload: JSON, files: Sequence[str] = ()) -> JSON:
        """Apply an edit to a stored message."""
        self._validate_message(payload, partial=True)
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = (
                    copy.deepcopy(payload[key])
                    if payload[key] is not None
                    else ("" if key == "content" else [])
                )
        if "flags" in payload and payload["flags"] is not None:
            keep = int(message["flags"]) & ~MSG_FLAG_SUPPRESS_EMBEDS
            message["flags"] = keep | (int(payload["flags"]) & MSG_FLAG_SUPPRESS_EMBEDS)
        if "attachments" in payload:
            kept = {str(a.get("id")) for a in payload["attachments"] or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in kept]
        message["attachments"].extend(self._attachment_json(name) for name in files)
        was_loading = bool(int(message["flags"]) & MSG_FLAG_LOADING)
        message["flags"] = int(message["flags"]) & ~MSG_FLAG_LOADING
        if not was_loading:
            message["edited_timestamp"] = _now_iso()
        if not self._message_meta[int(message["id"])].ephemeral:
            self._message_event("MESSAGE_UPDATE", message)
        return message

    def _delete_message(self, message_id: int) -> None:
        """Delete a stored message."""
        message = self._messages.pop(message_id)
        meta = self._message_meta.pop(message_id)
        self._channel_messages[meta.channel_id].remove(message_id)
        if not meta.ephemeral:
            self._message_event(
                "MESSAGE_DELETE",
                {
                    "id": message["id"],
                    "channel_id": message["channel_id"],
                    "author": message["author"],
                },
            )

    def _channel_or_404(self, request: web.Request) -> FakeChannel:
        """Return the channel addressed by the route."""
        channel = self._channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise DiscordAPIError(404, 10003, "Unknown Channel")
        return channel

    def _check_bot_access(self, channel: FakeChannel, needed: int) -> None:
        """Raise 403 unless the bot has ``needed`` in a guild channel."""
        if channel.guild_id is None:
            return
        perms = self._permissions(self.guilds[channel.guild_id], self.bot_user.id, channel)
        if not perms & Perm.VIEW_CHANNEL:
            raise DiscordAPIError(403, 50001, "Missing Access")
        if perms & needed != needed:
            raise DiscordAPIError(403, 50013, "Missing Permissions")

    def _channel_message_or_404(self, request: web.Request) -> tuple[FakeChannel, JSON]:
        """Return the channel and message addressed by the route."""
        channel = self._channel_or_404(request)
        message = self._messages.get(int(request.match_info["message_id"]))
        if message is None or int(message["channel_id"]) != channel.id:
            raise DiscordAPIError(404, 10008, "Unknown Message")
        return channel, message
