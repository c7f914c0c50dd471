"""Outgoing sends: to a user's DMs (the channel remembered) or a channel, and Discord's
failures mapped to the contract's SendError kinds for the delivery engine."""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot.adapters.base import Blocked, Core, Recipient, Rejected, RetryAfter, Transient
from bot.adapters.discord.render import Renderer
from bot.config import Settings
from bot.constants import ChatKind
from bot.messages import Message

log = logging.getLogger(__name__)

# Discord's JSON error code for "Cannot send messages to this user" (DMs closed, bot blocked).
CANNOT_MESSAGE_USER = 50007
# The store's kind for a remembered DM channel id (key: the user id).
DM_REF = "dm"


class DmChannels:
    """The DM channel with each user: opened once, its id remembered across restarts."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._ids: dict[str, int] = {}  # user id → DM channel id, in front of core.recall

    async def channel(
        self, client: discord.Client, core: Core, user_id: str
    ) -> discord.PartialMessageable:
        """The DM channel with a user, opened (and remembered) if none is known."""
        channel_id = self._ids.get(user_id)
        if channel_id is None:
            stored = await core.recall(self.platform, DM_REF, user_id)
            if stored is None:
                # Straight to the API, not Client.create_dm: that would answer from
                # discord.py's cache, which still holds a channel Discord just called unknown.
                dm = await client.http.start_private_message(int(user_id))
                stored = str(dm["id"])
                await core.remember(self.platform, DM_REF, user_id, stored)
            channel_id = self._ids[user_id] = int(stored)
        # A partial channel: sending needs no GET of the channel or the user first.
        return client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def forget(self, core: Core, user_id: str) -> None:
        """Drop a DM channel Discord no longer knows: the next send opens a new one."""
        self._ids.pop(user_id, None)
        await core.forget(self.platform, DM_REF, user_id)


def retry_after(exc: discord.HTTPException) -> float:
    """Seconds to wait from a 429's body or Retry-After header; 1 s when neither says."""
    response = exc.response
    headers = getattr(response, "headers", None) or {}
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0) or 1.0
    except (TypeError, ValueError):
        return 1.0


class Sender:
    """Sends reminders through one running client, failures mapped for the engine."""

    def __init__(
        self,
        client: discord.Client,
        core: Core,
        settings: Settings,
        renderer: Renderer,
        dms: DmChannels,
    ) -> None:
        self.client = client
        self.core = core
        self.settings = settings
        self.renderer = renderer
        self.dms = dms

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Send a reminder to a user's DMs or to a channel; map failures for the engine."""
        client = self.client
        role = self.settings.discord.announcement_role_id
        private = to.kind == ChatKind.PRIVATE
        mention = f"<@&{role}>" if role and not private else None
        allowed = discord.AllowedMentions(
            everyone=False,
            users=False,
            roles=[discord.Object(int(role))] if mention else False,
        )
        try:
            channel: discord.abc.Messageable
            if private:
                channel = await self.dms.channel(client, self.core, to.chat_id)
            else:
                channel = client.get_partial_messageable(int(to.chat_id))
            for i, post in enumerate(self.renderer.posts(message, mention=mention)):
                kwargs = post.parts()
                # The ledger row id as nonce (discord.py then sets enforce_nonce): a POST
                # retried after a lost response is not posted twice.
                await channel.send(
                    post.content,
                    allowed_mentions=allowed,
                    nonce=key if i == 0 else f"{key}.{i}",
                    silent=message.silent,  # the reader's quiet hours: no push, no sound
                    **kwargs,
                )
        except discord.Forbidden as exc:
            if exc.code == CANNOT_MESSAGE_USER:  # the user closed their DMs or blocked the bot
                raise Blocked(f"discord {exc.code}: {exc.text}") from exc
            raise Rejected(f"discord 403 {exc.code}: {exc.text}") from exc
        except discord.NotFound as exc:
            if private:
                # A DM channel id we remembered is unknown: open a new one on the retry.
                await self.dms.forget(self.core, to.chat_id)
                raise Transient(f"discord 404 {exc.code}: DM channel unknown") from exc
            raise Rejected(f"discord 404 {exc.code}: {exc.text}") from exc
        except discord.DiscordServerError as exc:
            raise Transient(f"discord {exc.status}: {exc.text}") from exc
        except discord.RateLimited as exc:
            raise RetryAfter(exc.retry_after) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:  # discord.py retried and gave up, or a Cloudflare block
                raise RetryAfter(retry_after(exc)) from exc
            if exc.status == 401:
                log.error("discord: unauthorized; check DISCORD_BOT_TOKEN")
                raise Transient("discord 401: unauthorized") from exc
            raise Rejected(f"discord {exc.status} {exc.code}: {exc.text}") from exc
        except ValueError as exc:  # a chat id that is not a snowflake
            raise Rejected(f"discord: bad recipient {to.chat_id!r}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Transient(f"discord: {type(exc).__name__}: {exc}") from exc
