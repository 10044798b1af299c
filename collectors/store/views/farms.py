"""Farms: the summary of each (status, sectors, 24 h rewards, problems) and one farm's detail."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

import aiosqlite

from collectors.models.metrics import FarmState
from collectors.models.views import (
    FarmChoice,
    FarmDetail,
    FarmStatus,
    FarmSummary,
    ProvingStat,
    RewardBucket,
    RewardEntry,
)
from collectors.store.metrics import MetricsStore
from collectors.store.views._base import (
    DAY_US,
    FARM_EVENT_KINDS,
    IN_ERROR,
    IN_REWARD,
    REWARD_OUTCOMES,
    ReadBase,
)


class FarmReads(ReadBase):
    async def summaries(
        self, now_us: int, *, farm_ids: Iterable[str] | None = None, farmer: str | None = None
    ) -> list[FarmSummary]:
        where, params = ["1 = 1"], []
        if farm_ids is not None:
            ids = list(farm_ids)
            where.append(f"f.farm_id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if farmer is not None:
            where.append("fr.name = ?")
            params.append(farmer)
        farms = await self._rows(
            "SELECT f.farm_id, f.farm_index, f.directory, f.allocated_bytes, f.allocated_text,"
            " f.active, fr.name AS farmer,"
            " p.kind AS plot_kind, p.percent AS plot_percent, p.complete_us AS plot_complete_us,"
            f" (SELECT r.ts_us FROM rewards r WHERE r.farm_id = f.farm_id AND {IN_REWARD}"
            "   ORDER BY r.ts_us DESC LIMIT 1) AS last_reward_us"
            " FROM farms f LEFT JOIN farmer fr ON fr.id = f.farmer_id"
            " LEFT JOIN plots p ON p.farm_id = f.farm_id"
            f" WHERE {' AND '.join(where)}"
            " ORDER BY fr.is_primary DESC, fr.name, f.farm_index, f.farm_id",
            params,
        )
        if not farms:
            return []
        since = now_us - DAY_US
        counts: dict[str, tuple[int, int, int]] = {
            r["farm_id"]: (int(r["won"]), int(r["missed"]), int(r["unproven"]))
            for r in await self._rows(
                f"SELECT farm_id, SUM({IN_REWARD}) AS won, SUM(NOT {IN_REWARD}) AS missed,"
                " SUM(outcome = 'prove_failed') AS unproven"
                " FROM rewards WHERE ts_us >= ? GROUP BY farm_id",
                (since,),
            )
        }
        errors: dict[str, list[str]] = defaultdict(list)
        for r in await self._rows(
            f"SELECT farm_id, kind, COUNT(*) AS n, MAX(ts_us) AS last_us FROM events"
            f" WHERE {IN_ERROR} AND ts_us >= ? AND farm_id IS NOT NULL GROUP BY farm_id, kind",
            (since,),
        ):
            errors[r["farm_id"]].append(f"{r['n']}× {r['kind'].replace('_', ' ')} in 24 h")
        states = await self.states()
        result = []
        for r in farms:
            farm_id = r["farm_id"]
            won, missed, unproven = counts.get(farm_id, (0, 0, 0))
            problems = list(errors.get(farm_id, ()))
            if unproven:
                # A sector it could not read: the disk is suspect (also counted as missed).
                problems.append(f"{unproven}× failed proof in 24 h: check the disk")
            if missed:
                problems.append(f"{missed} missed reward{'s' if missed != 1 else ''} in 24 h")
            plotting = r["plot_percent"] is not None and r["plot_complete_us"] is None
            if not r["active"]:
                status = FarmStatus.REMOVED
            elif errors.get(farm_id) or unproven:
                status = FarmStatus.ERROR
            elif plotting and r["plot_kind"] == "replotting":
                status = FarmStatus.REPLOTTING
            elif plotting:
                status = FarmStatus.PLOTTING
            else:
                status = FarmStatus.FARMING
            state = states.get(farm_id)
            result.append(
                FarmSummary(
                    farm_id=farm_id,
                    farmer=r["farmer"],
                    farm_index=r["farm_index"],
                    directory=r["directory"],
                    allocated_bytes=r["allocated_bytes"],
                    allocated_text=r["allocated_text"],
                    status=status,
                    sectors_plotted=(
                        state.sectors_total - state.sectors_not_plotted if state else None
                    ),
                    sectors_total=state.sectors_total if state else None,
                    plot_kind=r["plot_kind"] if plotting else None,
                    plot_percent=r["plot_percent"] if plotting else None,
                    rewards_24h=won,
                    misses_24h=missed,
                    last_reward_us=r["last_reward_us"],
                    problems=tuple(problems),
                )
            )
        return result

    async def states(self) -> dict[str, FarmState]:
        """Latest metrics per farm (sectors, proving, plotting ETA), when scraped."""
        if "farm_metrics" not in await self.tables():
            return {}
        states = await MetricsStore(self._db).latest_farm_states(active_only=False)
        return {s.farm_id: s for s in states}

    async def search(self, text: str, limit: int = 25) -> list[FarmChoice]:
        """Autocomplete: farms whose id, directory or farmer name contains ``text``."""
        like = f"%{text.strip()}%"
        rows = await self._rows(
            "SELECT f.farm_id, f.directory, fr.name AS farmer FROM farms f"
            " LEFT JOIN farmer fr ON fr.id = f.farmer_id"
            " WHERE f.farm_id LIKE ? OR IFNULL(f.directory, '') LIKE ?"
            " OR IFNULL(fr.name, '') LIKE ?"
            " ORDER BY fr.name, f.farm_index, f.farm_id LIMIT ?",
            (like, like, like, limit),
        )
        return [FarmChoice(r["farm_id"], r["farmer"], r["directory"]) for r in rows]

    async def resolve(self, text: str) -> str | None:
        """A farm id from an id, an id prefix/suffix, or a directory."""
        rows = await self._rows(
            "SELECT farm_id FROM farms WHERE farm_id = ? OR directory = ?"
            " UNION ALL SELECT farm_id FROM farms WHERE farm_id LIKE ? OR farm_id LIKE ?",
            (text, text, f"{text}%", f"%{text}"),
        )
        ids = list(dict.fromkeys(r["farm_id"] for r in rows))
        return ids[0] if len(ids) == 1 or (ids and ids[0] == text) else None

    async def detail(self, farm_id: str, now_us: int) -> FarmDetail | None:
        summaries = await self.summaries(now_us, farm_ids=[farm_id])
        if not summaries:
            return None
        (farm,) = await self._rows(
            "SELECT public_key, genesis_hash, first_seen_us, last_seen_us FROM farms"
            " WHERE farm_id = ?",
            (farm_id,),
        )
        recent = await self._rows(
            "SELECT ts_us, outcome, farm_id, slot, detail FROM rewards WHERE farm_id = ?"
            " ORDER BY ts_us DESC LIMIT 200",
            (farm_id,),
        )
        entries = [
            RewardEntry(r["ts_us"], r["outcome"], r["farm_id"], r["slot"], r["detail"])
            for r in recent
        ]
        errors = await self._rows(
            f"SELECT ts_us, kind, data FROM events WHERE farm_id = ? AND {IN_ERROR}"
            " ORDER BY ts_us DESC LIMIT 5",
            (farm_id,),
        )
        events = await self._rows(
            "SELECT ts_us, kind, data FROM events WHERE farm_id = ?"
            f" AND kind IN ({','.join('?' * len(FARM_EVENT_KINDS))}) ORDER BY ts_us DESC LIMIT 5",
            (farm_id, *FARM_EVENT_KINDS),
        )
        state = (await self.states()).get(farm_id)
        (uncredited,) = await self._rows(
            "SELECT COUNT(*) AS n FROM uncredited_wins WHERE farm_id = ?", (farm_id,)
        )
        return FarmDetail(
            summary=summaries[0],
            public_key=farm["public_key"],
            genesis_hash=farm["genesis_hash"],
            first_seen_us=farm["first_seen_us"],
            last_seen_us=farm["last_seen_us"],
            sectors_by_state=_sectors_by_state(state),
            plotting_eta_us=(
                state.ts_us + int(state.plotting_eta_seconds * 1_000_000)
                if state is not None and state.plotting_eta_seconds is not None
                else None
            ),
            proving=_proving(state),
            recent_rewards=tuple(e for e in entries if e.outcome in REWARD_OUTCOMES)[:10],
            recent_misses=tuple(e for e in entries if e.outcome not in REWARD_OUTCOMES)[:10],
            recent_errors=tuple((r["ts_us"], _error_text(r["kind"], r["data"])) for r in errors),
            plotting_stages=_stages(state),
            sectors_failed=(
                int(state.plotting_errors)
                if state is not None and state.plotting_errors is not None
                else None
            ),
            recent_events=tuple((r["ts_us"], _event_text(r["kind"], r["data"])) for r in events),
            signed_not_credited=uncredited["n"],
        )

    async def history(self, farm_id: str, now_us: int, days: int = 30) -> tuple[RewardBucket, ...]:
        """Won and missed per UTC day, the last ``days`` days (today partial), oldest first."""
        first_day = now_us // DAY_US - (days - 1)
        rows = await self._rows(
            f"SELECT ts_us / ? - ? AS k, SUM({IN_REWARD}) AS won, SUM(NOT {IN_REWARD}) AS missed"
            " FROM rewards WHERE farm_id = ? AND ts_us >= ? AND ts_us <= ? GROUP BY 1",
            (DAY_US, first_day, farm_id, first_day * DAY_US, now_us),
        )
        counts = {int(r["k"]): (int(r["won"]), int(r["missed"])) for r in rows}
        return tuple(
            RewardBucket((first_day + i) * DAY_US, *counts.get(i, (0, 0)), 0) for i in range(days)
        )

    async def recent(
        self, now_us: int, limit: int = 10
    ) -> tuple[tuple[RewardEntry, ...], tuple[RewardEntry, ...]]:
        """The latest wins of every farm, and the latest misses of the last week."""
        columns = "SELECT ts_us, outcome, farm_id, slot, detail FROM rewards"
        wins = await self._rows(
            f"{columns} WHERE {IN_REWARD} AND ts_us <= ? ORDER BY ts_us DESC LIMIT ?",
            (now_us, limit),
        )
        misses = await self._rows(
            f"{columns} WHERE NOT {IN_REWARD} AND ts_us >= ? AND ts_us <= ?"
            " ORDER BY ts_us DESC LIMIT ?",
            (now_us - 7 * DAY_US, now_us, limit),
        )
        return tuple(map(_entry, wins)), tuple(map(_entry, misses))


def _entry(r: aiosqlite.Row) -> RewardEntry:
    return RewardEntry(r["ts_us"], r["outcome"], r["farm_id"], r["slot"], r["detail"])


def _sectors_by_state(state: FarmState | None) -> tuple[tuple[str, int], ...]:
    if state is None:
        return ()
    return (
        ("Plotted", state.sectors_plotted),
        ("Not plotted", state.sectors_not_plotted),
        ("About to expire", state.sectors_about_to_expire),
        ("Expired", state.sectors_expired),
    )


def _proving(state: FarmState | None) -> tuple[ProvingStat, ...]:
    """Proving outcomes since the farmer started (counters), with the mean proving time."""
    if state is None:
        return ()
    counts = (
        ("Success", state.proving_success),
        ("Timeout", state.proving_timeout),
        ("Rejected", state.proving_rejected),
        ("Failed", state.proving_failed),
    )
    return tuple(
        ProvingStat(name, int(n), state.proving_mean_s if name == "Success" else None)
        for name, n in counts
        if n or name == "Success"
    )


def _stages(state: FarmState | None) -> tuple[tuple[str, float], ...]:
    """Mean seconds per sector in each plotting stage (farm_sector_*_time_seconds)."""
    if state is None:
        return ()
    stages = (
        ("Downloading", state.downloading_mean_s),
        ("Encoding", state.encoding_mean_s),
        ("Writing", state.writing_mean_s),
        ("Whole sector", state.plotting_mean_s),
    )
    return tuple((name, mean) for name, mean in stages if mean is not None)


def _event_text(kind: str, data: str | None) -> str:
    try:
        fields = json.loads(data) if data else {}
    except ValueError:
        fields = {}
    if not isinstance(fields, dict):
        fields = {}
    if kind == "farm_resized":
        return f"resized from {fields.get('old_space')} to {fields.get('new_space')}"
    if kind == "farm_exited_ok":
        return "stopped cleanly"
    if kind == "plot_retry":
        return f"{fields.get('plot_kind', 'plotting')} of a sector retried"
    return kind.replace("_", " ")


def _error_text(kind: str, data: str | None) -> str:
    if data:
        try:
            decoded = json.loads(data)
        except ValueError:
            return data[:300]
        if isinstance(decoded, dict) and decoded.get("error"):
            return str(decoded["error"])[:300]
    return kind.replace("_", " ")
