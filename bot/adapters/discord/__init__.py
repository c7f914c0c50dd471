"""The Discord adapter: slash commands, buttons and DMs with discord.py, native scheduled events.

Settings are per user: a slash command in a guild channel configures the caller's own DM
reminders (chat_id = the user id), never the channel's. Channels get reminders only when the
operator lists them in `announcement_channels.discord`.

Modules: `adapter` (DiscordAdapter: settings, start/stop), `client` (discord.py's client
pointed at its own servers), `interactions` (slash commands, buttons, answers), `translator`
(command names from the catalogs), `render` (messages as posts and buttons), `sending`
(reminders out, failures mapped), `events` (scheduled events in step with the schedule).
"""

from __future__ import annotations

from bot.adapters.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
