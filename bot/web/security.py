"""Headers every answer of the web face carries: no sniffing, no framing, no referrer.

No referrer matters most: a personal calendar feed's URL holds its secret, and a page must
never hand its own address to a site it links to.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Pages that need more (the public page's inline style and script) set their own.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add HEADERS to every answer, errors included, unless the route set its own."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        for name, value in HEADERS.items():
            exc.headers.setdefault(name, value)
        raise
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
