"""The Bot API methods the fake implements, one handler each."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final, TypeAlias

from tests.fakes.telegram.failures import ApiError
from tests.fakes.telegram.records import JSON, Request, UploadedFile
from tests.fakes.telegram.world import TelegramWorld, _chat_member

_DEFAULT_ALLOWED_UPDATES_EXCLUDED: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_MESSAGE_MAX_LEN: Final = 4096
_CAPTION_MAX_LEN: Final = 1024
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_RE: Final = re.compile(r"^[a-z]{2}$")


_Handler: TypeAlias = Callable[[Request], Any]


class BotApiMethods(TelegramWorld):
    """The handlers of the Bot API methods, by name."""

    @functools.cached_property
    def _handlers(self) -> dict[str, tuple[str, _Handler]]:
        """Each handler by its lower-cased name: Telegram's method names are case-insensitive."""
        return {name.lower(): (name, handler) for name, handler in self._handler_table().items()}

    # ---------------------------------------------------------------- Bot API methods

    def _handler_table(self) -> dict[str, _Handler]:
        return {
            "getMe": lambda req: self.bot_user,
            "logOut": lambda req: True,
            "close": lambda req: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
        }

    async def _get_updates(self, req: Request) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError.conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first"
            )
        params = req.params
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        self._poll_generation += 1
        generation = self._poll_generation
        self._fire_updates()  # a newer getUpdates terminates an older one, as on Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._select_updates(limit)
            if batch or self._closing.is_set():
                break
            if generation != self._poll_generation:
                raise ApiError.conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()
        if batch:
            self._fetched_upto = max(self._fetched_upto, batch[-1]["update_id"])
            self._fire()
        return batch

    def _select_updates(self, limit: int) -> list[JSON]:
        """Up to ``limit`` pending updates; types excluded by allowed_updates are discarded
        (Telegram would not have created them)."""
        allowed = self._allowed_updates
        batch: list[JSON] = []
        excluded: list[JSON] = []
        for update in self._updates:
            kind = next((k for k in update if k != "update_id"), "")
            if allowed is None:
                wanted = kind not in _DEFAULT_ALLOWED_UPDATES_EXCLUDED
            else:
                wanted = kind in allowed
            if not wanted:
                excluded.append(update)
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        if excluded:
            dropped = {id(update) for update in excluded}
            self._updates = deque(u for u in self._updates if id(u) not in dropped)
            self._fetched_upto = max(self._fetched_upto, excluded[-1]["update_id"])
            self._fire()
        return batch

    def _set_webhook(self, req: Request) -> tuple[bool, str]:
        url = str(req.params.get("url") or "")
        if not url:
            return self._delete_webhook(req)
        if not url.lower().startswith("https://"):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {k: v for k, v in req.params.items() if k != "certificate"}
        if isinstance(req.params.get("allowed_updates"), list):
            allowed = req.params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        return True, "Webhook was set"

    def _delete_webhook(self, req: Request) -> tuple[bool, str]:
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
        if self.webhook is None:
            return True, "Webhook is already deleted"
        self.webhook = None
        return True, "Webhook was deleted"

    def _get_webhook_info(self, req: Request) -> JSON:
        info: JSON = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = int(self.webhook.get("max_connections") or 40)
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _send_message(self, req: Request) -> JSON:
        if req.chat_id is None:
            raise ApiError.bad_request("chat_id is empty")
        text, entities = self._format(req, "text", _MESSAGE_MAX_LEN, "")
        markup = self._reply_markup(req)
        message, chat_id = self._outgoing(req)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if isinstance(req.params.get("link_preview_options"), dict):
            message["link_preview_options"] = req.params["link_preview_options"]
        if markup is not None:
            message["reply_markup"] = markup
        return self._store_outgoing(message, chat_id)

    def _editable(self, req: Request) -> tuple[JSON | None, int | str | None]:
        if req.params.get("inline_message_id"):
            return None, None
        chat = self._chat_for(req.chat_id)
        message_id = req.params.get("message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        stored = self._messages.get((chat["id"], int(message_id)))
        if stored is None:
            raise ApiError.bad_request("message to edit not found")
        if stored.get("from", {}).get("id") != self.bot_id:
            raise ApiError.bad_request("message can't be edited")
        return stored, chat["id"]

    def _edit_message_text(self, req: Request) -> JSON | bool:
        text, entities = self._format(req, "text", _MESSAGE_MAX_LEN, "")
        markup = self._reply_markup(req)
        stored, _ = self._editable(req)
        if stored is None:
            return True
        if "text" not in stored:
            raise ApiError.bad_request("there is no text in the message to edit")
        unchanged = (
            stored.get("text") == text
            and stored.get("entities", []) == entities
            and stored.get("reply_markup") == markup
        )
        if unchanged:
            raise ApiError.bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored["text"] = text
        stored["edit_date"] = int(time.time())
        stored.pop("entities", None)
        stored.pop("reply_markup", None)
        if entities:
            stored["entities"] = entities
        if markup is not None:
            stored["reply_markup"] = markup
        return stored

    def _edit_message_reply_markup(self, req: Request) -> JSON | bool:
        markup = self._reply_markup(req)
        stored, _ = self._editable(req)
        if stored is None:
            return True
        if stored.get("reply_markup") == markup:
            raise ApiError.bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored.pop("reply_markup", None)
        if markup is not None:
            stored["reply_markup"] = markup
        stored["edit_date"] = int(time.time())
        return stored

    def _delete_message(self, req: Request) -> bool:
        chat = self._chat_for(req.chat_id)
        key = (chat["id"], int(req.params.get("message_id") or 0))
        if self._messages.pop(key, None) is None:
            raise ApiError.bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, req: Request) -> bool:
        query_id = str(req.params.get("callback_query_id") or "")
        if query_id not in self._callback_queries:
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = req.params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(req.params)
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise ApiError.bad_request("can't parse BotCommandScope JSON object")
        language = str(params.get("language_code") or "")
        if language and not _LANGUAGE_RE.match(language):
            raise ApiError.bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def _set_my_commands(self, req: Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request('parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict) or "command" not in command:
                raise ApiError.bad_request("can't parse BotCommand: Can't find field \"command\"")
            if "description" not in command:
                raise ApiError.bad_request(
                    "can't parse BotCommand: Can't find field \"description\""
                )
            if not _COMMAND_RE.match(str(command["command"])):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if not str(command["description"]).strip():
                raise ApiError.bad_request("command description must be non-empty")
        self.commands[self._commands_key(req.params)] = [
            {"command": str(c["command"]), "description": str(c["description"])} for c in commands
        ]
        return True

    def _get_my_commands(self, req: Request) -> list[JSON]:
        return list(self.commands.get(self._commands_key(req.params), []))

    def _delete_my_commands(self, req: Request) -> bool:
        self.commands.pop(self._commands_key(req.params), None)
        return True

    def _send_document(self, req: Request) -> JSON:
        if req.chat_id is None:
            raise ApiError.bad_request("chat_id is empty")
        caption, caption_entities = self._format(req, "caption", _CAPTION_MAX_LEN, "caption ")
        markup = self._reply_markup(req)
        document = req.params.get("document")
        upload = req.files.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            upload = req.files.get(document[len("attach://") :])
        if upload is None:
            if isinstance(document, str) and document in self.files:
                upload = self.files[document]
            elif isinstance(document, str) and document:
                raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
            else:
                raise ApiError.bad_request("there is no document in the request")
        if not upload.content:
            raise ApiError.bad_request("file must be non-empty")
        message, chat_id = self._outgoing(req)
        file_id = self._register_file(upload)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"U{file_id[-12:]}",
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_size": len(upload.content),
        }
        if caption:
            message["caption"] = caption
        if caption_entities:
            message["caption_entities"] = caption_entities
        if markup is not None:
            message["reply_markup"] = markup
        return self._store_outgoing(message, chat_id)

    def _register_file(self, upload: UploadedFile) -> str:
        for file_id, known in self.files.items():
            if known is upload:
                return file_id
        self._file_counter += 1
        file_id = f"BQACAgIAAxkBAAF{self._file_counter:012d}"
        self.files[file_id] = upload
        return file_id

    def _get_file(self, req: Request) -> JSON:
        file_id = str(req.params.get("file_id") or "")
        upload = self.files.get(file_id)
        if upload is None:
            raise ApiError.bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id[-12:]}",
            "file_size": len(upload.content),
            "file_path": self._file_path(file_id),
        }

    def _send_chat_action(self, req: Request) -> bool:
        self._chat_for(req.chat_id)
        return True

    def _get_chat(self, req: Request) -> JSON:
        chat = dict(self._chat_for(req.chat_id))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    def _member_status(self, chat_id: int, user_id: int) -> str:
        if self.owners.get(chat_id) == user_id:
            return "creator"
        if user_id in self.admins.get(chat_id, set()):
            return "administrator"
        return "member"

    def _member_user(self, user_id: int) -> JSON:
        return self.bot_user if user_id == self.bot_id else self._user_for(user_id)

    def _get_chat_member(self, req: Request) -> JSON:
        chat = self._chat_for(req.chat_id)
        user_id = req.params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError.bad_request("invalid user_id specified")
        if chat["type"] == "private" and user_id not in (chat["id"], self.bot_id):
            raise ApiError.bad_request("user not found")
        status = self._member_status(chat["id"], user_id)
        return _chat_member(self._member_user(user_id), status)

    def _get_chat_administrators(self, req: Request) -> list[JSON]:
        chat = self._chat_for(req.chat_id)
        if chat["type"] == "private":
            raise ApiError.bad_request("there are no administrators in the private chat")
        members: list[JSON] = []
        owner = self.owners.get(chat["id"])
        if owner is not None:
            members.append(_chat_member(self._member_user(owner), "creator"))
        for user_id in sorted(self.admins.get(chat["id"], set())):
            if user_id != owner:
                members.append(_chat_member(self._member_user(user_id), "administrator"))
        return members
