"""Pytest plugin: headless Chromium (Debian's `chromium` package) driven by Playwright.

No test tool downloads a browser: Playwright is pointed at the system's Chromium with
`executable_path`. Without Chromium (or Playwright) the browser tests skip with a message,
except in CI (`CI=true`), where they fail: `.ci/run` installs Chromium when it is missing.

Fixtures: ``chromium`` (a launched browser), ``browser_page`` (a fresh context and page whose
JavaScript dialogs are recorded in ``dialogs``: an `alert()` that fired is a script that ran).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

# Everything a launch needs to stay local and quiet: no first-run, sync or update traffic.
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The system's Chromium, or None."""
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _missing(what: str) -> None:
    """Skip (or, in CI, fail) a browser test that cannot run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{what}: the browser tests need it (apt-get install chromium)")


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """A headless system Chromium, closed after the test."""
    path = chromium_path()
    if path is None:
        _missing("Chromium is not installed")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[test]')")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class BrowserPage:
    """A page in a fresh browser context, and the dialogs its scripts opened."""

    page: Any
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
async def browser_page(chromium: Any) -> AsyncIterator[BrowserPage]:
    """A page of its own (cookies and all); any alert/confirm is recorded and dismissed."""
    context = await chromium.new_context()
    page = await context.new_page()
    seen = BrowserPage(page)

    async def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield seen
    finally:
        await context.close()
