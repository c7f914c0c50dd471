"""Shared pytest configuration: fixture plugins live in their own modules."""

pytest_plugins: list[str] = [
    "tests.support.db",
    "tests.support.telegram_rig",
    "tests.support.discord_rig",
    "tests.support.harness",
    "tests.support.telegram_world",
    "tests.support.discord_world",
    "tests.support.schedule_files",
    "tests.support.browser",
    "tests.support.dashboard",
]
