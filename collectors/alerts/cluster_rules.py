"""Farming-cluster alert rules: a plotter that stopped answering, and farms or caches the
controller dropped. Pure, like every rule: inputs in, one condition per subject out.

A cluster component gone silent or its endpoint down is told by the general ``logs_silent`` and
``endpoint_down`` rules (their roles include the cluster's).
"""

from __future__ import annotations

from collectors.format import duration, short_id
from collectors.models.alerts import AlertInputs, Condition, Rule
from collectors.models.notify import Severity
from collectors.settings import AlertsSettings

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US


def _farm(farm_id: str, farmer: str) -> str:
    return f"{short_id(farm_id)} ({farmer})" if farmer else short_id(farm_id)


def plotter_timeout(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """``Timed out without ping from plotter`` on a farm: its sector goes back to the queue.

    Active while a timeout is within the window and the farm has not plotted since.
    """
    window = settings.plotter_timeout_window_minutes * MINUTE_US
    out: list[Condition] = []
    for t in inputs.cluster.plotter_timeouts:
        ago = inputs.now_us - t.last_us
        sector = f" (sector {t.sector_index})" if t.sector_index is not None else ""
        out.append(
            Condition(
                Rule.PLOTTER_TIMEOUT,
                t.farm_id,
                ago <= window and not t.progressed_after,
                Severity.WARNING,
                f"A plotter stopped answering farm {_farm(t.farm_id, t.farmer)}",
                f"{t.count}× 'Timed out without ping from plotter' in the last"
                f" {duration(window)}, the last {duration(ago)} ago{sector}. The farm retries the"
                " sector; if this repeats, a plotter has stopped or hangs, or NATS drops"
                " messages (check the plotters' logs and the NATS server).",
            )
        )
    return out


def cluster_farm_expired(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """``Farm expired, notify for cleanup``: the controller stopped farming it (its farmer no
    longer identifies itself). Resolved when the controller initializes the farm again."""
    lookback = settings.cluster_expired_lookback_hours * HOUR_US
    out: list[Condition] = []
    for farm in inputs.cluster.controller_farms:
        if farm.expired and inputs.now_us - farm.since_us > lookback:
            continue  # long gone: a farm retired, not news
        out.append(
            Condition(
                Rule.CLUSTER_FARM_EXPIRED,
                farm.farm_id,
                farm.expired,
                Severity.ERROR,
                f"Farm {_farm(farm.farm_id, farm.farmer)} expired at the cluster controller",
                f"The controller ({farm.controller}) dropped the farm"
                f" {duration(inputs.now_us - farm.since_us)} ago: its cluster farmer stopped"
                " answering over NATS, so the farm earns nothing. Check that cluster farmer.",
            )
        )
    return out


def cluster_cache_expired(inputs: AlertInputs, settings: AlertsSettings) -> list[Condition]:
    """``Cache expired and removed``: a cluster cache stopped answering the controller.

    Resolved once the controller discovers a cache again (a restarted cache has a new id).
    """
    lookback = settings.cluster_expired_lookback_hours * HOUR_US
    out: list[Condition] = []
    for c in inputs.cluster.controller_caches:
        if c.last_expired_us is None:
            continue
        returned = c.last_discovered_us is not None and c.last_discovered_us > c.last_expired_us
        if not returned and inputs.now_us - c.last_expired_us > lookback:
            continue
        caches = ", ".join(short_id(i) for i in c.expired_ids) or "a cache"
        out.append(
            Condition(
                Rule.CLUSTER_CACHE_EXPIRED,
                c.controller,
                not returned,
                Severity.WARNING,
                f"A cluster cache expired at the controller ({c.controller})",
                f"Cache {caches} stopped answering {duration(inputs.now_us - c.last_expired_us)}"
                " ago; the controller rebuilds its piece cache without it, and plotting fetches"
                " pieces from the network meanwhile. Check the cache component.",
            )
        )
    return out
