"""The test side's world: users, guilds, channels, members, roles and stored messages."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from tests.fakes.discord.constants import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    JSON,
    ChannelType,
    Intent,
)
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.models import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser


class WorldSetup(Messages):
    """Set up the world a test needs; live sessions hear of the changes."""

    # ------------------------------------------------------------------ setup

    def add_user(
        self,
        username: str,
        *,
        user_id: int | None = None,
        global_name: str | None = None,
        dms_open: bool = True,
        bot: bool = False,
    ) -> FakeUser:
        """Register a user; ``dms_open=False`` makes DMs to them fail with 403/50007."""
        user = FakeUser(user_id or self.snowflake(), username, global_name, bot, dms_open)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Summit",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        text_channels: Sequence[str] = ("general",),
        announcement_channels: Sequence[str] = ("announcements",),
        voice_channels: Sequence[str] = (),
        members: Iterable[int] = (),
        preferred_locale: str = "en-US",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
    ) -> FakeGuild:
        """Create a guild the bot is in; dispatched as GUILD_CREATE if a session is live."""
        gid = guild_id or self.snowflake()
        if owner_id is None:
            owner_id = self.add_user(f"{name.lower()}-owner").id
        elif owner_id not in self.users:
            raise KeyError(f"unknown owner user {owner_id}")
        guild = FakeGuild(gid, name, owner_id, preferred_locale)
        guild.roles.append(FakeRole(gid, "@everyone", everyone_permissions))
        bot_role = FakeRole(
            self.snowflake(), self.bot_user.username, bot_permissions, 1, True, self.bot_user.id
        )
        guild.roles.append(bot_role)
        for uid in {owner_id, *members}:
            if uid not in self.users:
                raise KeyError(f"unknown member user {uid}; call add_user() first")
            guild.members[uid] = FakeMember(uid)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user.id, [bot_role.id])
        if announcement_channels:
            guild.features.extend(["COMMUNITY", "NEWS"])
        self.guilds[gid] = guild
        specs = [
            *((n, ChannelType.TEXT) for n in text_channels),
            *((n, ChannelType.ANNOUNCEMENT) for n in announcement_channels),
            *((n, ChannelType.VOICE) for n in voice_channels),
        ]
        for ch_name, ch_type in specs:
            self._new_guild_channel(guild, ch_name, ch_type)
        for session in self._sessions_for(gid):
            self._dispatch_to(session, "GUILD_CREATE", self._guild_create_json(guild))
        return guild

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = ChannelType.TEXT,
        permission_overwrites: Sequence[JSON] = (),
    ) -> FakeChannel:
        """Add a channel to a guild (dispatches CHANNEL_CREATE to live sessions)."""
        guild = self.guilds[guild_id]
        channel = self._new_guild_channel(guild, name, type, permission_overwrites)
        for session in self._sessions_for(guild_id, Intent.GUILDS):
            self._dispatch_to(session, "CHANNEL_CREATE", channel.to_json())
        return channel

    def add_member(self, guild_id: int, user_id: int, *, roles: Sequence[int] = ()) -> FakeMember:
        """Add a known user to a guild."""
        if user_id not in self.users:
            raise KeyError(f"unknown user {user_id}; call add_user() first")
        member = FakeMember(user_id, list(roles))
        self.guilds[guild_id].members[user_id] = member
        return member

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> FakeRole:
        """Add a role to a guild."""
        guild = self.guilds[guild_id]
        role = FakeRole(self.snowflake(), name, permissions, len(guild.roles))
        guild.roles.append(role)
        return role

    def add_message(
        self,
        channel_id: int,
        *,
        content: str = "",
        components: Sequence[JSON] = (),
        embeds: Sequence[JSON] = (),
        author_id: int | None = None,
    ) -> JSON:
        """Store a message without a request (e.g. a persistent-view message from a past run)."""
        author = self.users[author_id or self.bot_user.id]
        payload: JSON = {
            "content": content,
            "components": list(components),
            "embeds": list(embeds),
        }
        return copy.deepcopy(self._create_message(channel_id, payload, author=author))

    def _new_guild_channel(
        self,
        guild: FakeGuild,
        name: str,
        ch_type: int,
        permission_overwrites: Sequence[JSON] = (),
    ) -> FakeChannel:
        """Create and register a guild channel."""
        channel = FakeChannel(
            self.snowflake(),
            name,
            ch_type,
            guild.id,
            position=len(guild.channels),
            permission_overwrites=[dict(o) for o in permission_overwrites],
        )
        guild.channels.append(channel)
        self._channels[channel.id] = channel
        return channel
