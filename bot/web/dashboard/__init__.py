"""The organizers' dashboard: sign-in by a one-time link, overview, audience, broadcasts,
schedule and audit log, server-rendered (`add_dashboard` registers every route)."""

from __future__ import annotations

from aiohttp import web

from bot.web.dashboard import broadcasts, pages
from bot.web.dashboard.assets import asset
from bot.web.dashboard.figures import FIGURES, Figures
from bot.web.dashboard.live import live
from bot.web.dashboard.signin import add_signin


def add_dashboard(app: web.Application) -> None:
    """Register every /dashboard route on `app` (whose CONTEXT is the running worker)."""
    app[FIGURES] = Figures()
    add_signin(app)
    router = app.router
    router.add_get("/dashboard", pages.overview)
    router.add_get("/dashboard/live.json", live)
    router.add_get("/dashboard/audience", pages.audience)
    router.add_get("/dashboard/broadcasts", broadcasts.broadcasts)
    router.add_post("/dashboard/broadcasts", broadcasts.create)
    router.add_get("/dashboard/broadcasts/{id}", broadcasts.show)
    router.add_post("/dashboard/broadcasts/{id}/confirm", broadcasts.confirm)
    router.add_post("/dashboard/broadcasts/{id}/cancel", broadcasts.cancel)
    router.add_get("/dashboard/schedule", pages.schedule_page)
    router.add_post("/dashboard/schedule/reload", pages.reload_schedule)
    router.add_get("/dashboard/audit", pages.audit_log)
    router.add_get("/dashboard/assets/{name}", asset)


__all__ = ["add_dashboard"]
