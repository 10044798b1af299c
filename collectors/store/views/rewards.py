"""Rewards by period: counts per farm, AI3 per wallet and farm, a time series; rollups."""

from __future__ import annotations

from collections import defaultdict

import aiosqlite

from collectors.models.views import (
    FarmRewardRow,
    RewardBucket,
    RewardsReport,
    WalletRewardRow,
)
from collectors.store.views._base import DAY_US, HI_LO, IN_REWARD, WEEK_US, ReadBase
from collectors.store.wallets import WalletStore

# Days younger than this are read live: late log lines, reorgs and farm links still change them.
SETTLE_DAYS = 2

_ROLLUP_SQL = {
    "rewards": (
        "INSERT INTO reward_days (day, farm_id, farmer_id, won, missed)"
        f" SELECT ts_us / ?1, IFNULL(farm_id, ''), IFNULL(farmer_id, -1), SUM({IN_REWARD}),"
        f" SUM(NOT {IN_REWARD}) FROM rewards WHERE ts_us >= ?2 AND ts_us < ?3 GROUP BY 1, 2, 3"
    ),
    "chain": (
        "INSERT INTO chain_reward_days (day, address, farm_id, kind, n, hi, lo)"
        f" SELECT ts_us / ?1, address, IFNULL(farm_id, ''), kind, COUNT(*),{HI_LO}"
        " FROM chain_rewards WHERE ts_us >= ?2 AND ts_us < ?3 AND kind IN ('block', 'vote')"
        " GROUP BY 1, 2, 3, 4"
    ),
    "claims": (
        "INSERT INTO claim_days (day, kind, n) SELECT ts_us / ?1, kind, COUNT(*) FROM events"
        " WHERE kind IN ('claimed_block', 'claimed_vote') AND ts_us >= ?2 AND ts_us < ?3"
        " GROUP BY 1, 2"
    ),
}

# Weekly totals of whole settled weeks, summed from the daily ones (rollup name -> SQL).
_WEEK_SQL = {
    "rewards": (
        "reward_weeks",
        "INSERT INTO reward_weeks (week, farm_id, farmer_id, won, missed)"
        " SELECT day / 7, farm_id, farmer_id, SUM(won), SUM(missed) FROM reward_days"
        " WHERE day >= ?1 * 7 AND day < ?2 * 7 GROUP BY 1, 2, 3",
    ),
    "chain": (
        "chain_reward_weeks",
        "INSERT INTO chain_reward_weeks (week, address, farm_id, kind, n, hi, lo)"
        " SELECT day / 7, address, farm_id, kind, SUM(n), SUM(hi), SUM(lo)"
        " FROM chain_reward_days WHERE day >= ?1 * 7 AND day < ?2 * 7 GROUP BY 1, 2, 3, 4",
    ),
}
WEEK_TABLES = frozenset(table for table, _ in _WEEK_SQL.values())

PERIODS: dict[str, int] = {"24h": DAY_US, "7d": 7 * DAY_US, "30d": 30 * DAY_US, "1y": 365 * DAY_US}


def period_us(name: str) -> int:
    """``24h``/``7d``/``30d``/``1y`` -> microseconds; ValueError names the choices."""
    try:
        return PERIODS[name]
    except KeyError:
        raise ValueError(f"unknown period {name!r}; choose one of {', '.join(PERIODS)}") from None


def _bucket_seconds(span_us: int) -> int:
    if span_us <= 2 * DAY_US:
        return 3600
    if span_us <= 31 * DAY_US:
        return 86_400
    return 7 * 86_400


