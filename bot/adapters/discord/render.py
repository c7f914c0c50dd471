"""A neutral message as Discord messages: embeds, timestamps, command mentions and buttons."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.adapters.base import split_units
from bot.adapters.discord.markdown import atoms, clip
from bot.messages import Attachment, Message

MAX_ROWS = 5  # action rows per message
MAX_ROW_WIDTH = 5  # buttons per action row
MAX_TITLE = 256  # characters in an embed's title


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, with an ellipsis when cut (plain text only:
    button labels, choices, names; text shown as markdown goes through `markdown`)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Post:
    """One Discord message: content (mention, timestamps), an embed, components, a file."""

    content: str | None
    embed: discord.Embed | None
    view: discord.ui.View | None
    attachment: Attachment | None = None

    def file(self) -> discord.File | None:
        """The attachment as a new upload (a discord.File is read once, so one per send)."""
        if self.attachment is None:
            return None
        return discord.File(io.BytesIO(self.attachment.data), filename=self.attachment.filename)

    def parts(self) -> dict[str, Any]:
        """The embed, components and file, as keywords of discord.py's send calls (the
        ones not set left out: discord.py treats a given None differently)."""
        found = {"embed": self.embed, "view": self.view, "file": self.file()}
        return {name: value for name, value in found.items() if value is not None}


class Renderer:
    """Renders messages, naming the slash commands as synced (per guild, or global)."""

    def __init__(self, max_text: int) -> None:
        self.max_text = max_text
        # Slash command ids as synced, per guild (None: global), for command mentions.
        self._command_ids: dict[int | None, dict[str, int]] = {}

    def commands_synced(
        self, guild_id: int | None, commands: Sequence[app_commands.AppCommand]
    ) -> None:
        """Remember the ids of the commands just synced to a guild (None: globally)."""
        self._command_ids[guild_id] = {c.name: c.id for c in commands}

    def posts(
        self, message: Message, *, mention: str | None, guild_id: int | None = None
    ) -> list[Post]:
        """A neutral message as Discord messages: embed(s) for the text, buttons for links.

        The content carries only a role mention and the session time as Discord timestamps,
        which every reader's client shows in their own zone and language. "/subscribe" in the
        text becomes a command mention, which the client shows under the name the reader's
        language gives it (/訂閱 in zh-TW) and which fills the command in when clicked.
        """
        ids = self._command_ids.get(guild_id) or self._command_ids.get(None) or {}
        when = ""
        if message.when is not None:
            when = (
                f"{discord.utils.format_dt(message.when, 'F')} "
                f"({discord.utils.format_dt(message.when, 'R')})"
            )
        head = " ".join(p for p in (mention, when) if p) or None
        # Text from the core is plain: escaped so that nothing typed becomes markup, with
        # "/name" as mentions, and measured and split after both, on what Discord counts.
        text = atoms(message.text, ids, longest=self.max_text)
        chunks = split_units(text, self.max_text) if message.text else []
        title = None
        if message.title:
            # Titles show no links: a URL there is escaped like any other text.
            title = clip(atoms(message.title, longest=0), MAX_TITLE)
        posts: list[Post] = []
        for i, chunk in enumerate(chunks or [""]):
            body = chunk or None
            embed = None
            if body or (title and i == 0):
                embed = discord.Embed(
                    title=title if i == 0 else None,
                    description=body,
                    timestamp=message.when if i == 0 else None,
                )
            content = head if i == 0 else None
            if embed is None and content is None:
                content = "\u200b"  # Discord refuses an empty message
            posts.append(Post(content, embed, None))
        view = self.view(message)
        if view is not None or message.attachment is not None:
            last = posts[-1]
            posts[-1] = Post(last.content, last.embed, view, message.attachment)
        return posts

    def view(self, message: Message) -> discord.ui.View | None:
        """Links as link buttons, then the core's buttons, within Discord's 5×5 grid."""
        links: list[discord.ui.Button[discord.ui.View]] = [
            discord.ui.Button(
                style=discord.ButtonStyle.link, label=cut(link.label, 80) or "→", url=link.url
            )
            for link in message.links
        ]
        rows = [links[i : i + MAX_ROW_WIDTH] for i in range(0, len(links), MAX_ROW_WIDTH)]
        seen: set[str] = set()
        for actions in message.buttons:
            items: list[discord.ui.Button[discord.ui.View]] = []
            for button in actions:
                custom_id = button.action[:100]
                # Discord wants ids unique within a message; trailing spaces keep two buttons
                # with the same action apart and parse back to the same command.
                while custom_id in seen and len(custom_id) < 100:
                    custom_id += " "
                if custom_id in seen:
                    continue
                seen.add(custom_id)
                label = cut(button.label, 80) or cut(button.action, 80)
                items.append(
                    discord.ui.Button(
                        style=discord.ButtonStyle.secondary, label=label, custom_id=custom_id
                    )
                )
            rows.extend(items[i : i + MAX_ROW_WIDTH] for i in range(0, len(items), MAX_ROW_WIDTH))
        rows = [r for r in rows if r]
        if not rows:
            return None
        if len(rows) > MAX_ROWS:  # too many rows: pack them, keep what fits
            flat = [item for row in rows for item in row][: MAX_ROWS * MAX_ROW_WIDTH]
            rows = [flat[i : i + MAX_ROW_WIDTH] for i in range(0, len(flat), MAX_ROW_WIDTH)]
        view = discord.ui.View(timeout=None)
        for number, row in enumerate(rows):
            for item in row:
                item.row = number
                view.add_item(item)
        # A finished view is only serialized: discord.py keeps no per-message handler for it,
        # so memory stays flat; presses reach on_interaction, which works after restarts too.
        view.stop()
        return view
