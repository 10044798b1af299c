"""A long farmer log built from the lines of a real one (``../shared/samples/farmer.log``, else
the project's ``tests/fixtures/logs/farmer-current.log``): no line shape is made up here.

The mix is a plotting farmer's: 70 % plotting/replotting progress, 16 % signed rewards, 14 %
the sample's other lines (warnings, farm errors, cache sync, network chatter). Each farmer run
starts with one of the sample's start-ups replayed (its farm blocks; the drive order changes
between runs as in the sample). Times advance about a second a line, so a million lines span
about eleven days. Seeded: the same file every time.

Written as plain text or as Docker's json-file driver stores it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO.parent / "shared" / "samples" / "farmer.log"
FIXTURE = REPO / "tests" / "fixtures" / "logs" / "farmer-current.log"

PLOTTING_SHARE = 0.70
REWARD_SHARE = 0.16
REPLOTTING_SHARE = 0.04  # of all lines, within the plotting share
RUN_LINES = 100_000  # a farmer restart every this many lines
START_US = 1_750_406_400_000_000  # 2025-06-20T08:00:00Z

_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_PLOT = re.compile(r"\{sector_index=\d+\}:(.*) (Plotting|Replotting) sector \([\d.]+% complete\)$")
_REWARD = re.compile(r"Successfully signed reward hash 0x[0-9a-f]{64}$")
_RUN_START = "Connecting to node RPC"


@dataclass(frozen=True, slots=True)
class Templates:
    """The sample cut up: its start-ups, one progress and one reward line per farm index, the
    rest. Lines have their timestamp removed (``rest`` is everything after it)."""

    startups: list[list[str]]
    plotting: dict[int, str]  # farm index -> a progress line with @S (sector), @K, @P (percent)
    rewards: dict[int, str]  # farm index -> a reward line with @H (the hash)
    other: list[str]


def source_path() -> Path:
    return SAMPLE if SAMPLE.is_file() else FIXTURE


def load_templates(path: Path | None = None) -> Templates:
    lines = (path or source_path()).read_text(encoding="utf-8").splitlines()
    startups: list[list[str]] = []
    plotting: dict[int, str] = {}
    rewards: dict[int, str] = {}
    other: list[str] = []
    in_startup = False
    for line in lines:
        found = _TS.match(line)
        if found is None:
            continue
        rest = line[found.end() :]
        index_match = re.search(r"\{farm_index=(\d+)\}", rest)
        index = int(index_match.group(1)) if index_match else None
        if _RUN_START in rest:
            startups.append([])
            in_startup = True
        plot = _PLOT.search(rest)
        if plot is not None and index is not None:
            in_startup = False
            head = rest[: plot.start()]
            plotting.setdefault(
                index, f"{head}{{sector_index=@S}}:{plot.group(1)} @K sector (@P% complete)"
            )
            continue
        if _REWARD.search(rest) and index is not None:
            rewards.setdefault(index, _REWARD.sub("Successfully signed reward hash 0x@H", rest))
            continue
        if in_startup and startups:
            startups[-1].append(rest)
        elif "Farm " not in rest or "error" in rest:
            other.append(rest)
    if not startups or not plotting or not rewards:
        raise SystemExit(f"{path}: no farmer start-up, progress or reward lines to build from")
    for index in sorted(plotting.keys() - rewards.keys()):
        rewards[index] = next(iter(rewards.values())).replace(
            f"{{farm_index={next(iter(rewards))}}}", f"{{farm_index={index}}}"
        )
    return Templates(startups, plotting, rewards, other)


def _stamp(us: int) -> str:
    seconds, micros = divmod(us, 1_000_000)
    days, rem = divmod(seconds, 86_400)
    # Days since the epoch to a civil date (proleptic Gregorian, Howard Hinnant's algorithm).
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{micros:06d}Z"


def farmer_lines(
    total: int, seed: int = 1, path: Path | None = None, run_lines: int = RUN_LINES
) -> Iterator[tuple[str, int]]:
    """``total`` lines as (text, microseconds since the epoch), a farmer restart every
    ``run_lines``."""
    rng = random.Random(seed)
    t = load_templates(path)
    indices = sorted(t.plotting)
    sectors = dict.fromkeys(indices, 0)
    us = START_US
    written = run = 0
    while written < total:
        for rest in t.startups[run % len(t.startups)]:
            if written >= total:
                return
            us += rng.randint(20, 400_000)
            yield _stamp(us) + rest, us
            written += 1
        end = min(total, written + run_lines)
        while written < end:
            us += rng.randint(1_000, 2_000_000)
            roll = rng.random()
            index = rng.choice(indices)
            if roll < PLOTTING_SHARE:
                sectors[index] += 1
                kind = "Replotting" if roll < REPLOTTING_SHARE else "Plotting"
                percent = f"{sectors[index] % 10_000 / 100:.2f}"
                rest = (
                    t.plotting[index]
                    .replace("@S", str(sectors[index]))
                    .replace("@K", kind)
                    .replace("@P", percent)
                )
            elif roll < PLOTTING_SHARE + REWARD_SHARE:
                rest = t.rewards[index].replace("@H", f"{rng.getrandbits(256):064x}")
            else:
                rest = rng.choice(t.other)
            yield _stamp(us) + rest, us
            written += 1
        run += 1


def docker_json(text: str, received_us: int, received_ns_extra: int) -> str:
    """One json-file entry as Docker writes it: Go's encoder escapes ``<>&``; the time has
    nanoseconds with trailing zeros trimmed."""
    log = json.dumps(text + "\n", ensure_ascii=False)
    log = log.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    stamp = _stamp(received_us)[:-1] + f"{received_ns_extra:03d}"
    stamp = stamp.rstrip("0").rstrip(".") + "Z"
    return f'{{"log":{log},"stream":"stdout","time":"{stamp}"}}\n'


def write_log(
    path: Path, total: int, *, json_file: bool, seed: int = 1, run_lines: int = RUN_LINES
) -> None:
    rng = random.Random(seed + 1)
    with path.open("w", encoding="utf-8") as out:
        batch: list[str] = []
        for text, us in farmer_lines(total, seed, run_lines=run_lines):
            if json_file:
                received = us + rng.randint(50, 900)
                batch.append(docker_json(text, received, rng.randrange(1000)))
            else:
                batch.append(text + "\n")
            if len(batch) >= 10_000:
                out.writelines(batch)
                batch.clear()
        out.writelines(batch)