class RewardReads(ReadBase):
    async def report(
        self,
        now_us: int,
        span_us: int,
        *,
        farmer: str | None = None,
        wallet: str | None = None,
    ) -> RewardsReport:
        """Counts per farm, AI3 per wallet and farm, and a time series, for a period.

        Buckets are aligned (hours, UTC days, weeks); the last one is the current, partial one.
        Settled days come from the daily totals (:meth:`refresh_rollups`), the recent rest from
        one pass over each table's time index, so a year costs about what a week does.
        """
        bucket_s = _bucket_seconds(span_us)
        bucket_us = bucket_s * 1_000_000
        n_buckets = max(1, span_us // bucket_us)
        start = (now_us // bucket_us - (n_buckets - 1)) * bucket_us
        split = start
        if start % DAY_US == 0:
            rolled = await self.refresh_rollups(now_us)
            if rolled is not None:
                split = max(start, min(rolled, now_us))
        # Weekly buckets start on week boundaries: whole settled weeks come from weekly totals.
        weeks_end = start
        if bucket_us % WEEK_US == 0 and split > start and await self.tables() >= WEEK_TABLES:
            weeks_end = max(start, split // WEEK_US * WEEK_US)
        spans = (start, weeks_end, split, now_us)
        won_by_bucket = [0] * n_buckets
        missed_by_bucket = [0] * n_buckets
        amount_by_bucket = [0] * n_buckets
        farm_rows: list[FarmRewardRow] = []
        farms = {
            r["farm_id"]: r
            for r in await self._rows(
                "SELECT f.farm_id, f.directory, f.farmer_id, fr.name AS farmer FROM farms f"
                " LEFT JOIN farmer fr ON fr.id = f.farmer_id"
            )
        }
        farmer_id = None
        if farmer is not None:
            found = await self._rows("SELECT id FROM farmer WHERE name = ?", (farmer,))
            farmer_id = found[0]["id"] if found else -1
        amounts, wallet_rows, chain_counts = await self._chain_rewards_report(
            spans, bucket_us, wallet=wallet, amount_by_bucket=amount_by_bucket
        )
        if wallet is None:
            per_farm, counts = await self._reward_counts(spans, bucket_us, farmer_id)
            for bucket, won, missed in counts:
                won_by_bucket[bucket] += won
                missed_by_bucket[bucket] += missed
            for fid, (won, missed) in per_farm.items():
                farm = farms.get(fid)
                amount, blocks, votes = amounts.get(fid, [0, 0, 0]) if fid else [0, 0, 0]
                farm_rows.append(
                    FarmRewardRow(
                        farm_id=fid or "(unknown farm)",
                        farmer=farm["farmer"] if farm is not None else None,
                        directory=farm["directory"] if farm is not None else None,
                        blocks=blocks,
                        votes=votes,
                        rewards=won,
                        missed=missed,
                        amount=amount,
                    )
                )
            farm_rows.sort(key=lambda f: (-f.rewards, f.farm_id))
        else:
            # A wallet's view: its chain rewards are the series.
            won_by_bucket = chain_counts
        claims: dict[str, int] = defaultdict(int)
        if split > start:
            for r in await self._rows(
                "SELECT kind, SUM(n) AS n FROM claim_days WHERE day >= ? AND day < ? GROUP BY kind",
                (start // DAY_US, split // DAY_US),
            ):
                claims[r["kind"]] += int(r["n"])
        for r in await self._rows(
            "SELECT kind, COUNT(*) AS n FROM events WHERE kind IN ('claimed_block',"
            " 'claimed_vote') AND ts_us >= ? AND ts_us < ? GROUP BY kind",
            (split, now_us),
        ):
            claims[r["kind"]] += int(r["n"])
        series = tuple(
            RewardBucket(
                start + i * bucket_us, won_by_bucket[i], missed_by_bucket[i], amount_by_bucket[i]
            )
            for i in range(n_buckets)
        )
        return RewardsReport(
            since_us=start,
            until_us=now_us,
            farms=tuple(farm_rows),
            wallets=tuple(wallet_rows),
            buckets=series,
            bucket_seconds=bucket_s,
            blocks=claims["claimed_block"] if wallet is None else 0,
            votes=claims["claimed_vote"] if wallet is None else 0,
        )

    async def settled_spans(self, start_us: int, now_us: int) -> tuple[int, int]:
        """(end of whole settled weeks, end of settled days) from ``start_us`` (a week start),
        after bringing the rollups up to date; both ``start_us`` where there are none."""
        split = start_us
        rolled = await self.refresh_rollups(now_us)
        if rolled is not None:
            split = max(start_us, min(rolled, now_us))
        weeks_end = start_us
        if split > start_us and await self.tables() >= WEEK_TABLES:
            weeks_end = max(start_us, split // WEEK_US * WEEK_US)
        return weeks_end, split

    async def span_totals(
        self, spans: tuple[int, int, int, int]
    ) -> tuple[dict[str | None, list[int]], dict[str, list[int]]]:
        """Per farm [won, missed] and [AI3, blocks, votes] over ``spans`` (start, weeks end,
        days end, until): weekly totals, daily totals, then rows."""
        whole = spans[3] - spans[0] + 1  # one bucket
        counts, _ = await self._reward_counts(spans, whole, None, series_too=False)
        amounts, _, _ = await self._chain_rewards_report(
            spans, whole, wallet=None, amount_by_bucket=[0], series_too=False
        )
        return counts, amounts

    async def rollup_version(self) -> tuple[object, ...]:
        """Changes whenever the daily or weekly totals are summed again or cleared (a wipe)."""
        state = await self._rows(
            "SELECT key, value, updated_us FROM bot_state WHERE key LIKE 'rollup:%' ORDER BY key"
        )
        tables = await self.tables()
        # A wipe empties the tables and deletes the state: the rebuilt ones have fewer rows.
        counts = [
            (await self._rows(f"SELECT COUNT(*) AS n FROM {t}"))[0]["n"]
            for t in ("reward_days", "chain_reward_days", *sorted(WEEK_TABLES))
            if t in tables
        ]
        return (tuple(tuple(r) for r in state), tuple(counts))

    async def refresh_rollups(self, now_us: int) -> int | None:
        """Bring the daily totals up to the last settled day; returns where they end (us).

        Days older than ``SETTLE_DAYS`` are summed once. A row stored later for such a day (a
        backfill of old logs, a wallet's scan back) is noticed by its id and its day summed
        again. None when the tables are missing (an older database): reports read live.
        """
        tables = await self.tables()
        if not {"reward_days", "chain_reward_days", "claim_days"} <= tables:
            return None
        until_day = now_us // DAY_US - SETTLE_DAYS
        if await self._rollups_current(until_day):
            return until_day * DAY_US
        async with self._db.transaction() as conn:

            async def value(sql: str, *params: object) -> int | None:
                async with conn.execute(sql, params) as cur:
                    row = await cur.fetchone()
                return None if row is None or row[0] is None else int(row[0])

            async def state(key: str) -> int | None:
                return await value("SELECT value FROM bot_state WHERE key = ?", f"rollup:{key}")

            rolled_day = await state("day")
            sources = (
                ("rewards", "reward_days", "rewards"),
                ("chain", "chain_reward_days", "chain_rewards"),
                ("claims", "claim_days", "events"),
            )
            for name, rollup, source in sources:
                last_id = await state(f"{name}_id")
                days: set[int] = set()
                if last_id is not None and rolled_day is not None:
                    async with conn.execute(
                        f"SELECT DISTINCT ts_us / ? FROM {source} WHERE id > ? AND +ts_us < ?",
                        (DAY_US, last_id, rolled_day * DAY_US),
                    ) as cur:
                        days = {int(r[0]) for r in await cur.fetchall()}
                ranges = [(d, d + 1) for d in sorted(days)]
                if rolled_day is None or rolled_day < until_day:
                    ranges.append((rolled_day if rolled_day is not None else 0, until_day))
                for first, end in ranges:
                    await conn.execute(
                        f"DELETE FROM {rollup} WHERE day >= ? AND day < ?", (first, end)
                    )
                    await conn.execute(_ROLLUP_SQL[name], (DAY_US, first * DAY_US, end * DAY_US))
                if name in _WEEK_SQL and _WEEK_SQL[name][0] in tables:
                    await _refresh_weeks(conn, name, ranges, max(until_day, rolled_day or 0))
                max_id = await value(f"SELECT MAX(id) FROM {source}")
                await _set_state(conn, f"rollup:{name}_id", max_id or 0, now_us)
            await _set_state(conn, "rollup:day", max(until_day, rolled_day or 0), now_us)
        return max(until_day, rolled_day or 0) * DAY_US

    async def _reward_counts(
        self,
        spans: tuple[int, int, int, int],
        bucket_us: int,
        farmer_id: int | None,
        *,
        series_too: bool = True,
    ) -> tuple[dict[str | None, list[int]], list[tuple[int, int, int]]]:
        """Won and missed per farm, and per bucket: weekly totals, daily totals, then rows.

        ``spans`` is (start, weeks end, days end = split, until).

        Totals and series are separate GROUP BYs so that only ~farms + buckets rows come back.
        """
        owner = (
            " AND (:farmer IS NULL OR COALESCE((SELECT f.farmer_id FROM farms f"
            " WHERE f.farm_id = {t}.farm_id), {owner}) = :farmer)"
        )
        start, weeks_end, split, _ = spans
        params = {**_span_params(spans, bucket_us), "farmer": farmer_id}
        hint = await self._hint("rewards", "rewards_ts_cover")
        weeks_where = " WHERE week >= :first_week AND week < :weeks_end" + owner.format(
            t="reward_weeks", owner="NULLIF(reward_weeks.farmer_id, -1)"
        )
        rolled_where = " WHERE day >= :first_day AND day < :split_day" + owner.format(
            t="reward_days", owner="NULLIF(reward_days.farmer_id, -1)"
        )
        live_where = " WHERE ts_us >= :split AND ts_us < :until" + owner.format(
            t="rewards", owner="rewards.farmer_id"
        )
        live_sums = f"SUM({IN_REWARD}) AS won, SUM(NOT {IN_REWARD}) AS missed"
        per_farm: dict[str | None, list[int]] = {}
        series: list[tuple[int, int, int]] = []
        queries = [
            (
                "SELECT NULLIF(farm_id, '') AS k, SUM(won) AS won, SUM(missed) AS missed"
                f" FROM reward_weeks{weeks_where} GROUP BY 1",
                "SELECT (week * :week - :start) / :bucket AS k, SUM(won) AS won,"
                f" SUM(missed) AS missed FROM reward_weeks{weeks_where} GROUP BY 1",
            )
            if weeks_end > start
            else (None, None),
            (
                "SELECT NULLIF(farm_id, '') AS k, SUM(won) AS won, SUM(missed) AS missed"
                f" FROM reward_days{rolled_where} GROUP BY 1",
                "SELECT (day * :day - :start) / :bucket AS k, SUM(won) AS won,"
                f" SUM(missed) AS missed FROM reward_days{rolled_where} GROUP BY 1",
            )
            if split > weeks_end
            else (None, None),
            (
                f"SELECT farm_id AS k, {live_sums} FROM rewards{hint}{live_where} GROUP BY 1",
                f"SELECT (ts_us - :start) / :bucket AS k, {live_sums} FROM rewards{hint}"
                f"{live_where} GROUP BY 1",
            ),
        ]
        for totals_sql, series_sql in queries:
            if totals_sql is None or series_sql is None:
                continue
            for r in await self._rows(totals_sql, params):
                farm = per_farm.setdefault(r["k"], [0, 0])
                farm[0] += int(r["won"])
                farm[1] += int(r["missed"])
            if not series_too:
                continue
            series.extend(
                (int(r["k"]), int(r["won"]), int(r["missed"]))
                for r in await self._rows(series_sql, params)
            )
        return per_farm, series

    async def _rollups_current(self, until_day: int) -> bool:
        """True when no day is missing and no row arrived for a summed day (reads only)."""
        state = {
            r["key"]: int(r["value"])
            for r in await self._rows("SELECT key, value FROM bot_state WHERE key LIKE 'rollup:%'")
        }
        rolled_day = state.get("rollup:day")
        if rolled_day is None or rolled_day < until_day:
            return False
        for name, source in (
            ("rewards", "rewards"),
            ("chain", "chain_rewards"),
            ("claims", "events"),
        ):
            last_id = state.get(f"rollup:{name}_id")
            if last_id is None:
                return False
            late = await self._rows(
                # "+ts_us": read the new rows by id, not the whole time index.
                f"SELECT 1 FROM {source} WHERE id > ? AND +ts_us < ? LIMIT 1",
                (last_id, rolled_day * DAY_US),
            )
            if late:
                return False
        return True

    async def _chain_rewards_report(
        self,
        spans: tuple[int, int, int, int],
        bucket_us: int,
        *,
        wallet: str | None,
        amount_by_bucket: list[int],
        series_too: bool = True,
    ) -> tuple[dict[str, list[int]], list[WalletRewardRow], list[int]]:
        """Per farm [AI3, blocks, votes], per wallet AI3, and counts per bucket.

        Amounts are decimal TEXT (too large for SQLite integers); summing the part above and
        the last 9 digits separately keeps each sum exact without loading every row.
        """
        counts = [0] * len(amount_by_bucket)
        if "chain_rewards" not in await self.tables():
            return {}, [], counts
        labels = {w.address: w.label for w in await WalletStore(self._db).wallets()}
        address = None
        if wallet is not None:
            address = next((a for a, label in labels.items() if wallet in (label, a)), wallet)
        start, weeks_end, split, _ = spans
        params = {**_span_params(spans, bucket_us), "address": address}
        hint = await self._hint("chain_rewards", "chain_rewards_ts_cover")
        weeks = (
            " FROM chain_reward_weeks WHERE week >= :first_week AND week < :weeks_end"
            " AND (:address IS NULL OR address = :address)"
        )
        rolled = (
            " FROM chain_reward_days WHERE day >= :first_day AND day < :split_day"
            " AND (:address IS NULL OR address = :address)"
        )
        live = (
            f" FROM chain_rewards{hint} WHERE ts_us >= :split AND ts_us < :until"
            " AND kind IN ('block', 'vote') AND (:address IS NULL OR address = :address)"
        )
        rolled_sums = ", SUM(n) AS n, SUM(hi) AS hi, SUM(lo) AS lo"
        live_sums = f", COUNT(*) AS n,{HI_LO}"
        # Totals per (wallet, farm, kind) and the series per bucket: few rows either way.
        totals = "SELECT address, NULLIF(farm_id, '') AS farm_id, kind"
        by_kind = " GROUP BY 1, 2, 3"
        by_bucket = " GROUP BY 1"
        queries = []
        if weeks_end > start:
            queries += [
                (f"{totals}{rolled_sums}{weeks}{by_kind}", False),
                (
                    f"SELECT (week * :week - :start) / :bucket AS k{rolled_sums}{weeks}{by_bucket}",
                    True,
                ),
            ]
        if split > weeks_end:
            queries += [
                (f"{totals}{rolled_sums}{rolled}{by_kind}", False),
                (
                    f"SELECT (day * :day - :start) / :bucket AS k{rolled_sums}{rolled}{by_bucket}",
                    True,
                ),
            ]
        queries += [
            (f"{totals}{live_sums}{live}{by_kind}", False),
            (f"SELECT (ts_us - :start) / :bucket AS k{live_sums}{live}{by_bucket}", True),
        ]
        per_farm: dict[str, list[int]] = {}
        per_wallet: dict[str, list[int]] = {}
        for sql, is_series in queries:
            if is_series and not series_too:
                continue
            for r in await self._rows(sql, params):
                amount = int(r["hi"]) * 10**9 + int(r["lo"])
                n = int(r["n"])
                if is_series:
                    amount_by_bucket[int(r["k"])] += amount
                    counts[int(r["k"])] += n
                    continue
                if r["farm_id"]:
                    farm = per_farm.setdefault(r["farm_id"], [0, 0, 0])
                    farm[0] += amount
                    farm[1 if r["kind"] == "block" else 2] += n
                wallet_totals = per_wallet.setdefault(r["address"], [0, 0])
                wallet_totals[0] += n
                wallet_totals[1] += amount
        wallets = [
            WalletRewardRow(labels.get(a, a), a, count, amount)
            for a, (count, amount) in per_wallet.items()
        ]
        wallets.sort(key=lambda w: (-w.amount, w.label))
        return per_farm, wallets, counts


async def _refresh_weeks(
    conn: aiosqlite.Connection, name: str, day_ranges: list[tuple[int, int]], rolled_day: int
) -> None:
    """Sum again the weeks the re-summed ``day_ranges`` touch, when all their days are settled."""
    table, insert = _WEEK_SQL[name]
    whole_weeks = rolled_day // 7
    for first, end in day_ranges:
        first_week, end_week = first // 7, min(-(-end // 7), whole_weeks)
        if end_week > first_week:
            await conn.execute(
                f"DELETE FROM {table} WHERE week >= ? AND week < ?", (first_week, end_week)
            )
            await conn.execute(insert, (first_week, end_week))


async def _set_state(conn: aiosqlite.Connection, key: str, value: int, now_us: int) -> None:
    await conn.execute(
        "INSERT INTO bot_state (key, value, updated_us) VALUES (?, ?, ?) ON CONFLICT(key)"
        " DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us",
        (key, str(value), now_us),
    )


def _span_params(spans: tuple[int, int, int, int], bucket_us: int) -> dict[str, int]:
    """Query parameters of a report's spans: whole weeks, then settled days, then live rows."""
    start, weeks_end, split, until = spans
    return {
        "day": DAY_US,
        "week": WEEK_US,
        "start": start,
        "split": split,
        "until": until,
        "bucket": bucket_us,
        "first_week": start // WEEK_US,
        "weeks_end": weeks_end // WEEK_US,
        "first_day": weeks_end // DAY_US,
        "split_day": split // DAY_US,
    }
