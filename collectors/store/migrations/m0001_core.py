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
    -- time of the log line that last set farm_index (older lines replayed later do not win)
    log_seen_us      INTEGER,
    first_seen_us    INTEGER NOT NULL,
    last_seen_us     INTEGER NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    removed_us       INTEGER
);
CREATE INDEX farms_farmer ON farms(farmer_id);

CREATE TABLE log_sources (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('farmer', 'node')),
    farmer_id    INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    -- Resume point after the last stored line (opaque to the store: the source's token).
    position     TEXT,
    -- Parser state that must survive a restart: the farmer run the last line belongs to (the
    -- time of its start line), the farm block being read (``Farm N:``), the last line's time.
    run_start_us INTEGER,
    header_index INTEGER,
    last_ts_us   INTEGER,
    lines_total  INTEGER NOT NULL DEFAULT 0,
    cache_percent REAL,
    cache_ts_us  INTEGER,
    updated_us   INTEGER NOT NULL
);

-- farm_index -> farm_id for each farmer run of a source; rebuilt at every ``Farm N:`` block.
CREATE TABLE farm_index_map (
    source_id    INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    run_start_us INTEGER NOT NULL,
    farm_index   INTEGER NOT NULL,
    farm_id      TEXT NOT NULL,
    seen_us      INTEGER NOT NULL,
    PRIMARY KEY (source_id, run_start_us, farm_index)
);

-- Tracked log events (plotting progress is not here: see plots). ``data`` is the event as JSON.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    ts_us      INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    farm_id    TEXT,
    farm_index INTEGER,
    line_hash  INTEGER NOT NULL,
    data       TEXT,
    UNIQUE (source_id, ts_us, line_hash)
);
CREATE INDEX events_kind_ts ON events(kind, ts_us);
CREATE INDEX events_farm_ts ON events(farm_id, ts_us);

-- One row per signed reward hash and per missed reward (failed solution, proving skipped,
-- failed signature).
CREATE TABLE rewards (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    farmer_id    INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    farm_id      TEXT,
    farm_index   INTEGER,
    ts_us        INTEGER NOT NULL,
    outcome      TEXT NOT NULL
        CHECK (outcome IN ('signed', 'solution_failed', 'proving_skipped', 'signature_failed')),
    reward_hash  TEXT,
    -- A 64-bit digest of reward_hash: a small key for the uniqueness below.
    reward_key   INTEGER,
    slot         INTEGER,
    sector_index INTEGER,
    detail       TEXT,
    line_hash    INTEGER NOT NULL,
    UNIQUE (source_id, ts_us, line_hash)
);
-- The same reward read from two sources (a file and the container) counts once.
CREATE UNIQUE INDEX rewards_key ON rewards(reward_key) WHERE outcome = 'signed';
CREATE INDEX rewards_farm_ts ON rewards(farm_id, ts_us);
CREATE INDEX rewards_ts ON rewards(ts_us);

-- The current plotting state of each farm: the latest progress line, or its completion.
CREATE TABLE plots (
    farm_id      TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('plotting', 'replotting')),
    percent      REAL NOT NULL,
    sector_index INTEGER,
    ts_us        INTEGER NOT NULL,
    complete_us  INTEGER
);

-- The latest node state per node log source.
CREATE TABLE node_state (
    source_id       INTEGER PRIMARY KEY REFERENCES log_sources(id) ON DELETE CASCADE,
    ts_us           INTEGER,
    state           TEXT,
    peers           INTEGER,
    best            INTEGER,
    finalized       INTEGER,
    target          INTEGER,
    bps             REAL,
    imported_number INTEGER,
    imported_hash   TEXT,
    imported_us     INTEGER,
    version         TEXT,
    version_us      INTEGER
);

-- Lines no parser recognised, counted per source and day, with one example.
CREATE TABLE unmatched_lines (
    source_id  INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    count      INTEGER NOT NULL,
    sample     TEXT,
    PRIMARY KEY (source_id, day)
)
"""
