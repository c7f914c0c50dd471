"""A chat's settings: time zone (typed or from a shared location), language, reminders, quiet."""

from __future__ import annotations

from dataclasses import replace

from bot.commands.context import CommandContext, Handler, quiet_hours, say
from bot.i18n import catalog, normalize_language, t
from bot.i18n.formatting import format_places, format_when, place_with_zone
from bot.inputs import InputError, describe_offsets, format_quiet, parse_offsets, parse_quiet
from bot.messages import Button, Command, Reply
from bot.render import text
from bot.store import ChatRecord
from bot.timezones import Place, place_at, resolve_timezone


class PreferenceCommands:
    """/timezone, /language, /remind, /quiet, and a zone from a shared location."""

    def __init__(self, ctx: CommandContext) -> None:
        self.ctx = ctx

    def handlers(self) -> dict[str, Handler]:
        """The handler of each of these commands, by name."""
        return {
            "timezone": self.timezone,
            "language": self.language,
            "remind": self.remind,
            "quiet": self.quiet,
        }

    async def timezone(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/timezone QUERY: a city, country, zone or offset; always says what it resolved."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        query = cmd.text.strip()
        if not query:
            return say(t("timezone.current", lang, place=reader.where_and_zone()))
        result = resolve_timezone(query, lang)
        if result.match is None and result.choices:
            buttons = tuple((Button(c.label, f"timezone {c.zone}"),) for c in result.choices[:8])
            lines = [t("timezone.which", lang, query=query)]
            lines += [
                t("list.place", lang, place=place_with_zone(c.label, c.zone, lang))
                for c in result.choices
            ]
            return say("\n".join(lines), buttons=buttons)
        if result.match is None:
            if result.suggestions:
                body = t(
                    "timezone.not_found_suggest",
                    lang,
                    query=query,
                    suggestions=format_places(result.suggestions, lang, alternatives=True),
                )
                buttons = tuple((Button(s, f"timezone {s}"),) for s in result.suggestions[:5])
                return say(body, buttons=buttons)
            return say(t("timezone.not_found", lang, query=query))
        return await self._set_zone(chat, result.match, result.choices, lang)

    async def _set_zone(
        self, chat: ChatRecord, place: Place, others: tuple[Place, ...], lang: str
    ) -> Reply:
        updated = await self.ctx.store.chats.update(
            chat.pk, now=self.ctx.clock(), timezone=place.zone, tz_label=place.label
        )
        chat = updated or chat
        await self.ctx.replan()
        now = self.ctx.clock()
        lines = [
            t(
                "timezone.set",
                lang,
                place=place_with_zone(place.label, place.zone, lang),
                time=format_when(now, place.zone, lang),
            )
        ]
        schedule = self.ctx.schedule()
        upcoming = schedule.next_session(now)
        if upcoming is not None and upcoming.start is not None:
            lines.append(
                t(
                    "timezone.next",
                    lang,
                    title=text(upcoming.title, self.ctx.reader(chat), schedule),
                    when=format_when(upcoming.start, place.zone, lang),
                )
            )
        buttons: tuple[tuple[Button, ...], ...] = ()
        if others:
            shown = [o.label for o in others[:5]]
            lines.append(t("timezone.also", lang, places=format_places(shown, lang)))
            buttons = tuple((Button(o.label, f"timezone {o.zone}"),) for o in others[:5])
        return say("\n".join(lines), buttons=buttons)

    async def zone_from_location(
        self, cmd: Command, chat: ChatRecord, latitude: float, longitude: float
    ) -> Reply:
        """Set a chat's zone from a shared location; the reply names the zone found."""
        lang = self.ctx.reader(chat).lang
        place = place_at(latitude, longitude, lang)
        if place is None:
            return say(t("timezone.no_zone_there", lang))
        return await self._set_zone(chat, place, (), lang)

    async def language(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/language CODE: the language of every message to this chat."""
        reader = self.ctx.reader(chat)
        wanted = normalize_language(cmd.text.strip()) if cmd.text.strip() else None
        if wanted is None:
            codes = ", ".join(self.ctx.language_choices())
            key = "language.which" if not cmd.text.strip() else "language.unknown"
            return say(
                t(key, reader.lang, text=cmd.text.strip()[:40], codes=codes),
                buttons=self.ctx.language_buttons(),
            )
        label = chat.tz_label
        if label and chat.timezone:
            # The place the viewer chose, named again in the new language ("Prague, 捷克").
            found = resolve_timezone(label, wanted).match
            if found is not None and found.zone == chat.timezone:
                label = found.label
        await self.ctx.store.chats.update(
            chat.pk, now=self.ctx.clock(), language=wanted, tz_label=label
        )
        reply = say(t("language.set", wanted, language=catalog(wanted).name))
        return replace(reply, lang=wanted)

    async def remind(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/remind OFFSETS|default|off: when this chat's reminders go out."""
        lang = self.ctx.reader(chat).lang
        r = self.ctx.settings.reminders
        words = [w.lower() for w in cmd.args]
        if not words:
            return say(
                t(
                    "remind.current",
                    lang,
                    reminders=describe_offsets(self.ctx.offsets(chat), lang),
                ),
                buttons=self._remind_buttons(lang),
            )
        offsets: tuple[int, ...] | None
        if words == ["default"]:
            offsets = None
        elif words == ["off"]:
            offsets = ()
        else:
            try:
                offsets = parse_offsets(
                    words, max_count=r.max_offsets, max_minutes=r.max_offset_minutes
                )
            except InputError as exc:
                limit = describe_offsets((r.max_offset_minutes,), lang)
                return say(
                    t(
                        f"remind.error_{exc.reason}",
                        lang,
                        token=exc.token[:40],
                        max=r.max_offsets,
                        limit=limit,
                    )
                )
        await self.ctx.store.chats.update(chat.pk, now=self.ctx.clock(), offsets=offsets)
        await self.ctx.replan()
        if offsets == ():
            return say(t("remind.disabled", lang))
        shown = r.default_offsets if offsets is None else offsets
        return say(t("remind.set", lang, reminders=describe_offsets(shown, lang)))

    @staticmethod
    def _remind_buttons(lang: str) -> tuple[tuple[Button, ...], ...]:
        return (
            (
                Button(t("button.remind_default", lang), "remind default"),
                Button(t("button.remind_short", lang), "remind 10m 0"),
            ),
            (Button(t("button.remind_off", lang), "remind off"),),
        )

    async def quiet(self, cmd: Command, chat: ChatRecord) -> Reply:
        """/quiet HH:MM-HH:MM|off: hours in which no reminder arrives."""
        reader = self.ctx.reader(chat)
        lang = reader.lang
        value = cmd.text.strip().lower()
        place = reader.here()
        if not value:
            return say(
                t("quiet.current", lang, quiet=format_quiet(quiet_hours(chat), lang), place=place)
            )
        if value == "off":
            await self.ctx.store.chats.update(chat.pk, now=self.ctx.clock(), quiet=None)
            await self.ctx.replan()
            return say(t("quiet.disabled", lang))
        try:
            begin, end = parse_quiet(value)
        except InputError as exc:
            key = "quiet.error_same" if exc.reason == "same" else "quiet.error"
            return say(t(key, lang, text=cmd.text.strip()[:40]))
        await self.ctx.store.chats.update(
            chat.pk, now=self.ctx.clock(), quiet=(f"{begin:%H:%M}", f"{end:%H:%M}")
        )
        await self.ctx.replan()
        return say(
            t(
                "quiet.set",
                lang,
                quiet=format_quiet((begin, end), lang),
                place=place,
                begin=f"{begin:%H:%M}",
            )
        )
