"""Shared pytest configuration: fixture plugins live in their own modules."""

pytest_plugins: list[str] = [
    "tests.db_fixtures",
    "tests.telegram_fixtures",
    "tests.discord_fixtures",
    "tests.core_harness",
]
