"""Alerts: the open ones and what changed lately, as the alert engine stored them."""

from __future__ import annotations

from collectors.models.alerts import AlertState, StatusOverview
from collectors.store.alerts import AlertStore, status_overview
from collectors.store.views._base import ReadBase


class AlertReads(ReadBase):
    async def open_alerts(self) -> list[AlertState]:
        """Open alerts, oldest first."""
        if "alert_state" not in await self.tables():
            return []
        return await AlertStore(self._db).open_alerts()

    async def transitions(self, since_us: int, until_us: int) -> list[tuple[str, str, str, int]]:
        """(rule, subject, transition, ts_us) logged in [since, until), oldest first."""
        if "alert_log" not in await self.tables():
            return []
        return await AlertStore(self._db).transitions(since_us, until_us)

    async def status(self, now_us: int) -> StatusOverview:
        """What ``cosmos status`` prints: sources' last activity, open alerts, the outbox."""
        return await status_overview(self._db, now_us)
