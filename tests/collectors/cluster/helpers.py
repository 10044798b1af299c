"""The farming-cluster fixture: one controller, one cache, two plotters, two cluster farmers."""

from __future__ import annotations

import json
from pathlib import Path

from collectors.models.logs import LogLine
from collectors.parsing.decode import DecodedLine, Framing, LineDecoder

CLUSTER_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "logs" / "cluster-2026-06"

# Identities the fixture files use.
FARM_A0 = "01JY2A0000000000000000FRA0"
FARM_A1 = "01JY2A0000000000000000FRA1"
FARM_B0 = "01JY2B0000000000000000FRB0"
PUBLIC_KEY_A0 = "0xa0a0" + "1" * 60
PUBLIC_KEY_B0 = "0xb0b0" + "3" * 60
CACHE_1 = "01JY2C0000000000000000CCH1"
CACHE_2 = "01JY2C0000000000000000CCH2"


def decoded(name: str) -> list[DecodedLine]:
    """A fixture file's lines, decoded as the Docker source decodes json-file entries."""
    decoder = LineDecoder(Framing.JSON_FILE)
    data = (CLUSTER_DIR / f"{name}-json.log").read_bytes()
    return [*decoder.feed(data), *decoder.flush()]


def entries(name: str) -> list[tuple[str, str]]:
    """(Docker ``time``, line without its newline) per entry, for the fake Docker Engine."""
    out = []
    for raw in (CLUSTER_DIR / f"{name}-json.log").read_text().splitlines():
        entry = json.loads(raw)
        out.append((entry["time"], entry["log"].rstrip("\n")))
    return out


FARMER_IMAGE = "ghcr.io/autonomys/farmer:mainnet-2026-jun-14"
_CLUSTER = (
    "/subspace-farmer cluster --nats-server nats://nats:4222 --prometheus-listen-on 0.0.0.0:9081"
)
# Container -> (host, command): how ``docker ps`` shows the six components.
CONTAINERS: dict[str, tuple[str, str]] = {
    "controller": (
        "hub",
        f"{_CLUSTER} controller --base-path /controller --node-rpc-url ws://node:9944",
    ),
    "cache": ("hub", f"{_CLUSTER} cache path=/cache,size=600GiB"),
    "plotter-1": ("hub", f"{_CLUSTER} plotter --cpu-sector-encoding-concurrency 2"),
    "farmer-a": ("hub", f"{_CLUSTER} farmer --reward-address st… path=/farms/a0,size=2T"),
    "plotter-2": ("rig-b", f"{_CLUSTER} plotter"),
    "farmer-b": ("rig-b", f"{_CLUSTER} farmer --reward-address st… path=/mnt/b0,size=4T"),
}


def log_lines(name: str, start: int = 0, stop: int | None = None) -> list[LogLine]:
    """A fixture's lines as a log source hands them over (position: the byte offset after)."""
    return [
        LogLine(line.text, str(line.end_offset), line.received_us)
        for line in decoded(name)[start:stop]
    ]
