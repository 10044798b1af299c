"""Every setting of the tree, right and wrong: the cases are generated from the tree itself.

A setting added to ``collectors/settings.py`` is covered here without a new test: its example
must load, and a wrong value must give one line naming its ``COSMOS_`` variable, what was
wrong and an example, with exit code 2 and no traceback in run, doctor, status and ingest.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from bot.__main__ import main
from collectors import settings_check as check
from collectors.settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]
LEAVES = list(check.leaves(Settings))
ITEM_LEAVES = [(leaf, name, item) for leaf in LEAVES for name, item in check.item_leaves(leaf)]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.upper().startswith("COSMOS_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray ./.env


def wrong_value(annotation: Any) -> Any | None:
    """A value of the wrong kind for the type, or None when any text is right for it."""
    inner = check._unwrap(annotation)
    origin = typing.get_origin(inner)
    if check._is_complex(inner):
        return "notjson"
    if origin is Literal:
        return "nonsense"
    if inner is bool:
        return "maybe"
    if inner in (int, float):
        return "many"
    return None


WRONG = [(leaf, wrong_value(leaf.annotation)) for leaf in LEAVES]
WRONG = [(leaf, value) for leaf, value in WRONG if value is not None]


def test_the_tree_is_walked() -> None:
    names = {leaf.env for leaf in LEAVES}
    assert {"COSMOS_DATABASE_PATH", "COSMOS_METRICS__TARGETS", "COSMOS_DISCORD__TOKEN"} <= names
    assert len(WRONG) > 40


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.env)
def test_every_example_is_a_right_value(leaf: check.Leaf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(leaf.env, leaf.example())
    load_settings(None)


@pytest.mark.parametrize(("leaf", "value"), WRONG, ids=lambda x: getattr(x, "env", str(x)))
def test_every_wrong_value_is_one_line_naming_the_variable(
    leaf: check.Leaf, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(leaf.env, value)
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    problems = [line for line in str(err.value).splitlines() if line.startswith("  - ")]
    assert len(problems) == 1, str(err.value)
    assert problems[0].startswith(f"  - {leaf.env}: ")
    assert f"e.g. {leaf.env}={leaf.example()}" in problems[0]
    assert "Traceback" not in str(err.value)


@pytest.mark.parametrize(
    ("leaf", "field", "item"), ITEM_LEAVES, ids=lambda x: getattr(x, "env", str(x))
)
def test_a_wrong_field_inside_a_list_names_the_item(
    leaf: check.Leaf, field: str, item: check.Leaf, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = wrong_value(item.annotation)
    example = check.example_value(leaf.annotation, leaf.field)[0]
    if bad is None:  # any text is right for this field: only a missing required one is wrong
        if not item.field.is_required():
            return
        example = {k: v for k, v in example.items() if k != field}
    else:
        example = example | {field: bad}
    monkeypatch.setenv(leaf.env, json.dumps([example]))
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    problems = [line for line in str(err.value).splitlines() if line.startswith("  - ")]
    assert problems == [p for p in problems if p.startswith(f"  - {leaf.env}[0].{field}: ")]
    assert problems
    assert f"e.g. {leaf.env}=" in problems[0]


@pytest.mark.parametrize(
    "case",
    [
        ("COSMOS_METRICS__TARGETS", "notjson", "is not JSON"),
        ("COSMOS_WALLETS__RPC_URLS", "ws://10.0.0.5:9944", '["ws://10.0.0.5:9944"]'),
        ("COSMOS_ALERTS__MUTED", "no_reward", '["no_reward"]'),
        ("COSMOS_DISCORD__WEBHOOK_URL", "https://example.invalid/x", "not a Discord webhook"),
        ("COSMOS_ALERTS__TIMEZONE", "Mars/Olympus", "not a known time zone"),
    ],
)
@pytest.mark.parametrize("command", ["run", "doctor", "status", "ingest"])
def test_every_command_exits_2_with_the_message(
    command: str,
    case: tuple[str, str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    variable, value, says = case
    monkeypatch.setenv(variable, value)
    argv = [command, "farmer.log"] if command == "ingest" else [command]
    assert main(argv) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert variable in text
    assert says in text
    assert "Traceback" not in text


def test_a_real_process_shows_no_traceback(tmp_path: Path) -> None:
    env_file = tmp_path / "cosmos.env"
    env_file.write_text("COSMOS_ALERTS__MUTED=no_reward\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(env_file), "run"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "COSMOS_ALERTS__MUTED" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_env_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env-file", str(tmp_path / "nope.env"), "doctor"]) == 2
    assert "nope.env does not exist" in capsys.readouterr().err
    # Left out, a missing ./.env is fine: the environment and the defaults are used.
    assert main(["status"]) == 0
    assert main(["--env-file", "/dev/null", "status"]) == 0  # "no file", said on purpose


def test_env_file_may_be_dev_null_but_not_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/null is "no settings file" in scripts and tests; it is no regular file.
    assert main(["--env-file", "/dev/null", "status"]) == 0
    assert main(["--env-file", str(tmp_path), "status"]) == 2
    assert "is a directory (--env-file)" in capsys.readouterr().err


def test_a_database_path_that_is_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COSMOS_DATABASE_PATH", str(tmp_path))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "COSMOS_DATABASE_PATH: is a directory" in err
    assert "Event loop is closed" not in err


def test_an_unknown_variable_names_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("COSMOS_DISCORD_TOKEN", "abc")
    caplog.set_level(logging.WARNING)
    settings = load_settings(None)
    assert settings.discord.token is None  # ignored, but said
    assert (
        "COSMOS_DISCORD_TOKEN is not a cosmos setting and is ignored; "
        "did you mean COSMOS_DISCORD__TOKEN?"
    ) in caplog.text


def test_a_wrong_name_inside_a_section_says_the_closest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSMOS_METRICS__INTERVAL_SECOND", "5")
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    assert "did you mean COSMOS_METRICS__INTERVAL_SECONDS?" in str(err.value)
