"""The dashboard's HTML: the shared layout with its navigation, forms with their CSRF token.

Every value that comes from outside (a schedule, a viewer, an organizer's text, an error) is
passed through `esc` where it is put in the page; the page's own words come from catalogs.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Final

from aiohttp import web

from bot.i18n import t

# (path, catalog key) of the pages, in the navigation's order.
NAV: Final[tuple[tuple[str, str], ...]] = (
    ("/dashboard", "dashboard.nav_overview"),
    ("/dashboard/audience", "dashboard.nav_audience"),
    ("/dashboard/broadcasts", "dashboard.nav_broadcasts"),
    ("/dashboard/schedule", "dashboard.nav_schedule"),
    ("/dashboard/audit", "dashboard.nav_audit"),
)

# Scripts and styles only from this server, no inline script at all: a value that slipped
# through unescaped still could not run. No page may be framed (clickjacking).
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # The sign-in link's secret is in its path: no page sends its address to another site.
    # ("no-referrer" would make browsers send `Origin: null` with the dashboard's own forms.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


_ACTIVE: Final = ' class="active"'


def esc(value: object) -> str:
    """Any value as HTML text (quotes too, so it is safe in attributes)."""
    return escape(str(value), quote=True)


def csrf_field(csrf: str) -> str:
    """The hidden field every form of a signed-in page carries."""
    return f'<input type="hidden" name="csrf" value="{esc(csrf)}">'


def form(action: str, csrf: str, body: str, *, css: str = "") -> str:
    """A POST form to `action` with the CSRF token."""
    klass = f' class="{esc(css)}"' if css else ""
    return f'<form method="post" action="{esc(action)}"{klass}>{csrf_field(csrf)}{body}</form>'


def button(label: str, ident: str, *, css: str = "") -> str:
    """A submit button (`label` is escaped here)."""
    klass = f' class="{esc(css)}"' if css else ""
    return f'<button type="submit" id="{esc(ident)}"{klass}>{esc(label)}</button>'


def table(head: Iterable[str], rows: Iterable[Iterable[str]], *, css: str = "") -> str:
    """A table from cells that are already HTML (escape values before)."""
    klass = f' class="{esc(css)}"' if css else ""
    ths = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{klass}><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>"


def layout(
    title: str,
    body: str,
    lang: str,
    *,
    active: str = "",
    csrf: str | None = None,
    event: str = "",
    scripts: tuple[str, ...] = (),
) -> str:
    """A whole page: head, the navigation when signed in (`csrf` given), the body."""
    nav = ""
    if csrf is not None:
        links = "".join(
            f'<a href="{path}"{_ACTIVE if path == active else ""}>{esc(t(key, lang))}</a>'
            for path, key in NAV
        )
        signout = form(
            "/dashboard/signout",
            csrf,
            f'<button type="submit">{esc(t("dashboard.signout", lang))}</button>',
            css="signout",
        )
        nav = f"<nav>{links}{signout}</nav>"
    tags = "".join(f'<script src="{esc(src)}" defer></script>' for src in scripts)
    heading = esc(t("dashboard.heading", lang, event=event)) if event else ""
    return (
        f'<!DOCTYPE html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        f'<link rel="stylesheet" href="/dashboard/assets/dashboard.css">{tags}</head>'
        f'<body><header><span class="brand">{heading}</span>{nav}</header>'
        f"<main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )


def respond(page: str, *, status: int = 200) -> web.Response:
    """An HTML response with the dashboard's security headers."""
    return web.Response(
        text=page, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )


def see_other(location: str) -> web.Response:
    """A redirect after a POST (303: the browser follows with a GET)."""
    return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": location})
