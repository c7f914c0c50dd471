"""The platform-neutral commands: a `Command` in, a localized `Reply` out."""

from bot.commands.context import CommandContext
from bot.commands.dispatch import Commands
from bot.commands.organizer import NextJobs, OrganizerCommands, ReloadHook
from bot.commands.permissions import LOCAL_PLATFORMS, is_organizer
from bot.commands.registry import HELP_ORDER, ORGANIZER_ORDER, SETTINGS_COMMANDS

__all__ = [
    "HELP_ORDER",
    "LOCAL_PLATFORMS",
    "ORGANIZER_ORDER",
    "SETTINGS_COMMANDS",
    "CommandContext",
    "Commands",
    "NextJobs",
    "OrganizerCommands",
    "ReloadHook",
    "is_organizer",
]
