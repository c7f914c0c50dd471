"""The application command routes: list, create, edit, delete and bulk-overwrite."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import _COMMAND_NAME_RE, DISCORD_LOCALES, JSON
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.wire import DiscordAPIError, _json_response, form_error


class RestCommands(DiscordState):
    """Global and guild application commands."""

    # ------------------------------------------------------------------ REST: commands

    def _command_scope(self, request: web.Request) -> int | None:
        """Return the guild id of a command route (None for global), checking the app id."""
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordAPIError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if int(guild_id) not in self.guilds:
            raise DiscordAPIError(403, 50001, "Missing Access")
        return int(guild_id)

    async def _list_commands(self, request: web.Request) -> web.Response:
        """GET application commands."""
        return _json_response(self.commands(self._command_scope(request)))

    async def _bulk_commands(self, request: web.Request) -> web.Response:
        """PUT (bulk overwrite) application commands."""
        scope = self._command_scope(request)
        body = self._body(request)
        if not isinstance(body, list):
            raise form_error("_root", "LIST_TYPE_CONVERT", "Must be a list.")
        for index, payload in enumerate(body):
            self._validate_command(payload, str(index))
        keys = [(c["name"], c.get("type", 1)) for c in body]
        if len(keys) != len(set(keys)):
            raise form_error(
                "_root",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        if sum(1 for c in body if c.get("type", 1) == 1) > 100:
            raise DiscordAPIError(
                400, 30032, "Maximum number of application commands reached (100)"
            )
        old = {(c["name"], c.get("type", 1)): c for c in self._commands.get(scope, [])}
        self._commands[scope] = [
            self._command_json(p, scope, old.get((p["name"], p.get("type", 1)))) for p in body
        ]
        return _json_response(self.commands(scope))

    async def _upsert_command(self, request: web.Request) -> web.Response:
        """POST (create or overwrite by name) an application command."""
        scope = self._command_scope(request)
        payload = self._body(request)
        self._validate_command(payload, "")
        existing = self._commands.setdefault(scope, [])
        key = (payload["name"], payload.get("type", 1))
        old = next((c for c in existing if (c["name"], c.get("type", 1)) == key), None)
        cmd = self._command_json(payload, scope, old)
        if old is not None:
            existing[existing.index(old)] = cmd
        else:
            existing.append(cmd)
        return _json_response(copy.deepcopy(cmd), 200 if old else 201)

    def _command_by_id(self, request: web.Request) -> tuple[int | None, JSON]:
        """Find the command addressed by a route."""
        scope = self._command_scope(request)
        cid = request.match_info["command_id"]
        for cmd in self._commands.get(scope, []):
            if cmd["id"] == cid:
                return scope, cmd
        raise DiscordAPIError(404, 10063, "Unknown application command")

    async def _get_command(self, request: web.Request) -> web.Response:
        """GET one application command."""
        return _json_response(copy.deepcopy(self._command_by_id(request)[1]))

    async def _edit_command(self, request: web.Request) -> web.Response:
        """PATCH one application command."""
        scope, cmd = self._command_by_id(request)
        merged = {**cmd, **(self._body(request) or {})}
        self._validate_command(merged, "")
        new = self._command_json(merged, scope, cmd)
        commands = self._commands[scope]
        commands[commands.index(cmd)] = new
        return _json_response(copy.deepcopy(new))

    async def _delete_command(self, request: web.Request) -> web.Response:
        """DELETE one application command."""
        scope, cmd = self._command_by_id(request)
        self._commands[scope].remove(cmd)
        return web.Response(status=204)

    def _command_json(self, payload: JSON, guild_id: int | None, old: JSON | None) -> JSON:
        """Build the stored application command object."""
        cmd: JSON = {
            "id": old["id"] if old else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": payload.get("type", 1),
            "name": payload["name"],
            "name_localizations": payload.get("name_localizations") or None,
            "description": payload.get("description", ""),
            "description_localizations": payload.get("description_localizations") or None,
            "options": copy.deepcopy(payload.get("options") or []),
            "default_member_permissions": payload.get("default_member_permissions"),
            "nsfw": bool(payload.get("nsfw", False)),
            "integration_types": payload.get("integration_types") or [0],
            "contexts": payload.get("contexts"),
        }
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd["dm_permission"] = payload.get("dm_permission", True)
        return cmd

    def _validate_command(self, payload: Any, path: str) -> None:
        """Validate an application command payload the way Discord does (main rules)."""
        prefix = f"{path}." if path else ""
        if not isinstance(payload, dict):
            raise form_error(
                path or "_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used."
            )
        ctype = payload.get("type", 1)
        name = payload.get("name")
        if not isinstance(name, str):
            raise form_error(f"{prefix}name", "BASE_TYPE_REQUIRED", "This field is required")
        if ctype == 1:
            self._validate_name(name, f"{prefix}name")
            self._validate_description(payload.get("description"), f"{prefix}description")
            self._validate_options(payload.get("options") or [], f"{prefix}options", depth=0)
        elif not 1 <= len(name) <= 32:
            raise form_error(
                f"{prefix}name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        self._validate_localizations(payload, prefix, ctype == 1)
        for ctx in payload.get("contexts") or []:
            if ctx not in (0, 1, 2):
                raise form_error(
                    f"{prefix}contexts",
                    "ENUM_TYPE_COERCE",
                    f'Value "{ctx}" is not a valid enum value.',
                )

    def _validate_name(self, name: str, path: str) -> None:
        """Check a chat-input command or option name."""
        if not _COMMAND_NAME_RE.match(name) or name != name.lower():
            raise form_error(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")

    def _validate_description(self, description: Any, path: str) -> None:
        """Check a chat-input command or option description."""
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise form_error(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")

    def _validate_localizations(self, payload: JSON, prefix: str, chat_input: bool) -> None:
        """Check ``name_localizations`` / ``description_localizations`` keys and values."""
        for key in ("name_localizations", "description_localizations"):
            for locale, text in (payload.get(key) or {}).items():
                path = f"{prefix}{key}.{locale}"
                if locale not in DISCORD_LOCALES:
                    raise form_error(
                        path, "ENUM_TYPE_COERCE", f'Value "{locale}" is not a valid enum value.'
                    )
                if key == "name_localizations" and chat_input:
                    self._validate_name(str(text), path)
                elif key == "description_localizations":
                    self._validate_description(text, path)

    def _validate_options(self, options: list[JSON], path: str, depth: int) -> None:
        """Check command options recursively (count, names, required-first, choices)."""
        if len(options) > 25:
            raise form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        seen_optional = False
        names: set[str] = set()
        for i, opt in enumerate(options):
            opath = f"{path}.{i}"
            otype = opt.get("type")
            if otype not in range(1, 12):
                raise form_error(
                    f"{opath}.type", "ENUM_TYPE_COERCE", "Value is not a valid enum value."
                )
            self._validate_name(str(opt.get("name", "")), f"{opath}.name")
            self._validate_description(opt.get("description"), f"{opath}.description")
            self._validate_localizations(opt, f"{opath}.", True)
            if opt["name"] in names:
                raise form_error(
                    opath,
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            names.add(opt["name"])
            if otype in (1, 2):
                if (otype == 2 and depth > 0) or (otype == 1 and depth > 1):
                    raise form_error(
                        opath,
                        "APPLICATION_COMMAND_OPTION_NESTING",
                        "Subcommands nested too deeply",
                    )
                self._validate_options(opt.get("options") or [], f"{opath}.options", depth + 1)
                continue
            if opt.get("required"):
                if seen_optional:
                    raise form_error(
                        opath,
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            choices = opt.get("choices") or []
            if choices and opt.get("autocomplete"):
                raise form_error(
                    f"{opath}.autocomplete",
                    "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                    "Autocomplete cannot be set with choices",
                )
            if len(choices) > 25:
                raise form_error(
                    f"{opath}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for j, choice in enumerate(choices):
                if not 1 <= len(str(choice.get("name", ""))) <= 100:
                    raise form_error(
                        f"{opath}.choices.{j}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
                    raise form_error(
                        f"{opath}.choices.{j}.value",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    )
