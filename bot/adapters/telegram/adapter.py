"""The Telegram adapter, on python-telegram-bot 22: configuration, start-up and shut-down.

The `Application` lives inside the worker's event loop (initialize, start, then long polling or
a webhook; stopped in reverse), with neither PTB's rate limiter nor its JobQueue: pacing is the
delivery engine's job, and time is the scheduler's. Nor its Updater: updates arrive by
polling.py or webhook.py, which refuse what they must and report a revoked token. Handling
them is updates.py's, outgoing sends sending.py's; this module builds them and runs the
Application they hang on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ClassVar, Final

from telegram import Bot, Update
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.adapters.base import Core, Limits, Recipient, StartFailed, Transient
from bot.adapters.redaction import protect, redact
from bot.adapters.telegram.bot_api import BotApiPoster
from bot.adapters.telegram.polling import RETRY_DELAYS, Poller
from bot.adapters.telegram.processor import ChatLanes
from bot.adapters.telegram.render import Renderer
from bot.adapters.telegram.replies import Replies
from bot.adapters.telegram.sending import Sender
from bot.adapters.telegram.updates import ALLOWED_UPDATES, UpdateHandler
from bot.adapters.telegram.webhook import WebhookServer
from bot.config import ConfigError, Settings
from bot.messages import Message

log = logging.getLogger(__name__)

DEFAULT_API_ROOT = "https://api.telegram.org"
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
TOKEN_REVOKED: Final = "the bot token was rejected (401 Unauthorized): check TELEGRAM_BOT_TOKEN"

TgApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, and where this process listens for them."""

    url: str  # the public https:// address Telegram calls
    listen: str
    port: int
    path: str
    # Checked on every call (X-Telegram-Bot-Api-Secret-Token); None: the adapter makes one up.
    secret: str | None = None


