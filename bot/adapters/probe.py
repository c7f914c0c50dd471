"""What `summit-bot doctor` learns from asking a platform who a token is: a name, or why not.

Each adapter package has a `probe` module that makes the one platform call (Telegram's
`getMe`, Discord's `users/@me`) with its SDK and answers in these neutral terms, so that the
command line reports it without knowing any SDK.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import SummitBotError


@dataclass(frozen=True)
class BotIdentity:
    """Who a token is on its platform: its handle, its display name, and how to add it."""

    platform: str
    name: str  # what people see: "@summit_bot" on Telegram, "Summit Bot" on Discord
    display: str = ""  # a second name when the platform has one (Telegram's first name)
    note: str = ""  # what else to know, e.g. Discord's link that adds the bot to a server


class ProbeError(SummitBotError):
    """A platform check that failed: what went wrong and what to do about it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix


class TokenRejected(ProbeError):
    """The platform answered, and refused the token."""


class Unreachable(ProbeError):
    """The platform did not answer (network, proxy, base URL, or a time-out)."""
