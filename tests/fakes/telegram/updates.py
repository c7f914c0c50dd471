"""Incoming updates tests push to the bot, fetched by getUpdates or posted to a webhook."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from tests.fakes.telegram.entities import bot_command_entities
from tests.fakes.telegram.failures import ApiError
from tests.fakes.telegram.fault_injection import FaultInjection
from tests.fakes.telegram.records import JSON
from tests.fakes.telegram.world import _chat_member


class IncomingUpdates(FaultInjection):
    """The test side of updates: queue them, deliver them to a webhook, wait for their fetch."""

    # ---------------------------------------------------------------- test-side: webhooks

    def deliver_webhooks_to(self, target: str) -> None:
        """While a webhook is set, POST each update to `target`, as Telegram does to its URL.

        Telegram calls only the https:// URL given to setWebhook; `target` stands for the
        TLS-terminating proxy in front of the bot (its plain-HTTP listener on 127.0.0.1).
        Like Telegram, an update is posted again until the bot answers 200, one at a time.
        """
        self._webhook_target = target
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._pump_webhook())
        self._fire_updates()

    async def _pump_webhook(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._closing.is_set():
                changed = self._updates_changed
                hook, target = self.webhook, self._webhook_target
                if hook is None or target is None or not self._updates:
                    await changed.wait()
                    continue
                update = self._updates[0]
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
                try:
                    async with session.post(
                        target, data=json.dumps(update), headers=headers
                    ) as res:
                        self.webhook_answers.append(res.status)
                        taken = res.status == 200
                except aiohttp.ClientError:
                    taken = False
                if taken:
                    self._updates.popleft()
                    self._fetched_upto = int(update["update_id"])
                    self._fire_updates()
                else:
                    await asyncio.sleep(0.1)  # Telegram too retries a failed delivery later

    # ---------------------------------------------------------------- test-side: updates

    def push_raw(self, update: Mapping[str, Any]) -> JSON:
        """Queue an update as is (an ``update_id`` is assigned unless present)."""
        item = dict(update)
        if "update_id" in item:
            self._next_update_id = max(self._next_update_id, int(item["update_id"]) + 1)
        else:
            item["update_id"] = self._next_update_id
            self._next_update_id += 1
        self._updates.append(item)
        self._fire_updates()
        return item

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
        username: str | None = None,
        title: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """Queue an incoming text message; "/cmd" gets ``bot_command`` entities like
        Telegram."""
        chat, user = self._chat_and_user(
            chat_id, user_id, chat_type, title, first_name, username, language_code
        )
        message = self._incoming_message(chat, user)
        message["text"] = text
        found = bot_command_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to_message_id is not None:
            replied = self._messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = self._shallow(replied)
        return self.push_raw({"message": message})

    def push_location(
        self,
        chat_id: int,
        user_id: int | None,
        latitude: float,
        longitude: float,
        *,
        chat_type: str | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> JSON:
        """Queue an incoming location message."""
        chat, user = self._chat_and_user(
            chat_id, user_id, chat_type, None, first_name, None, language_code
        )
        message = self._incoming_message(chat, user)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self.push_raw({"message": message})

    def push_callback_query(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Test",
    ) -> JSON:
        """Queue a button press on a bot message (default: the bot's last message there)."""
        user = self.users.get(user_id) or self.add_user(
            user_id, first_name=first_name, language_code=language_code
        )
        if message_id is None:
            message_id = self._last_bot_message.get(chat_id)
            if message_id is None:
                raise ValueError(f"the bot has sent no message to chat {chat_id} yet")
        stored = self._messages.get((chat_id, message_id))
        message = (
            self._shallow(stored)
            if stored is not None
            else {"chat": self._chat_for(chat_id), "message_id": message_id, "date": 0}
        )
        query_id = str(4_000_000_000_000_000 + self._next_update_id)
        query: JSON = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(-abs(chat_id) * 7919 - 1),
            "data": data,
        }
        self._callback_queries[query_id] = {"chat_id": chat_id, "message_id": message_id}
        return self.push_raw({"callback_query": query})

    def push_my_chat_member(
        self,
        chat_id: int,
        user_id: int,
        old_status: str,
        new_status: str,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        auto_block: bool = True,
    ) -> JSON:
        """Queue a change of the bot's own membership (e.g. "member" -> "kicked" = blocked).

        With ``auto_block`` a kicked/left status makes later sends to that chat fail with the
        matching 403, and "member"/"administrator" lifts it.
        """
        chat, user = self._chat_and_user(
            chat_id, user_id, chat_type, title, "Test", None, "en", update_user=False
        )
        update = {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": _chat_member(self.bot_user, old_status),
                "new_chat_member": _chat_member(self.bot_user, new_status),
            }
        }
        if auto_block:
            if new_status in ("kicked", "left"):
                if chat["type"] == "private":
                    self.block(chat_id)
                elif new_status == "kicked":
                    self.block(chat_id, ApiError.kicked(supergroup=chat["type"] == "supergroup"))
                else:
                    self.block(
                        chat_id, ApiError(403, "Forbidden: bot is not a member of the group chat")
                    )
            elif new_status in ("member", "administrator", "creator"):
                self.unblock(chat_id)
        return self.push_raw(update)

    @property
    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed by a later getUpdates offset."""
        return len(self._updates)

    async def wait_fetched(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until getUpdates has handed out every update pushed so far."""
        target = self._next_update_id - 1
        await self._wait_until(
            lambda: self._fetched_upto >= target,
            timeout,
            lambda: f"updates up to {target} not fetched (fetched up to {self._fetched_upto})",
        )