class TelegramAdapter:
    """The bot on Telegram: commands, buttons, locations and membership in; reminders out."""

    platform: ClassVar[str] = "telegram"
    limits: Limits = Limits(
        max_text=4096, per_second=30, per_chat_per_second=1, per_group_per_minute=20
    )

    def __init__(
        self,
        token: str,
        *,
        api_root: str = DEFAULT_API_ROOT,
        webhook: Webhook | None = None,
        poll_timeout: float = 30,
        timeout: float = 10.0,
        admin_ttl: float = 60.0,
        concurrency: int = 16,
        per_second: float | None = None,
    ) -> None:
        protect(token)
        protect(token.partition(":")[2])  # the secret half alone is just as secret
        # Without a secret, anyone who finds the listener could post updates "from" an
        # organizer: when none is configured, one is made up (43 characters of Telegram's
        # alphabet) and registered with setWebhook at each start.
        self._made_up_secret = webhook is not None and not webhook.secret
        if webhook is not None and not webhook.secret:
            webhook = replace(webhook, secret=secrets.token_urlsafe(32))
        if webhook is not None and webhook.secret:
            protect(webhook.secret)
        self._token = token
        self.api_root = api_root.rstrip("/")
        self.webhook = webhook
        self.poll_timeout = poll_timeout
        self.timeout = timeout  # seconds for connect, read, write and pool, per call
        self.admin_ttl = admin_ttl
        self.concurrency = concurrency
        self.retry_delays: Sequence[float] = RETRY_DELAYS  # between failed getUpdates calls
        if per_second is not None:  # paid broadcasts raise Telegram's 30 a second
            self.limits = replace(self.limits, per_second=per_second)
        self._app: TgApplication | None = None
        self._ready = asyncio.Event()
        self._starting = False
        self._intake: Poller | WebhookServer | None = None
        self._poster = BotApiPoster(self.api_root, token, timeout=timeout, redact=redact)
        # Built once, so that what they keep (button tokens, parts already sent, bodies built)
        # outlives a restart; the update handler is built per start, with the core.
        self._renderer = Renderer(self.platform, self.limits.max_text)
        self._sender = Sender(self._poster, self._renderer)

    def __repr__(self) -> str:
        return f"TelegramAdapter(api_root={self.api_root!r}, webhook={self.webhook is not None})"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> TelegramAdapter:
        """The adapter the environment and settings describe; ConfigError names what is wrong."""
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN: not set")
        if not _TOKEN_RE.fullmatch(token):
            # Never echo the value: a mangled token is still mostly a secret.
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN: not a bot token; expected what @BotFather gives, "
                "e.g. 123456789:AA... (digits, a colon, then the secret)"
            )
        root = (env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_ROOT).strip().rstrip("/")
        if not root.startswith(("https://", "http://")):
            raise ConfigError(
                f"TELEGRAM_API_BASE_URL: expected an http(s) address such as "
                f"{DEFAULT_API_ROOT}, got {root!r}"
            )
        config = settings.telegram
        webhook = None
        url = env.get("TELEGRAM_WEBHOOK_URL", "").strip()
        if url:
            if not url.startswith("https://"):
                raise ConfigError("TELEGRAM_WEBHOOK_URL: Telegram only calls https:// webhooks")
            secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
            if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
                raise ConfigError(
                    "TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -"
                )
            webhook = Webhook(
                url, config.webhook_listen, config.webhook_port, config.webhook_path, secret
            )
        return cls(
            token,
            api_root=root,
            webhook=webhook,
            poll_timeout=config.poll_timeout,
            per_second=config.messages_per_second,
        )

    # --- lifecycle ---------------------------------------------------------------------------

    def _request(self) -> HTTPXRequest:
        # Plain http:// is a local Bot API server: no TLS, so loading the CA bundle is waste.
        plain = self.api_root.startswith("http://")
        return HTTPXRequest(
            connection_pool_size=max(8, self.concurrency),
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            write_timeout=self.timeout,
            pool_timeout=self.timeout,
            httpx_kwargs={"verify": False} if plain else None,
        )

    def _build(self, core: Core) -> TgApplication:
        """PTB's Application, its handlers answering updates for `core`."""
        # A chat's updates in order, at most one of them in a slot (processor.py).
        lanes = ChatLanes(self.concurrency)
        app: TgApplication = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(f"{self.api_root}/bot")
            .base_file_url(f"{self.api_root}/file/bot")
            .request(self._request())
            .get_updates_request(self._request())
            .job_queue(None)
            .updater(None)  # updates come from polling.py or webhook.py
            .concurrent_updates(lanes)
            .build()
        )
        replies = Replies(self.platform, core, self._renderer)
        updates = UpdateHandler(
            self.platform,
            core,
            self._renderer,
            replies,
            admin_ttl=self.admin_ttl,
            queued=lanes.queued,
        )
        updates.register(app)
        return app

    async def start(self, core: Core) -> None:
        """Connect, register the command menus, then take updates (polling or webhook).

        StartFailed says why it could not: a rejected token, or a Bot API out of reach
        (`transient`: worth another attempt).
        """
        self._renderer.core = core
        self._starting = True
        self._poster.timeout = self.timeout
        # No PTB_TIMEDELTA here: that switch is an environment variable, i.e. process-wide;
        # errors.py reads flood waits in either of the forms PTB 22 gives.
        app = self._build(core)
        try:
            try:
                await app.initialize()
                await self._register_menus(app.bot, core)
                await app.start()
                await self._take_updates(app, core)
            except TelegramError as exc:
                raise self._start_failed(exc) from None
        except BaseException:
            self._starting = False
            with contextlib.suppress(Exception):
                await self._shutdown(app)
            raise
        self._app = app
        self._starting = False
        self._ready.set()
        log.info(
            "telegram: @%s taking updates by %s",
            app.bot.username,
            "long polling" if self.webhook is None else "webhook",
        )

    async def _take_updates(self, app: TgApplication, core: Core) -> None:
        """Start the intake: a listener for Telegram's POSTs, or long polling."""
        hook = self.webhook
        if hook is None:
            await app.bot.delete_webhook()  # getUpdates is refused while a webhook is set

            def rejected() -> None:
                core.platform_failed(self.platform, TOKEN_REVOKED)

            poller = Poller(
                app.bot,
                app.update_queue,
                timeout=self.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                on_rejected=rejected,
                retry_delays=self.retry_delays,
            )
            self._intake = poller
            poller.start()
            return
        assert hook.secret is not None  # __init__ makes one up when none is configured
        server = WebhookServer(
            hook.listen, hook.port, hook.path, hook.secret, partial(self._queue_update, app)
        )
        try:
            await server.start()
        except OSError as exc:
            raise StartFailed(
                self.platform,
                f"cannot listen for the webhook on {hook.listen}:{hook.port} ({exc.strerror})",
                "check telegram.webhook_listen and telegram.webhook_port",
                transient=True,  # a worker that is stopping may still hold the port
            ) from None
        self._intake = server
        if self._made_up_secret:
            log.info("telegram: TELEGRAM_WEBHOOK_SECRET is not set: using one made for this run")
        await app.bot.set_webhook(
            url=hook.url, secret_token=hook.secret, allowed_updates=list(ALLOWED_UPDATES)
        )

    @staticmethod
    async def _queue_update(app: TgApplication, data: dict[str, Any]) -> None:
        """An update Telegram posted, handed to PTB's Application as polling would."""
        await app.update_queue.put(Update.de_json(data, app.bot))

    def _start_failed(self, exc: TelegramError) -> StartFailed:
        """What a Bot API error at start means to the operator."""
        if isinstance(exc, InvalidToken):
            return StartFailed(
                self.platform,
                "the Bot API rejected the bot token (401 Unauthorized)",
                "check TELEGRAM_BOT_TOKEN (from @BotFather)",
            )
        if isinstance(exc, BadRequest):  # e.g. setWebhook refused the address
            return StartFailed(
                self.platform,
                f"the Bot API refused the start ({redact(exc.message)})",
                "check TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET",
            )
        return StartFailed(
            self.platform,
            f"cannot reach the Bot API at {self.api_root} ({redact(exc.message)})",
            "check the network and TELEGRAM_API_BASE_URL",
            transient=True,
        )

    async def stop(self) -> None:
        """Stop taking updates, let handlers in progress finish, close the connections."""
        app, self._app = self._app, None
        self._ready.clear()
        try:
            if app is not None:
                await self._shutdown(app)
        finally:
            await self._poster.close()

    async def _shutdown(self, app: TgApplication) -> None:
        try:
            intake, self._intake = self._intake, None
            if intake is not None:
                await intake.stop()
            if app.running:
                await app.stop()
        finally:
            await app.shutdown()

    async def _register_menus(self, bot: Bot, core: Core) -> None:
        """The command menu: the default language without a code, others by base code."""
        langs = core.languages()
        seen: set[str] = set()
        for lang in langs:
            code = "" if lang == langs[0] else lang.split("-")[0].lower()
            if code in seen:
                continue  # two variants of one base language: the first one wins
            seen.add(code)
            # Organizer commands stay out of the menu every viewer sees.
            menu = [(e.name, e.description) for e in core.command_menu(lang) if not e.organizer]
            try:
                await bot.set_my_commands(menu, language_code=code or None)
            except TelegramError as exc:
                # A menu is a convenience: the commands work without it.
                log.warning(
                    "telegram: setting the %s command menu failed: %s", lang, redact(str(exc))
                )

    # --- what the web face asks ----------------------------------------------------------

    def connected(self) -> bool:
        """Whether the bot is up and taking updates."""
        return self._app is not None and self._ready.is_set()

    def deep_link(self, payload: str) -> str | None:
        """`https://t.me/<bot>?start=<payload>` (e.g. `sub-s2`); None before getMe answered."""
        username = self._app.bot.username if self._app is not None else None
        return f"https://t.me/{username}?start={payload}" if username else None

    async def _bot(self) -> Bot:
        """The running bot; a send that comes before the adapter is up waits for it briefly."""
        if not self._ready.is_set() and self._starting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout=max(self.timeout, 5.0))
        if self._app is None:
            raise Transient("telegram adapter is not running")
        bot: Bot = self._app.bot
        return bot

    # --- outgoing ----------------------------------------------------------------------------

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Send one reminder or broadcast; a long text goes as several messages."""
        await self._sender.send(await self._bot(), to, message, key=key)
