"""`GET /`: the public schedule page, day by day in the visitor's language and time zone.

The language comes from `?lang=`, else the browser's Accept-Language, else the default; the
zone from `?tz=` (an IANA name), else the event's. A small form picks both, and a few lines of
script fill in the browser's zone when none was asked for; without script the page works all
the same. Every value from the schedule is escaped; texts and times come from the catalogs
and bot/render.py, as in the chats.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from functools import cache
from html import escape

from aiohttp import web

from bot.calendar import MAX_LINK_LENGTH, google_calendar_link
from bot.i18n import catalog, languages, normalize_language, t
from bot.i18n.formatting import format_day, format_full_date
from bot.render import (
    Reader,
    person_line,
    session_facts,
    stream_links,
    text,
    when_line,
    zone_line,
)
from bot.schedule import Schedule, Session
from bot.timezones import ZONE_NAMES, get_zone, is_valid_zone
from bot.web.context import CONTEXT, WebContext

# How many Accept-Language entries are read: a header is the visitor's to write.
MAX_LANGUAGE_RANGES = 20
# Pages kept, by language, zone and minute: a conference of hundreds of sessions takes a
# fraction of a second to render, and visitors come in crowds when a session is announced.
CACHED_PAGES = 256

STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:46rem;padding:0 1rem 2rem;
line-height:1.45;color:#1b1b1b;background:#fff}
header{border-bottom:1px solid #ddd;padding:.5rem 0}
h1{font-size:1.5rem;margin:.5rem 0}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #eee}
h3{font-size:1.05rem;margin:.2rem 0}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0}
label{display:flex;flex-direction:column;font-size:.9rem}
select,button{font-size:1rem;padding:.3rem;max-width:100%}
article{padding:.5rem 0;border-bottom:1px dashed #eee}
.when{margin:.2rem 0}.facts,.zone,footer{color:#555;font-size:.9rem}
.links{display:flex;flex-wrap:wrap;gap:.4rem .9rem;margin:.4rem 0}
.desc{white-space:pre-line}
a{color:#0645ad}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}a{color:#8ab4f8}
.facts,.zone,footer{color:#aaa}}
"""

# Without ?tz=, take the browser's zone and ask again (once: the answer has ?tz=).
SCRIPT = """(function(){var p=new URLSearchParams(location.search);if(p.has("tz"))return;
var z;try{z=Intl.DateTimeFormat().resolvedOptions().timeZone}catch(e){return}
if(!z)return;p.set("tz",z);location.replace("?"+p.toString())})();"""


def _digest(source: str) -> str:
    """A CSP hash source for an inline block: its SHA-256, so nothing else inline runs."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CSP = (
    f"default-src 'none'; style-src {_digest(STYLE)}; script-src {_digest(SCRIPT)}; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """`?lang=` if the bot speaks it, else the best of Accept-Language, else the default."""
    chosen = normalize_language(asked[:40]) if asked else None
    if chosen:
        return chosen
    ranges: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "").split(",")[:MAX_LANGUAGE_RANGES]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranges.append((-quality, index, tag[:40]))
    for _, _, tag in sorted(ranges):
        found = normalize_language(tag)
        if found:
            return found
    return languages()[0]


def choose_zone(asked: str | None, schedule: Schedule) -> tuple[str, bool]:
    """The zone `?tz=` names (an IANA name in any case), else the event's; and whether the
    visitor's own was given."""
    if asked and len(asked) <= 64 and is_valid_zone(asked):
        return str(get_zone(asked)), True  # as spelt in tzdata: "america/bogota" → America/…
    return schedule.event.timezone, False


@cache
def _zone_choices() -> tuple[str, ...]:
    """The zones the picker offers: every IANA place (Area/City) and UTC."""
    places = sorted(z for z in ZONE_NAMES if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return ("UTC", *places)


def _options(choices: list[tuple[str, str]], selected: str) -> str:
    """<option> elements, `selected` marked."""
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
        f"{escape(label)}</option>"
        for value, label in choices
    )


def _picker(reader: Reader) -> str:
    """The language and zone form: a GET to this page, so every choice is a plain link."""
    lang = reader.lang
    langs = [(code, catalog(code).name) for code in languages()]
    zones = [(z, z) for z in _zone_choices()]
    if reader.zone not in _zone_choices():
        zones.insert(0, (reader.zone, reader.zone))
    return (
        '<form method="get" action="">'
        f"<label>{escape(t('web.language', lang))}"
        f'<select name="lang">{_options(langs, lang)}</select></label>'
        f"<label>{escape(t('web.timezone', lang))}"
        f'<select name="tz">{_options(zones, reader.zone)}</select></label>'
        f'<button type="submit">{escape(t("web.show", lang))}</button>'
        "</form>"
    )


def _link(url: str, label: str) -> str:
    """A link that opens elsewhere and tells that site nothing about this page."""
    return f'<a href="{escape(url)}" rel="noopener noreferrer">{escape(label)}</a>'


