"""Every page in headless Chromium on the demo data: no console errors, no broken links, the
figures on the page equal the database's; readable without JavaScript, live with it, phone-sized.

Skipped where Chromium is absent (CI installs Debian's package). ``COSMOS_SCREENSHOTS=DIR``
saves the dashboard and a farm page there (docs/ holds the ones in the README).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.demo import DATABASE_NAME, run_demo
from bot.web.server import WebServer
from collectors.clock import SystemClock
from collectors.format import ai3
from collectors.health import HealthReport
from collectors.settings import WebSettings
from collectors.store.database import Database
from collectors.store.metrics import MetricsStore
from collectors.store.views import DAY_US, ViewStore, period_us
from collectors.store.wallets import WalletStore
from collectors.store.wipe import WipeStore
from tests.bot.seed import WALLET, seed_chain
from tests.bot.web.cdp import FIGURES_JS, Browser, chromium, chromium_path, crawl

CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)",
    ),
    pytest.mark.timeout(300),
]


async def scalar(db: Database, sql: str, *params: object) -> int:
    async with db.conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0] or 0)


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    """The demo farm's database (a few seconds of `cosmos demo`) plus a watched wallet, served."""
    with redirect_stdout(io.StringIO()):
        await run_demo(io.StringIO(), seconds=6.0, workdir=tmp_path)
    db = Database(tmp_path / DATABASE_NAME)
    await db.initialize()
    clock = SystemClock()
    await seed_chain(db, clock.now_us())
    server = WebServer(
        WebSettings(refresh_seconds=5),
        port=0,
        views=ViewStore(db),
        wipe=WipeStore(db),
        clock=clock,
        report=lambda: HealthReport(True, clock.now_us(), ()),
    )
    await server.start()
    try:
        yield db, f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()
        await db.close()


