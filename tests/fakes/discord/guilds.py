"""The guild routes: guilds, their channels and members, and scheduled events."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime

from aiohttp import web

from tests.fakes.discord.constants import JSON, ChannelType, Intent, Perm
from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.models import FakeGuild
from tests.fakes.discord.wire import DiscordAPIError, _json_response, _parse_time, form_error


class RestGuilds(Gateway):
    """Guild routes, scheduled events included."""

    # ------------------------------------------------------------------ REST: guilds

    def _guild_or_404(self, request: web.Request) -> FakeGuild:
        """Return the guild addressed by the route."""
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordAPIError(404, 10004, "Unknown Guild")
        return guild

    async def _get_guild(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}."""
        guild = self._guild_or_404(request)
        data = self._guild_json(guild)
        if request.query.get("with_counts") in ("1", "true", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return _json_response(data)

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/channels."""
        guild = self._guild_or_404(request)
        return _json_response([c.to_json() for c in guild.channels])

    async def _get_member(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/members/{user}."""
        guild = self._guild_or_404(request)
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            raise DiscordAPIError(404, 10007, "Unknown Member")
        return _json_response(self._member_json(guild, member))

    # ------------------------------------------------------------------ REST: scheduled events

    def _event_or_404(self, request: web.Request) -> tuple[FakeGuild, JSON]:
        """Return the guild and scheduled event addressed by the route."""
        guild = self._guild_or_404(request)
        event = self._events.get(guild.id, {}).get(int(request.match_info["event_id"]))
        if event is None:
            raise DiscordAPIError(404, 10070, "Unknown Guild Scheduled Event")
        return guild, event

    def _event_out(self, event: JSON, request: web.Request) -> JSON:
        """Return an event as sent to the client (``user_count`` when asked)."""
        data = copy.deepcopy(event)
        if request.query.get("with_user_count") not in ("1", "true", "True"):
            data.pop("user_count", None)
        return data

    def _check_event_permission(self, guild: FakeGuild, event: JSON | None) -> None:
        """Raise 403 unless the bot may create (or manage) this event."""
        perms = self._permissions(guild, self.bot_user.id)
        if perms & Perm.MANAGE_EVENTS:
            return
        own = event is None or event.get("creator_id") == str(self.bot_user.id)
        if perms & Perm.CREATE_EVENTS and own:
            return
        raise DiscordAPIError(403, 50013, "Missing Permissions")

    def _validate_event(self, event: JSON, *, creating: bool, start_changed: bool) -> None:
        """Check a scheduled event the way Discord does."""
        name = event.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        description = event.get("description")
        if description is not None and len(str(description)) > 1000:
            raise form_error(
                "description", "BASE_TYPE_MAX_LENGTH", "Must be 1000 or fewer in length."
            )
        if event.get("privacy_level") != 2:
            if event.get("privacy_level") is None:
                raise form_error("privacy_level", "BASE_TYPE_REQUIRED", "This field is required")
            raise form_error(
                "privacy_level", "ENUM_TYPE_COERCE", "Value is not a valid enum value."
            )
        entity_type = event.get("entity_type")
        if entity_type is None:
            raise form_error("entity_type", "BASE_TYPE_REQUIRED", "This field is required")
        if entity_type not in (1, 2, 3):
            raise form_error("entity_type", "ENUM_TYPE_COERCE", "Value is not a valid enum value.")
        if event.get("scheduled_start_time") is None:
            raise form_error(
                "scheduled_start_time", "BASE_TYPE_REQUIRED", "This field is required"
            )
        start = _parse_time(event["scheduled_start_time"], "scheduled_start_time")
        end = None
        if event.get("scheduled_end_time") is not None:
            end = _parse_time(event["scheduled_end_time"], "scheduled_end_time")
        if entity_type == 3:
            location = (event.get("entity_metadata") or {}).get("location")
            if not location:
                raise form_error(
                    "entity_metadata.location", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if len(str(location)) > 100:
                raise form_error(
                    "entity_metadata.location",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 100 or fewer in length.",
                )
            if end is None:
                raise form_error(
                    "scheduled_end_time", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if event.get("channel_id") is not None:
                raise form_error(
                    "channel_id",
                    "GUILD_SCHEDULED_EVENT_CHANNEL_ID_INVALID",
                    "External events must not have a channel",
                )
        else:
            channel = self._channels.get(int(event.get("channel_id") or 0))
            wanted = ChannelType.VOICE if entity_type == 2 else 13
            if channel is None or channel.type != wanted:
                raise form_error(
                    "channel_id", "BASE_TYPE_REQUIRED", "A voice or stage channel is required"
                )
        if end is not None and end <= start:
            raise form_error(
                "scheduled_end_time",
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot schedule event to end before starting.",
            )
        if self.strict_event_times and (creating or start_changed) and start <= datetime.now(UTC):
            raise form_error(
                "scheduled_start_time",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                "Cannot schedule event in the past.",
            )

    async def _list_events(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/scheduled-events."""
        guild = self._guild_or_404(request)
        events = self._events.get(guild.id, {}).values()
        return _json_response([self._event_out(e, request) for e in events])

    async def _get_event(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/scheduled-events/{id}."""
        return _json_response(self._event_out(self._event_or_404(request)[1], request))

    async def _create_event(self, request: web.Request) -> web.Response:
        """POST /guilds/{id}/scheduled-events."""
        guild = self._guild_or_404(request)
        self._check_event_permission(guild, None)
        body = self._body(request) or {}
        eid = self.snowflake()
        event: JSON = {
            "id": str(eid),
            "guild_id": str(guild.id),
            "channel_id": body.get("channel_id"),
            "creator_id": str(self.bot_user.id),
            "creator": self.bot_user.to_json(),
            "name": body.get("name"),
            "description": body.get("description"),
            "scheduled_start_time": body.get("scheduled_start_time"),
            "scheduled_end_time": body.get("scheduled_end_time"),
            "privacy_level": body.get("privacy_level"),
            "status": 1,
            "entity_type": body.get("entity_type"),
            "entity_id": None,
            "entity_metadata": body.get("entity_metadata"),
            "user_count": 0,
            "image": None,
            "recurrence_rule": None,
        }
        self._validate_event(event, creating=True, start_changed=True)
        if event["channel_id"] is not None:
            event["channel_id"] = str(event["channel_id"])
        if body.get("image"):
            event["image"] = hashlib.md5(str(body["image"]).encode()).hexdigest()
        self._events.setdefault(guild.id, {})[eid] = event
        self._event_dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        return _json_response(self._event_out(event, request))

    async def _edit_event(self, request: web.Request) -> web.Response:
        """PATCH /guilds/{id}/scheduled-events/{id} (with Discord's status transitions)."""
        guild, event = self._event_or_404(request)
        self._check_event_permission(guild, event)
        body = self._body(request) or {}
        status = body.get("status", event["status"])
        allowed = {1: {1, 2, 4}, 2: {2, 3}, 3: set(), 4: set()}[event["status"]]
        if status not in allowed:
            raise form_error(
                "status",
                "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
                "Invalid status transition.",
            )
        updated = copy.deepcopy(event)
        for key in (
            "name",
            "description",
            "scheduled_start_time",
            "scheduled_end_time",
            "privacy_level",
            "entity_type",
            "entity_metadata",
            "channel_id",
            "status",
        ):
            if key in body:
                updated[key] = body[key]
        if "image" in body:
            updated["image"] = (
                hashlib.md5(str(body["image"]).encode()).hexdigest() if body["image"] else None
            )
        start_changed = updated["scheduled_start_time"] != event["scheduled_start_time"]
        self._validate_event(updated, creating=False, start_changed=start_changed)
        if updated["channel_id"] is not None:
            updated["channel_id"] = str(updated["channel_id"])
        event.clear()
        event.update(updated)
        self._event_dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event)
        return _json_response(self._event_out(event, request))

    async def _delete_event(self, request: web.Request) -> web.Response:
        """DELETE /guilds/{id}/scheduled-events/{id}."""
        guild, event = self._event_or_404(request)
        self._check_event_permission(guild, event)
        del self._events[guild.id][int(event["id"])]
        self._event_dispatch("GUILD_SCHEDULED_EVENT_DELETE", event)
        return web.Response(status=204)

    def _event_dispatch(self, name: str, event: JSON) -> None:
        """Dispatch a scheduled-event gateway event."""
        data = copy.deepcopy(event)
        data.pop("user_count", None)
        self.dispatch(
            name, data, guild_id=int(event["guild_id"]), intent=Intent.GUILD_SCHEDULED_EVENTS
        )
