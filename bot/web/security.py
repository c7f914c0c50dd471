"""Headers every answer of the web face carries: no sniffing, no framing, no referrer to
other sites.

No referrer across sites matters most: a page must never hand its own address (a personal
feed's holds its secret) to a site it links to. `same-origin` rather than `no-referrer`, so
that the dashboard's own forms keep a real Origin header for their CSRF checks.

A Content-Security-Policy that allows nothing is added to answers that are not HTML; every
HTML page sets its own (the public page allows its inline style and script by hash), since
only it knows what it needs.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
NOTHING_ALLOWED = "default-src 'none'; frame-ancestors 'none'"


def _secure(headers: web.StreamResponse | web.HTTPException) -> None:
    """Add the headers the route did not set itself."""
    for name, value in HEADERS.items():
        headers.headers.setdefault(name, value)
    if not headers.headers.get("Content-Type", "").startswith("text/html"):
        headers.headers.setdefault("Content-Security-Policy", NOTHING_ALLOWED)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the headers to every answer, errors included, unless the route set its own."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc)
        raise
    _secure(response)
    return response
