""".env.example mirrors the settings tree: every key is there, and the file itself loads."""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from collectors.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / ".env.example"


def _keys(model: type[BaseModel], prefix: str = "COSMOS_") -> tuple[set[str], set[str]]:
    """Environment names of every setting, and the JSON keys of list or dict items."""
    names: set[str] = set()
    item_keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            inner_names, inner_items = _keys(annotation, f"{prefix}{name.upper()}__")
            names |= inner_names
            item_keys |= inner_items
            continue
        names.add(f"{prefix}{name.upper()}")
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                item_keys |= set(arg.model_fields)
    return names, item_keys


def test_every_setting_is_in_env_example() -> None:
    text = EXAMPLE.read_text()
    names, item_keys = _keys(Settings)
    present = set(re.findall(r"^#?\s*(COSMOS_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert sorted(names - present) == []
    assert sorted(present - names) == [], "names in .env.example that cosmos does not know"
    missing_items = sorted(k for k in item_keys if f'"{k}"' not in text)
    assert missing_items == []


def test_every_setting_has_a_comment() -> None:
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^#?\s*COSMOS_[A-Z0-9_]+=", line):
            above = lines[number - 1].strip() if number else ""
            assert above.startswith("#"), f"line {number + 1} ({line.split('=')[0]}) has no comment"


def test_env_example_as_given_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The active (uncommented) lines must load as they are.
    for name in list(os.environ):
        if name.startswith("COSMOS_"):
            monkeypatch.delenv(name)
    settings = load_settings(EXAMPLE)
    assert settings.discord.token is None


def test_env_example_with_every_example_uncommented_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("COSMOS_"):
            monkeypatch.delenv(name)
    env = tmp_path / ".env"
    env.write_text(
        re.sub(r"^#\s*(COSMOS_[A-Z0-9_]+=)", r"\1", EXAMPLE.read_text(), flags=re.MULTILINE)
    )
    settings = load_settings(env)
    assert settings.metrics.targets
    assert settings.logs.docker
    assert settings.wallets.accounts
