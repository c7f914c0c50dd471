"""The interaction routes: callbacks, the original response and follow-ups."""

from __future__ import annotations

import copy
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import (
    _CALLBACKS_FOR_INTERACTION_TYPE,
    INTERACTION_TOKEN_LIFETIME,
    JSON,
    MSG_FLAG_EPHEMERAL,
    MSG_FLAG_LOADING,
)
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.records import FakeInteraction, InteractionResponse
from tests.fakes.discord.wire import DiscordAPIError, _json_response, form_error


class InteractionResponses(Messages):
    """The REST routes a bot answers interactions with."""

    # ------------------------------------------------------------------ REST: interactions

    def _interaction_for_token(self, request: web.Request) -> FakeInteraction:
        """Return the interaction of a webhook route (app id + interaction token)."""
        inter = self._interactions_by_token.get(request.match_info["webhook_token"])
        if int(request.match_info["webhook_id"]) != self.application_id or inter is None:
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        if time.monotonic() - inter.created > INTERACTION_TOKEN_LIFETIME:
            raise DiscordAPIError(401, 50027, "Invalid Webhook Token")
        return inter

    def _record_response(
        self,
        inter: FakeInteraction,
        kind: str,
        ctype: int | None,
        payload: JSON | None,
        message: JSON | None,
    ) -> None:
        """Append to an interaction's response log."""
        inter.responses.append(
            InteractionResponse(
                kind, ctype, copy.deepcopy(payload), copy.deepcopy(message), time.monotonic()
            )
        )

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback (types 4-9; ``with_response`` aware)."""
        inter = self._interactions.get(int(request.match_info["webhook_id"]))
        if inter is None:
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        if request.match_info["webhook_token"] != inter.token:
            raise DiscordAPIError(401, 50027, "Invalid Webhook Token")
        if inter.acknowledged:
            raise DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")
        if inter.expired or time.monotonic() - inter.created > self.callback_deadline:
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        body = self._body(request) or {}
        ctype = body.get("type")
        if ctype not in _CALLBACKS_FOR_INTERACTION_TYPE[inter.type]:
            raise form_error(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Invalid interaction response type for interaction type {inter.type}",
            )
        data = body.get("data") or {}
        message: JSON | None = None
        msg_type = 20 if inter.type == 2 else 0
        files = self._files(request)
        if ctype == 4:
            self._validate_message(data, files=files)
            message = self._create_message(
                inter.channel_id,
                data,
                author=self.bot_user,
                msg_type=msg_type,
                interaction=inter,
                files=files,
            )
            inter.original_message_id = int(message["id"])
        elif ctype == 5:
            flags = (int(data.get("flags") or 0) & MSG_FLAG_EPHEMERAL) | MSG_FLAG_LOADING
            message = self._create_message(
                inter.channel_id,
                {"content": ""},
                author=self.bot_user,
                msg_type=msg_type,
                flags=flags,
                interaction=inter,
            )
            inter.original_message_id = int(message["id"])
        elif ctype in (6, 7):
            assert inter.message_id is not None
            target = self._messages.get(inter.message_id)
            if target is None:
                raise DiscordAPIError(404, 10008, "Unknown Message")
            if ctype == 7:
                self._edit_message(target, data, files)
            message = target
            inter.original_message_id = inter.message_id
        elif ctype == 8:
            self._validate_choices(data.get("choices"))
        elif ctype == 9:
            for key in ("custom_id", "title", "components"):
                if not data.get(key):
                    raise form_error(f"data.{key}", "BASE_TYPE_REQUIRED", "This field is required")
        inter.acknowledged = True
        inter.callback_type = ctype
        self._record_response(inter, "callback", ctype, body, message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        flags = int((message or {}).get("flags") or 0)
        callback: JSON = {"id": str(inter.id), "type": inter.type}
        resource: JSON = {"type": ctype}
        if message is not None:
            callback.update(
                response_message_id=message["id"],
                response_message_loading=bool(flags & MSG_FLAG_LOADING),
                response_message_ephemeral=bool(flags & MSG_FLAG_EPHEMERAL),
            )
            resource["message"] = copy.deepcopy(message)
        return _json_response({"interaction": callback, "resource": resource})

    def _validate_choices(self, choices: Any) -> None:
        """Check autocomplete choices (max 25; names 1-100; string values <= 100)."""
        if not isinstance(choices, list):
            raise form_error("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
        if len(choices) > 25:
            raise form_error(
                "data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for i, choice in enumerate(choices):
            if not 1 <= len(str(choice.get("name", ""))) <= 100:
                raise form_error(
                    f"data.choices.{i}.name",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
                raise form_error(
                    f"data.choices.{i}.value",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 100 or fewer in length.",
                )

    async def _create_followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: follow-up (the first after a defer resolves it)."""
        inter = self._interaction_for_token(request)
        if not inter.acknowledged or inter.callback_type in (8, 9):
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        body = self._body(request) or {}
        files: list[str] = self._files(request)
        self._validate_message(body, files=files)
        original = (
            self._messages.get(inter.original_message_id) if inter.original_message_id else None
        )
        if (
            inter.callback_type == 5
            and original is not None
            and int(original["flags"]) & MSG_FLAG_LOADING
        ):
            message = self._edit_message(
                original, {k: v for k, v in body.items() if k != "flags"}, files
            )
        else:
            message = self._create_message(
                inter.channel_id, body, author=self.bot_user, interaction=inter, files=files
            )
        self._record_response(inter, "followup", None, body, message)
        if request.query.get("wait") not in ("1", "true", "True"):
            return web.Response(status=204)
        return _json_response(copy.deepcopy(message))

    def _webhook_message(self, request: web.Request) -> tuple[FakeInteraction, JSON, str]:
        """Return (interaction, message, kind suffix) for a webhook message route."""
        inter = self._interaction_for_token(request)
        raw_id = request.match_info.get("message_id")
        if raw_id is None:
            mid, suffix = inter.original_message_id, "original"
        else:
            mid, suffix = int(raw_id), "followup"
        message = self._messages.get(mid) if mid is not None else None
        meta = self._message_meta.get(mid) if mid is not None else None
        if message is None or meta is None:
            raise DiscordAPIError(404, 10008, "Unknown Message")
        if raw_id is not None and meta.interaction_id != inter.id:
            raise DiscordAPIError(404, 10008, "Unknown Message")
        return inter, message, suffix

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        """GET /webhooks/{app}/{token}/messages/{@original|id}."""
        return _json_response(copy.deepcopy(self._webhook_message(request)[1]))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        """PATCH /webhooks/{app}/{token}/messages/{@original|id}."""
        inter, message, suffix = self._webhook_message(request)
        body = self._body(request) or {}
        files: list[str] = self._files(request)
        self._edit_message(message, body, files)
        self._record_response(inter, f"edit_{suffix}", None, body, message)
        return _json_response(copy.deepcopy(message))

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        """DELETE /webhooks/{app}/{token}/messages/{@original|id}."""
        inter, message, suffix = self._webhook_message(request)
        self._delete_message(int(message["id"]))
        self._record_response(inter, f"delete_{suffix}", None, None, message)
        return web.Response(status=204)
