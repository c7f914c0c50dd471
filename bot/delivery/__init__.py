"""Delivery: drain the ledger, render each row for its reader, pace it per platform, record."""

from bot.delivery.engine import DeliveryEngine, IdleHook
from bot.delivery.observer import DeliveryObserver
from bot.delivery.pacing import PlatformPacer
from bot.delivery.rendering import KindRenderer, Renderer

__all__ = [
    "DeliveryEngine",
    "DeliveryObserver",
    "IdleHook",
    "KindRenderer",
    "PlatformPacer",
    "Renderer",
]
