"""The alert engine: gather stored state, run the rules, step each alert, notify via the outbox.

One evaluation is one write transaction: new alert states and their notifications are stored
together, so a crash between the two can neither lose nor repeat a message. Dedupe keys name
the alert episode (its opening time) and the transition, so even a replayed step enqueues once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import aiosqlite

from collectors.alerts.rules import evaluate, policy_for
from collectors.alerts.state import step
from collectors.alerts.summary import SummarySlot, due_slot, local_text, render_summary
from collectors.clock import Clock
from collectors.format import duration
from collectors.models.alerts import (
    AlertInputs,
    AlertState,
    Condition,
    Phase,
    Rule,
    SummaryData,
    Transition,
)
from collectors.models.notify import Notification, Severity, Topic
from collectors.runner import LoopStatus, run_forever
from collectors.settings import AlertsSettings
from collectors.store.alerts import (
    AlertInputReader,
    AlertStore,
    load_states_in,
    log_transition_in,
    mark_summary_sent_in,
    mark_watch_start_in,
    prune_closed_in,
    save_state_in,
)
from collectors.store.database import Database
from collectors.store.outbox import enqueue_in

log = logging.getLogger(__name__)

HOUR_US = 3600 * 1_000_000
# An open alert whose subject no rule has judged for this long is closed.
ORPHAN_AFTER_US = 24 * HOUR_US
# Closed alerts are kept this long (for status and a flap's memory), then forgotten.
KEEP_CLOSED_US = 30 * 24 * HOUR_US

GatherInputs = Callable[[int], Awaitable[AlertInputs]]
GatherSummary = Callable[[SummarySlot], Awaitable[SummaryData]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one evaluation did (for tests, logs and the status page)."""

    conditions: int
    transitions: tuple[tuple[Rule, str, Transition, bool], ...]  # (rule, subject, what, sent)
    summary_sent: str | None = None


def dedupe_key(state: AlertState, transition: Transition) -> str:
    what = f"remind-{state.reminders}" if transition is Transition.REMIND else transition.value
    return f"alert:{state.rule.value}:{state.subject}:{state.opened_us}:{what}"


def compose(
    state: AlertState, transition: Transition, now_us: int, settings: AlertsSettings
) -> Notification:
    # A rule routed to a topic goes there; otherwise to its own channel when one is configured
    # for its name (the notifiers fall back to the alerts topic).
    route = settings.routes.get(state.rule.value, state.rule.value)
    opened = state.opened_us if state.opened_us is not None else now_us
    since = local_text(opened, settings.timezone)
    fields: list[tuple[str, str]] = [("Since", since)]
    if transition is Transition.FIRE:
        title, severity, body = state.title, state.severity, state.detail
    elif transition is Transition.REMIND:
        title = f"Still open: {state.title}"
        severity = state.severity
        body = f"{state.detail}\nOpen for {duration(now_us - opened)}."
        fields.append(("Reminder", str(state.reminders)))
    else:
        title = f"Resolved: {state.title}"
        severity = Severity.SUCCESS
        body = f"Cleared after {duration(now_us - opened)}."
        fields.append(("Resolved", local_text(now_us, settings.timezone)))
    return Notification(
        dedupe_key=dedupe_key(state, transition),
        topic=Topic.ALERTS,
        severity=severity,
        title=title,
        body=body,
        fields=tuple(fields),
        occurred_us=now_us,
        footer=f"{state.rule.value} · {state.subject}",
        route=route,
    )


