"""`users/@me` for `summit-bot doctor`: who DISCORD_BOT_TOKEN is, without opening the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import discord

from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.client import Endpoints, RoutedHTTPClient
from bot.adapters.discord.invite import invite_url
from bot.adapters.probe import BotIdentity, TokenRejected, Unreachable
from bot.config import Settings


async def probe(env: Mapping[str, str], settings: Settings) -> BotIdentity:
    """The bot the environment's token names, asked with `users/@me` at DISCORD_API_BASE_URL.

    Raises ConfigError where `run` would refuse the environment (the same checks, from
    `DiscordAdapter.from_env`), TokenRejected or Unreachable; none of them holds the token.
    The caller bounds the wait (discord.py's own time-outs are generous).
    """
    adapter = DiscordAdapter.from_env(env, settings)  # registers the token with the redactor
    endpoints = Endpoints(adapter.api_base_url, adapter.gateway_url)
    http = RoutedHTTPClient(endpoints, asyncio.get_running_loop())
    try:
        me = await http.static_login(env["DISCORD_BOT_TOKEN"].strip())
    except discord.LoginFailure:
        raise TokenRejected(
            "DISCORD_BOT_TOKEN was rejected by Discord",
            "copy it again from the Developer Portal (your application → Bot → Reset Token)",
        ) from None
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise Unreachable(
            f"no answer from Discord at {adapter.api_base_url} ({type(exc).__name__})",
            "check the network and DISCORD_API_BASE_URL",
        ) from None
    finally:
        await http.close()
    name = me.get("global_name") or me["username"]
    application = str(me["id"])  # a bot's user id is its application's id
    return BotIdentity(
        "discord",
        name,
        f"application {application}",
        note=f"add it to a server: {invite_url(application, settings)}",
    )
