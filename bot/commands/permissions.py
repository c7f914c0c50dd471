"""Who is an organizer: from config, per platform; the command line always is."""

from __future__ import annotations

from bot.config import Settings
from bot.messages import Command

# Platforms whose operator runs the worker itself (its terminal): they are the organizer.
LOCAL_PLATFORMS = frozenset({"console"})


def is_organizer(cmd: Command, settings: Settings) -> bool:
    """Whether the person behind a command may broadcast, reload and see statistics."""
    if cmd.platform in LOCAL_PLATFORMS:
        return True
    org = settings.organizers
    if cmd.platform == "telegram":
        return cmd.user_id in org.telegram_user_ids
    if cmd.platform == "discord":
        if cmd.user_id in org.discord_user_ids:
            return True
        roles = {r for r in cmd.extra.get("roles", "").split(",") if r}
        return bool(roles & set(org.discord_role_ids))
    return False
