"""What the delivery engine tells whoever watches it (the web face's metrics): a small hook
interface, so that the engine knows no metrics library and no web server."""

from __future__ import annotations


class DeliveryObserver:
    """Told of every send's outcome, duration and lateness; this base ignores everything."""

    def outcome(self, platform: str, outcome: str) -> None:
        """A row reached an outcome: sent, blocked, failed, expired or retried."""

    def send_took(self, platform: str, seconds: float) -> None:
        """One call to the adapter's send (paced, so the wait for a slot is not counted)."""

    def reminder_late(self, platform: str, seconds: float) -> None:
        """A reminder went out `seconds` after its due instant."""

    def flood_wait(self, platform: str, seconds: float) -> None:
        """The platform said "too many requests": wait `seconds` (a 429)."""
