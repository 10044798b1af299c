"""The composition root builds the wallet collector only when wallets are configured."""

from __future__ import annotations

from pathlib import Path

from bot.services import build_services
from collectors.chain import ss58
from collectors.clock import FakeClock
from collectors.settings import Settings, Wallet, WalletsSettings
from collectors.wallet_collector import WalletCollector


async def test_wallet_collector_built_when_wallets_are_configured(
    tmp_path: Path, clock: FakeClock
) -> None:
    wallet = Wallet(address=ss58.encode(bytes(range(32))), label="main")
    settings = Settings(
        database_path=tmp_path / "a.db",
        farmer_name="rig",
        wallets=WalletsSettings(accounts=[wallet]),
    )
    services = await build_services(settings, clock)
    try:
        wallets = [c for c in services.collectors if isinstance(c, WalletCollector)]
        assert [c.name for c in wallets] == ["wallets"]
    finally:
        await services.db.close()


async def test_no_wallets_no_collector(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(database_path=tmp_path / "b.db", farmer_name="rig")
    services = await build_services(settings, clock)
    try:
        assert not any(isinstance(c, WalletCollector) for c in services.collectors)
    finally:
        await services.db.close()
