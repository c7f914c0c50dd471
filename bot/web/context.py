"""What every part of the web face is handed: the running worker, its settings and clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.config import Settings

if TYPE_CHECKING:  # the worker builds the web server; the type is only needed for checking
    from bot.app import Worker


@dataclass(frozen=True)
class WebContext:
    """The worker behind the pages (store, schedule in force, broadcasts, adapters)."""

    worker: Worker
    settings: Settings
    clock: Callable[[], dt.datetime]
    # The address links point to, without a trailing slash: "https://summit.example.org".
    public_url: str


# Every route reads the context from its application: `request.app[CONTEXT]`.
CONTEXT = web.AppKey("context", WebContext)
