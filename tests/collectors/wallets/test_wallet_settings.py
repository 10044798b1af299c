"""Wallet settings: addresses checked (SS58 checksum), legacy form accepted, clear messages."""

from __future__ import annotations

import pytest

from collectors.chain import ss58
from collectors.settings import SettingsError, load_settings

KEY = bytes(range(32))
SU = ss58.encode(KEY, 6094)
ST = ss58.encode(KEY, 2254)


def load(monkeypatch: pytest.MonkeyPatch, accounts: str) -> object:
    monkeypatch.setenv("COSMOS_WALLETS__ACCOUNTS", accounts)
    return load_settings(env_file=None)


def test_legacy_address_is_shown_in_su_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "COSMOS_WALLETS__ACCOUNTS",
        f'[{{"address": "{ST}", "label": "old", "farmer": "rig-1", "scan_back_blocks": 100}}]',
    )
    settings = load_settings(env_file=None)
    [wallet] = settings.wallets.accounts
    assert (wallet.address, wallet.farmer, wallet.scan_back_blocks) == (SU, "rig-1", 100)
    assert settings.wallets.settle_depth == 3
    assert settings.wallets.lookback_blocks == 14_400
    assert settings.wallets.rpc_urls == ["ws://127.0.0.1:9944"]


def test_typo_in_address_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    typo = SU[:-1] + ("x" if SU[-1] != "x" else "y")
    with pytest.raises(SettingsError) as err:
        load(
            monkeypatch,
            f'[{{"address": "{SU}", "label": "a"}}, {{"address": "{typo}", "label": "b"}}]',
        )
    message = str(err.value)
    assert "COSMOS_WALLETS__ACCOUNTS[1].address" in message
    assert "checksum" in message


def test_address_of_another_network_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match=r"ACCOUNTS\[0\]\.address.*prefix 42"):
        load(monkeypatch, f'[{{"address": "{ss58.encode(KEY, 42)}", "label": "dot"}}]')


def test_same_wallet_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="twice"):
        load(
            monkeypatch,
            f'[{{"address": "{SU}", "label": "a"}}, {{"address": "{ST}", "label": "b"}}]',
        )


def test_rpc_urls_must_be_websocket_and_not_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSMOS_WALLETS__RPC_URLS", '["127.0.0.1:9944"]')
    with pytest.raises(SettingsError, match="ws://"):
        load_settings(env_file=None)
    monkeypatch.setenv("COSMOS_WALLETS__RPC_URLS", "[]")
    with pytest.raises(SettingsError, match="at least one URL"):
        load_settings(env_file=None)
