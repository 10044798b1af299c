"""The web server over real HTTP on 127.0.0.1: pages, API, auth, wipe, /metrics, /healthz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest

from collectors.clock import FakeClock
from collectors.models.views import Scope
from collectors.settings import SettingsError, load_settings
from collectors.store.database import Database
from collectors.store.views import DAY_US, ViewStore, period_us
from collectors.store.wipe import WipeStore
from tests.bot.seed import WALLET, farm_id, seed, seed_chain, seed_node
from tests.bot.web.helpers import TOKEN, bearer, serving

PAGES = [
    "/",
    f"/farms/{farm_id(1)}",
    "/farmers/alpha",
    "/nodes/node-1",
    f"/wallets/{WALLET}",
    "/wallets/main",
    "/rewards",
    "/rewards?period=7d",
    "/rewards?period=1y",
    "/alerts",
]
API = [
    "/api/v1/status",
    "/api/v1/dashboard",
    "/api/v1/farms",
    f"/api/v1/farms/{farm_id(1)}",
    "/api/v1/farmers",
    "/api/v1/farmers/alpha",
    "/api/v1/nodes",
    "/api/v1/nodes/node-1",
    "/api/v1/wallets",
    f"/api/v1/wallets/{WALLET}",
    "/api/v1/rewards?period=30d",
    "/api/v1/alerts",
]


@pytest.fixture
async def seeded(db: Database, clock: FakeClock) -> Database:
    now = clock.now_us()
    await seed(db, now, days=3)
    await seed_chain(db, now)
    await seed_node(db, now)
    return db


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', html))


async def test_every_page_and_api_answers_and_links_farms(
    seeded: Database, clock: FakeClock
) -> None:
    async with serving(seeded, clock) as base, aiohttp.ClientSession() as session:
        for path in PAGES:
            async with session.get(base + path) as r:
                assert r.status == 200, path
                assert r.content_type == "text/html"
                assert "Server-Timing" in r.headers
                html = await r.text()
            assert '<main id="main"' in html
        async with session.get(base + "/") as r:
            dashboard = await r.text()
        for i in range(3):
            assert f'href="/farms/{farm_id(i)}"' in dashboard
        for path in API:
            async with session.get(base + path) as r:
                assert r.status == 200, path
                assert r.content_type == "application/json"
                json.loads(await r.text())
        for missing in ("/farms/nope", "/farmers/nobody", "/nodes/x", "/wallets/x"):
            async with session.get(base + missing) as r:
                assert r.status == 404
            async with session.get(base + "/api/v1" + missing) as r:
                assert r.status == 404
        async with session.get(base + "/rewards?period=2w") as r:
            assert r.status == 400
            assert "choose one of 24h, 7d, 30d, 1y" in await r.text()


async def test_pages_show_the_same_figures_as_the_read_functions(
    seeded: Database, clock: FakeClock
) -> None:
    now = clock.now_us()
    views = ViewStore(seeded)
    dashboard = await views.dashboard.build(now)
    report = await views.rewards.report(now, period_us("7d"))
    async with serving(seeded, clock) as base, aiohttp.ClientSession() as session:
        async with session.get(base + "/") as r:
            shown = figures(await r.text())
        async with session.get(base + "/rewards?period=7d") as r:
            rewards = figures(await r.text())
        async with session.get(base + "/api/v1/rewards?period=7d") as r:
            api = await r.json()
        async with session.get(f"{base}/farms/{farm_id(2)}") as r:
            farm = figures(await r.text())
    assert shown["rewards_24h"] == str(dashboard.rewards_24h) != "0"
    assert shown["misses_24h"] == str(dashboard.misses_24h)
    assert shown["farms"] == "3"
    for f in dashboard.farms:
        assert shown[f"farm:{f.farm_id}:rewards_24h"] == str(f.rewards_24h)
    assert rewards["total_rewards"] == str(report.total_rewards)
    assert api["farms"][0]["rewards"] == report.farms[0].rewards
    assert api["wallets"][0]["amount"] == str(report.wallets[0].amount)  # exact, as a string
    history = await views.farms.history(farm_id(2), now)
    async with seeded.conn.execute(
        "SELECT COUNT(*) FROM rewards WHERE farm_id = ? AND outcome = 'signed' AND ts_us >= ?",
        (farm_id(2), (now // DAY_US - 29) * DAY_US),
    ) as cur:
        (signed_30d,) = await cur.fetchone()  # type: ignore[misc]
    assert farm["rewards_30d"] == str(sum(b.rewards for b in history)) == str(signed_30d)


async def test_without_a_token_wipe_is_forbidden_and_nothing_else_writes(
    seeded: Database, clock: FakeClock
) -> None:
    async with serving(seeded, clock) as base, aiohttp.ClientSession() as session:
        async with session.post(base + "/api/v1/wipe", json={"scope": "all"}) as r:
            assert r.status == 403
            assert "COSMOS_WEB__TOKEN" in (await r.json())["error"]
        for path in ("/api/v1/farms", "/", "/metrics"):
            async with session.post(base + path) as r:
                assert r.status == 405
    async with seeded.conn.execute("SELECT COUNT(*) FROM rewards") as cur:
        (rows,) = await cur.fetchone()  # type: ignore[misc]
    assert rows > 0


async def test_with_a_token_every_route_needs_it(seeded: Database, clock: FakeClock) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies of 127.0.0.1, as browsers do
    async with (
        serving(seeded, clock, token=TOKEN) as base,
        aiohttp.ClientSession(cookie_jar=jar) as session,
    ):
        for path in ("/api/v1/farms", "/metrics", "/healthz", f"/farms/{farm_id(0)}"):
            async with session.get(base + path) as r:
                assert r.status == 401, path
            async with session.get(base + path, headers=bearer("wrong-token-wrong-token")) as r:
                assert r.status == 401, path
            async with session.get(base + path, headers=bearer(TOKEN)) as r:
                assert r.status == 200, path
        # A browser is sent to the login page, and back after logging in (a cookie).
        async with session.get(
            base + "/rewards?period=7d", headers={"Accept": "text/html"}, allow_redirects=False
        ) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/login?next=/rewards?period=7d"
        async with session.post(
            base + "/login", data={"token": "not it", "next": "/"}, allow_redirects=False
        ) as r:
            assert r.status == 401
        async with session.post(
            base + "/login",
            data={"token": TOKEN, "next": "/rewards?period=7d"},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/rewards?period=7d"
            cookie = r.cookies["cosmos_login"]
            assert TOKEN not in cookie.value
            assert cookie["httponly"]
            assert cookie["samesite"] == "Strict"
        async with session.get(base + "/rewards?period=7d") as r:
            assert r.status == 200
        async with session.post(  # off-site targets are not followed
            base + "/login", data={"token": TOKEN, "next": "//evil.example/"}, allow_redirects=False
        ) as r:
            assert r.headers["Location"] == "/"


async def test_wipe_over_the_api_with_the_token(seeded: Database, clock: FakeClock) -> None:
    async with (
        serving(seeded, clock, token=TOKEN) as base,
        aiohttp.ClientSession() as session,
    ):
        url = base + "/api/v1/wipe"
        async with session.post(url, json={"scope": "farm", "target": farm_id(1)}) as r:
            assert r.status == 401
        async with session.post(url, json={"scope": "farm"}, headers=bearer("x" * 20)) as r:
            assert r.status == 401
        async with session.post(url, json={"scope": "galaxy"}, headers=bearer(TOKEN)) as r:
            assert r.status == 400
            assert "farm, farmer, wallet, all" in (await r.json())["error"]
        async with session.post(
            url, json={"scope": "farm", "target": farm_id(1)}, headers=bearer(TOKEN)
        ) as r:
            assert r.status == 200
            result = await r.json()
        assert result["scope"] == "farm"
        assert result["rows"] > 0
        async with session.get(f"{base}/api/v1/farms/{farm_id(1)}", headers=bearer(TOKEN)) as r:
            assert r.status == 404
        async with session.get(f"{base}/api/v1/farms/{farm_id(2)}", headers=bearer(TOKEN)) as r:
            assert r.status == 200


async def test_healthz_on_the_web_server(db: Database, clock: FakeClock) -> None:
    async with aiohttp.ClientSession() as session:
        async with serving(db, clock) as base, session.get(base + "/healthz") as r:
            assert r.status == 200
            assert (await r.json())["status"] == "ok"
        async with serving(db, clock, healthy=False) as base, session.get(base + "/healthz") as r:
            assert r.status == 503


def test_settings_refuse_a_public_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COSMOS_WEB__PORT")
    with pytest.raises(SettingsError) as error:
        load_settings(None, web={"host": "0.0.0.0"})
    message = str(error.value)
    assert "COSMOS_WEB__HOST=0.0.0.0" in message
    assert "COSMOS_WEB__TOKEN" in message
    with pytest.raises(SettingsError, match="too short"):
        load_settings(None, web={"host": "0.0.0.0", "token": "short"})
    assert load_settings(None, web={"host": "0.0.0.0", "token": TOKEN}).web.host == "0.0.0.0"
    assert load_settings(None, web={"host": "::1"}).web.token is None
    assert load_settings(None, web={"host": "0.0.0.0", "port": 0}).web_port == 0
    # The old health port still works when the web port is not set.
    assert load_settings(None, alerts={"health_port": 9000}).web_port == 9000


async def test_metrics_are_the_stores_figures(seeded: Database, clock: FakeClock) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from collectors.models.alerts import AlertState, Phase, Rule, Severity
    from collectors.store.alerts import save_state_in

    now = clock.now_us()
    async with seeded.transaction() as conn:
        await save_state_in(
            conn,
            AlertState(Rule.FARM_ERROR, "f", Phase.FIRING, severity=Severity.ERROR, opened_us=now),
        )
    async with (
        serving(seeded, clock) as base,
        aiohttp.ClientSession() as session,
        session.get(base + "/metrics") as r,
    ):
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await r.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    async with seeded.conn.execute(
        "SELECT f.farm_id, fr.name, fr.host, SUM(r.outcome = 'signed'),"
        " SUM(r.outcome != 'signed') FROM rewards r JOIN farms f ON f.farm_id = r.farm_id"
        " JOIN farmer fr ON fr.id = f.farmer_id GROUP BY 1, 2, 3"
    ) as cur:
        counted = list(await cur.fetchall())
    assert len(counted) == 3
    for fid, farmer, host, won, missed in counted:
        labels = {"farm_id": fid, "farmer": farmer, "host": host}
        assert value("cosmos_farm_rewards_total", outcome="won", **labels) == won
        assert value("cosmos_farm_rewards_total", outcome="missed", **labels) == missed
    assert value("cosmos_wallet_balance_ai3", address=WALLET, label="main") == 12.345
    assert value("cosmos_alerts_open", rule="farm_error", severity="error") == 1
    assert value("cosmos_outbox_messages", state="pending") == 0
    assert value("cosmos_ingest_lag_seconds", kind="wallet", source="main", role="wallet") == 0
    assert ("cosmos_farm_win_ratio_24h", ()) not in samples  # only with farm labels
    assert any(name == "cosmos_farm_win_ratio_24h" for name, _ in samples)


GRAFANA_JSON = Path(__file__).resolve().parents[3] / "docs" / "grafana-cosmos.json"


async def test_grafana_dashboard_uses_only_exported_metrics(
    seeded: Database, clock: FakeClock
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    dashboard = json.loads(GRAFANA_JSON.read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bcosmos_\w+", target["expr"])
    }
    async with (
        serving(seeded, clock) as base,
        aiohttp.ClientSession() as session,
        session.get(base + "/metrics") as r,
    ):
        text = await r.text()
    families = list(text_string_to_metric_families(text))
    exported = {f.name for f in families} | {s.name for f in families for s in f.samples}
    assert used, "the dashboard queries nothing"
    assert used <= exported, used - exported


async def test_metrics_follow_late_rows_and_wipes(seeded: Database, clock: FakeClock) -> None:
    """All-time totals of settled days are kept between scrapes; a late row or a wipe shows."""
    from prometheus_client.parser import text_string_to_metric_families

    async def won(base: str, session: aiohttp.ClientSession) -> dict[str, float]:
        async with session.get(base + "/metrics") as r:
            text = await r.text()
        return {
            s.labels["farm_id"]: s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "cosmos_farm_rewards_total" and s.labels["outcome"] == "won"
        }

    clock.advance(5 * 86_400)  # every seeded day is settled now
    async with serving(seeded, clock) as base, aiohttp.ClientSession() as session:
        before = await won(base, session)
        assert before[farm_id(2)] > 0
        assert await won(base, session) == before
        async with seeded.transaction() as conn:  # a backfilled win, four days old
            await conn.execute(
                "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, reward_key,"
                " line_hash) SELECT source_id, farmer_id, farm_id, ?, 'signed', 99, 99"
                " FROM rewards WHERE farm_id = ? LIMIT 1",
                (clock.now_us() - 4 * DAY_US, farm_id(2)),
            )
        after = await won(base, session)
        assert after[farm_id(2)] == before[farm_id(2)] + 1
        await WipeStore(seeded).wipe(Scope.FARM, farm_id(2))
        assert farm_id(2) not in await won(base, session)
        assert (await won(base, session))[farm_id(1)] == before[farm_id(1)]


async def test_metrics_count_wins_the_chain_did_not_credit(
    seeded: Database, clock: FakeClock
) -> None:
    """From the wins the announce side decided were never credited (uncredited_wins)."""
    from prometheus_client.parser import text_string_to_metric_families

    async def not_credited(base: str, session: aiohttp.ClientSession) -> dict[str, float]:
        async with session.get(base + "/metrics") as r:
            text = await r.text()
        return {
            s.labels["farm_id"]: s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "cosmos_farm_signed_not_credited_wins"
        }

    async with seeded.conn.execute(
        "SELECT r.id, r.farm_id, r.ts_us FROM rewards r JOIN farmer fr ON fr.id = r.farmer_id"
        " WHERE fr.name = 'alpha' AND r.outcome = 'signed' ORDER BY r.id LIMIT 3"
    ) as cur:
        wins = list(await cur.fetchall())
    async with serving(seeded, clock) as base, aiohttp.ClientSession() as session:
        assert await not_credited(base, session) == {}  # no wallet belongs to a farmer
        async with seeded.transaction() as conn:
            await conn.execute(
                "UPDATE wallets SET farmer_id = (SELECT id FROM farmer WHERE name = 'alpha')"
                " WHERE label = 'main'"
            )
            await conn.executemany(
                "INSERT INTO uncredited_wins (reward_id, farm_id, ts_us, decided_us)"
                " VALUES (?, ?, ?, ?)",
                [(w["id"], w["farm_id"], w["ts_us"], clock.now_us()) for w in wins],
            )
        counted = await not_credited(base, session)
        expected = {
            f: sum(1 for w in wins if w["farm_id"] == f) for f in {w["farm_id"] for w in wins}
        }
        assert {f: n for f, n in counted.items() if n} == expected
        async with seeded.conn.execute(
            "SELECT COUNT(*) FROM farms f JOIN farmer fr ON fr.id = f.farmer_id"
            " WHERE fr.name = 'alpha'"
        ) as cur:
            (alpha_farms,) = await cur.fetchone()  # type: ignore[misc]
        assert len(counted) == alpha_farms  # beta has no watched wallet: no series
        async with seeded.transaction() as conn:  # a late credit takes one off
            await conn.execute("DELETE FROM uncredited_wins WHERE reward_id = ?", (wins[0]["id"],))
        after = await not_credited(base, session)
        assert after[wins[0]["farm_id"]] == counted[wins[0]["farm_id"]] - 1
