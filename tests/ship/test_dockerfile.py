"""The Dockerfile, checked with Docker's own parser (no engine runs here or in CI)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import dockerfile
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def commands() -> tuple[dockerfile.Command, ...]:
    return dockerfile.parse_file(str(REPO / "Dockerfile"))


@pytest.fixture(scope="module")
def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _all(commands: tuple[dockerfile.Command, ...], name: str) -> list[dockerfile.Command]:
    return [c for c in commands if c.cmd == name]


def test_base_image_is_pinned_to_a_python_release(commands: tuple[dockerfile.Command, ...]) -> None:
    (base,) = _all(commands, "FROM")
    image = base.value[0]
    assert re.fullmatch(r"python:3\.(1[1-9])\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image


def test_runs_as_a_non_root_user(commands: tuple[dockerfile.Command, ...]) -> None:
    users = _all(commands, "USER")
    assert users, "no USER instruction: the container would run as root"
    assert users[-1].value[0] not in {"root", "0"}
    # The user switch comes after the last RUN, so nothing installed later runs as root.
    last_run = max(c.start_line for c in _all(commands, "RUN"))
    assert users[-1].start_line > last_run


def test_install_step_matches_pyproject(
    commands: tuple[dockerfile.Command, ...], pyproject: dict[str, object]
) -> None:
    copied = {c.value[0] for c in _all(commands, "COPY")} | {
        part for c in _all(commands, "COPY") for part in c.value[:-1]
    }
    assert "pyproject.toml" in copied
    tool = pyproject["tool"]
    assert isinstance(tool, dict)
    packages = tool["setuptools"]["packages"]["find"]["include"]
    for pattern in packages:
        package = pattern.rstrip("*")
        assert package in copied, f"package {package} is not copied into the image"
        assert (REPO / package / "__init__.py").is_file()
    readme = pyproject["project"]
    assert isinstance(readme, dict)
    assert readme["readme"] in copied
    assert any(
        re.search(r"pip install (--no-cache-dir )?\.(\s|$)", c.value[0])
        for c in _all(commands, "RUN")
    )


def test_entry_point_is_the_console_script(
    commands: tuple[dockerfile.Command, ...], pyproject: dict[str, object]
) -> None:
    (entry,) = _all(commands, "ENTRYPOINT")
    project = pyproject["project"]
    assert isinstance(project, dict)
    scripts = project["scripts"]
    assert entry.json
    assert entry.value[0] in scripts
    module, _, function = scripts[entry.value[0]].partition(":")
    assert (REPO / Path(*module.split("."))).with_suffix(".py").is_file()
    source = (REPO / Path(*module.split("."))).with_suffix(".py").read_text()
    assert f"def {function}(" in source
    (cmd,) = _all(commands, "CMD")
    assert cmd.value == ("run",)


def test_data_volume_and_healthcheck(commands: tuple[dockerfile.Command, ...]) -> None:
    volumes = [v for c in _all(commands, "VOLUME") for v in c.value]
    assert "/data" in volumes
    env = " ".join(" ".join(c.value) for c in _all(commands, "ENV"))
    assert "COSMOS_DATABASE_PATH" in env
    assert "/data/" in env
    (health,) = _all(commands, "HEALTHCHECK")
    assert "/healthz" in health.original
