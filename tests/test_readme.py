"""The README is the operator's reference: every module, config key and command is in it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.commands.registry import HELP_ORDER, ORGANIZER_ORDER

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _config_keys(node: dict[str, object], prefix: str = "") -> list[str]:
    keys = []
    for key, value in node.items():
        if isinstance(value, dict):
            keys += _config_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def test_every_module_has_its_line_in_the_project_layout() -> None:
    layout = README[README.index("## Project layout") :]
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        # A package's __init__ only gathers its modules' names.
        if "migrations" not in path.parts
        and path.name != "__init__.py"
        and f"`{path.relative_to(ROOT)}`" not in layout
    ]
    assert missing == []


def test_every_config_key_is_in_the_readme_table() -> None:
    default = yaml.safe_load((ROOT / "config" / "default.yaml").read_text(encoding="utf-8"))
    missing = [key for key in _config_keys(default) if f"| `{key}` |" not in README]
    assert missing == []


def test_every_chat_command_is_in_the_readme() -> None:
    documented = set(re.findall(r"^\| `/([a-z]+)", README, flags=re.MULTILINE))
    assert set(HELP_ORDER) | set(ORGANIZER_ORDER) <= documented
