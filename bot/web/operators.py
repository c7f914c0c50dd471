"""For operators and their load balancers: `GET /healthz` (alive) and `GET /readyz` (ready).

/readyz answers 200 only when the database answers, the schedule is loaded and planned, and
every configured platform is connected; else 503 with a JSON body naming what is not ready.
The body names kinds of failure, never their details (a host name, a query): the port also
serves the public page, and the log has the details.
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from aiohttp import web

from bot.errors import brief
from bot.web.context import CONTEXT, WebContext

log = logging.getLogger(__name__)

# A database slower than this to answer `SELECT 1` is not ready (a load balancer's probe
# waits a few seconds at most).
DATABASE_TIMEOUT = 3.0
OK = "ok"


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 while the worker's event loop runs (it answers this very request)."""
    return web.json_response({"status": OK})


async def _database(ctx: WebContext) -> str:
    """ "ok", or why the database is not answering."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            async with ctx.worker.store.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
    except TimeoutError:
        log.warning("readyz: the database did not answer within %g s", DATABASE_TIMEOUT)
        return f"no answer within {DATABASE_TIMEOUT:g} s"
    except Exception as exc:
        log.warning("readyz: the database is not answering: %s", brief(exc))
        return f"not answering ({type(exc).__name__})"
    return OK


async def readiness(ctx: WebContext) -> dict[str, str]:
    """Each check ("database", "schedule", one per platform) and "ok" or what is wrong."""
    worker = ctx.worker
    checks = {"database": await _database(ctx)}
    # The schedule is loaded, compared with the last one in force and planned once the
    # worker has started; before that, reminders may not be planned yet.
    checks["schedule"] = OK if worker.started.is_set() else "not loaded and planned yet"
    for platform, connected in worker.platforms_connected().items():
        checks[platform] = OK if connected else "not connected"
    return checks


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: 200 when every check passes, else 503 naming what is not ready."""
    checks = await readiness(request.app[CONTEXT])
    failing = sorted(name for name, state in checks.items() if state != OK)
    body = {"status": "not ready" if failing else "ready", "not_ready": failing, "checks": checks}
    return web.json_response(body, status=503 if failing else 200)


def add_operator_routes(app: web.Application) -> None:
    """/healthz and /readyz."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
