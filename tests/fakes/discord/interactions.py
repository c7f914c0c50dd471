"""Interactions a test makes a user start: slash commands, buttons, selects, modals."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tests.fakes.discord.constants import _SELECT_TYPES, DISCORD_LOCALES, DM_APP_PERMISSIONS, JSON
from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.models import FakeChannel, FakeGuild
from tests.fakes.discord.records import FakeInteraction
from tests.fakes.discord.wire import _iter_components


class Interactions(Gateway):
    """The test side of interactions: build one, send it over the gateway, read the answer."""

    # ------------------------------------------------------------------ interactions, test side

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Dispatch a CHAT_INPUT command interaction (name may be "group sub"); return its id."""
        data = self._command_data(name, options or {}, user_id, guild_id, channel_id, None)
        return await self._send_interaction(
            2, data, user_id=user_id, guild_id=guild_id, channel_id=channel_id, locale=locale
        )

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Dispatch an APPLICATION_COMMAND_AUTOCOMPLETE interaction; return its id."""
        data = self._command_data(name, options, user_id, guild_id, channel_id, focused)
        return await self._send_interaction(
            4, data, user_id=user_id, guild_id=guild_id, channel_id=channel_id, locale=locale
        )

    async def send_component(
        self,
        custom_id: str,
        *,
        user_id: int,
        component_type: int = 2,
        values: Sequence[str] = (),
        message_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Dispatch a MESSAGE_COMPONENT interaction for a component of a stored message."""
        message = self._find_component_message(custom_id, user_id, message_id, channel_id)
        component = next(
            c
            for c in _iter_components(message.get("components") or [])
            if c.get("custom_id") == custom_id
        )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if int(component.get("type", 0)) != component_type:
            raise ValueError(
                f"component {custom_id!r} has type {component.get('type')}, not {component_type}"
            )
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if component_type in _SELECT_TYPES:
            data["values"] = [str(v) for v in values]
        msg_channel = self._channels[int(message["channel_id"])]
        return await self._send_interaction(
            3,
            data,
            user_id=user_id,
            guild_id=msg_channel.guild_id,
            channel_id=msg_channel.id,
            locale=locale,
            message=message,
        )

    async def send_button(
        self,
        custom_id: str,
        *,
        user_id: int,
        message_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """Click a button of a stored message (found by ``custom_id`` if no message id)."""
        return await self.send_component(
            custom_id,
            user_id=user_id,
            message_id=message_id,
            channel_id=channel_id,
            locale=locale,
        )

    def _find_component_message(
        self, custom_id: str, user_id: int, message_id: int | None, channel_id: int | None
    ) -> JSON:
        """Find the message carrying a component the user can see."""
        if message_id is not None:
            message = self._messages.get(message_id)
            candidates = [message] if message is not None else []
        else:
            ids: list[int] = []
            channels = [channel_id] if channel_id is not None else list(self._channel_messages)
            for cid in channels:
                ids.extend(self._channel_messages.get(cid, []))
            candidates = [self._messages[mid] for mid in sorted(ids, reverse=True)]
        for message in candidates:
            meta = self._message_meta[int(message["id"])]
            if meta.visible_to not in (None, user_id):
                continue
            comps = message.get("components") or []
            if any(c.get("custom_id") == custom_id for c in _iter_components(comps)):
                return copy.deepcopy(message)
        raise LookupError(f"no visible message has a component with custom_id {custom_id!r}")

    async def _send_interaction(
        self,
        itype: int,
        data: JSON,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        locale: str,
        message: JSON | None = None,
    ) -> int:
        """Build an INTERACTION_CREATE payload and dispatch it to one session."""
        if locale not in DISCORD_LOCALES:
            raise ValueError(f"{locale!r} is not a Discord locale")
        user = self.users[user_id]
        session = await self.wait_for_session(guild_id, connected=False)
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            guild = self.guilds[guild_id]
            channel = self._guild_channel(guild, channel_id)
            if user_id not in guild.members:
                raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
            member = self._member_json(guild, guild.members[user_id])
            member["permissions"] = str(self._permissions(guild, user_id, channel))
            channel_json = channel.to_json()
            channel_json["permissions"] = str(self._permissions(guild, user_id, channel))
            payload.update(
                guild_id=str(guild_id),
                guild={
                    "id": str(guild_id),
                    "locale": guild.preferred_locale,
                    "features": list(guild.features),
                },
                guild_locale=guild.preferred_locale,
                member=member,
                channel=channel_json,
                channel_id=str(channel.id),
                app_permissions=str(self._permissions(guild, self.bot_user.id, channel)),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
            cid = channel.id
        else:
            dm = self._dm_channel(user_id)
            if channel_id is not None and channel_id != dm.id:
                raise ValueError("channel_id of a DM interaction must be the bot's DM channel")
            payload.update(
                user=user.to_json(),
                channel=self._dm_json(dm),
                channel_id=str(dm.id),
                app_permissions=str(DM_APP_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
            cid = dm.id
        if message is not None:
            payload["message"] = message
        inter = FakeInteraction(
            iid,
            token,
            itype,
            user_id,
            guild_id,
            cid,
            time.monotonic(),
            payload,
            message_id=int(message["id"]) if message is not None else None,
        )
        self._interactions[iid] = inter
        self._interactions_by_token[token] = inter
        self._dispatch_to(session, "INTERACTION_CREATE", copy.deepcopy(payload))
        return iid

    def _guild_channel(self, guild: FakeGuild, channel_id: int | None) -> FakeChannel:
        """Resolve the channel an interaction happens in."""
        if channel_id is None:
            channels = guild.text_channels()
            if not channels:
                raise ValueError(f"guild {guild.id} has no text channel")
            return channels[0]
        channel = self._channels.get(channel_id)
        if channel is None or channel.guild_id != guild.id:
            raise ValueError(f"channel {channel_id} is not in guild {guild.id}")
        return channel

    def _command_data(
        self,
        name: str,
        values: Mapping[str, Any],
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        focused: str | None,
    ) -> JSON:
        """Build interaction ``data`` for a registered chat-input command."""
        parts = name.split()
        if not parts:
            raise ValueError("empty command name")
        cmd = self._find_command(parts[0], guild_id)
        guild = self.guilds[guild_id] if guild_id is not None else None
        contexts = cmd.get("contexts")
        if guild is None:
            if cmd.get("guild_id") or cmd.get("dm_permission") is False:
                raise ValueError(f"/{parts[0]} is not available in DMs")
            if contexts is not None and 1 not in contexts:
                raise ValueError(f"/{parts[0]} is not available in bot DMs (contexts={contexts})")
        else:
            if contexts is not None and 0 not in contexts:
                raise ValueError(f"/{parts[0]} is not available in guilds (contexts={contexts})")
            needed = cmd.get("default_member_permissions")
            if needed is not None and user_id in guild.members:
                perms = self._permissions(guild, user_id, self._guild_channel(guild, channel_id))
                if perms & int(needed) != int(needed):
                    raise ValueError(f"user {user_id} lacks permissions for /{parts[0]}")
        schema: list[JSON] = cmd.get("options") or []
        chain: list[JSON] = []
        for part in parts[1:]:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{name}: no subcommand {part!r}")
            chain.append(sub)
            schema = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            raise ValueError(f"/{name} needs a subcommand")
        resolved: JSON = {}
        options = self._leaf_options(schema, values, focused, guild, resolved)
        for sub in reversed(chain):
            options = [{"name": sub["name"], "type": sub["type"], "options": options}]
        data: JSON = {"id": cmd["id"], "name": cmd["name"], "type": cmd.get("type", 1)}
        if options:
            data["options"] = options
        if resolved and focused is None:
            data["resolved"] = resolved
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return data

    def _find_command(self, name: str, guild_id: int | None) -> JSON:
        """Find a registered chat-input command visible in a guild (or DM)."""
        candidates = list(self._commands.get(guild_id, [])) if guild_id is not None else []
        candidates += self._commands.get(None, [])
        for cmd in candidates:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd
        raise LookupError(f"/{name} is not registered (did the bot sync its command tree?)")

    def _leaf_options(
        self,
        schema: list[JSON],
        values: Mapping[str, Any],
        focused: str | None,
        guild: FakeGuild | None,
        resolved: JSON,
    ) -> list[JSON]:
        """Build the option list for a (sub)command from plain values."""
        known = {o["name"] for o in schema}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; command has {sorted(known)}")
        if focused is not None and focused not in values:
            raise ValueError(f"focused option {focused!r} needs a (partial) value")
        out: list[JSON] = []
        for opt in schema:
            name = opt["name"]
            if name not in values:
                if opt.get("required") and focused is None:
                    raise ValueError(f"missing required option {name!r}")
                continue
            item: JSON = {"name": name, "type": opt["type"]}
            if name == focused:
                item["value"] = str(values[name])
                item["focused"] = True
            else:
                item["value"] = self._option_value(opt, values[name], guild, resolved)
            out.append(item)
        return out

    def _option_value(self, opt: JSON, value: Any, guild: FakeGuild | None, resolved: JSON) -> Any:
        """Validate and convert one option value as the Discord client would send it."""
        otype = opt["type"]
        name = opt["name"]
        if otype == 3:
            value = str(value)
            if not opt.get("min_length", 0) <= len(value) <= opt.get("max_length", 6000):
                raise ValueError(f"option {name!r}: length out of range")
        elif otype in (4, 10):
            if isinstance(value, bool):
                raise ValueError(f"option {name!r} must be a number")
            value = int(value) if otype == 4 else float(value)
            if "min_value" in opt and value < opt["min_value"]:
                raise ValueError(f"option {name!r} below min_value")
            if "max_value" in opt and value > opt["max_value"]:
                raise ValueError(f"option {name!r} above max_value")
        elif otype == 5:
            value = bool(value)
        elif otype in (6, 7, 8, 9):
            return self._resolve_snowflake_option(opt, int(value), guild, resolved)
        else:
            raise ValueError(f"option type {otype} is not supported by the fake")
        choices = opt.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
        return value

    def _resolve_snowflake_option(
        self, opt: JSON, target: int, guild: FakeGuild | None, resolved: JSON
    ) -> str:
        """Fill ``resolved`` for a user/channel/role/mentionable option; return the id string."""
        otype = opt["type"]
        key = str(target)
        if otype in (6, 9) and target in self.users:
            resolved.setdefault("users", {})[key] = self.users[target].to_json()
            if guild is not None and target in guild.members:
                member = self._member_json(guild, guild.members[target])
                member.pop("user")
                member["permissions"] = str(self._permissions(guild, target))
                resolved.setdefault("members", {})[key] = member
            return key
        if otype in (8, 9) and guild is not None:
            role = next((r for r in guild.roles if r.id == target), None)
            if role is not None:
                resolved.setdefault("roles", {})[key] = role.to_json()
                return key
        if otype == 7 and target in self._channels:
            channel = self._channels[target]
            types = opt.get("channel_types")
            if types and channel.type not in types:
                raise ValueError(
                    f"option {opt['name']!r}: channel type {channel.type} not allowed"
                )
            data = channel.to_json()
            data["permissions"] = str(
                self._permissions(guild, self.bot_user.id, channel) if guild else 0
            )
            resolved.setdefault("channels", {})[key] = data
            return key
        raise ValueError(f"option {opt['name']!r}: unknown id {target}")
