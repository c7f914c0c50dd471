"""discord.py's client, pointed at its own API and gateway, with its hooks handed over.

discord.py 2.7 has no base-URL option: it builds each REST URL from the class attribute
`discord.http.Route.BASE` when a `Route` is made, and connects to the class attribute
`DiscordWebSocket.DEFAULT_GATEWAY`. Setting those would point every client in the process at
one server, so each client here rewrites its own URLs instead, at the three places its
traffic leaves: `HTTPClient.request` (REST), `HTTPClient.ws_connect` (the gateway) and the
webhook adapter that answers interactions (a context variable, so per task tree).
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

Interaction = discord.Interaction[discord.Client]


@dataclass(frozen=True)
class Endpoints:
    """Where one client's requests go: a REST base URL and a gateway URL."""

    api_base_url: str
    gateway_url: str

    def route(self, route: Route) -> Route:
        """`route` aimed at this API: its URL was built on discord.py's (global) base."""
        official = Route.BASE  # read, never set: what discord.py built `route.url` on
        if not route.url.startswith(official):
            return route
        routed = copy.copy(route)  # a Route may be sent again (a retry); leave it as made
        routed.url = self.api_base_url.rstrip("/") + route.url[len(official) :]
        return routed

    def gateway(self, url: str) -> str:
        """The gateway URL to connect to for `url`, which discord.py built on its default.

        A resume goes to the URL the server named in READY and is kept; a first connection
        (or one after an invalidated session) goes to discord.py's default, which is
        replaced with this client's gateway, its query (version, encoding) kept.
        """
        asked = yarl.URL(url)
        if asked.with_query(None) != DiscordWebSocket.DEFAULT_GATEWAY.with_query(None):
            return url
        return str(yarl.URL(self.gateway_url).with_query(asked.query))


class RoutedHTTPClient(HTTPClient):
    """discord.py's HTTP client, sending REST requests and the gateway to `endpoints`."""

    def __init__(self, endpoints: Endpoints, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints = endpoints

    async def request(self, route: Route, **kwargs: Any) -> Any:
        """One REST request, to this client's API."""
        return await super().request(self.endpoints.route(route), **kwargs)

    async def ws_connect(self, url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        """The gateway connection, to this client's gateway."""
        return await super().ws_connect(self.endpoints.gateway(url), compress=compress)


class RoutedWebhookAdapter(AsyncWebhookAdapter):
    """discord.py's webhook adapter (interaction answers, follow-ups) sending to `endpoints`."""

    def __init__(self, endpoints: Endpoints) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # discord.py leaves it unannotated
        self.endpoints = endpoints

    async def request(self, route: Route, *args: Any, **kwargs: Any) -> Any:
        """One webhook request, to this client's API."""
        return await super().request(self.endpoints.route(route), *args, **kwargs)


class ClientHooks(Protocol):
    """What the client hands over: command set-up after login, and button presses."""

    async def setup(self, tree: app_commands.CommandTree[discord.Client]) -> None:
        """Register and sync the slash commands (after login, before the gateway)."""

    async def on_component(self, interaction: Interaction) -> None:
        """An interaction the command tree does not handle (a button press)."""


class DiscordClient(discord.Client):
    """A discord.Client that talks to `endpoints` only and hands its hooks to `hooks`."""

    def __init__(
        self,
        endpoints: Endpoints,
        hooks: ClientHooks,
        ready: asyncio.Event,
        *,
        max_ratelimit_timeout: float,
        http_trace: aiohttp.TraceConfig | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.endpoints = endpoints
        # discord.Client builds a stock HTTPClient and gives it to its connection state; both
        # get the routed one before anything is sent (Client offers no other way in).
        self.http = self._connection.http = RoutedHTTPClient(
            endpoints,
            self.loop,
            max_ratelimit_timeout=max_ratelimit_timeout,
            http_trace=http_trace,
        )
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self)
        self.hooks = hooks
        self.gateway_ready = ready

    async def setup_hook(self) -> None:
        """After login, before the gateway: register and sync the slash commands."""
        await self.hooks.setup(self.tree)

    async def connect(self, *, reconnect: bool = True) -> None:
        """The gateway loop, with interaction answers routed to this client's API.

        discord.py takes its webhook adapter from a context variable. connect() runs for the
        client's whole life in the task that started it (the adapter's runner), and every
        interaction is handled in a task created from there, which inherits the variable:
        the routing reaches this client's interactions and nothing else in the process.
        """
        async_context.set(RoutedWebhookAdapter(self.endpoints))
        await super().connect(reconnect=reconnect)

    async def on_ready(self) -> None:
        """The gateway is ready (again, after a re-identify)."""
        self.gateway_ready.set()

    async def on_interaction(self, interaction: Interaction) -> None:
        """Button presses (slash commands and autocomplete go through the command tree)."""
        await self.hooks.on_component(interaction)
