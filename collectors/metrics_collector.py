"""Scrape every configured farmer and node ``/metrics`` endpoint into the store.

One supervised loop per target (its own interval), one ``aiohttp.ClientSession`` for all of
them, and an hourly loop that thins old history. A target that fails is recorded as down (once,
with the error and the time it started) and the other targets go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from collectors.clock import Clock
from collectors.models.metrics import (
    FailureKind,
    FarmerSnapshot,
    FarmMetrics,
    FarmState,
    Histogram,
    ProvingOutcome,
    TargetKind,
)
from collectors.parsing.metrics import (
    HIGH_PERCENTILE,
    LineCache,
    MetricsParseError,
    histogram_delta,
    histogram_mean,
    histogram_quantile,
    merge_histograms,
    parse_cluster_metrics,
    parse_farmer_metrics,
    parse_node_metrics,
    plotting_counter,
    plotting_eta_seconds,
    rate_per_hour,
)
from collectors.runner import Supervisor
from collectors.settings import MetricsSettings, MetricsTarget
from collectors.sources.metrics_http import FetchFailure, fetch_metrics
from collectors.store.farmers import Farmer, FarmerStore
from collectors.store.metrics import HOUR_US, HealthChange, MetricsStore, TargetRef

log = logging.getLogger(__name__)

# A rate needs samples at least this far apart (or the whole window when it is shorter):
# a sector takes minutes, so a rate over one scrape interval would swing between 0 and 60/h.
MIN_RATE_SPAN_US = 10 * 60 * 1_000_000
THIN_EVERY_SECONDS = 3600.0
# Bodies larger than this (a farmer with about ten farms or more) are parsed in a worker thread.
OFFLOAD_PARSE_CHARS = 256 * 1024


def public_url(url: str) -> str:
    """The URL without a user name or password, for the database, logs and the dashboard."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def target_key(target: MetricsTarget) -> str:
    return f"{target.kind}:{public_url(target.url)}"


def target_label(target: MetricsTarget) -> str:
    return target.label or f"{target.kind} {urlsplit(public_url(target.url)).netloc}"


