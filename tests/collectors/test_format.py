"""The one formatter: every amount, duration and id reads the same wherever it is shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.embeds import dashboard_embeds, wallet_embeds
from collectors.alerts.summary import render_summary
from collectors.format import ago, ai3, duration, duration_s, every, short_address, short_id
from collectors.models.alerts import SummaryData, WalletDay
from collectors.models.chain import Direction, Transfer
from collectors.models.views import DashboardView, WalletView
from collectors.wallet_collector import transfer_notification

NOW = 1_750_406_400_000_000
ADDRESS = "su" + "a" * 46


@pytest.mark.parametrize(
    ("planck", "shown"),
    [
        (0, "0 AI3"),
        (1, "0.000000000000000001 AI3"),
        (10**13, "0.00001 AI3"),
        (12_345_678_901_234, "0.00001235 AI3"),
        (99_990_000_000_000, "0.00009999 AI3"),
        (123_456_000_000_000_000, "0.1235 AI3"),
        (10**18, "1 AI3"),
        (12 * 10**18 + 345 * 10**15, "12.345 AI3"),
        (1234 * 10**18, "1,234 AI3"),
        (-(5 * 10**18), "-5 AI3"),
        (None, "?"),
    ],
)
def test_ai3(planck: int | None, shown: str) -> None:
    assert ai3(planck) == shown


@given(st.integers(min_value=1, max_value=10**30))
def test_a_non_zero_amount_never_reads_as_zero(planck: int) -> None:
    text = ai3(planck, symbol=False)
    assert any(c in "123456789" for c in text)
    assert ai3(-planck).startswith("-")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (720, "12 min"),
        (3 * 3600 + 300, "3 h 5 min"),
        (52 * 3600, "2 d 4 h"),
    ],
)
def test_duration(seconds: int, shown: str) -> None:
    assert duration(seconds * 1_000_000) == shown
    assert duration_s(seconds) == shown


def test_every_and_ago() -> None:
    assert every(60) == "every minute"
    assert every(30) == "every 30 s"
    assert every(300) == "every 5 min"
    assert every(3600) == "every hour"
    assert ago(NOW, NOW - 90_000_000) == "1 min ago"
    assert ago(NOW, None) == "never"


def test_short_ids() -> None:
    assert short_id("01JD2Q7H5M8R3T6W9Y0A2B4CEF") == "01JD…2B4CEF"
    assert short_id("farm-1") == "farm-1"
    assert short_address(ADDRESS) == f"{ADDRESS[:8]}…{ADDRESS[-6:]}"


def test_one_small_amount_reads_the_same_in_notification_embed_and_summary() -> None:
    amount = 123_456_000_000_000  # 0.000123456 AI3: "0 AI3" in embeds before
    shown = "0.0001235 AI3"
    transfer = Transfer(
        address=ADDRESS,
        direction=Direction.IN,
        counterparty="su" + "b" * 46,
        amount=amount,
        block_number=7,
        block_hash="0x" + "0" * 64,
        extrinsic_index=1,
        event_index=2,
        timestamp_us=NOW,
    )
    note = transfer_notification(transfer, {}, "https://explorer", large_out_planck=10**30)
    assert shown in note.title
    wallet = WalletView("main", ADDRESS, amount, NOW, (), (), amount)
    assert shown in str(wallet_embeds(wallet, "https://explorer")[0].description)
    summary = SummaryData(
        local_day="2025-06-20",
        timezone="UTC",
        start_us=NOW - 86_400_000_000,
        end_us=NOW,
        wallets=(WalletDay("main", ADDRESS, votes=1, amount=amount, balance=amount),),
    )
    assert shown in str(render_summary(summary).fields)


def test_the_dashboard_footer_shows_its_real_interval() -> None:
    view = DashboardView(
        generated_us=NOW,
        nodes=(),
        farmers=(),
        farms=(),
        wallets=(),
        problems=(),
        rewards_24h=0,
        misses_24h=0,
    )
    assert dashboard_embeds(view, 30.0)[0].footer.text == "Edited every 30 s"
    assert dashboard_embeds(view, 300.0)[0].footer.text == "Edited every 5 min"
