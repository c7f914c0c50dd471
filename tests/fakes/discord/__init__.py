"""In-process fake of Discord's REST API and Gateway for driving the real discord.py client.

The server speaks the real wire protocol (REST v10 JSON, Gateway v10 JSON with optional
``zlib-stream`` transport compression) on 127.0.0.1, so an unmodified ``discord.Client`` can log
in, identify, receive guilds and interactions, and call the REST routes a reminder bot uses.
Point discord.py at it with ``tests.support.discord_rig.point_discord_at``.

Conventions of the test-side API:

* ids are ``int``; JSON payloads returned to tests use Discord's own shapes (ids as strings);
* ``path_pattern`` arguments are regular expressions matched with ``re.fullmatch`` against the
  request path relative to the API base, e.g. ``r"/channels/\\d+/messages"``;
* ``method`` arguments are HTTP methods, or ``"*"`` for any.
"""

from __future__ import annotations

from tests.fakes.discord.constants import (
    API_PREFIX,
    API_VERSION,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DISCORD_EPOCH_MS,
    DISCORD_LOCALES,
    DM_APP_PERMISSIONS,
    GATEWAY_PATH,
    INTERACTION_TOKEN_LIFETIME,
    MSG_FLAG_COMPONENTS_V2,
    MSG_FLAG_CROSSPOSTED,
    MSG_FLAG_EPHEMERAL,
    MSG_FLAG_LOADING,
    MSG_FLAG_SUPPRESS_EMBEDS,
    MSG_FLAG_SUPPRESS_NOTIFICATIONS,
    SETTABLE_MESSAGE_FLAGS,
    ChannelType,
    Intent,
    Perm,
)
from tests.fakes.discord.models import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser
from tests.fakes.discord.records import (
    FakeInteraction,
    GatewayConnection,
    GatewaySession,
    InteractionResponse,
    RecordedRequest,
)
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.wire import DiscordAPIError, form_error

__all__ = [
    "API_PREFIX",
    "API_VERSION",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DISCORD_EPOCH_MS",
    "DISCORD_LOCALES",
    "DM_APP_PERMISSIONS",
    "GATEWAY_PATH",
    "INTERACTION_TOKEN_LIFETIME",
    "MSG_FLAG_COMPONENTS_V2",
    "MSG_FLAG_CROSSPOSTED",
    "MSG_FLAG_EPHEMERAL",
    "MSG_FLAG_LOADING",
    "MSG_FLAG_SUPPRESS_EMBEDS",
    "MSG_FLAG_SUPPRESS_NOTIFICATIONS",
    "SETTABLE_MESSAGE_FLAGS",
    "ChannelType",
    "DiscordAPIError",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "GatewayConnection",
    "GatewaySession",
    "Intent",
    "InteractionResponse",
    "Perm",
    "RecordedRequest",
    "form_error",
]