@dataclass(slots=True)
class _TargetLoop:
    """What one endpoint's loop keeps between scrapes."""

    config: MetricsTarget
    ref: TargetRef
    interval: float
    farmer_id: int | None = None
    cache: LineCache = field(default_factory=LineCache)
    # Per farm, (ts_us, plotting counter) samples inside the rate window.
    windows: dict[str, deque[tuple[int, float]]] = field(default_factory=dict)
    # Per farm, (ts_us, auditing, proving) histogram readings inside the window (one every
    # twelfth of it), for recent statistics.
    histograms: dict[str, deque[tuple[int, Histogram, Histogram]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScrapeOutcome:
    """What one scrape of one target did (tests and the benchmark read it)."""

    target_key: str
    ok: bool
    failure: FailureKind | None = None
    error: str | None = None
    rows_written: int = 0
    added_farm_ids: tuple[str, ...] = ()
    removed_farm_ids: tuple[str, ...] = ()


def derive_farm_state(
    farm: FarmMetrics,
    *,
    farmer_id: int,
    target_key: str,
    now_us: int,
    window: Sequence[tuple[int, float]],
    min_span_us: int,
    earlier: tuple[Histogram, Histogram] | None = None,
) -> FarmState:
    """Latest farm figures: time statistics from the histograms, rate and ETA from ``window``.

    ``earlier`` is the (auditing, proving) histograms at the start of the recent window; the
    recent statistics cover what was observed since then.
    """
    per_hour = rate_per_hour(window, min_span_us)
    proving = merge_histograms([h for _, h in farm.proving])
    recent_auditing = recent_proving = None
    if earlier is not None:
        recent_auditing = histogram_delta(earlier[0], farm.auditing)
        recent_proving = histogram_delta(earlier[1], proving)
    return FarmState(
        farm_id=farm.farm_id,
        farmer_id=farmer_id,
        target_key=target_key,
        ts_us=now_us,
        active=True,
        sectors_plotted=farm.sectors_plotted,
        sectors_not_plotted=farm.sectors_not_plotted,
        sectors_about_to_expire=farm.sectors_about_to_expire,
        sectors_expired=farm.sectors_expired,
        sectors_plotted_counter=farm.sectors_plotted_counter,
        plot_rate_per_hour=per_hour,
        plotting_eta_seconds=plotting_eta_seconds(farm.sectors_remaining, per_hour),
        auditing_count=farm.auditing.count,
        auditing_mean_s=histogram_mean(farm.auditing),
        auditing_p99_s=histogram_quantile(farm.auditing, HIGH_PERCENTILE),
        proving_mean_s=histogram_mean(proving),
        proving_p99_s=histogram_quantile(proving, HIGH_PERCENTILE),
        proving_success=farm.proving_count(ProvingOutcome.SUCCESS),
        proving_timeout=farm.proving_count(ProvingOutcome.TIMEOUT),
        proving_rejected=farm.proving_count(ProvingOutcome.REJECTED),
        proving_failed=farm.proving_count(ProvingOutcome.FAILED),
        farming_errors=farm.farming_errors,
        skipped_slots=farm.skipped_slots,
        auditing_recent_mean_s=_mean(recent_auditing),
        auditing_recent_p99_s=_p99(recent_auditing),
        proving_recent_mean_s=_mean(recent_proving),
        proving_recent_p99_s=_p99(recent_proving),
        downloading_mean_s=farm.stage_mean_s("downloading"),
        encoding_mean_s=farm.stage_mean_s("encoding"),
        writing_mean_s=farm.stage_mean_s("writing"),
        plotting_mean_s=farm.stage_mean_s("plotting"),
        plotting_errors=farm.plotting_errors,
    )


def _mean(h: Histogram | None) -> float | None:
    return None if h is None else histogram_mean(h)


def _p99(h: Histogram | None) -> float | None:
    return None if h is None else histogram_quantile(h, HIGH_PERCENTILE)


class MetricsCollector:
    """The metrics collector (:class:`collectors.service.Collector`)."""

    name = "metrics"

    def __init__(
        self,
        settings: MetricsSettings,
        store: MetricsStore,
        farmers: FarmerStore,
        primary_farmer: Farmer,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._store = store
        self._farmers = farmers
        self._primary = primary_farmer
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._thinned_until_us = 0
        self._window_us = int(settings.rate_window_minutes * 60 * 1_000_000)
        self._min_span_us = min(MIN_RATE_SPAN_US, self._window_us)
        self.targets: list[_TargetLoop] = []
        seen: set[str] = set()
        for config in settings.targets:
            key = target_key(config)
            if key in seen:
                log.warning("metrics target %s is configured twice; scraping it once", key)
                continue
            seen.add(key)
            self.targets.append(
                _TargetLoop(
                    config=config,
                    ref=TargetRef(
                        key=key,
                        kind=TargetKind(config.kind),
                        label=target_label(config),
                        host=config.host,
                        url=public_url(config.url),
                        cluster=config.cluster_name,
                    ),
                    interval=config.interval_seconds or settings.interval_seconds,
                )
            )

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The shared HTTP session while open (None before ``open`` and after ``close``)."""
        return self._session

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout_seconds),
                headers={"User-Agent": "cosmos-monitor"},
            )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> MetricsCollector:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def run(self) -> None:
        """Scrape every target on its own interval until cancelled; close the session then."""
        supervisor = Supervisor()
        try:
            async with self:
                for loop in self.targets:
                    supervisor.start_loop(
                        f"metrics {loop.ref.label}",
                        self._iteration(loop),
                        interval=loop.interval,
                    )
                supervisor.start_loop(
                    "metrics thinning", self.thin_once, interval=THIN_EVERY_SECONDS
                )
                await asyncio.Event().wait()
        finally:
            await supervisor.stop()

    def _iteration(self, loop: _TargetLoop) -> Callable[[], Awaitable[float | None]]:
        async def iteration() -> float | None:
            await self.scrape(loop)
            return None

        return iteration

    async def scrape_all(self) -> list[ScrapeOutcome]:
        """Scrape every target once, concurrently (one failing never stops the others)."""
        return list(await asyncio.gather(*(self.scrape(loop) for loop in self.targets)))

    async def scrape(self, loop: _TargetLoop) -> ScrapeOutcome:
        """Fetch, parse and store one target; a bad endpoint is recorded, never raised."""
        if self._session is None:
            raise RuntimeError("MetricsCollector.open() first")
        ref = await self._resolve(loop)
        result = await fetch_metrics(self._session, loop.config.url, self._settings.timeout_seconds)
        now_us = self._clock.now_us()
        if isinstance(result, FetchFailure):
            return await self._failed(loop, result.kind, result.message, now_us)
        try:
            if ref.kind is TargetKind.FARMER and len(result.text) > OFFLOAD_PARSE_CHARS:
                # A many-farm body takes ~100 ms to parse when first seen: off the event loop.
                farmer_snapshot = await asyncio.to_thread(
                    parse_farmer_metrics, result.text, loop.cache
                )
            elif ref.kind is TargetKind.FARMER:
                farmer_snapshot = parse_farmer_metrics(result.text, loop.cache)
            elif ref.kind is TargetKind.NODE:
                node_snapshot = parse_node_metrics(result.text, loop.cache)
            else:
                cluster_snapshot = parse_cluster_metrics(result.text, loop.cache)
        except MetricsParseError as exc:
            return await self._failed(loop, FailureKind.NOT_METRICS, str(exc), now_us)

        if ref.kind not in (TargetKind.FARMER, TargetKind.NODE):
            health = await self._store.record_cluster_scrape(ref, cluster_snapshot, now_us)
            self._log_health(loop, health, None)
            return ScrapeOutcome(ref.key, ok=True, rows_written=1)

        if ref.kind is TargetKind.FARMER:
            return await self._store_farmer(loop, farmer_snapshot, now_us)
        health = await self._store.record_node_scrape(ref, node_snapshot, now_us)
        self._log_health(loop, health, None)
        return ScrapeOutcome(ref.key, ok=True, rows_written=3)

    async def _store_farmer(
        self, loop: _TargetLoop, snapshot: FarmerSnapshot, now_us: int
    ) -> ScrapeOutcome:
        assert loop.farmer_id is not None
        await self._seed_windows(loop, snapshot, now_us)
        states = []
        for farm in snapshot.farms:
            start_us = now_us - self._window_us
            window = loop.windows[farm.farm_id]
            window.append((now_us, plotting_counter(farm)))
            while window and window[0][0] < start_us:
                window.popleft()
            history = loop.histograms.setdefault(farm.farm_id, deque())
            while history and history[0][0] < start_us:
                history.popleft()
            earlier = (history[0][1], history[0][2]) if history else None
            # A reading every 1/12 of the window is enough to find the window's start, and keeps
            # a 100-farm farmer's readings to a few MB.
            if not history or now_us - history[-1][0] >= self._window_us // 12:
                history.append(
                    (now_us, farm.auditing, merge_histograms([h for _, h in farm.proving]))
                )
            states.append(
                derive_farm_state(
                    farm,
                    farmer_id=loop.farmer_id,
                    target_key=loop.ref.key,
                    now_us=now_us,
                    window=window,
                    min_span_us=self._min_span_us,
                    earlier=earlier,
                )
            )
        result = await self._store.record_farmer_scrape(
            loop.ref, loop.farmer_id, snapshot, states, now_us
        )
        if snapshot.farms:
            for gone in set(loop.windows) - snapshot.farm_ids:
                del loop.windows[gone]
                loop.histograms.pop(gone, None)
        self._log_health(loop, result.health, None)
        if result.added_farm_ids:
            log.info("%s: farm(s) reported: %s", loop.ref.label, ", ".join(result.added_farm_ids))
        if result.removed_farm_ids:
            log.warning(
                "%s: farm(s) no longer reported, marked inactive: %s",
                loop.ref.label,
                ", ".join(result.removed_farm_ids),
            )
        return ScrapeOutcome(
            loop.ref.key,
            ok=True,
            rows_written=result.rows_written,
            added_farm_ids=result.added_farm_ids,
            removed_farm_ids=result.removed_farm_ids,
        )

    async def _seed_windows(self, loop: _TargetLoop, snapshot: FarmerSnapshot, now_us: int) -> None:
        """Farms new to this loop start their rate window from stored history (restarts)."""
        missing = [farm.farm_id for farm in snapshot.farms if farm.farm_id not in loop.windows]
        if not missing:
            return
        history = await self._store.plotting_counter_history(missing, now_us - self._window_us)
        for farm_id in missing:
            loop.windows[farm_id] = deque(history.get(farm_id, ()))

    async def _failed(
        self, loop: _TargetLoop, kind: FailureKind, message: str, now_us: int
    ) -> ScrapeOutcome:
        health = await self._store.record_failure(loop.ref, kind, message, now_us)
        self._log_health(loop, health, (kind, message))
        return ScrapeOutcome(loop.ref.key, ok=False, failure=kind, error=message)

    def _log_health(
        self, loop: _TargetLoop, health: HealthChange, error: tuple[FailureKind, str] | None
    ) -> None:
        """Log a change once: down, a different kind of failure while down, or back up."""
        ref = loop.ref
        if error is not None:
            kind, message = error
            if health.went_down:
                log.warning("metrics %s (%s) is down: %s: %s", ref.label, ref.url, kind, message)
            elif health.previous_error_kind is not kind:
                log.warning("metrics %s is still down, now %s: %s", ref.label, kind, message)
            else:
                log.debug(
                    "metrics %s still down (%d failures)", ref.label, health.consecutive_failures
                )
        elif health.came_back:
            log.info("metrics %s (%s) is back", ref.label, ref.url)

    async def _resolve(self, loop: _TargetLoop) -> TargetRef:
        """Attach the farmer row (the target's ``farmer``, else the primary) on first use."""
        if loop.farmer_id is None:
            name = loop.config.farmer
            if name is None or name == self._primary.name:
                loop.farmer_id = self._primary.id
            else:
                farmer = await self._farmers.ensure(
                    name, self._clock.now_us(), host=loop.config.host
                )
                loop.farmer_id = farmer.id
            loop.ref = replace(loop.ref, farmer_id=loop.farmer_id)
        return loop.ref

    async def thin_once(self) -> float | None:
        """Thin history older than ``full_detail_hours`` to one snapshot an hour."""
        now_us = self._clock.now_us()
        full_detail_us = int(self._settings.full_detail_hours * HOUR_US)
        deleted = await self._store.thin_snapshots(
            now_us, full_detail_us, from_us=max(0, self._thinned_until_us - HOUR_US)
        )
        self._thinned_until_us = now_us - full_detail_us
        if deleted:
            log.debug("metrics history: thinned %d old snapshots", deleted)
        return None