def _session(
    ctx: WebContext, schedule: Schedule, session: Session, reader: Reader, now: dt.datetime
) -> str:
    """One session's card: title, time, facts, description, people, links."""
    lang = reader.lang
    parts = [f'<article id="{escape(session.id)}">']
    parts.append(f"<h3>{escape(text(session.title, reader, schedule))}</h3>")
    parts.append(f'<p class="when">{escape(when_line(session, reader, schedule))}</p>')
    facts = t("agenda.sep", lang).join(session_facts(session, reader, now))
    if facts:
        parts.append(f'<p class="facts">{escape(facts)}</p>')
    if session.description is not None:
        parts.append(f'<p class="desc">{escape(text(session.description, reader, schedule))}</p>')
    people = []
    if session.host is not None:
        people.append(t("session.host", lang, person=person_line(session.host, reader, schedule)))
    if session.speakers:
        people.append(t("session.speakers", lang))
        people += [
            t("session.speaker", lang, person=person_line(p, reader, schedule)).strip()
            for p in session.speakers
        ]
    if people:
        parts.append('<p class="people">' + "<br>".join(escape(p) for p in people) + "</p>")
    links = [_link(link.url, link.label) for link in stream_links(session, reader, schedule)]
    if not links and not session.service:
        links.append(escape(t("session.link_tba", lang)))
    if not session.service and not session.is_over(now):
        deep = ctx.worker.deep_links(f"sub-{session.id}")
        if "telegram" in deep:
            links.append(_link(deep["telegram"], t("web.remind_telegram", lang)))
        if "discord" in deep:
            links.append(_link(deep["discord"], t("web.remind_discord", lang)))
        google = google_calendar_link(schedule, session, lang)
        if len(google) <= MAX_LINK_LENGTH:
            links.append(_link(google, t("web.google", lang)))
    if links:
        parts.append('<p class="links">' + " ".join(links) + "</p>")
    parts.append("</article>")
    return "".join(parts)


def render_page(
    ctx: WebContext, schedule: Schedule, reader: Reader, now: dt.datetime, *, zone_given: bool
) -> str:
    """The whole page as HTML."""
    lang = reader.lang
    event = text(schedule.event.name, reader, schedule)
    organizer = text(schedule.event.organizer, reader, schedule)
    days: list[str] = []
    heading = None
    for session in schedule.sessions:
        if session.start is not None:
            day = format_day(session.start, reader.zone, lang)
        else:
            day = format_full_date(session.date, lang)
        if day != heading:
            if heading is not None:
                days.append("</section>")
            days.append(f"<section><h2>{escape(day)}</h2>")
            heading = day
        days.append(_session(ctx, schedule, session, reader, now))
    if heading is not None:
        days.append("</section>")
    else:
        days.append(f"<p>{escape(t('web.no_sessions', lang))}</p>")
    zone = zone_line(reader, schedule, chosen=True)
    if not zone_given:  # the event's zone, as the browser's was not asked or not known
        zone += " " + t("web.pick_zone", lang)
    return (
        "<!doctype html>"
        f'<html lang="{escape(catalog(lang).code)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(t('web.page_title', lang, event=event))}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(event)}</h1>"
        f"<p>{escape(t('web.organizer', lang, organizer=organizer))}</p>"
        f"{_picker(reader)}"
        f'<p class="zone">{escape(zone)}</p></header>'
        f"<main>{''.join(days)}</main>"
        f"<footer><p>{escape(t('web.footer', lang))}</p></footer>"
        f"<script>{SCRIPT}</script>"
        "</body></html>"
    )


class PageCache:
    """Rendered pages for the schedule in force, each good for the minute it was made in
    (a session's status, "starts in 5 minutes", is worded to the minute)."""

    def __init__(self) -> None:
        self._schedule: Schedule | None = None
        self._pages: dict[tuple[object, ...], str] = {}

    def page(self, ctx: WebContext, lang: str, zone: str, given: bool) -> str:
        """The page for this language and zone, rendered now or a moment ago."""
        schedule = ctx.worker.current_schedule()
        now = ctx.clock()
        if schedule is not self._schedule:  # a reload: every page changes
            self._schedule, self._pages = schedule, {}
        # The deep links appear once a platform has connected.
        links = tuple(sorted(ctx.worker.deep_links("sub-").items()))
        key = (lang, zone, given, now.replace(second=0, microsecond=0), links)
        page = self._pages.get(key)
        if page is None:
            if len(self._pages) >= CACHED_PAGES:
                self._pages.pop(next(iter(self._pages)))  # the oldest
            page = render_page(ctx, schedule, Reader(lang, zone), now, zone_given=given)
            self._pages[key] = page
        return page


PAGES = web.AppKey("public_pages", PageCache)


async def public_page(request: web.Request) -> web.Response:
    """GET /: the schedule for this visitor."""
    ctx = request.app[CONTEXT]
    schedule = ctx.worker.current_schedule()
    lang = choose_language(request.query.get("lang"), request.headers.get("Accept-Language"))
    zone, given = choose_zone(request.query.get("tz"), schedule)
    page = request.app[PAGES].page(ctx, lang, zone, given)
    response = web.Response(text=page, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = CSP
    # The language may come from the header: a cache must keep one page per language.
    response.headers["Vary"] = "Accept-Language"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def add_public_routes(app: web.Application) -> None:
    """GET / (and HEAD)."""
    app[PAGES] = PageCache()
    app.router.add_get("/", public_page)
