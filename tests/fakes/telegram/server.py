"""The HTTP server (lifecycle, routing, answers) and the test side reading what the bot did."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, Final

from aiohttp import web

from tests.fakes.telegram.failures import ApiError, Drop, Stall
from tests.fakes.telegram.methods import BotApiMethods, _Handler
from tests.fakes.telegram.records import JSON, Request, UploadedFile
from tests.fakes.telegram.updates import IncomingUpdates

_LOG = logging.getLogger(__name__)


# Parameters whose form value is a plain string; every other form value is JSON-decoded.
_STRING_PARAMS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "inline_message_id",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "query_id",
        "emoji",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "question",
        "explanation",
        "address",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
        "custom_title",
        "invite_link",
        "sticker",
        "document",
        "photo",
        "audio",
        "video",
        "animation",
        "voice",
        "video_note",
        "thumbnail",
        "file_id",
        "action",
        "user_id_str",
    }
)


def _norm_chat_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    return None


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _dumps(body: JSON) -> bytes:
    # ASCII with \u escapes, as the Bot API answers: a lone surrogate a client sent (half of
    # a UTF-16 pair) then reaches the bot as Telegram delivers it instead of failing here.
    return json.dumps(body, separators=(",", ":")).encode("ascii")


class FakeTelegram(IncomingUpdates, BotApiMethods):
    """In-process fake of the Telegram Bot API for one bot token, on 127.0.0.1."""

    # Its parts, one module each: the state (world.py), failures a test arranges
    # (fault_injection.py), updates pushed to the bot (updates.py), the Bot API methods
    # (methods.py); this class adds the server's lifecycle, its HTTP plumbing and the reading side.

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Value for ``Bot(base_url=...)`` / ``ApplicationBuilder().base_url(...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``Bot(base_file_url=...)``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        """Serve on 127.0.0.1: on a free port, or after a `stop` on the port it had."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release held requests and long polls, then close the server."""
        self._closing.set()
        self._fire_updates()
        self._fire()
        if self._webhook_task is not None:
            task, self._webhook_task = self._webhook_task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-side: reading

    def requests(
        self, method: str | None = None, *, chat_id: int | str | None = None
    ) -> list[Request]:
        """Recorded calls, optionally filtered by method and chat."""
        if method is None:
            return [r for r in self.sent if chat_id is None or r.chat_id == chat_id]
        if chat_id is None:
            return list(self._by_method.get(method, ()))
        return list(self._by_method_chat.get((method, chat_id), ()))

    async def wait_for(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the brief's signature; no sleeping involved
    ) -> list[Request]:
        """Wait until at least ``count`` matching calls arrived; return all matching calls."""
        key = (method, chat_id)

        def matching() -> list[Request]:
            if chat_id is None:
                return self._by_method.get(method, [])
            return self._by_method_chat.get(key, [])

        await self._wait_until(
            lambda: len(matching()) >= count,
            timeout,
            lambda: (
                f"expected {count} {method} call(s)"
                + (f" to chat {chat_id}" if chat_id is not None else "")
                + f", got {len(matching())}; methods seen: {self._method_summary()}"
            ),
        )
        return list(matching())

    def messages_to(self, chat_id: int | str) -> list[str]:
        """Texts of all successful sendMessage calls to ``chat_id``, as sent."""
        return list(self._outbox.get(chat_id, ()))

    async def pop_message(
        self,
        chat_id: int | str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Next not yet popped text the bot successfully sent to ``chat_id`` (errbot style)."""
        await self._wait_until(
            lambda: len(self._outbox.get(chat_id, ())) > self._popped.get(chat_id, 0),
            timeout,
            lambda: (
                f"no new message to chat {chat_id} within {timeout}s; "
                f"already popped {self._popped.get(chat_id, 0)}; "
                f"methods seen: {self._method_summary()}"
            ),
        )
        index = self._popped.get(chat_id, 0)
        self._popped[chat_id] = index + 1
        return self._outbox[chat_id][index]

    def message(self, chat_id: int | str, message_id: int) -> JSON | None:
        """Current state of a stored message (after edits), or None."""
        return self._messages.get((chat_id, message_id))

    def commands_for(
        self, language_code: str = "", scope: Mapping[str, Any] | None = None
    ) -> list[JSON]:
        """Commands the bot registered for a scope (default scope) and language."""
        key = json.dumps(dict(scope or {"type": "default"}), sort_keys=True)
        return list(self.commands.get((key, language_code), []))

    def max_in_any_window(self, seconds: float = 1.0, method: str = "sendMessage") -> int:
        """Most calls of ``method`` that arrived within any window of ``seconds``."""
        times = sorted(r.time for r in self._by_method.get(method, ()))
        best = start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrival = self.clock()
        if request.match_info["token"] != self.token:
            return self._json(401, ApiError.unauthorized().body())
        raw_method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ValueError as exc:
            return self._json(400, ApiError.bad_request(f"can't parse request: {exc}").body())
        known = self._handlers.get(raw_method.lower())
        name = known[0] if known else raw_method
        req = Request(name, params, files, self._request_chat_id(name, params), arrival)
        self._record(req)
        if known is None:
            _LOG.warning("FakeTelegram: method %s is not implemented (answering 404)", name)
            return self._finish(req, 404, ApiError.not_found().body())
        handler = known[1]
        failure = self._take_failure(req)
        if isinstance(failure, ApiError):
            return self._finish(req, failure.status, failure.body())
        if isinstance(failure, Drop):
            if failure.deliver:
                self._complete(req, *await self._dispatch(req, handler))
            return self._drop(request)
        if isinstance(failure, Stall):
            if failure.deliver:
                status, body = await self._dispatch(req, handler)
                self._complete(req, status, body)
                await self._hold(failure.seconds)
                return self._json(status, body)
            await self._hold(failure.seconds)
            if self._closing.is_set():
                return self._drop(request)
        return self._finish(req, *await self._dispatch(req, handler))

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._json(401, ApiError.unauthorized().body())
        path = request.match_info["path"]
        for file_id, upload in self.files.items():
            if self._file_path(file_id) == path:
                return web.Response(body=upload.content, content_type=upload.content_type)
        return self._json(404, ApiError.not_found().body())

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the JSON body must be an object")
            params.update(body)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _decode_form_value(key, value)
            elif isinstance(value, web.FileField):
                content = value.file.read()
                files[key] = UploadedFile(
                    key, value.filename, content, value.content_type or "application/octet-stream"
                )
            else:  # bytes
                params[key] = _decode_form_value(key, bytes(value).decode("utf-8", "replace"))
        return params, files

    async def _dispatch(self, req: Request, handler: _Handler) -> tuple[int, JSON]:
        try:
            result = handler(req)
            if isinstance(result, Awaitable):
                result = await result
        except ApiError as error:
            return error.status, error.body()
        if isinstance(result, tuple):  # (result, description)
            return 200, {"ok": True, "result": result[0], "description": result[1]}
        return 200, {"ok": True, "result": result}

    def _complete(self, req: Request, status: int, body: JSON) -> None:
        req.status = status
        req.response = body
        if status == 429:
            self.too_many_requests += 1
        elif status == 200 and req.method == "sendMessage" and req.chat_id is not None:
            self._outbox.setdefault(req.chat_id, []).append(str(req.params.get("text", "")))
        self._fire()

    def _finish(self, req: Request, status: int, body: JSON) -> web.Response:
        self._complete(req, status, body)
        return self._json(status, body)

    def _drop(self, request: web.Request) -> web.StreamResponse:
        """Abort the connection so the client sees it closed without an answer."""
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError

    @staticmethod
    def _json(status: int, body: JSON) -> web.Response:
        return web.Response(status=status, body=_dumps(body), content_type="application/json")

    async def _hold(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    def _record(self, req: Request) -> None:
        self.sent.append(req)
        self._by_method.setdefault(req.method, []).append(req)
        self._by_method_chat.setdefault((req.method, req.chat_id), []).append(req)
        self._fire()

    def _request_chat_id(self, method: str, params: JSON) -> int | str | None:
        if method == "answerCallbackQuery":
            query = self._callback_queries.get(str(params.get("callback_query_id")))
            return query["chat_id"] if query else None
        return _norm_chat_id(params.get("chat_id"))
