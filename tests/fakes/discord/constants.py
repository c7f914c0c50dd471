"""Discord's numbers and names: API version, permissions, intents, channel types, flags."""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]

API_VERSION = 10
API_PREFIX = f"/api/v{API_VERSION}"
GATEWAY_PATH = "/gateway"
DISCORD_EPOCH_MS = 1_420_070_400_000
INTERACTION_TOKEN_LIFETIME = 15 * 60.0


class Perm:
    """Discord permission bits used by the fake."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    SEND_MESSAGES_IN_THREADS = 1 << 38
    CREATE_EVENTS = 1 << 44
    ALL = (1 << 51) - 1


class Intent:
    """Gateway intent bits used by the fake."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class ChannelType:
    """Discord channel type numbers."""

    TEXT = 0
    DM = 1
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5


DEFAULT_EVERYONE_PERMISSIONS = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CONNECT
    | Perm.SPEAK
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | Perm.MANAGE_EVENTS | Perm.CREATE_EVENTS
DM_APP_PERMISSIONS = (
    Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
)

DISCORD_LOCALES = frozenset(
    {
        "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
        "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru",
        "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
    }
)  # fmt: skip

MSG_FLAG_CROSSPOSTED = 1 << 0
MSG_FLAG_SUPPRESS_EMBEDS = 1 << 2
MSG_FLAG_EPHEMERAL = 1 << 6
MSG_FLAG_LOADING = 1 << 7
MSG_FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
MSG_FLAG_COMPONENTS_V2 = 1 << 15
SETTABLE_MESSAGE_FLAGS = (
    MSG_FLAG_SUPPRESS_EMBEDS
    | MSG_FLAG_EPHEMERAL
    | MSG_FLAG_SUPPRESS_NOTIFICATIONS
    | MSG_FLAG_COMPONENTS_V2
)

_COMMAND_NAME_RE = re.compile(r"^[-_'\w\u0900-\u097f\u0e00-\u0e7f]{1,32}$")
_CALLBACKS_FOR_INTERACTION_TYPE: dict[int, frozenset[int]] = {
    2: frozenset({4, 5, 9}),
    3: frozenset({4, 5, 6, 7, 9}),
    4: frozenset({8}),
    5: frozenset({4, 5, 6, 7}),
}
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})

# Discord's rate limits as `FakeDiscord.discord_limits()` sets them (off by default, so that
# other tests stay fast). The global limit: requests per second per bot, interactions exempt.
GLOBAL_PER_SECOND = 50
# Per-route buckets: "METHOD /route/{param}" → (requests, seconds), per major parameter
# (channel_id, guild_id, webhook_id + token). A message is 5 per 5 s per channel, as Discord
# answers; DM channel creation has a bucket of its own, whose size Discord does not publish
# (generous here, so that the global limit is the one a fan-out meets; tests narrow it).
DISCORD_ROUTE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /users/@me/channels": (50, 1.0),
    "POST /guilds/{guild_id}/scheduled-events": (5, 5.0),
    "PATCH /guilds/{guild_id}/scheduled-events/{event_id}": (5, 5.0),
}
