"""The JSON objects the fake answers with: members, guilds, channels, DMs, permissions."""

from __future__ import annotations

from collections.abc import Iterable

from tests.fakes.discord.constants import JSON, ChannelType, Perm
from tests.fakes.discord.models import FakeChannel, FakeGuild, FakeMember
from tests.fakes.discord.state import DiscordState


class DiscordPayloads(DiscordState):
    """Builders of Discord's JSON objects from the world's state."""

    # ------------------------------------------------------------------ JSON builders

    def _member_json(self, guild: FakeGuild, member: FakeMember) -> JSON:
        """Return a guild member object."""
        return {
            "user": self.users[member.user_id].to_json(),
            "roles": [str(r) for r in member.roles],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def _guild_json(self, guild: FakeGuild) -> JSON:
        """Return the REST guild object."""
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in guild.roles],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500_000,
        }

    def _guild_create_json(self, guild: FakeGuild) -> JSON:
        """Return the GUILD_CREATE payload for a guild."""
        data = self._guild_json(guild)
        data.update(
            joined_at=guild.joined_at,
            large=False,
            unavailable=False,
            lazy=True,
            member_count=len(guild.members),
            voice_states=[],
            members=[self._member_json(guild, m) for m in guild.members.values()],
            channels=[c.to_json() for c in guild.channels],
            threads=[],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=self.scheduled_events(guild.id),
            soundboard_sounds=[],
            incidents_data=None,
        )
        return data

    def _dm_json(self, channel: FakeChannel) -> JSON:
        """Return a DM channel object."""
        assert channel.recipient_id is not None
        return {
            "id": str(channel.id),
            "type": ChannelType.DM,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "flags": 0,
            "recipients": [self.users[channel.recipient_id].to_json()],
        }

    def _channel_json(self, channel: FakeChannel) -> JSON:
        """Return a channel object of either kind."""
        return self._dm_json(channel) if channel.type == ChannelType.DM else channel.to_json()

    def _dm_channel(self, user_id: int) -> FakeChannel:
        """Return (creating once) the DM channel between the bot and a user."""
        channel = self._dm_by_user.get(user_id)
        if channel is None:
            channel = FakeChannel(self.snowflake(), "", ChannelType.DM, recipient_id=user_id)
            self._dm_by_user[user_id] = channel
            self._channels[channel.id] = channel
        return channel

    def _permissions(
        self, guild: FakeGuild, user_id: int, channel: FakeChannel | None = None
    ) -> int:
        """Compute a member's permissions, applying channel overwrites like Discord."""
        if user_id == guild.owner_id:
            return Perm.ALL
        member = guild.members.get(user_id)
        if member is None:
            return 0
        perms = guild.everyone_role.permissions
        for role in guild.roles:
            if role.id in member.roles:
                perms |= role.permissions
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        if channel is None:
            return perms
        overwrites = channel.permission_overwrites

        def apply(items: Iterable[JSON], value: int) -> int:
            """Apply the combined allow/deny of some overwrites."""
            allow = deny = 0
            for o in items:
                allow |= int(o.get("allow", 0))
                deny |= int(o.get("deny", 0))
            return (value & ~deny) | allow

        perms = apply((o for o in overwrites if int(o["id"]) == guild.id), perms)
        perms = apply(
            (o for o in overwrites if int(o.get("type", 0)) == 0 and int(o["id"]) in member.roles),
            perms,
        )
        perms = apply(
            (o for o in overwrites if int(o.get("type", 0)) == 1 and int(o["id"]) == user_id),
            perms,
        )
        return perms
