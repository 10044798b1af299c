"""The engine over a real database: fire, remind, resolve, mute, routing, restart, flapping."""

from __future__ import annotations

import json

from collectors.alerts.engine import AlertEngine
from collectors.clock import FakeClock
from collectors.models.alerts import AlertInputs, Phase, Rule, TargetHealth
from collectors.models.notify import Topic
from collectors.settings import AlertsSettings
from collectors.store.alerts import AlertStore
from collectors.store.database import Database

US = 1_000_000


class Endpoint:
    """A target whose up/down the test flips, as the scraper would have stored it."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.up = True
        self.first_seen = clock.now_us()
        self.last_ok: int | None = clock.now_us()

    def scrape(self) -> None:
        if self.up:
            self.last_ok = self.clock.now_us()

    async def inputs(self, now_us: int) -> AlertInputs:
        target = TargetHealth(
            key="http://127.0.0.1:9081/metrics",
            kind="farmer",
            label="farmer-1",
            up=self.up,
            first_seen_us=self.first_seen,
            last_attempt_us=now_us,
            last_success_us=self.last_ok,
            last_error=None if self.up else "connection refused",
        )
        return AlertInputs(now_us=now_us, targets=(target,))


def make_engine(
    db: Database, clock: FakeClock, endpoint: Endpoint, **settings: object
) -> AlertEngine:
    alerts = AlertsSettings(summary_enabled=False, **settings)  # type: ignore[arg-type]
    return AlertEngine(db, AlertStore(db), alerts, clock, gather_inputs=endpoint.inputs)


async def outbox(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    async with db.conn.execute("SELECT dedupe_key, topic, payload FROM outbox ORDER BY id") as cur:
        rows = await cur.fetchall()
    return [(r["dedupe_key"], r["topic"], json.loads(r["payload"])) for r in rows]


async def tick(
    engine: AlertEngine, endpoint: Endpoint, clock: FakeClock, seconds: float, step: float = 30
) -> None:
    """Advance in 30 s steps as the supervised loop would, evaluating at each."""
    for _ in range(int(seconds // step)):
        clock.advance(step)
        endpoint.scrape()
        await engine.evaluate_once()


async def test_fire_remind_resolve_once_each(db: Database, clock: FakeClock) -> None:
    endpoint = Endpoint(clock)
    engine = make_engine(db, clock, endpoint)
    await tick(engine, endpoint, clock, 600)
    assert await outbox(db) == []
    endpoint.up = False
    await tick(engine, endpoint, clock, 4 * 60)
    assert await outbox(db) == []  # 4 minutes: under the 5-minute threshold
    await tick(engine, endpoint, clock, 90)
    sent = await outbox(db)
    assert [key.rsplit(":", 1)[1] for key, _, _ in sent] == ["fire"]
    assert sent[0][2]["title"] == "Farmer metrics endpoint unreachable: farmer-1"
    assert "connection refused" in str(sent[0][2]["body"])
    await tick(engine, endpoint, clock, 3 * 3600 + 60)
    kinds = [key.rsplit(":", 1)[1] for key, _, _ in await outbox(db)]
    assert kinds == ["fire", "remind-1", "remind-2"]  # after 1 h, then 2 h later
    endpoint.up = True
    await tick(engine, endpoint, clock, 4 * 60)
    assert len(await outbox(db)) == 3  # clear, but not yet for the resolve grace
    await tick(engine, endpoint, clock, 120)
    sent = await outbox(db)
    assert sent[-1][0].endswith(":resolve")
    assert str(sent[-1][2]["title"]).startswith("Resolved: ")
    assert sent[-1][2]["severity"] == "success"
    await tick(engine, endpoint, clock, 3600)
    assert len(await outbox(db)) == 4
    assert await AlertStore(db).open_alerts() == []


async def test_restart_neither_refires_nor_forgets(db: Database, clock: FakeClock) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint)
    await tick(engine, endpoint, clock, 6 * 60)
    assert len(await outbox(db)) == 1
    # A new process: new engine and store on the same file.
    reopened = Database(db.path)
    await reopened.initialize()
    try:
        engine2 = make_engine(reopened, clock, endpoint)
        await tick(engine2, endpoint, clock, 30 * 60)
        assert len(await outbox(reopened)) == 1  # not fired again
        [alert] = await AlertStore(reopened).open_alerts()
        assert alert.phase is Phase.FIRING
        assert alert.rule is Rule.ENDPOINT_DOWN
        await tick(engine2, endpoint, clock, 40 * 60)  # reminder due 1 h after firing
        keys = [k for k, _, _ in await outbox(reopened)]
        assert keys[-1].endswith(":remind-1")
        endpoint.up = True
        await tick(engine2, endpoint, clock, 10 * 60)
        keys = [k for k, _, _ in await outbox(reopened)]
        assert keys[-1].endswith(":resolve")  # the open alert was not forgotten
    finally:
        await reopened.close()


async def test_muted_rule_is_tracked_but_not_sent(db: Database, clock: FakeClock) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint, muted=["endpoint_down"])
    await tick(engine, endpoint, clock, 2 * 3600)
    assert await outbox(db) == []
    [alert] = await AlertStore(db).open_alerts()
    assert alert.rule is Rule.ENDPOINT_DOWN
    async with db.conn.execute("SELECT transition, sent FROM alert_log ORDER BY id") as cur:
        logged = [(r["transition"], r["sent"]) for r in await cur.fetchall()]
    assert logged == [("fire", 0), ("remind", 0)]


async def test_routed_rule_names_its_topic(db: Database, clock: FakeClock) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint, routes={"endpoint_down": "transfers"})
    await tick(engine, endpoint, clock, 6 * 60)
    [(_, topic, payload)] = await outbox(db)
    assert topic == Topic.ALERTS.value
    assert payload["route"] == "transfers"


async def test_unrouted_rule_names_itself_for_a_channel_of_its_own(
    db: Database, clock: FakeClock
) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint)
    await tick(engine, endpoint, clock, 6 * 60)
    [(_, topic, payload)] = await outbox(db)
    assert topic == Topic.ALERTS.value
    assert payload["route"] == "endpoint_down"


async def test_flapping_endpoint_fires_once_and_resolves_once(
    db: Database, clock: FakeClock
) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint, endpoint_down_minutes=1.0)
    await tick(engine, endpoint, clock, 120)
    for _ in range(10):  # up for one minute, down for two, ten times
        endpoint.up = True
        await tick(engine, endpoint, clock, 60)
        endpoint.up = False
        await tick(engine, endpoint, clock, 120)
    kinds = [k.rsplit(":", 1)[1] for k, _, _ in await outbox(db)]
    assert kinds == ["fire"]
    endpoint.up = True
    await tick(engine, endpoint, clock, 6 * 60)
    kinds = [k.rsplit(":", 1)[1] for k, _, _ in await outbox(db)]
    assert kinds == ["fire"]  # damped: a flapper must stay clear longer than 5 minutes
    await tick(engine, endpoint, clock, 4 * 3600)
    kinds = [k.rsplit(":", 1)[1] for k, _, _ in await outbox(db)]
    assert kinds == ["fire", "resolve"]


async def test_disabled_alerts_evaluate_nothing(db: Database, clock: FakeClock) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint, enabled=False)
    await tick(engine, endpoint, clock, 3600)
    assert await outbox(db) == []


async def test_an_alert_whose_subject_vanished_is_closed_after_a_day(
    db: Database, clock: FakeClock
) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint, remind_first_hours=100.0)
    await tick(engine, endpoint, clock, 6 * 60)
    gone = AlertInputs(now_us=0)

    async def nothing(now_us: int) -> AlertInputs:
        return AlertInputs(now_us=now_us, targets=gone.targets)

    # The target is removed from the settings: nobody judges it any more.
    later = AlertEngine(
        db, AlertStore(db), AlertsSettings(summary_enabled=False), clock, gather_inputs=nothing
    )
    clock.advance(23 * 3600)
    await later.evaluate_once()
    assert len(await AlertStore(db).open_alerts()) == 1
    clock.advance(2 * 3600)
    await later.evaluate_once()
    assert await AlertStore(db).open_alerts() == []
    last_key, _, payload = (await outbox(db))[-1]
    assert last_key.endswith(":resolve")
    assert "No longer watched" in str(payload["body"])


async def test_a_long_open_alert_still_judged_is_not_closed_as_orphan(
    db: Database, clock: FakeClock
) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint)
    await tick(engine, endpoint, clock, 3 * 24 * 3600, step=600)
    [alert] = await AlertStore(db).open_alerts()
    assert alert.reminders >= 3
    assert [k for k, _, _ in await outbox(db) if k.endswith(":resolve")] == []


async def test_closed_alerts_are_forgotten_after_a_month(db: Database, clock: FakeClock) -> None:
    endpoint = Endpoint(clock)
    endpoint.up = False
    engine = make_engine(db, clock, endpoint)
    await tick(engine, endpoint, clock, 6 * 60)
    endpoint.up = True
    await tick(engine, endpoint, clock, 10 * 60)
    assert len(await AlertStore(db).states()) == 1
    clock.advance(31 * 24 * 3600)
    await engine.evaluate_once()
    assert await AlertStore(db).states() == {}
    assert [k.rsplit(":", 1)[1] for k, _, _ in await outbox(db)] == ["fire", "resolve"]
