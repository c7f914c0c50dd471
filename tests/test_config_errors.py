"""A wrong config file, as an operator meets it: every mistake at once, each at its line.

Each error reads like a schedule error, `file:line: key: what is wrong; what would be right`,
and names one key, so that one pass over the file fixes all of it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = str(ROOT / "schedule.yaml")


def refused(config: Path) -> list[str]:
    """The config errors load_settings reports for a file, one line each."""
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    lines = str(caught.value).splitlines()
    assert [str(p) for p in caught.value.problems] == lines
    return lines


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    return config


def test_a_port_no_machine_has_is_refused_at_its_line(tmp_path: Path) -> None:
    config = write(tmp_path, "schedule: schedule.yaml\ntelegram:\n  webhook_port: 99999\n")
    [error] = refused(config)
    assert error.startswith(f"{config}:3: telegram.webhook_port: 99999 ")
    assert "; write 1 to 65535" in error


def test_a_data_dir_the_worker_cannot_write_is_refused(tmp_path: Path) -> None:
    # Root may write anywhere, so the folder is made impossible rather than forbidden: it
    # would live inside a file.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    config = write(tmp_path, f"\ndata_dir: {blocker / 'data'}\n")
    [error] = refused(config)
    assert error.startswith(f"{config}:2: data_dir: ")
    assert "cannot be written" in error and "is a file, not a folder" in error
    assert "; give a folder the worker may create files in" in error
    config.write_text(f"data_dir: {tmp_path / 'fresh' / 'data'}\n")  # created on first run
    assert load_settings(config, env={}).data_dir == str(tmp_path / "fresh" / "data")


@pytest.mark.parametrize(
    ("key", "platform"),
    [("telegram_user_ids", "Telegram"), ("discord_user_ids", "Discord")],
)
def test_an_organizer_id_that_can_never_match_is_refused(
    tmp_path: Path, key: str, platform: str
) -> None:
    config = write(tmp_path, f'organizers:\n  {key}:\n    - "123456789"\n    - "@alice"\n')
    [error] = refused(config)
    assert error.startswith(f'{config}:4: organizers.{key}[1]: "@alice" can never match: ')
    assert f"{platform} user ids are digits" in error
    assert '; write the number, e.g. "123456789"' in error
    config.write_text(f"organizers:\n  {key}: [123456789]\n")  # a bare number is fine
    organizers = load_settings(config, env={}).organizers
    assert getattr(organizers, key) == ("123456789",)


def test_every_error_of_a_file_is_reported_at_once_one_key_each(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "\n".join(
            [
                "reminders:",  # 1
                "  max_offsets: many",  # 2
                "  replan_seconds: 0",  # 3
                "delivery:",  # 4
                "  in_flight: -1",  # 5
                "  batch: 0",  # 6
                "organizers:",  # 7
                '  telegram_user_ids: ["@alice"]',  # 8
                "telegram:",  # 9
                "  webhook_port: 99999",  # 10
                "  webhok_path: hook",  # 11
                "discord:",  # 12
                "  scheduled_events: sometimes",  # 13
                "",
            ]
        ),
    )
    errors = refused(config)
    where = [re.match(rf"{re.escape(str(config))}:(\d+): (\S+): ", e) for e in errors]
    assert all(where), errors
    assert [(int(m[1]), m[2]) for m in where if m] == [
        (2, "reminders.max_offsets"),
        (3, "reminders.replan_seconds"),
        (5, "delivery.in_flight"),
        (6, "delivery.batch"),
        (8, "organizers.telegram_user_ids[0]"),
        (10, "telegram.webhook_port"),
        (11, "telegram.webhok_path"),
        (13, "discord.scheduled_events"),
    ]
    assert all("; " in e for e in errors), errors  # each says what would be right
    assert "known keys: " in errors[6] and "webhook_path" in errors[6]


def test_cross_key_rules_point_at_the_key_in_the_file(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "reminders:\n  max_offsets: 2\n  default_offsets: [60, 10, 0]\n"
        "limits:\n  commands_per_minute: 0\n",
    )
    errors = refused(config)
    assert errors[0].startswith(f"{config}:3: reminders.default_offsets: 3 offsets")
    assert "reminders.max_offsets is 2" in errors[0]
    assert errors[1].startswith(f"{config}:5: limits.commands_per_minute: ")
    assert "command_burst to 0" in errors[1]


def test_a_syntax_error_and_a_duplicate_key_name_their_line(tmp_path: Path) -> None:
    config = write(tmp_path, "telegram:\n  poll_timeout: 30\n  poll_timeout: 40\n")
    [error] = refused(config)
    assert error.startswith(f"{config}:3: telegram.poll_timeout: duplicate key; ")
    config.write_text("telegram:\n  poll_timeout: [30\n")
    [error] = refused(config)
    assert re.match(rf"{re.escape(str(config))}:\d+: \(syntax\): ", error)


def test_check_prints_every_config_error_like_schedule_errors(tmp_path: Path) -> None:
    config = write(tmp_path, "telegram:\n  webhook_port: 99999\n  poll_timeout: -1\n")
    out, err = io.StringIO(), io.StringIO()
    status = main(["check", "--config", str(config), "--schedule", SCHEDULE], out=out, err=err)
    assert status == 1
    assert err.getvalue().splitlines() == [
        "config errors (2):",
        f"  {config}:2: telegram.webhook_port: 99999 is out of range; write 1 to 65535 "
        "(a TCP port)",
        f"  {config}:3: telegram.poll_timeout: -1 is out of range; write 0 or more, e.g. 30",
    ]


def test_the_shipped_config_is_the_defaults(tmp_path: Path) -> None:
    shipped = load_settings(ROOT / "config" / "default.yaml", env={})
    assert shipped == Settings()
