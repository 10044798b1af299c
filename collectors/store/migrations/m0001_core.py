"""Core tables: farmers, farms, log events, rewards, plotting progress, log read positions.

Times are UTC unix microseconds in ``*_us`` columns.
"""

SQL = """
CREATE TABLE farmer (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    is_primary  INTEGER NOT NULL DEFAULT 0,
    host        TEXT,
    created_us  INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL
);
CREATE UNIQUE INDEX farmer_one_primary ON farmer(is_primary) WHERE is_primary = 1;

CREATE TABLE farms (
    farm_id          TEXT PRIMARY KEY,
    farmer_id        INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    farm_index       INTEGER,
    public_key       TEXT,
    genesis_hash     TEXT,
    allocated_bytes  INTEGER,
    allocated_text   TEXT,
    directory        TEXT,
    first_seen_us    INTEGER NOT NULL,
    last_seen_us     INTEGER NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    removed_us       INTEGER
);
CREATE INDEX farms_farmer ON farms(farmer_id);

CREATE TABLE log_sources (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('farmer', 'node')),
    farmer_id   INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    -- Resume point: for files the byte offset plus the identity of the file; for Docker the
    -- container id and the timestamp of the last line stored.
    position    TEXT,
    updated_us  INTEGER NOT NULL
);

CREATE TABLE farm_index_map (
    source_id    INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    run_start_us INTEGER NOT NULL,
    farm_index   INTEGER NOT NULL,
    farm_id      TEXT NOT NULL,
    seen_us      INTEGER NOT NULL,
    PRIMARY KEY (source_id, run_start_us, farm_index)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    ts_us      INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    farm_id    TEXT,
    line_hash  INTEGER NOT NULL,
    data       TEXT,
    UNIQUE (source_id, ts_us, line_hash)
);
CREATE INDEX events_kind_ts ON events(kind, ts_us);
CREATE INDEX events_farm_ts ON events(farm_id, ts_us);

CREATE TABLE rewards (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    farmer_id   INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    farm_id     TEXT,
    ts_us       INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    reward_hash TEXT,
    slot        INTEGER,
    detail      TEXT,
    line_hash   INTEGER NOT NULL,
    UNIQUE (source_id, ts_us, line_hash)
);
CREATE UNIQUE INDEX rewards_hash ON rewards(reward_hash) WHERE reward_hash IS NOT NULL;
CREATE INDEX rewards_farm_ts ON rewards(farm_id, ts_us);
CREATE INDEX rewards_ts ON rewards(ts_us);

CREATE TABLE plots (
    farm_id      TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    percent      REAL NOT NULL,
    sector_index INTEGER,
    ts_us        INTEGER NOT NULL,
    complete_us  INTEGER
);

CREATE TABLE unmatched_lines (
    source_id  INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    count      INTEGER NOT NULL,
    sample     TEXT,
    PRIMARY KEY (source_id, day)
)
"""
