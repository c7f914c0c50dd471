"""`summit-bot doctor`, as a newcomer runs it before the first start: one line per check."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import Store, normalize_database_url
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = str(ROOT / "schedule.yaml")
ENV = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "DISCORD_BOT_TOKEN",
    "DATABASE_URL",
    "TELEGRAM_WEBHOOK_URL",
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A config file with its own data directory; no token or database in the environment."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\norganizers:\n  telegram_user_ids: ['42']\n",
        encoding="utf-8",
    )
    return str(path)


async def doctor(config: str, *extra: str) -> tuple[int, str]:
    """Run `summit-bot doctor` beside the fakes (which serve from this test's event loop)."""

    def run() -> tuple[int, str]:
        out = io.StringIO()
        status = main(["doctor", "--config", config, "--schedule", SCHEDULE, *extra], out=out)
        return status, out.getvalue()

    return await asyncio.to_thread(run)


def line(report: str, subject: str) -> str:
    """The report's one line about `subject`."""
    found = [ln for ln in report.splitlines() if f" {subject}:" in ln]
    assert len(found) == 1, report
    return found[0]


async def test_both_bots_are_reported_by_name(
    config: str,
    monkeypatch: pytest.MonkeyPatch,
    fake_telegram: FakeTelegram,
    fake_discord: FakeDiscord,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_telegram.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{fake_telegram.port}")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", fake_discord.token)
    status, report = await doctor(config)
    assert status == 0, report
    assert line(report, "config").startswith("✓")
    assert line(report, "schedule").startswith("✓") and "6 sessions" in report
    assert line(report, "telegram") == "✓ telegram: @summit_test_bot (Summit Test Bot)"
    discord = line(report, "discord")
    assert discord.startswith("✓ discord: Summit Bot (application ")
    assert "scope=bot+applications.commands" in discord
    assert fake_telegram.token not in report and fake_discord.token not in report
    assert [r.method for r in fake_telegram.requests()] == ["getMe"]  # no polling, no menus
    assert not fake_discord.identifies  # the gateway was never opened


async def test_a_rejected_token_says_what_to_do(
    config: str,
    monkeypatch: pytest.MonkeyPatch,
    fake_telegram: FakeTelegram,
    fake_discord: FakeDiscord,
) -> None:
    wrong_telegram = "987654321:AAwrongWrongWrongWrongWrongWrong_12345"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong_telegram)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{fake_telegram.port}")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "not-the-token-of-this-bot")
    status, report = await doctor(config)
    assert status == 1
    telegram = line(report, "telegram")
    assert telegram.startswith("✗ telegram: TELEGRAM_BOT_TOKEN was rejected")
    assert "@BotFather" in telegram
    discord = line(report, "discord")
    assert discord.startswith("✗ discord: DISCORD_BOT_TOKEN was rejected")
    assert "Reset Token" in discord
    assert wrong_telegram not in report and "not-the-token-of-this-bot" not in report


async def test_a_malformed_token_is_refused_as_run_would_refuse_it(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "hunter2-secret-but-not-a-token")
    status, report = await doctor(config)
    assert status == 1
    assert line(report, "telegram").startswith("✗ telegram: TELEGRAM_BOT_TOKEN: not a bot token")
    assert "hunter2" not in report


async def test_no_token_is_said_and_is_no_error(config: str, tmp_path: Path) -> None:
    status, report = await doctor(config)
    assert status == 0, report
    assert line(report, "telegram").startswith("· telegram: TELEGRAM_BOT_TOKEN is not set")
    assert line(report, "discord").startswith("· discord: DISCORD_BOT_TOKEN is not set")
    assert "summit-bot demo" in report
    database = line(report, "database")
    assert database.startswith("· database: none yet at ") and "summit-bot run" in database
    assert not (tmp_path / "data").exists()  # the doctor looks; it creates nothing


async def test_the_database_revision_is_reported(config: str, tmp_path: Path) -> None:
    store = await Store.open(normalize_database_url(None, tmp_path / "data"))
    await store.close()
    status, report = await doctor(config)
    assert status == 0, report
    assert "up to date" in line(report, "database") and "revision " in report


async def test_a_broken_config_and_schedule_are_each_one_line(config: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("delivery:\n  in_flight: many\n", encoding="utf-8")
    status, report = await doctor(str(bad))
    assert status == 1
    assert line(report, "config").startswith(f"✗ config: {bad}:2: delivery.in_flight")
    assert line(report, "schedule").startswith("· schedule: not checked")

    broken = tmp_path / "schedule.yaml"
    broken.write_text("event: {}\n", encoding="utf-8")
    status, report = await doctor(config, "--schedule", str(broken))
    assert status == 1 and line(report, "schedule").startswith("✗ schedule: ")
