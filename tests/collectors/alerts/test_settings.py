"""The alerts section of the settings: defaults a farmer would choose, readable errors."""

from __future__ import annotations

import pytest

from collectors.settings import AlertsSettings, SettingsError, load_settings


def test_defaults() -> None:
    s = AlertsSettings()
    assert s.timezone == "UTC"
    assert s.summary_time == "08:00"
    assert s.endpoint_down_minutes == 5.0
    assert s.muted == []


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSMOS_ALERTS__MUTED", '["no_reward"]')
    monkeypatch.setenv("COSMOS_ALERTS__ROUTES", '{"farm_error": "rewards"}')
    monkeypatch.setenv("COSMOS_ALERTS__GRACE_MINUTES", '{"endpoint_down": 2}')
    monkeypatch.setenv("COSMOS_ALERTS__TIMEZONE", "Europe/Berlin")
    s = load_settings(None).alerts
    assert s.muted == ["no_reward"]
    assert s.routes == {"farm_error": "rewards"}
    assert s.grace_minutes == {"endpoint_down": 2.0}
    assert s.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MUTED", '["farm_eror"]', "unknown alert rule(s) farm_eror"),
        ("ROUTES", '{"farm_error": "dashboard"}', "cannot go to the dashboard"),
        ("TIMEZONE", "Berlin", "IANA name like Europe/Berlin"),
        ("SUMMARY_TIME", "8am", "HH:MM"),
        ("SUMMARY_TIME", "24:00", "HH:MM"),
        ("NO_REWARD_CONFIDENCE", "1.5", "COSMOS_ALERTS__NO_REWARD_CONFIDENCE"),
    ],
)
def test_readable_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"COSMOS_ALERTS__{name}", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert message in str(caught.value)
    assert f"COSMOS_ALERTS__{name}" in str(caught.value)


def test_heartbeat_url_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSMOS_ALERTS__HEARTBEAT_URL", "https://hc-ping.com/0f1e2d3c")
    s = load_settings(None).alerts
    assert s.heartbeat_url is not None
    assert "0f1e2d3c" not in repr(s)
    assert s.heartbeat_url.get_secret_value() == "https://hc-ping.com/0f1e2d3c"
