"""Alert SQL: alert state rows, the transition log, summary bookkeeping.

The reads that gather :class:`AlertInputs` and the summary data from the other areas' tables
live in :mod:`collectors.store.alert_inputs`.
"""

from __future__ import annotations

import aiosqlite

from collectors.models.alerts import AlertState, Phase, Rule, Transition
from collectors.models.notify import Severity
from collectors.store.database import Database

_STATE_COLUMNS = (
    "rule, subject, phase, since_us, opened_us, last_notified_us, reminders, clear_since_us,"
    " flips, resolved_us, severity, title, detail, updated_us"
)


def _state(row: aiosqlite.Row) -> AlertState | None:
    try:
        rule = Rule(row["rule"])
    except ValueError:
        return None  # a rule from a newer or older version; ignore it
    return AlertState(
        rule=rule,
        subject=row["subject"],
        phase=Phase(row["phase"]),
        since_us=row["since_us"],
        opened_us=row["opened_us"],
        last_notified_us=row["last_notified_us"],
        reminders=row["reminders"],
        clear_since_us=row["clear_since_us"],
        flips=row["flips"],
        resolved_us=row["resolved_us"],
        severity=Severity(row["severity"]),
        title=row["title"],
        detail=row["detail"],
        updated_us=row["updated_us"],
    )


async def load_states_in(conn: aiosqlite.Connection) -> dict[tuple[Rule, str], AlertState]:
    async with conn.execute(f"SELECT {_STATE_COLUMNS} FROM alert_state") as cur:
        rows = await cur.fetchall()
    states = (_state(row) for row in rows)
    return {(s.rule, s.subject): s for s in states if s is not None}


async def save_state_in(conn: aiosqlite.Connection, state: AlertState) -> None:
    await conn.execute(
        f"INSERT OR REPLACE INTO alert_state ({_STATE_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            state.rule.value,
            state.subject,
            state.phase.value,
            state.since_us,
            state.opened_us,
            state.last_notified_us,
            state.reminders,
            state.clear_since_us,
            state.flips,
            state.resolved_us,
            state.severity.value,
            state.title,
            state.detail,
            state.updated_us,
        ),
    )


async def log_transition_in(
    conn: aiosqlite.Connection,
    state: AlertState,
    transition: Transition,
    now_us: int,
    *,
    sent: bool,
) -> None:
    await conn.execute(
        "INSERT INTO alert_log (rule, subject, transition, ts_us, opened_us, severity, title, sent)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            state.rule.value,
            state.subject,
            transition.value,
            now_us,
            state.opened_us,
            state.severity.value,
            state.title,
            int(sent),
        ),
    )


async def mark_summary_sent_in(
    conn: aiosqlite.Connection, local_day: str, timezone: str, due_us: int, now_us: int
) -> bool:
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO summary_runs (local_day, timezone, due_us, sent_us)"
        " VALUES (?, ?, ?, ?)",
        (local_day, timezone, due_us, now_us),
    )
    return cursor.rowcount == 1


class AlertStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def states(self) -> dict[tuple[Rule, str], AlertState]:
        return await load_states_in(self._db.conn)

    async def open_alerts(self) -> list[AlertState]:
        states = await self.states()
        return sorted(
            (s for s in states.values() if s.is_open),
            key=lambda s: (s.opened_us or 0, s.rule.value, s.subject),
        )

    async def transitions(self, since_us: int, until_us: int) -> list[tuple[str, str, str, int]]:
        """(rule, subject, transition, ts_us) logged in [since, until)."""
        async with self._db.conn.execute(
            "SELECT rule, subject, transition, ts_us FROM alert_log"
            " WHERE ts_us >= ? AND ts_us < ? ORDER BY ts_us, id",
            (since_us, until_us),
        ) as cur:
            rows = await cur.fetchall()
        return [(r["rule"], r["subject"], r["transition"], r["ts_us"]) for r in rows]

    async def summary_sent(self, local_day: str) -> bool:
        async with self._db.conn.execute(
            "SELECT 1 FROM summary_runs WHERE local_day = ?", (local_day,)
        ) as cur:
            return await cur.fetchone() is not None

    async def last_summary(self) -> tuple[str, int] | None:
        """(local day, sent at) of the latest summary sent."""
        async with self._db.conn.execute(
            "SELECT local_day, sent_us FROM summary_runs ORDER BY sent_us DESC LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        return (row["local_day"], row["sent_us"]) if row else None
