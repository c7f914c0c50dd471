"""The worker's web server: one aiohttp site on the worker's own event loop.

Where it listens: `web.listen` (config), or `0.0.0.0:$PORT` where a hosting platform sets
PORT. A port already taken stops `run` with one clear line (StartFailed, exit 1); the demo
says so and goes on without its web face (`required=False`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.adapters.base import StartFailed
from bot.config import ConfigError, Settings
from bot.config_rules import split_address
from bot.delivery import DeliveryObserver
from bot.web.app import build_web_app
from bot.web.context import WebContext
from bot.web.metrics import WorkerMetrics

if TYPE_CHECKING:  # the worker hands itself in at start; the type is only for checking
    from bot.app import Worker

log = logging.getLogger(__name__)

WHAT = "web"  # how a failure to listen is named: "error: web: ..."


@dataclass(frozen=True)
class Listen:
    """Where the server listens: a host (name or address) and a port (0: any free one)."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def resolve_listen(settings: Settings, env: Mapping[str, str]) -> Listen:
    """`web.listen`, or 0.0.0.0:$PORT when the environment sets PORT (hosting platforms do).

    Raises ConfigError for a PORT that is not a port.
    """
    port = env.get("PORT", "").strip()
    if port:
        if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise ConfigError(
                f'PORT: "{port}" is not a TCP port; set a number from 1 to 65535, or unset it '
                "to listen on web.listen"
            )
        return Listen("0.0.0.0", int(port))
    address = split_address(settings.web.listen)
    assert address is not None  # the config's rules let no other value through
    return Listen(*address)


def local_url(bound: Listen) -> str:
    """http:// and where the server listens, a wildcard host shown as the loopback one."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(bound.host, bound.host)
    return f"http://{Listen(host, bound.port)}"


def public_url_for(settings: Settings, bound: Listen) -> str:
    """The address links point to: `web.public_url`, else where the server listens (good
    for a try on this machine only)."""
    return settings.web.public_url.rstrip("/") or local_url(bound)


def _bind(listen: Listen) -> socket.socket:
    """A listening socket at `listen`; OSError when the address cannot be had."""
    infos = socket.getaddrinfo(
        listen.host or None, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Lets a restarted worker take its port back at once from connections in TIME_WAIT;
        # on Linux it never lets two servers share a port that is in use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class WebServer:
    """Health, metrics, the public page, calendar feeds and the dashboard, on one port."""

    def __init__(
        self,
        settings: Settings,
        listen: Listen,
        *,
        required: bool = True,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.listen = listen
        # False (the demo): a port that is taken is reported in `problem`, and the worker
        # goes on without its web face.
        self.required = required
        self.metrics = metrics or WorkerMetrics()
        self.observer: DeliveryObserver = self.metrics  # what the delivery engine reports to
        self.url: str | None = None  # where it listens once started, e.g. http://127.0.0.1:8080
        self.public_url: str | None = None
        self.problem: str | None = None  # why it is not listening (required=False)
        self._runner: web.AppRunner | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str], *, required: bool = True
    ) -> WebServer | None:
        """The server the settings and the environment ask for; None with web.enabled false."""
        if not settings.web.enabled:
            return None
        return cls(settings, resolve_listen(settings, env), required=required)

    async def start(self, worker: Worker) -> None:
        """Listen and serve; StartFailed when the address cannot be had and it is required."""
        try:
            sock = _bind(self.listen)
        except OSError as exc:
            failed = _cannot_listen(self.listen, exc)
            if self.required:
                raise failed from None
            self.problem = str(failed)
            log.warning("%s; going on without the web pages", failed)
            return
        port = sock.getsockname()[1]
        bound = Listen(self.listen.host, port)
        self.url = local_url(bound)
        self.public_url = public_url_for(self.settings, bound)
        context = WebContext(worker, self.settings, worker.clock, self.public_url)
        app = build_web_app(context, self.metrics)
        # No access log: health checks and scrapes every few seconds are noise.
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        log.info("web: listening on %s (links point to %s)", self.url, self.public_url)

    async def stop(self) -> None:
        """Stop listening; requests under way get a moment to finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()


def _cannot_listen(listen: Listen, exc: OSError) -> StartFailed:
    """What a failed bind means to the operator, and what to do."""
    if exc.errno == errno.EADDRINUSE:
        what = f"cannot listen on {listen}: the port is taken by another program"
    elif exc.errno == errno.EACCES:
        what = f"cannot listen on {listen}: permission denied (ports below 1024 need root)"
    else:
        what = f"cannot listen on {listen} ({exc.strerror or exc})"
    fix = "set web.listen (or PORT) to a free port, stop the other program, or web.enabled: false"
    return StartFailed(WHAT, what, fix)
