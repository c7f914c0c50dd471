"""The HTTP server: lifecycle, the route table, each request's auth, failures and rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from tests.fakes.discord.channels import RestChannels
from tests.fakes.discord.commands import RestCommands
from tests.fakes.discord.constants import API_PREFIX, GATEWAY_PATH
from tests.fakes.discord.faults import FaultsAndLimits
from tests.fakes.discord.guilds import RestGuilds
from tests.fakes.discord.interaction_responses import InteractionResponses
from tests.fakes.discord.interactions import Interactions
from tests.fakes.discord.models import FakeUser
from tests.fakes.discord.records import RecordedRequest
from tests.fakes.discord.wire import DiscordAPIError, _ceil_ms, _json_response
from tests.fakes.discord.world import WorldSetup


class FakeDiscord(
    WorldSetup,
    InteractionResponses,
    RestChannels,
    Interactions,
    RestGuilds,
    RestCommands,
    FaultsAndLimits,
):
    """Fake Discord REST API + Gateway server; use as ``async with FakeDiscord() as dc``."""

    # Its parts, one module each over the shared state (state.py): the world a test sets up
    # (world.py), interactions a test starts (interactions.py), failures and rate limits
    # (faults.py), the gateway (gateway.py) and the REST routes (commands.py, channels.py,
    # guilds.py, interaction_responses.py); this class adds the lifecycle and the HTTP plumbing.

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        await self.close()

    async def start(self) -> None:
        """Start listening on a random port of 127.0.0.1."""
        app = web.Application(middlewares=[self._api_middleware])
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        """Close gateway connections and stop the server."""
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"shutting down"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for _, fut in self._waiters:
            fut.cancel()
        self._waiters.clear()

    # ------------------------------------------------------------------ REST plumbing

    def _add_routes(self, app: web.Application) -> None:
        """Register the gateway and REST routes."""
        app.router.add_get(GATEWAY_PATH, self._gateway_handler)
        p = API_PREFIX
        snow = r"{%s:\d+}"
        app_cmds = f"{p}/applications/{snow % 'app_id'}"
        guild = f"{p}/guilds/{snow % 'guild_id'}"
        channel = f"{p}/channels/{snow % 'channel_id'}"
        hook = f"{p}/webhooks/{snow % 'webhook_id'}/{{webhook_token}}"
        routes: list[tuple[str, str, Callable[[web.Request], Any]]] = [
            ("GET", f"{p}/gateway", self._get_gateway),
            ("GET", f"{p}/gateway/bot", self._get_gateway_bot),
            ("GET", f"{p}/users/@me", self._get_me),
            ("POST", f"{p}/users/@me/channels", self._create_dm),
            ("GET", f"{p}/users/{snow % 'user_id'}", self._get_user),
            ("GET", f"{p}/oauth2/applications/@me", self._get_application),
            ("GET", f"{p}/applications/@me", self._get_application),
            ("GET", f"{app_cmds}/commands", self._list_commands),
            ("PUT", f"{app_cmds}/commands", self._bulk_commands),
            ("POST", f"{app_cmds}/commands", self._upsert_command),
            ("GET", f"{app_cmds}/commands/{snow % 'command_id'}", self._get_command),
            ("PATCH", f"{app_cmds}/commands/{snow % 'command_id'}", self._edit_command),
            ("DELETE", f"{app_cmds}/commands/{snow % 'command_id'}", self._delete_command),
            ("GET", f"{app_cmds}/guilds/{snow % 'guild_id'}/commands", self._list_commands),
            ("PUT", f"{app_cmds}/guilds/{snow % 'guild_id'}/commands", self._bulk_commands),
            ("POST", f"{app_cmds}/guilds/{snow % 'guild_id'}/commands", self._upsert_command),
            (
                "GET",
                f"{app_cmds}/guilds/{snow % 'guild_id'}/commands/{snow % 'command_id'}",
                self._get_command,
            ),
            (
                "PATCH",
                f"{app_cmds}/guilds/{snow % 'guild_id'}/commands/{snow % 'command_id'}",
                self._edit_command,
            ),
            (
                "DELETE",
                f"{app_cmds}/guilds/{snow % 'guild_id'}/commands/{snow % 'command_id'}",
                self._delete_command,
            ),
            (
                "POST",
                f"{p}/interactions/{snow % 'webhook_id'}/{{webhook_token}}/callback",
                self._interaction_callback,
            ),
            ("POST", hook, self._create_followup),
            ("GET", f"{hook}/messages/@original", self._get_webhook_message),
            ("PATCH", f"{hook}/messages/@original", self._edit_webhook_message),
            ("DELETE", f"{hook}/messages/@original", self._delete_webhook_message),
            ("GET", f"{hook}/messages/{snow % 'message_id'}", self._get_webhook_message),
            ("PATCH", f"{hook}/messages/{snow % 'message_id'}", self._edit_webhook_message),
            ("DELETE", f"{hook}/messages/{snow % 'message_id'}", self._delete_webhook_message),
            ("GET", channel, self._get_channel),
            ("GET", f"{channel}/messages", self._list_messages),
            ("POST", f"{channel}/messages", self._create_channel_message),
            ("POST", f"{channel}/typing", self._typing),
            ("GET", f"{channel}/messages/{snow % 'message_id'}", self._get_channel_message),
            ("PATCH", f"{channel}/messages/{snow % 'message_id'}", self._edit_channel_message),
            ("DELETE", f"{channel}/messages/{snow % 'message_id'}", self._delete_channel_message),
            ("POST", f"{channel}/messages/{snow % 'message_id'}/crosspost", self._crosspost),
            ("GET", guild, self._get_guild),
            ("GET", f"{guild}/channels", self._get_guild_channels),
            ("GET", f"{guild}/members/{snow % 'user_id'}", self._get_member),
            ("GET", f"{guild}/scheduled-events", self._list_events),
            ("POST", f"{guild}/scheduled-events", self._create_event),
            ("GET", f"{guild}/scheduled-events/{snow % 'event_id'}", self._get_event),
            ("PATCH", f"{guild}/scheduled-events/{snow % 'event_id'}", self._edit_event),
            ("DELETE", f"{guild}/scheduled-events/{snow % 'event_id'}", self._delete_event),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)

    @web.middleware
    async def _api_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Record API requests, check auth, inject failures and rate limits, add headers."""
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)  # type: ignore[no-any-return]
        rel = request.path[len(API_PREFIX) :]
        record = RecordedRequest(
            request.method,
            rel,
            dict(request.query),
            None,
            dict(request.headers),
            time.monotonic(),
        )
        self.requests.append(record)
        try:
            record.json, record.files = await self._read_body(request)
            self._records[id(request)] = record
            response = await self._process(request, handler, record)
        except DiscordAPIError as exc:
            response = _json_response(exc.body(), exc.status)
        except web.HTTPException as exc:
            response = _json_response(
                {"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status
            )
        finally:
            self._records.pop(id(request), None)
        record.status = response.status
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes) and response.content_type == "application/json":
            record.response = json.loads(body)
        self._notify()
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[str]]:
        """Parse a JSON or multipart (``payload_json`` + files) request body."""
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [f.filename for f in form.values() if isinstance(f, web.FileField)]
            raw = form.get("payload_json")
            body = json.loads(str(raw)) if raw is not None else {}
            return body, files
        raw_bytes = await request.read()
        if not raw_bytes:
            return None, []
        try:
            return json.loads(raw_bytes), []
        except ValueError:
            raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None

    async def _process(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Any],
        record: RecordedRequest,
    ) -> web.StreamResponse:
        """Run auth, failure injection, rate limiting and the handler for one request."""
        rel = record.path
        # Stamped again once the body is in: the limits below (and the bench's windows)
        # count requests in the order they reach them.
        record.time = time.monotonic()
        token_route = rel.startswith(("/interactions/", "/webhooks/"))
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        if not token_route and rel != "/gateway" and not authorized:
            raise DiscordAPIError(401, 0, "401: Unauthorized")
        for rule in self._failures:
            method_ok = rule.method in ("*", request.method)
            if rule.remaining > 0 and method_ok and rule.pattern.fullmatch(rel):
                rule.remaining -= 1
                return self._failure_response(rule, request)
        # The global limit: requests per rolling second per bot; interactions (callbacks,
        # follow-ups: the token routes) are exempt, as on Discord.
        if self._global_limit is not None and not token_route:
            window = self._global_window
            while window and window[0] <= record.time - 1.0:
                window.popleft()
            if len(window) >= self._global_limit:
                record.limited = "global"
                retry = _ceil_ms(window[0] + 1.0 - record.time)
                return self._rate_limited(retry, "global", is_global=True)
            window.append(record.time)
        bucket_hash, bucket = self._bucket(request, record.time)
        if bucket is not None and bucket.used >= bucket.limit:
            record.limited = "user"
            headers = self._bucket_headers(bucket_hash, bucket, record.time)
            retry = float(headers["X-RateLimit-Reset-After"])
            return self._rate_limited(retry, "user", bucket_headers=headers)
        if bucket is not None:
            bucket.used += 1
        try:
            response: web.StreamResponse = await handler(request)
        except DiscordAPIError as exc:  # an error counts in its bucket and says so, too
            response = _json_response(exc.body(), exc.status)
        if bucket is not None:
            response.headers.update(self._bucket_headers(bucket_hash, bucket, time.monotonic()))
        return response

    # ------------------------------------------------------------------ REST: misc

    async def _get_gateway(self, request: web.Request) -> web.Response:
        """GET /gateway."""
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        """GET /gateway/bot."""
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - len(self.identifies),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        """GET /users/@me."""
        return _json_response(
            {**self.bot_user.to_json(), "verified": True, "mfa_enabled": False, "locale": "en-US"}
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        """GET /users/{id}."""
        user = self.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise DiscordAPIError(404, 10013, "Unknown User")
        return _json_response(user.to_json())

    async def _get_application(self, request: web.Request) -> web.Response:
        """GET /oauth2/applications/@me."""
        owner = next(
            (u for u in self.users.values() if not u.bot),
            FakeUser(self.snowflake(), "app-owner"),
        )
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "bot": self.bot_user.to_json(),
                "owner": owner.to_json(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": self._application_flags(),
                "hook": True,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
                "install_params": None,
            }
        )
