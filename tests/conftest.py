"""Shared pytest configuration: fixture plugins live in their own modules."""

from hypothesis import settings

# The same examples on every run: a property test that fails, fails again (the suite is
# deterministic), and no example database is written into the checkout.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

pytest_plugins: list[str] = [
    "tests.support.db",
    "tests.support.telegram_rig",
    "tests.support.discord_rig",
    "tests.support.harness",
    "tests.support.telegram_world",
    "tests.support.discord_world",
    "tests.support.schedule_files",
    "tests.support.schedule_server",
    "tests.support.browser",
    "tests.support.dashboard",
]
