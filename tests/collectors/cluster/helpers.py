"""The farming-cluster fixture: one controller, one cache, two plotters, two cluster farmers."""

from __future__ import annotations

import json
from pathlib import Path

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
