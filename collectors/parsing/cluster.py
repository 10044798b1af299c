"""Farming-cluster log messages (``subspace-farmer cluster controller|cache|plotter``).

Format strings from ``crates/subspace-farmer/src/cluster/`` (controller/farms.rs,
controller/caches.rs, cache.rs, plotter.rs). A cluster farmer prints the single farmer's
messages, which :mod:`collectors.parsing.logs` already knows. Handlers take the message (leading
symbols removed) and return an event or None, like the ones there; they are looked up by the
message's first word only after the farmer and node handlers found nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from collectors.models.events import (
    ClusterCacheDiscovered,
    ClusterCacheExpired,
    ClusterFarmExpired,
    ClusterFarmInitFailed,
    ClusterFarmInitialized,
    Event,
    PieceCacheCreated,
    PlotSectorFinished,
    PlotSectorRequest,
)

__all__ = ["CLUSTER_BY_FIRST_WORD", "PLOTTER_TIMEOUT_TEXT", "with_span_key"]

#: The error a cluster farmer's plotting gets when its plotter stops pinging (plotter.rs).
PLOTTER_TIMEOUT_TEXT = "Timed out without ping from plotter"

_FIELD_KEY = re.compile(r"(?:^| )([A-Za-z_][\w.]*)=")
_FARM_INITIALIZED = re.compile(r"Farm initialized successfully(?: |$)")
_FARM_EXPIRED = re.compile(r"Farm expired, notify for cleanup(?: |$)")
_FARM_INIT_FAILED = re.compile(r"Failed to initialize farm(?: |$)")
_CACHE_DISCOVERED = re.compile(r"New cache discovered, scheduling reinitialization(?: |$)")
_CACHE_EXPIRED = re.compile(r"Cache expired and removed, scheduling reinitialization(?: |$)")
_PIECE_CACHE_CREATED = re.compile(r"Created piece cache(?: |$)")
_PLOT_REQUEST = re.compile(r"Plot sector request\s*$")
_PLOT_FINISHED = re.compile(r"Finished plotting sector successfully\s*$")
_SPAN_PUBLIC_KEY = re.compile(r"public_key=(?:0x)?([0-9a-fA-F]{64})\b")


def _fields(text: str) -> dict[str, str]:
    """``k=v`` fields after the message; an ``error=`` value runs to the end of the line."""
    matches = list(_FIELD_KEY.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = match.group(1)
        if key == "error" or i + 1 == len(matches):
            fields[key] = text[match.end() :].rstrip()
            break
        fields[key] = text[match.end() : matches[i + 1].start()]
    return fields


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def _farm(body: str) -> Event | None:
    initialized = _FARM_INITIALIZED.match(body)
    if initialized is None and _FARM_EXPIRED.match(body) is None:
        return None
    fields = _fields(body)
    farm_id = fields.get("farm_id")
    if not farm_id:
        return None
    if initialized is not None:
        return ClusterFarmInitialized(
            fields.get("farmer_id"), _int(fields.get("farm_index")), farm_id
        )
    return ClusterFarmExpired(fields.get("farmer_id"), _int(fields.get("farm_index")), farm_id)


def _failed(body: str) -> Event | None:
    if _FARM_INIT_FAILED.match(body) is None:
        return None
    fields = _fields(body)
    farm_id = fields.get("farm_id")
    if not farm_id:
        return None
    return ClusterFarmInitFailed(
        fields.get("farmer_id"), _int(fields.get("farm_index")), farm_id, fields.get("error")
    )


def _new(body: str) -> Event | None:
    if _CACHE_DISCOVERED.match(body) is None:
        return None
    cache_id = _fields(body).get("cluster_cache_id")
    return ClusterCacheDiscovered(cache_id) if cache_id else None


def _cache(body: str) -> Event | None:
    if _CACHE_EXPIRED.match(body) is None:
        return None
    cache_id = _fields(body).get("cluster_cache_id")
    return ClusterCacheExpired(cache_id) if cache_id else None


def _created(body: str) -> Event | None:
    if _PIECE_CACHE_CREATED.match(body) is None:
        return None
    fields = _fields(body)
    cache_id = fields.get("piece_cache_id")
    if not cache_id:
        return None
    return PieceCacheCreated(cache_id, _int(fields.get("max_num_elements")))


def _plot(body: str) -> Event | None:
    return PlotSectorRequest() if _PLOT_REQUEST.match(body) else None


def _finished(body: str) -> Event | None:
    return PlotSectorFinished() if _PLOT_FINISHED.match(body) else None


CLUSTER_BY_FIRST_WORD: dict[str, Callable[[str], Event | None]] = {
    "Farm": _farm,
    "Failed": _failed,
    "New": _new,
    "Cache": _cache,
    "Created": _created,
    "Plot": _plot,
    "Finished": _finished,
}


def with_span_key(event: Event, spans: str) -> Event:
    """A plotter line names its farm only in its span (``{public_key=… sector_index=…}:``)."""
    if isinstance(event, PlotSectorRequest | PlotSectorFinished):
        match = _SPAN_PUBLIC_KEY.search(spans)
        if match is not None:
            return type(event)("0x" + match.group(1).lower())
    return event
