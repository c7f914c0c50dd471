"""The world's model: users, channels, roles, members and guilds, with their JSON shapes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from tests.fakes.discord.constants import JSON, ChannelType
from tests.fakes.discord.wire import _now_iso


@dataclass
class FakeUser:
    """A Discord user known to the fake."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    def to_json(self) -> JSON:
        """Return the Discord user object."""
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeChannel:
    """A guild channel or DM channel."""

    id: int
    name: str
    type: int = ChannelType.TEXT
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    permission_overwrites: list[JSON] = field(default_factory=list)
    recipient_id: int | None = None
    last_message_id: int | None = None

    def to_json(self) -> JSON:
        """Return the Discord channel object (guild form; DMs are built by the server)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id) if self.guild_id else None,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": copy.deepcopy(self.permission_overwrites),
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "topic": self.topic,
            "nsfw": self.nsfw,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class FakeRole:
    """A guild role."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def to_json(self) -> JSON:
        """Return the Discord role object."""
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeMember:
    """A guild member (user id plus guild-specific data)."""

    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_now_iso)


@dataclass
class FakeGuild:
    """A guild with channels, roles and members."""

    id: int
    name: str
    owner_id: int
    preferred_locale: str = "en-US"
    channels: list[FakeChannel] = field(default_factory=list)
    roles: list[FakeRole] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    joined_at: str = field(default_factory=_now_iso)

    def channel(self, name: str) -> FakeChannel:
        """Return the channel with this name."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    @property
    def everyone_role(self) -> FakeRole:
        """The @everyone role (its id is the guild id)."""
        return next(role for role in self.roles if role.id == self.id)

    def text_channels(self) -> list[FakeChannel]:
        """Return the channels of type text or announcement."""
        return [c for c in self.channels if c.type in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT)]
