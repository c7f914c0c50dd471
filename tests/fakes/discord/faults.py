"""Injected failures and rate limits: the test side, and the answers they produce."""

from __future__ import annotations

import hashlib
import math
import re
import time

from aiohttp import web

from tests.fakes.discord.constants import API_PREFIX, DISCORD_ROUTE_LIMITS, GLOBAL_PER_SECOND
from tests.fakes.discord.records import RecordedRequest, _Bucket, _FailureRule
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.wire import _ceil_ms, _json_response


class FaultsAndLimits(DiscordState):
    """Failures a test arranges, Discord's rate limits, and their 429/4xx/5xx answers."""

    # ------------------------------------------------------------------ error injection

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        *,
        times: int = 1,
        status: int = 500,
        retry_after: float = 0.05,
        is_global: bool = False,
        scope: str = "user",
        code: int | None = None,
        message: str | None = None,
        via: bool = True,
    ) -> None:
        """Fail the next ``times`` matching requests with ``status`` (see the notes below)."""
        # 429s carry Discord's JSON body and headers, incl. ``Via: 1.1 google``; ``via=False``
        # gives a Cloudflare-style 429 (HTML, no Via) that discord.py raises instead of retrying.
        # 403 defaults to 50007 "Cannot send messages to this user"; override with code/message.
        self._failures.append(
            _FailureRule(
                method.upper(),
                re.compile(path_pattern),
                times,
                status,
                retry_after,
                is_global,
                scope,
                code,
                message,
                via,
            )
        )

    def rate_limit(self, per_second: int | None = 50) -> None:
        """Enforce a global limit of ``per_second`` requests per rolling second (None: off)."""
        self._global_limit = per_second
        self._global_window.clear()

    def limit_route(self, route: str, limit: int, per: float) -> None:
        """Give ``route`` ("POST /channels/{channel_id}/messages") a bucket of its own:
        ``limit`` requests per ``per`` seconds for each major parameter."""
        self.route_limits[route] = (limit, per)
        self._buckets.clear()

    def discord_limits(
        self, global_per_second: int | None = GLOBAL_PER_SECOND, *, scale: float = 1.0
    ) -> None:
        """Discord's own limits: the global one and the per-route buckets (constants.py);
        ``scale`` shortens every bucket's window (and so raises its rate) for quick tests."""
        self.rate_limit(global_per_second)
        for route, (limit, per) in DISCORD_ROUTE_LIMITS.items():
            self.limit_route(route, limit, per * scale)

    def too_many(self) -> list[RecordedRequest]:
        """The requests answered 429 (injected or not), in arrival order."""
        return [r for r in self.requests if r.status == 429]

    # ------------------------------------------------------------ rate limits, failure answers

    def _bucket(self, request: web.Request, now: float) -> tuple[str, _Bucket | None]:
        """Return the rate-limit bucket (hash, state) for a matched route."""
        resource = request.match_info.route.resource
        if resource is None:
            return "", None
        template = resource.canonical.removeprefix(API_PREFIX)
        route_key = f"{request.method} {template}"
        limit, window = self.route_limits.get(route_key, (self.bucket_limit, self.bucket_window))
        bucket_hash = hashlib.sha1(route_key.encode()).hexdigest()[:32]
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or ""
        if "webhook_id" in info:
            major = f"{info['webhook_id']}:{info.get('webhook_token', '')}"
        key = (bucket_hash, major)
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = self._buckets[key] = _Bucket(now + window, limit)
        return bucket_hash, bucket

    def _bucket_headers(self, bucket_hash: str, bucket: _Bucket, now: float) -> dict[str, str]:
        """Discord's X-RateLimit-* headers for a bucket as it stands at ``now``."""
        reset_after = max(_ceil_ms(bucket.reset_at - now), 0.001)
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }

    def _rate_limited(
        self,
        retry_after: float,
        scope: str,
        *,
        is_global: bool = False,
        bucket_headers: dict[str, str] | None = None,
    ) -> web.Response:
        """Build a Discord 429: the JSON body, Retry-After, and the bucket's headers (a
        route's limit) or X-RateLimit-Global (the global one); X-RateLimit-Scope on both."""
        retry_after = max(retry_after, 0.001)
        response = _json_response(
            {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": is_global,
                "code": 0,
            },
            429,
        )
        response.headers.update(
            {
                "Retry-After": str(max(1, math.ceil(retry_after))),
                **(bucket_headers or {}),
                "X-RateLimit-Scope": scope,
                "Via": "1.1 google",
            }
        )
        if is_global:
            response.headers["X-RateLimit-Global"] = "true"
        return response

    def _failure_response(self, rule: _FailureRule, request: web.Request) -> web.Response:
        """Build the response for an injected failure."""
        if rule.status == 429:
            if not rule.via:
                return web.Response(
                    status=429,
                    text="<html><body>error code: 1015</body></html>",
                    content_type="text/html",
                    headers={"Retry-After": "1"},
                )
            return self._rate_limited(
                rule.retry_after,
                "global" if rule.is_global else rule.scope,
                is_global=rule.is_global,
            )
        defaults: dict[int, tuple[int, str]] = {
            400: (50035, "Invalid Form Body"),
            401: (0, "401: Unauthorized"),
            403: (50007, "Cannot send messages to this user"),
            404: (0, "404: Not Found"),
        }
        code, message = defaults.get(rule.status, (0, f"{rule.status}: Server Error"))
        body = {
            "message": rule.message if rule.message is not None else message,
            "code": rule.code if rule.code is not None else code,
        }
        return _json_response(body, rule.status)