async def expected_figures(db: Database, path: str) -> dict[str, str]:
    """What the page at ``path`` must show, from SQL (and the metrics/wallet stores)."""
    now = SystemClock().now_us()
    day = now - DAY_US
    signed = "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed' AND ts_us >= ?"
    missed = "SELECT COUNT(*) FROM rewards WHERE outcome != 'signed' AND ts_us >= ?"
    out: dict[str, str] = {}
    if path == "/":
        out["rewards_24h"] = str(await scalar(db, signed, day))
        out["misses_24h"] = str(await scalar(db, missed, day))
        out["farms"] = str(await scalar(db, "SELECT COUNT(*) FROM farms"))
        out["open_alerts"] = str(
            await scalar(
                db, "SELECT COUNT(*) FROM alert_state WHERE phase IN ('firing', 'clearing')"
            )
        )
        async with db.conn.execute("SELECT farm_id FROM farms") as cur:
            for (farm_id,) in await cur.fetchall():
                out[f"farm:{farm_id}:rewards_24h"] = str(
                    await scalar(db, f"{signed} AND farm_id = ?", day, farm_id)
                )
    elif path.startswith("/farms/"):
        farm_id = unquote(path.removeprefix("/farms/"))
        out["rewards_24h"] = str(await scalar(db, f"{signed} AND farm_id = ?", day, farm_id))
        out["misses_24h"] = str(await scalar(db, f"{missed} AND farm_id = ?", day, farm_id))
        month = (now // DAY_US - 29) * DAY_US
        out["rewards_30d"] = str(await scalar(db, f"{signed} AND farm_id = ?", month, farm_id))
        out["signed_not_credited"] = str(
            await scalar(db, "SELECT COUNT(*) FROM uncredited_wins WHERE farm_id = ?", farm_id)
        )
        states = {s.farm_id: s for s in await MetricsStore(db).latest_farm_states()}
        if farm_id in states:
            out["sectors:Plotted"] = str(states[farm_id].sectors_plotted)
            out["sectors:Not plotted"] = str(states[farm_id].sectors_not_plotted)
    elif path.startswith("/wallets/"):
        address = unquote(path.removeprefix("/wallets/"))
        balance = (await WalletStore(db).latest_balances()).get(address)
        out["balance"] = ai3(balance.free + balance.reserved if balance else None)
        for kind in ("block", "vote") if address == WALLET else ():
            out[f"kind:{kind}:count"] = str(
                await scalar(
                    db,
                    "SELECT COUNT(*) FROM chain_rewards WHERE address = ? AND kind = ?"
                    " AND ts_us >= ?",
                    address,
                    kind,
                    (now // DAY_US - 29) * DAY_US,
                )
            )
    elif path.startswith("/rewards"):
        period = path.partition("period=")[2] or "24h"
        since = (await ViewStore(db).rewards.report(now, period_us(period))).since_us
        out["total_rewards"] = str(await scalar(db, signed, since))
        out["total_missed"] = str(await scalar(db, missed, since))
    elif path == "/alerts":
        out["open_alerts"] = str(
            await scalar(
                db, "SELECT COUNT(*) FROM alert_state WHERE phase IN ('firing', 'clearing')"
            )
        )
    elif path.startswith("/farmers/"):
        name = unquote(path.removeprefix("/farmers/"))
        owned = "farm_id IN (SELECT f.farm_id FROM farms f JOIN farmer fr ON fr.id = f.farmer_id"
        out["farms"] = str(
            await scalar(
                db,
                "SELECT COUNT(*) FROM farms f JOIN farmer fr ON fr.id = f.farmer_id"
                " WHERE fr.name = ?",
                name,
            )
        )
        out["rewards_24h"] = str(
            await scalar(db, f"{signed} AND {owned} WHERE fr.name = ?)", day, name)
        )
    elif path.startswith("/nodes/"):
        (node,) = await MetricsStore(db).latest_node_states()
        out["best"] = f"{node.snapshot.best:,}"
        out["peers"] = f"{node.snapshot.peers:,}"
    return out


async def test_every_page_in_chromium(demo: tuple[Database, str]) -> None:
    db, base = demo
    assert CHROMIUM is not None
    async with chromium(CHROMIUM) as browser:
        page = await browser.new_page()
        seen = await crawl(page, base)
        farm_pages = [p for p in seen if p.startswith("/farms/")]
        assert len(farm_pages) == await scalar(db, "SELECT COUNT(*) FROM farms") == 3
        for prefix in ("/farmers/", "/nodes/", "/wallets/", "/rewards?period=1y", "/alerts"):
            assert any(p.startswith(prefix) for p in seen), prefix
        for path, shown in seen.items():
            expected = await expected_figures(db, path)
            assert expected, f"no figures checked on {path}"
            for name, value in expected.items():
                assert shown.get(name) == value, f"{path}: {name} shows {shown.get(name)!r}"
        await screenshots(browser, base, farm_pages[0])


async def test_without_javascript_live_with_it_and_phone_sized(
    demo: tuple[Database, str],
) -> None:
    db, base = demo
    assert CHROMIUM is not None
    async with chromium(CHROMIUM) as browser:
        page = await browser.new_page()
        await page.send("Emulation.setScriptExecutionDisabled", value=True)
        await page.goto(base + "/")
        before = await page.evaluate(FIGURES_JS)  # evaluation runs; the page's scripts do not
        assert before["farms"] == "3"
        await page.send("Emulation.setScriptExecutionDisabled", value=False)

        await page.phone()
        await page.goto(base + "/")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.evaluate("window.stillTheSamePage = true")
        won = int((await page.evaluate(FIGURES_JS))["rewards_24h"])
        await add_win(db)
        for _ in range(40):  # the page refreshes itself every 5 s
            await asyncio.sleep(0.5)
            if int((await page.evaluate(FIGURES_JS))["rewards_24h"]) == won + 1:
                break
        else:
            raise AssertionError("the dashboard did not update itself")
        assert await page.evaluate("window.stillTheSamePage") is True  # swapped, not reloaded
        assert "updated" in await page.evaluate("document.getElementById('live').textContent")
        assert page.problems == []


async def add_win(db: Database) -> None:
    now = SystemClock().now_us()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, reward_hash,"
            " reward_key, line_hash) SELECT source_id, farmer_id, farm_id, ?, 'signed',"
            " 'live-test', 4242, 4242 FROM rewards LIMIT 1",
            (now,),
        )


async def screenshots(browser: Browser, base: str, farm_path: str) -> None:
    folder = os.environ.get("COSMOS_SCREENSHOTS")
    if not folder:
        return
    out = Path(folder)
    page = await browser.new_page()
    for name, path, width, mobile in (
        ("web-dashboard.png", "/", 1100, False),
        ("web-farm.png", farm_path, 1100, False),
        ("web-phone.png", "/", 390, True),
    ):
        await page.goto(base + path)
        (out / name).write_bytes(await page.screenshot(width, 900, mobile=mobile))
