"""The web face's aiohttp application: every route, each reading `request.app[CONTEXT]`."""

from __future__ import annotations

from aiohttp import web

from bot.web.context import CONTEXT, WebContext
from bot.web.dashboard import add_dashboard
from bot.web.feeds import add_feed_routes
from bot.web.metrics import WorkerMetrics, add_metrics
from bot.web.operators import add_operator_routes
from bot.web.public import add_public_routes
from bot.web.security import security_headers

# Nothing the web face accepts is larger (the dashboard's forms included).
MAX_BODY = 64 * 1024


def build_web_app(ctx: WebContext, metrics: WorkerMetrics | None = None) -> web.Application:
    """The application: health, readiness, metrics, the public page, feeds, the dashboard."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[security_headers])
    app[CONTEXT] = ctx
    collected = metrics or WorkerMetrics()
    collected.known_platforms(tuple(ctx.worker.adapters))
    add_operator_routes(app)
    add_metrics(app, collected)
    add_public_routes(app)
    add_feed_routes(app)
    add_dashboard(app)
    return app
