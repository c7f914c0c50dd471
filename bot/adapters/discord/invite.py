"""The link that adds the bot to a server, with the permissions it uses (the doctor prints
it; the public page offers it)."""

from __future__ import annotations

from urllib.parse import urlencode

import discord

from bot.config import Settings

INVITE_URL = "https://discord.com/oauth2/authorize"


def needed_permissions(settings: Settings) -> discord.Permissions:
    """What the adapter uses in a server: posts with embeds in the announcement channels, and
    the server's scheduled events when the config names guilds to keep them in."""
    permissions = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
    if settings.discord.scheduled_events and settings.discord.guild_ids:
        permissions.update(create_events=True, manage_events=True)
    return permissions


def invite_url(application_id: str, settings: Settings) -> str:
    """The link that adds the bot to a server, with its slash commands and permissions."""
    query = urlencode(
        {
            "client_id": application_id,
            "scope": "bot applications.commands",
            "permissions": needed_permissions(settings).value,
        }
    )
    return f"{INVITE_URL}?{query}"
