from __future__ import annotations

from pathlib import Path

import pytest

from collectors.settings import SettingsError, load_settings


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSMOS_DATABASE_PATH", raising=False)
    settings = load_settings(None)
    assert settings.database_path == Path("data/cosmos.db")
    assert settings.wallets.rpc_urls == ["ws://127.0.0.1:9944"]
    assert settings.discord.token is None


def test_nested_values_come_from_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "COSMOS_FARMER_NAME=rack-1\n"
        "COSMOS_DISCORD__TOKEN=very-secret\n"
        'COSMOS_METRICS__TARGETS=[{"url": "http://10.0.0.5:9081/metrics", "kind": "farmer"}]\n'
    )
    settings = load_settings(env)
    assert settings.farmer_name == "rack-1"
    assert settings.metrics.targets[0].kind == "farmer"
    assert "very-secret" not in repr(settings)
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "very-secret"


def test_errors_name_the_key_and_give_an_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSMOS_METRICS__TARGETS", '[{"url": "10.0.0.5:9081", "kind": "farmer"}]')
    monkeypatch.setenv("COSMOS_WALLETS__SETTLE_DEPTH", "-1")
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    text = str(err.value)
    assert "COSMOS_METRICS__TARGETS[0].url" in text
    assert "http://127.0.0.1:9081/metrics" in text
    assert "COSMOS_WALLETS__SETTLE_DEPTH" in text


def test_secrets_are_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSMOS_DISCORD__WEBHOOK_URL", "https://example.invalid/secret-token")
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    assert "secret-token" not in str(err.value)
    assert "COSMOS_DISCORD__WEBHOOK_URL" in str(err.value)


def test_refused_route_looks_need_the_longest_wait_at_least_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COSMOS_DISCORD__REFUSED_RECHECK_SECONDS", "600")
    monkeypatch.setenv("COSMOS_DISCORD__REFUSED_RECHECK_MAX_SECONDS", "60")
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    assert (
        "COSMOS_DISCORD__REFUSED_RECHECK_MAX_SECONDS=60 is shorter than "
        "COSMOS_DISCORD__REFUSED_RECHECK_SECONDS=600"
    ) in str(err.value)
    monkeypatch.setenv("COSMOS_DISCORD__REFUSED_RECHECK_MAX_SECONDS", "600")
    assert load_settings(None).discord.refused_recheck_max_seconds == 600
