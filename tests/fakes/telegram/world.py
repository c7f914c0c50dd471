"""The fake's state: the bot's identity, the chats and users tests set up, and what the bot did."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from aiohttp import web

from tests.fakes.telegram.entities import (
    MarkupError,
    _default_user,
    _sorted_entities,
    _trim_formatted,
)
from tests.fakes.telegram.failures import ApiError, _FailRule, _RateLimit
from tests.fakes.telegram.html_mode import parse_html
from tests.fakes.telegram.markdown_mode import parse_markdown, parse_markdown_v2
from tests.fakes.telegram.records import JSON, Request, UploadedFile

DEFAULT_TOKEN: Final = "123456789:AAFakeTelegramTokenForTests_0123456789"
DEFAULT_USER_ID: Final = 1001
FIRST_UPDATE_ID: Final = 10001


def _chat_member(user: JSON, status: str) -> JSON:
    """A ChatMember object with every field PTB requires for ``status``."""
    member: JSON = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
            can_manage_topics=False,
        )
    elif status == "restricted":
        member.update(
            is_member=True,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_send_messages=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_manage_topics=False,
            until_date=0,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_edit_tag=False,
        )
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unknown chat member status {status!r}")
    return member


class TelegramWorld:
    """The world the fake serves: chats, users, messages, updates; shared by every part."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "summit_test_bot",
        first_name: str = "Summit Test Bot",
        strict_chats: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the bot identity; ``strict_chats`` answers "chat not found" for unknown
        chats; ``clock`` stamps arrival times (for flood control)."""
        self.token = token
        self.clock = clock
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.strict_chats = strict_chats
        self.port = 0
        # what the bot did
        self.sent: list[Request] = []
        self.too_many_requests = 0
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self.callback_answers: dict[str, JSON] = {}
        self.files: dict[str, UploadedFile] = {}
        # world the tests set up
        self.admins: dict[int, set[int]] = {}
        self.owners: dict[int, int] = {}
        self.chats: dict[int | str, JSON] = {}
        self.users: dict[int, JSON] = {}
        # internals
        self._by_method: dict[str, list[Request]] = {}
        self._by_method_chat: dict[tuple[str, int | str | None], list[Request]] = {}
        self._outbox: dict[int | str, list[str]] = {}
        self._popped: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], JSON] = {}
        self._last_bot_message: dict[int | str, int] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._callback_queries: dict[str, JSON] = {}
        self._updates: deque[JSON] = deque()
        self._next_update_id = FIRST_UPDATE_ID
        self._fetched_upto = FIRST_UPDATE_ID - 1
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._fail_rules: list[_FailRule] = []
        self._blocked: dict[int | str, ApiError] = {}
        self._migrated: dict[int | str, int] = {}
        self._rate: _RateLimit | None = None
        self._file_counter = 0
        self._changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._webhook_target: str | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self.webhook_answers: list[int] = []  # HTTP status of every webhook POST, in order

    # ---------------------------------------------------------------- test-side: the world

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str = "Test",
        username: str | None = None,
    ) -> JSON:
        """Register (or update) a chat; ``chat_type`` is inferred from the id when None."""
        kind = chat_type or self._infer_chat_type(chat_id)
        chat: JSON = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = title or f"Test {kind} {abs(chat_id)}"
        if username:
            chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSON:
        """Register (or update) a user."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        return user

    # ---------------------------------------------------------------- change notifications

    def _fire(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _fire_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    async def _wait_until(
        self, predicate: Callable[[], bool], seconds: float, describe: Callable[[], str]
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            event = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _method_summary(self) -> str:
        return ", ".join(f"{m}×{len(v)}" for m, v in self._by_method.items()) or "none"

    # ---------------------------------------------------------------- world helpers

    @staticmethod
    def _infer_chat_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if chat_id <= -1_000_000_000_000 else "group"

    def _chat_for(self, chat_id: int | str | None) -> JSON:
        if chat_id is None or chat_id == "":
            raise ApiError.bad_request("chat_id is empty")
        chat = self.chats.get(chat_id)
        if chat is not None:
            return chat
        if isinstance(chat_id, str) or self.strict_chats:
            raise ApiError.chat_not_found()
        return self.add_chat(chat_id)

    def _user_for(self, user_id: int) -> JSON:
        return self.users.get(user_id) or _default_user(user_id)

    def _chat_and_user(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str | None,
        title: str | None,
        first_name: str,
        username: str | None,
        language_code: str | None,
        *,
        update_user: bool = True,
    ) -> tuple[JSON, JSON]:
        known = self.chats.get(chat_id)
        kind = chat_type or (known["type"] if known else self._infer_chat_type(chat_id))
        if user_id is None:
            user_id = chat_id if kind == "private" else DEFAULT_USER_ID
        user = self.users.get(user_id)
        if user is None or update_user:
            user = self.add_user(
                user_id, first_name=first_name, username=username, language_code=language_code
            )
        if chat_id not in self.chats or chat_type is not None or title is not None:
            self.add_chat(
                chat_id, chat_type=kind, title=title, first_name=first_name, username=username
            )
        return self.chats[chat_id], user

    def _new_message_id(self, chat_id: int | str) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _incoming_message(self, chat: JSON, user: JSON) -> JSON:
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    @staticmethod
    def _shallow(message: JSON) -> JSON:
        return {k: v for k, v in message.items() if k != "reply_to_message"}

    def _format(self, req: Request, key: str, limit: int, what: str) -> tuple[str, list[JSON]]:
        text = req.params.get(key)
        if text is None:
            text = ""
        if not isinstance(text, str):
            text = json.dumps(text)
        mode = req.params.get("parse_mode")
        given = req.params.get(f"{key}_entities" if key == "caption" else "entities")
        entities: list[JSON] = []
        if isinstance(given, list):
            entities = _sorted_entities([e for e in given if isinstance(e, dict)])
        elif isinstance(mode, str) and mode:
            parser = {
                "html": parse_html,
                "markdownv2": parse_markdown_v2,
                "markdown": parse_markdown,
            }.get(mode.lower())
            if parser is None:
                raise ApiError.bad_request("unsupported parse_mode")
            try:
                text, entities = parser(text, self._user_for)
            except MarkupError as exc:
                raise ApiError.bad_request(f"can't parse entities: {exc}") from None
        if not text.strip(" \n"):
            if key == "text":
                raise ApiError.bad_request("message text is empty")
            return "", []
        text, entities = _trim_formatted(text, entities)
        if len(text) > limit:
            raise ApiError.bad_request(f"message {what}is too long")
        return text, entities

    def _reply_markup(self, req: Request) -> JSON | None:
        markup = req.params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None
        if not isinstance(rows, list):
            raise ApiError.bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for button in row if isinstance(row, list) else ():
                if not isinstance(button, dict) or "text" not in button:
                    raise ApiError.bad_request('can\'t find field "text"')
                actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
                if not actions:
                    raise ApiError.bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError.bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, req: Request, chat_id: int | str) -> JSON | None:
        parameters = req.params.get("reply_parameters")
        allow = bool(req.params.get("allow_sending_without_reply"))
        message_id = req.params.get("reply_to_message_id")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            allow = bool(parameters.get("allow_sending_without_reply", allow))
        if message_id is None:
            return None
        replied = self._messages.get((chat_id, int(message_id)))
        if replied is None:
            if allow:
                return None
            raise ApiError.bad_request("message to be replied not found")
        return self._shallow(replied)

    def _outgoing(self, req: Request) -> tuple[JSON, int | str]:
        chat = self._chat_for(req.chat_id)
        chat_id = chat["id"]
        message: JSON = {
            "message_id": 0,
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        replied = self._reply_to(req, chat_id)
        if replied is not None:
            message["reply_to_message"] = replied
        return message, chat_id

    def _store_outgoing(self, message: JSON, chat_id: int | str) -> JSON:
        message["message_id"] = self._new_message_id(chat_id)
        self._messages[(chat_id, message["message_id"])] = message
        self._last_bot_message[chat_id] = message["message_id"]
        return message

    def _file_path(self, file_id: str) -> str:
        upload = self.files[file_id]
        suffix = upload.filename.rsplit(".", 1)[1] if "." in upload.filename else "bin"
        return f"documents/{file_id}.{suffix}"
