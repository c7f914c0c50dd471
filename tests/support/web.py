"""A worker with its web face on a free port of 127.0.0.1, and an HTTP client to read it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import aiohttp

from bot.config import Settings
from bot.schedule import Schedule
from bot.store import Store
from bot.web.server import Listen, WebServer
from tests.support.harness import S1, Harness, summit


@dataclass
class WebWorld:
    """The bot (driven like a chat) and its web server (read like a browser would)."""

    bot: Harness
    web: WebServer
    http: aiohttp.ClientSession

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
        """GET `path` (or a full URL): status, body as text, headers."""
        url = path if "://" in path else f"{self.web.url}{path}"
        async with self.http.get(url, **kwargs) as response:
            return response.status, await response.text(), dict(response.headers)


@asynccontextmanager
async def serving(
    store: Store,
    *,
    schedule: Schedule | None = None,
    settings: Settings | None = None,
    now: dt.datetime = S1 - dt.timedelta(days=2),
    **options: Any,
) -> AsyncIterator[WebWorld]:
    """The summit bot two days before session 1, its web face listening on a free port."""
    settings = settings or Settings()
    web = WebServer(settings, Listen("127.0.0.1", 0))
    bot = Harness(store, schedule or summit(), settings, now, web=web, **options)
    await bot.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield WebWorld(bot, web, http)
    finally:
        await bot.worker.stop()


class Page(HTMLParser):
    """An HTML page as a test reads it: its text by element, its links, forms and headings."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.headings: dict[str, list[str]] = {}  # tag → texts
        self.selects: dict[str, list[str]] = {}  # name → option values
        self.selected: dict[str, str] = {}  # name → the selected option
        self.scripts: list[str] = []
        self.meta: list[dict[str, str]] = []
        self.lang = ""
        self.text = ""
        self.articles: dict[str, str] = {}  # id → its text
        self._open: list[tuple[str, dict[str, str]]] = []
        self._href: str | None = None
        self._chunks: list[str] = []
        self._select: str | None = None
        self._article: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "meta":
            self.meta.append(a)
        if tag == "a":
            self._href, self._chunks = a.get("href", ""), []
        if tag in ("h1", "h2", "h3", "script", "title"):
            self._chunks = []
        if tag == "select":
            self._select = a.get("name", "")
            self.selects[self._select] = []
        if tag == "option" and self._select is not None:
            self.selects[self._select].append(a.get("value", ""))
            if "selected" in a:
                self.selected[self._select] = a.get("value", "")
        if tag == "article":
            self._article = a.get("id", "")
            self.articles[self._article] = ""
        if tag not in ("meta", "br", "input"):
            self._open.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._chunks)))
            self._href = None
        if tag in ("h1", "h2", "h3", "title"):
            self.headings.setdefault(tag, []).append("".join(self._chunks))
        if tag == "script":
            self.scripts.append("".join(self._chunks))
        if tag == "select":
            self._select = None
        if tag == "article":
            self._article = None
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self._chunks.append(data)
        if not self._open or self._open[-1][0] not in ("script", "style"):
            self.text += data
            if self._article is not None:
                self.articles[self._article] += data