class AlertEngine:
    """Implements :class:`collectors.service.Collector`: evaluates every ``interval_seconds``."""

    name = "alerts"

    def __init__(
        self,
        db: Database,
        store: AlertStore,
        settings: AlertsSettings,
        clock: Clock,
        *,
        gather_inputs: GatherInputs,
        gather_summary: GatherSummary | None = None,
    ) -> None:
        self._db = db
        self._store = store
        self._settings = settings
        self._clock = clock
        self._gather_inputs = gather_inputs
        self._gather_summary = gather_summary
        self.status = LoopStatus(self.name)

    async def run(self) -> None:
        await run_forever(
            self.name, self._iteration, interval=self._settings.interval_seconds, status=self.status
        )

    async def _iteration(self) -> None:
        outcome = await self.evaluate_once()
        self.status.extra["last_conditions"] = outcome.conditions
        self.status.extra["open_alerts"] = len(await self._store.open_alerts())
        if outcome.summary_sent:
            self.status.extra["last_summary"] = outcome.summary_sent

    async def evaluate_once(self) -> Outcome:
        now_us = self._clock.now_us()
        transitions: list[tuple[Rule, str, Transition, bool]] = []
        conditions: list[Condition] = []
        if self._settings.enabled:
            inputs = await self._gather_inputs(now_us)
            # One condition per (rule, subject); a later one wins.
            by_key = {(c.rule, c.subject): c for c in evaluate(inputs, self._settings)}
            conditions = list(by_key.values())
            async with self._db.transaction() as conn:
                await mark_watch_start_in(conn, now_us)
                await prune_closed_in(conn, now_us - KEEP_CLOSED_US)
                states = await load_states_in(conn)
                for condition in conditions:
                    transition = await self._apply(conn, states, condition, now_us)
                    if transition is not None:
                        transitions.append(transition)
                judged = set(by_key)
                for key, state in states.items():
                    if key not in judged:
                        closed = await self._close_orphan(conn, state, now_us)
                        if closed is not None:
                            transitions.append(closed)
        summary_day = await self._maybe_send_summary(now_us)
        for rule, subject, what, sent in transitions:
            log.info(
                "alert %s %s for %s%s",
                rule.value,
                what.value,
                subject,
                "" if sent else " (not sent)",
            )
        return Outcome(len(conditions), tuple(transitions), summary_day)

    async def _apply(
        self,
        conn: aiosqlite.Connection,
        states: dict[tuple[Rule, str], AlertState],
        condition: Condition,
        now_us: int,
    ) -> tuple[Rule, str, Transition, bool] | None:
        policy = policy_for(condition.rule, self._settings)
        previous = states.get((condition.rule, condition.subject))
        new, transition = step(previous, condition, now_us, policy)
        if new.phase is not Phase.OK and now_us - new.updated_us >= HOUR_US:
            new = replace(new, updated_us=now_us)  # still judged: not an orphan
        if new != previous and (previous is not None or new.phase is not Phase.OK):
            await save_state_in(conn, new)
        if transition is None:
            return None
        muted = condition.rule.value in self._settings.muted
        silent = transition is Transition.RESOLVE and not policy.announce_resolve
        sent = not muted and not silent
        # The resolve message names the episode that is closing; the new state keeps opened_us.
        if sent:
            await enqueue_in(conn, compose(new, transition, now_us, self._settings), now_us)
        await log_transition_in(conn, new, transition, now_us, sent=sent)
        return condition.rule, condition.subject, transition, sent

    async def _close_orphan(
        self, conn: aiosqlite.Connection, state: AlertState, now_us: int
    ) -> tuple[Rule, str, Transition, bool] | None:
        """Close an alert whose subject no rule has judged for a day (a farm wiped, a target
        removed from the settings): told once if it had been announced, so nothing stays open."""
        if state.phase is Phase.OK or now_us - state.updated_us < ORPHAN_AFTER_US:
            return None
        closed = replace(
            state,
            phase=Phase.OK,
            since_us=None,
            clear_since_us=None,
            resolved_us=now_us,
            updated_us=now_us,
        )
        await save_state_in(conn, closed)
        if not state.is_open:
            return None
        policy = policy_for(state.rule, self._settings)
        sent = state.rule.value not in self._settings.muted and policy.announce_resolve
        if sent:
            notification = compose(closed, Transition.RESOLVE, now_us, self._settings)
            notification = replace(
                notification,
                body="No longer watched (removed from the settings, wiped, or no data for a "
                "day), so this alert is closed.",
            )
            await enqueue_in(conn, notification, now_us)
        await log_transition_in(conn, closed, Transition.RESOLVE, now_us, sent=sent)
        return state.rule, state.subject, Transition.RESOLVE, sent

    async def _maybe_send_summary(self, now_us: int) -> str | None:
        settings = self._settings
        if not settings.summary_enabled or self._gather_summary is None:
            return None
        slot = due_slot(now_us, settings.timezone, settings.summary_time)
        if slot is None or await self._store.summary_sent(slot.local_day):
            return None
        data = await self._gather_summary(slot)
        notification = render_summary(data)
        async with self._db.transaction() as conn:
            if not await mark_summary_sent_in(
                conn, slot.local_day, settings.timezone, slot.due_us, now_us
            ):
                return None
            await enqueue_in(conn, notification, now_us)
        log.info("daily summary for %s queued", slot.local_day)
        return slot.local_day


def build_alert_engine(db: Database, settings: AlertsSettings, clock: Clock) -> AlertEngine:
    """The engine reading its inputs and summaries from the store (the composition root's
    one call)."""
    reader = AlertInputReader(db)

    async def gather_inputs(now_us: int) -> AlertInputs:
        return await reader.gather(now_us, settings)

    async def gather_summary(slot: SummarySlot) -> SummaryData:
        return await reader.summary(slot.local_day, settings.timezone, slot.start_us, slot.due_us)

    return AlertEngine(
        db,
        AlertStore(db),
        settings,
        clock,
        gather_inputs=gather_inputs,
        gather_summary=gather_summary,
    )
