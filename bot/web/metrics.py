"""`GET /metrics`: the worker in Prometheus' text format (prometheus_client).

Counters and histograms are fed by the delivery engine as it works (this is its observer);
gauges are read from the store and the worker at each scrape, so they are never stale. Each
worker has its own CollectorRegistry, never the process-wide default: tests run many workers
in one process, and a library's own metrics have no place on this page.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.delivery import DeliveryObserver
from bot.web.context import CONTEXT, WebContext

log = logging.getLogger(__name__)

# Seconds one send takes (a Bot API POST is ~50 ms; a flood-waiting platform far more).
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds from a reminder's due instant to its send: seconds when all is well, minutes in a
# big fan-out or after an outage.
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
OUTCOMES = ("sent", "blocked", "failed", "expired", "retried")
# A scrape must answer even while the database hangs: its gauges are then left out.
STORE_TIMEOUT = 5.0


class WorkerMetrics(DeliveryObserver):
    """One worker's metrics in its own registry; the delivery engine reports to it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deliveries = Counter(
            "summit_deliveries",
            "Ledger rows by platform and outcome (sent, blocked, failed, expired, retried)",
            ["platform", "outcome"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "summit_send_seconds",
            "Seconds one send to the platform took (the wait for a rate slot not counted)",
            ["platform"],
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.flood_waits = Counter(
            "summit_flood_waits",
            'Times a platform said "too many requests" (HTTP 429)',
            ["platform"],
            registry=r,
        )
        self.flood_wait_seconds = Counter(
            "summit_flood_wait_seconds",
            "Seconds the platforms asked the worker to wait after a 429",
            ["platform"],
            registry=r,
        )
        self.lateness = Histogram(
            "summit_reminder_lateness_seconds",
            "Seconds from a reminder's due instant to its send",
            ["platform"],
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.pending = Gauge(
            "summit_ledger_pending",
            "Ledger rows waiting to be sent, by platform",
            ["platform"],
            registry=r,
        )
        self.subscribers = Gauge(
            "summit_subscribers",
            "Reachable chats with at least one subscription, by platform",
            ["platform"],
            registry=r,
        )
        self.schedule_version = Gauge(
            "summit_schedule_version",
            "The revision of the schedule in force (0: none recorded, e.g. a rehearsal)",
            registry=r,
        )
        self.last_poll = Gauge(
            "summit_schedule_last_poll_timestamp_seconds",
            "When the schedule's source was last looked at (Unix time; 0: never)",
            registry=r,
        )
        self.lock_held = Gauge(
            "summit_worker_lock_held",
            "1 when this worker holds the database's worker lock, else 0",
            registry=r,
        )
        self.database_up = Gauge(
            "summit_database_up",
            "1 when the database answered this scrape's questions, else 0",
            registry=r,
        )

    def known_platforms(self, platforms: tuple[str, ...]) -> None:
        """Show every counter of these platforms from the start, at 0: an alert on a rate
        needs the series before the first event."""
        for platform in platforms:
            for outcome in OUTCOMES:
                self.deliveries.labels(platform, outcome)
            self.flood_waits.labels(platform)
            self.flood_wait_seconds.labels(platform)

    # --- the delivery engine's observer ----------------------------------------------------

    def outcome(self, platform: str, outcome: str) -> None:
        """A row reached an outcome."""
        self.deliveries.labels(platform, outcome).inc()

    def send_took(self, platform: str, seconds: float) -> None:
        """One send's duration."""
        self.send_seconds.labels(platform).observe(seconds)

    def reminder_late(self, platform: str, seconds: float) -> None:
        """A reminder's lateness at its send."""
        self.lateness.labels(platform).observe(seconds)

    def flood_wait(self, platform: str, seconds: float) -> None:
        """A 429 and the wait it asked for."""
        self.flood_waits.labels(platform).inc()
        self.flood_wait_seconds.labels(platform).inc(seconds)

    # --- the scrape ------------------------------------------------------------------------

    async def refresh(self, ctx: WebContext) -> None:
        """Read the gauges from the worker and its store."""
        worker = ctx.worker
        self.schedule_version.set(worker.reloader.revision)
        polled = worker.watcher.last_poll
        self.last_poll.set(polled.timestamp() if polled is not None else 0)
        self.lock_held.set(1 if worker.lock is not None and worker.lock.held else 0)
        platforms = tuple(worker.adapters)
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                pending = await worker.store.ledger.pending_by_platform()
                stats = await worker.store.chats.subscriber_stats()
        except Exception as exc:  # the database is away: say so, and serve the rest
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            self.database_up.set(0)
            return
        self.database_up.set(1)
        for gauge, values in ((self.pending, pending), (self.subscribers, stats["by_platform"])):
            gauge.clear()  # a platform no longer counted must not keep its last value
            for platform in sorted({*platforms, *values}):
                gauge.labels(platform).set(values.get(platform, 0))


# The metrics of the worker behind the app.
METRICS = web.AppKey("metrics", WorkerMetrics)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus' text format."""
    collected = request.app[METRICS]
    await collected.refresh(request.app[CONTEXT])
    body = generate_latest(collected.registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_metrics(app: web.Application, collected: WorkerMetrics) -> None:
    """Serve `collected` at /metrics."""
    app[METRICS] = collected
    app.router.add_get("/metrics", metrics)
