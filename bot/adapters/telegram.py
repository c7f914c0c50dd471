"""Telegram, on python-telegram-bot 22: updates in as neutral commands, replies out as HTML.

The `Application` lives inside the worker's event loop (initialize, start, then long polling or
a webhook; stopped in reverse), with neither PTB's rate limiter nor its JobQueue: pacing is the
delivery engine's job, and time is the scheduler's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import html
import importlib.util
import logging
import os
import re
import time
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ClassVar, NamedTuple

from telegram import (
    Bot,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram import Message as TgMessage
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    TelegramError,
)
from telegram.error import RetryAfter as TgRetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.base import (
    Blocked,
    Core,
    Limits,
    Migrated,
    Recipient,
    Rejected,
    RetryAfter,
    SendError,
    Transient,
    split_text,
)
from bot.adapters.bot_api import BotApiPoster
from bot.adapters.redaction import protect, redact
from bot.config import ConfigError, Settings
from bot.i18n import DEFAULT_LANGUAGE, normalize_language, t
from bot.messages import Attachment, Button, Command, Message, Reply, parse_command

log = logging.getLogger(__name__)

DEFAULT_API_ROOT = "https://api.telegram.org"
# Updates the bot acts on; anything else is not even fetched.
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "my_chat_member")
CALLBACK_DATA_MAX = 64  # bytes, a Bot API limit
CAPTION_MAX = 1024  # characters in a document's caption, a Bot API limit
TOKEN_PREFIX = "~"  # marks callback data that stands for a longer action (actions are a-z)
ADMIN_STATUSES = frozenset({"administrator", "creator"})
GONE_STATUSES = frozenset({"kicked", "left"})
ANONYMOUS_ADMIN_ID = 1087968824  # @GroupAnonymousBot: an admin posting as the group itself
# Opposite button actions: pressing one on a card swaps it for the other in place.
TOGGLES = {"subscribe": "unsubscribe", "unsubscribe": "subscribe"}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # links are URL buttons; previews only add bulk
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token

TgApplication = Application[Any, Any, Any, Any, Any, Any]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


class _Part(NamedTuple):
    """One Bot API message: HTML text, or a document with that text as its caption."""

    text: str
    markup: InlineKeyboardMarkup | None
    document: Attachment | None = None


def send_error(exc: BaseException) -> SendError:
    """The delivery engine's view of a failed Bot API call (messages carry no secret)."""
    reason = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, TgRetryAfter):
        with warnings.catch_warnings():  # reading it as a number is deprecated in PTB 22.2+
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
        return RetryAfter(seconds, reason)
    if isinstance(exc, ChatMigrated):
        return Migrated(str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return Blocked(reason)
    if isinstance(exc, BadRequest):
        # Checked before NetworkError, its base class. A 400 ("chat not found", "can't parse
        # entities", "message is too long") fails the same way every time it is retried.
        return Rejected(reason)
    return Transient(reason)  # TimedOut, NetworkError (5xx, resets), 409, anything unforeseen


# --- rendering ---------------------------------------------------------------------------------


def render_html(message: Message, limit: int) -> list[str]:
    """A message as Telegram HTML parts of at most `limit` visible characters each.

    The plain text is split first and each part escaped after, so that a split can never cut
    an entity in two, and the limit counts what the reader sees. The title is bold.
    """
    title = message.title or ""
    full = f"{title}\n{message.text}" if title and message.text else title or message.text
    parts: list[str] = []
    for index, chunk in enumerate(split_text(full, limit)):
        if not chunk.strip():
            continue  # Telegram refuses an empty message
        if index == 0 and title and (chunk == title or chunk.startswith(f"{title}\n")):
            rest = chunk[len(title) + 1 :]
            bold = f"<b>{html.escape(title, quote=False)}</b>"
            parts.append(f"{bold}\n{html.escape(rest, quote=False)}" if rest else bold)
        else:
            parts.append(html.escape(chunk, quote=False))
    return parts


def chat_kind(chat_type: str) -> str:
    """Telegram's chat type as the core's chat kind."""
    if chat_type == Chat.PRIVATE:
        return "private"
    if chat_type == Chat.CHANNEL:
        return "channel"
    return "group"  # group and supergroup


def chat_ref(chat_id: str) -> int | str:
    """A stored chat id as the Bot API wants it: a number, or a public "@channel" name."""
    return int(chat_id) if re.fullmatch(r"-?\d+", chat_id) else chat_id


def _addressed_elsewhere(text: str, username: str) -> bool:
    """Whether "/cmd@OtherBot" names another bot (groups can have several)."""
    head = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    _, at, name = head.partition("@")
    return bool(at) and name.lower() != username.lower()


def _reader_language(hint: str | None) -> str:
    """The language for the few texts the adapter adds itself: the platform's hint.

    The chat's own choice lives in the store, which the Core protocol does not expose; a
    viewer who chose another language than their app's sees these few texts in the app's.
    """
    return normalize_language(hint) or DEFAULT_LANGUAGE


# --- the adapter -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, and where this process listens for them."""

    url: str  # the public https:// address Telegram calls
    listen: str
    port: int
    path: str
    secret: str | None = None  # checked on every call (X-Telegram-Bot-Api-Secret-Token)


class _ChatLocks:
    """One lock per chat: a chat's updates are handled in order, different chats at once."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        """Hold the chat's lock; the lock is dropped once nobody holds or awaits it."""
        lock, users = self._locks.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                self._locks.pop(chat_id, None)


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
        if webhook is not None and webhook.secret:
            protect(webhook.secret)
        self._token = token
        self.api_root = api_root.rstrip("/")
        self.webhook = webhook
        self.poll_timeout = poll_timeout
        self.timeout = timeout  # seconds for connect, read, write and pool, per call
        self.admin_ttl = admin_ttl
        self.concurrency = concurrency
        if per_second is not None:  # paid broadcasts raise Telegram's 30 a second
            self.limits = replace(self.limits, per_second=per_second)
        self._app: TgApplication | None = None
        self._core: Core | None = None
        self._ready = asyncio.Event()
        self._starting = False
        self._locks = _ChatLocks()
        self._admins: dict[tuple[int, int], tuple[float, bool]] = {}
        self._actions: OrderedDict[str, str] = OrderedDict()  # callback token → action
        self._parts_sent: OrderedDict[str, int] = OrderedDict()  # ledger key → parts delivered
        self._bodies_of: OrderedDict[int, tuple[Message, list[dict[str, Any]]]] = OrderedDict()
        self._poster = BotApiPoster(self.api_root, token, timeout=timeout, redact=redact)

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
            if importlib.util.find_spec("tornado") is None:
                raise ConfigError(
                    "TELEGRAM_WEBHOOK_URL: webhook mode needs python-telegram-bot[webhooks] "
                    "(tornado), which is not installed; install it or unset the variable to "
                    "use long polling"
                )
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

    def _build(self) -> TgApplication:
        app: TgApplication = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(f"{self.api_root}/bot")
            .base_file_url(f"{self.api_root}/file/bot")
            .request(self._request())
            .get_updates_request(self._request())
            .job_queue(None)
            .concurrent_updates(self.concurrency)
            .build()
        )
        fresh = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST  # not edits
        app.add_handler(MessageHandler(fresh & filters.COMMAND, self._on_command))
        # Locations only in private chats: in a group, people share places for other reasons.
        private_location = filters.ChatType.PRIVATE & filters.LOCATION
        app.add_handler(MessageHandler(fresh & private_location, self._on_location))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self._on_error)
        return app

    async def start(self, core: Core) -> None:
        """Connect, register the command menus, then take updates (polling or webhook)."""
        self._core = core
        self._starting = True
        self._poster.timeout = self.timeout
        # Opt in to PTB 23's time periods (timedelta), the documented switch: without it PTB
        # warns on every 429 it parses. send_error reads either form.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        # httpx logs every request URL, token included, at INFO: quiet it unless an operator
        # chose a level (the redaction above covers that case).
        httpx_log = logging.getLogger("httpx")
        if httpx_log.level == logging.NOTSET:
            httpx_log.setLevel(logging.WARNING)
        app = self._build()
        try:
            try:
                await app.initialize()
            except InvalidToken:
                raise ConfigError(
                    "TELEGRAM_BOT_TOKEN: the Bot API rejected the token; check it with @BotFather"
                ) from None
            except TelegramError as exc:
                raise RuntimeError(
                    f"telegram: cannot reach the Bot API at {self.api_root}: {redact(str(exc))}"
                ) from None
            await self._register_menus(app.bot, core)
            await app.start()
            updater = app.updater
            assert updater is not None  # built with the default Updater
            if self.webhook is None:
                await updater.start_polling(
                    poll_interval=0.0,
                    timeout=dt.timedelta(seconds=self.poll_timeout),
                    bootstrap_retries=3,
                    allowed_updates=list(ALLOWED_UPDATES),
                    error_callback=self._polling_failed,
                )
            else:
                hook = self.webhook
                await updater.start_webhook(
                    listen=hook.listen,
                    port=hook.port,
                    url_path=hook.path,
                    webhook_url=hook.url,
                    secret_token=hook.secret,
                    bootstrap_retries=3,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
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

    async def stop(self) -> None:
        """Stop taking updates, let handlers in progress finish, close the connections."""
        app, self._app = self._app, None
        self._ready.clear()
        try:
            if app is not None:
                await self._shutdown(app)
        finally:
            await self._poster.close()

    @staticmethod
    async def _shutdown(app: TgApplication) -> None:
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
        finally:
            await app.shutdown()

    def _polling_failed(self, exc: TelegramError) -> None:
        # PTB retries with backoff; one line per failure, not a traceback.
        log.warning("telegram: fetching updates failed, retrying: %s", redact(str(exc)))

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
        bot = await self._bot()
        chat_id = chat_ref(to.chat_id)
        calls: list[Callable[[], Awaitable[object]]]
        if message.attachment is None:
            # The fan-out's hot path: plain JSON POSTs (bot_api.py), not PTB's request stack.
            quiet = {"disable_notification": True} if message.silent else {}
            calls = [
                partial(self._poster.call, "sendMessage", {"chat_id": chat_id, **body, **quiet})
                for body in await self._bodies(message)
            ]
        else:
            calls = [
                partial(self._deliver, bot, chat_id, text, markup, document, message.silent)
                for text, markup, document in await self._render(message)
            ]
        # A retry of a split message resumes after the parts that already went out.
        done = self._parts_sent.get(key, 0)
        try:
            for index in range(done, len(calls)):
                await calls[index]()
                self._note_parts(key, index + 1)
        except Exception as exc:
            if not isinstance(exc, TelegramError | SendError):
                log.warning("telegram: unexpected error sending %s", key, exc_info=True)
            error = exc if isinstance(exc, SendError) else send_error(exc)
            if isinstance(error, Blocked | Rejected):
                self._parts_sent.pop(key, None)
            raise error from None
        self._parts_sent.pop(key, None)

    async def _bodies(self, message: Message) -> list[dict[str, Any]]:
        """The sendMessage bodies of a text message, without chat_id; one per part.

        The delivery engine hands every recipient of a group the same Message object, so
        the bodies are kept for the last few messages rather than rebuilt per recipient.
        """
        cached = self._bodies_of.get(id(message))
        if cached is not None and cached[0] is message:
            return cached[1]
        bodies: list[dict[str, Any]] = []
        for text, markup, _ in await self._render(message):
            body: dict[str, Any] = {
                "text": text,
                "parse_mode": ParseMode.HTML.value,
                "link_preview_options": NO_PREVIEW.to_dict(),
            }
            if markup is not None:
                body["reply_markup"] = markup.to_dict()
            bodies.append(body)
        self._bodies_of[id(message)] = (message, bodies)
        while len(self._bodies_of) > 64:
            self._bodies_of.popitem(last=False)
        return bodies

    def _note_parts(self, key: str, count: int) -> None:
        self._parts_sent[key] = count
        self._parts_sent.move_to_end(key)
        while len(self._parts_sent) > 10_000:  # rows that never came back: forget the oldest
            self._parts_sent.popitem(last=False)

    async def _render(self, message: Message) -> list[_Part]:
        """HTML parts, the keyboard (links first, as URL buttons) on the last one.

        An attachment goes last, as a document carrying the keyboard, captioned with the text
        when it fits a caption (else the text goes before it, as messages).
        """
        rows: list[list[InlineKeyboardButton]] = [
            [InlineKeyboardButton(link.label, url=link.url)] for link in message.links
        ]
        for row in message.buttons:
            rows.append([await self._button(b) for b in row])
        markup = InlineKeyboardMarkup(rows) if rows else None
        document = message.attachment
        if document is not None:
            caption = render_html(message, CAPTION_MAX)
            if len(caption) <= 1:
                return [_Part(caption[0] if caption else "", markup, document)]
            texts = render_html(message, self.limits.max_text)
            return [*(_Part(text, None) for text in texts), _Part("", markup, document)]
        texts = render_html(message, self.limits.max_text)
        last = len(texts) - 1
        return [_Part(text, markup if i == last else None) for i, text in enumerate(texts)]

    @staticmethod
    async def _deliver(
        bot: Bot,
        chat_id: int | str,
        text: str,
        markup: Markup | None,
        document: Attachment | None,
        silent: bool = False,
    ) -> None:
        """One Bot API message: the text, or the document captioned with it (if any)."""
        if document is None:
            await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
                disable_notification=silent,
            )
            return
        await bot.send_document(
            chat_id,
            InputFile(document.data, filename=document.filename),
            caption=text or None,
            parse_mode=ParseMode.HTML if text else None,
            reply_markup=markup,
            disable_notification=silent,
        )

    async def _button(self, button: Button) -> InlineKeyboardButton:
        return InlineKeyboardButton(button.label, callback_data=await self._callback_data(button))

    async def _callback_data(self, button: Button) -> str:
        """The button's action, or a short token for it when the action is over 64 bytes."""
        action = button.action
        if len(action.encode("utf-8")) <= CALLBACK_DATA_MAX and not action.startswith(
            TOKEN_PREFIX
        ):
            return action
        digest = hashlib.sha256(action.encode("utf-8")).digest()[:12]
        token = TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")
        if token not in self._actions and self._core is not None:
            # Stored too, so that buttons sent before a restart still work after it.
            await self._core.remember(self.platform, "action", token, action)
        self._actions[token] = action
        self._actions.move_to_end(token)
        while len(self._actions) > 4096:
            self._actions.popitem(last=False)
        return token

    async def _action_of(self, data: str) -> str | None:
        """The action behind a button's callback data (None: a token nobody knows any more)."""
        if not data.startswith(TOKEN_PREFIX):
            return data
        action = self._actions.get(data)
        if action is None and self._core is not None:
            action = await self._core.recall(self.platform, "action", data)
            if action is not None:
                self._actions[data] = action
        return action

    async def _say(
        self,
        bot: Bot,
        chat_id: int,
        reply: Reply,
        *,
        after: ReplyKeyboardRemove | None = None,
    ) -> bool:
        """Send a command's reply to a chat; `after` rides on the first part without buttons."""
        for message in reply.messages:
            for text, markup, document in await self._render(message):
                extra: InlineKeyboardMarkup | ReplyKeyboardRemove | None = markup
                if markup is None and after is not None:
                    extra, after = after, None
                if not await self._post(bot, chat_id, text, extra, document):
                    return False
        return True

    async def _post(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        markup: Markup | None,
        document: Attachment | None = None,
    ) -> bool:
        """One reply message; a failure is logged (and a block recorded), never raised.

        A short flood wait is waited out once: the viewer is waiting for this answer.
        """
        for attempt in (1, 2):
            slot = self._core.reply_slot(self.platform) if self._core else contextlib.nullcontext()
            try:
                async with slot:
                    await self._deliver(bot, chat_id, text, markup, document)
                return True
            except TelegramError as exc:
                error = send_error(exc)
                if attempt == 1 and isinstance(error, RetryAfter) and error.seconds <= 5:
                    await asyncio.sleep(error.seconds)
                    continue
                break
        log.warning("telegram: replying failed: %s", error)
        if isinstance(error, Blocked) and self._core is not None:
            status = "blocked" if chat_id > 0 else "left"
            await self._core.on_chat_status(self.platform, str(chat_id), status)
        return False

    # --- incoming ----------------------------------------------------------------------------

    async def _is_admin(
        self, bot: Bot, chat: Chat, user_id: int, sender_chat: Chat | None
    ) -> bool:
        """Whether the user may change a group's settings (asked of Telegram, cached briefly)."""
        if chat.type in (Chat.PRIVATE, Chat.CHANNEL):
            return True  # only a channel's admins can post in it
        if sender_chat is not None and sender_chat.id == chat.id:
            return True  # an anonymous admin, posting as the group
        now = time.monotonic()
        cached = self._admins.get((chat.id, user_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat.id, user_id)
        except TelegramError as exc:
            log.warning("telegram: cannot check a group admin: %s", redact(str(exc)))
            return False  # when in doubt, the group's settings stay as they are
        allowed = member.status in ADMIN_STATUSES
        if len(self._admins) > 10_000:
            self._admins = {k: v for k, v in self._admins.items() if v[0] > now}
        self._admins[(chat.id, user_id)] = (now + self.admin_ttl, allowed)
        return allowed

    async def _command(
        self, bot: Bot, text: str, chat: Chat, user: User | None, sender_chat: Chat | None
    ) -> Command | None:
        """The neutral command for `text` said (or pressed) in `chat` by `user`."""
        parsed = parse_command(text)
        if parsed is None:
            return None
        name, args, rest = parsed
        if user is not None and user.id != ANONYMOUS_ADMIN_ID:
            user_id, hint = user.id, user.language_code
        else:  # a channel post, or an anonymous admin: the chat speaks for itself
            user_id, hint = (sender_chat.id if sender_chat else chat.id), None
        return Command(
            self.platform,
            str(chat.id),
            str(user_id),
            name,
            args,
            rest,
            chat_kind=chat_kind(chat.type),
            locale_hint=hint,
            is_admin=await self._is_admin(bot, chat, user_id, sender_chat),
        )

    async def _on_command(self, update: Update, context: Any) -> None:
        message = update.effective_message
        core = self._core
        if message is None or message.text is None or core is None:
            return
        bot: Bot = context.bot
        if _addressed_elsewhere(message.text, bot.username):
            return
        async with self._locks.hold(str(message.chat.id)):
            done = await self._answer(
                core, bot, message.text, message.chat, message.from_user, message.sender_chat
            )
            if done is None:
                return
            command, reply, sent = done
            wants_zone = command.name == "timezone" and not command.args
            if sent and wants_zone and command.chat_kind == "private":
                await self._offer_location(bot, message.chat.id, reply.lang or command.locale_hint)

    async def _answer(
        self,
        core: Core,
        bot: Bot,
        text: str,
        chat: Chat,
        user: User | None,
        sender_chat: Chat | None,
    ) -> tuple[Command, Reply, bool] | None:
        """`text` said (or pressed) in `chat` as a command, answered there by the core:
        (command, reply, whether the reply went out); None if there was nothing to answer."""
        command = await self._command(bot, text, chat, user, sender_chat)
        if command is None:
            return None
        reply = await core.on_command(command)
        if reply is None:
            return None
        return command, reply, await self._say(bot, chat.id, reply)

    async def _offer_location(self, bot: Bot, chat_id: int, hint: str | None) -> None:
        """A keyboard button that shares the viewer's location (private chats only).

        `hint` is the reply's language (the viewer's choice) or else the app's language.
        """
        lang = _reader_language(hint)
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(t("telegram.location_button", lang), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        text = html.escape(t("telegram.location_prompt", lang), quote=False)
        await self._post(bot, chat_id, text, keyboard)

    async def _on_location(self, update: Update, context: Any) -> None:
        message = update.effective_message
        core = self._core
        if message is None or message.location is None or core is None:
            return
        bot: Bot = context.bot
        async with self._locks.hold(str(message.chat.id)):
            command = await self._command(
                bot, "timezone", message.chat, message.from_user, message.sender_chat
            )
            if command is None:
                return
            point = message.location
            facts = {"latitude": str(point.latitude), "longitude": str(point.longitude)}
            command = replace(command, extra=facts)
            reply = await core.on_location(command, point.latitude, point.longitude)
            await self._say(bot, message.chat.id, reply, after=ReplyKeyboardRemove())

    async def _on_callback(self, update: Update, context: Any) -> None:
        query = update.callback_query
        core = self._core
        if query is None or core is None:
            return
        bot: Bot = context.bot
        where = query.message
        if where is None:  # a button on an inline-mode message: this bot sends none
            with contextlib.suppress(TelegramError):
                await query.answer()
            return
        async with self._locks.hold(str(where.chat.id)):
            try:
                await query.answer()  # stop the button's spinner whatever happens next
            except TelegramError as exc:
                log.info("telegram: answering a button press failed: %s", redact(str(exc)))
            data = query.data or ""
            action = await self._action_of(data)
            if action is None:
                lang = _reader_language(query.from_user.language_code)
                notice = html.escape(t("telegram.button_expired", lang), quote=False)
                await self._post(bot, where.chat.id, notice, None)
                return
            done = await self._answer(core, bot, action, where.chat, query.from_user, None)
            if done is not None and isinstance(where, TgMessage):
                # (An inaccessible message is too old to edit: the new one suffices.)
                command, reply, _ = done
                await self._flip_toggle(bot, where, data, command, reply)

    async def _flip_toggle(
        self, bot: Bot, where: TgMessage, data: str, command: Command, reply: Reply
    ) -> None:
        """After "subscribe s1" pressed on a card, the card's button becomes "unsubscribe s1".

        Only when the reply offers the opposite action, i.e. the state really changed; the
        confirmation itself still comes as a new message.
        """
        opposite = TOGGLES.get(command.name)
        markup = where.reply_markup
        if opposite is None or not command.args or markup is None:
            return
        wanted = f"{opposite} {' '.join(command.args)}"
        swap = next(
            (b for m in reply.messages for row in m.buttons for b in row if b.action == wanted),
            None,
        )
        if swap is None:
            return
        new = InlineKeyboardButton(swap.label, callback_data=await self._callback_data(swap))
        rows = [
            [new if b.callback_data == data else b for b in row] for row in markup.inline_keyboard
        ]
        try:
            await bot.edit_message_reply_markup(
                where.chat.id, where.message_id, reply_markup=InlineKeyboardMarkup(rows)
            )
        except TelegramError as exc:
            log.info("telegram: updating a card's button failed: %s", redact(str(exc)))

    async def _on_membership(self, update: Update, context: Any) -> None:
        change = update.my_chat_member
        core = self._core
        if change is None or core is None:
            return
        chat = change.chat
        member = change.new_chat_member
        if member.status in GONE_STATUSES:
            status = "blocked" if chat.type == Chat.PRIVATE else "left"
        elif member.status == "restricted":
            status = "active" if getattr(member, "is_member", False) else "left"
        else:
            status = "active"
        async with self._locks.hold(str(chat.id)):
            await core.on_chat_status(self.platform, str(chat.id), status)

    async def _on_migrate(self, update: Update, context: Any) -> None:
        message = update.effective_message
        core = self._core
        if message is None or core is None:
            return
        # Telegram says it twice: "moved to" in the old group, "moved from" in the new one;
        # moving a chat that already moved does nothing, so either may arrive first.
        if message.migrate_to_chat_id is not None:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id is not None:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        log.info("telegram: a group moved to a new id (supergroup)")
        async with self._locks.hold(str(new)):  # commands in the new chat wait for the move
            await core.on_chat_migrated(self.platform, str(old), str(new))

    async def _on_error(self, update: object, context: Any) -> None:
        error = getattr(context, "error", None)
        log.error(
            "telegram: handling an update failed: %s",
            redact(repr(error)),
            exc_info=error if isinstance(error, BaseException) else None,
        )


__all__ = [
    "ALLOWED_UPDATES",
    "DEFAULT_API_ROOT",
    "TelegramAdapter",
    "Webhook",
    "chat_kind",
    "render_html",
    "send_error",
]
