"""Metrics: endpoint health, latest farm/farmer/node state, and thinned history snapshots.

``metrics_targets`` is what the alert rules read to tell a farmer that an endpoint is down;
``metrics_target_transitions`` has one row per down/up change. History tables are keyed
(series, ts_us) WITHOUT ROWID to stay small; counters are stored raw so rates can be computed.
"""

SQL = """
CREATE TABLE metrics_targets (
    target_key           TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('farmer', 'node')),
    label                TEXT NOT NULL,
    host                 TEXT NOT NULL,
    url                  TEXT NOT NULL,
    farmer_id            INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    up                   INTEGER,
    since_us             INTEGER,
    last_error           TEXT,
    last_error_kind      TEXT,
    last_ok_us           INTEGER,
    last_attempt_us      INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE metrics_target_transitions (
    id          INTEGER PRIMARY KEY,
    target_key  TEXT NOT NULL REFERENCES metrics_targets(target_key) ON DELETE CASCADE,
    ts_us       INTEGER NOT NULL,
    up          INTEGER NOT NULL,
    error       TEXT,
    error_kind  TEXT
);
CREATE INDEX metrics_target_transitions_ts ON metrics_target_transitions(ts_us);

CREATE TABLE farm_metrics (
    farm_id                  TEXT PRIMARY KEY,
    farmer_id                INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    target_key               TEXT NOT NULL,
    ts_us                    INTEGER NOT NULL,
    sectors_plotted          INTEGER NOT NULL,
    sectors_not_plotted      INTEGER NOT NULL,
    sectors_about_to_expire  INTEGER NOT NULL,
    sectors_expired          INTEGER NOT NULL,
    sectors_plotted_counter  REAL,
    plot_rate_per_hour       REAL,
    plotting_eta_seconds     REAL,
    auditing_count           REAL NOT NULL,
    auditing_mean_s          REAL,
    auditing_p99_s           REAL,
    proving_mean_s           REAL,
    proving_p99_s            REAL,
    proving_success          REAL NOT NULL,
    proving_timeout          REAL NOT NULL,
    proving_rejected         REAL NOT NULL,
    proving_failed           REAL NOT NULL,
    farming_errors           REAL NOT NULL,
    skipped_slots            REAL NOT NULL
);
CREATE INDEX farm_metrics_target ON farm_metrics(target_key);

CREATE TABLE farmer_metrics (
    target_key             TEXT PRIMARY KEY,
    farmer_id              INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    ts_us                  INTEGER NOT NULL,
    layout                 TEXT NOT NULL,
    farm_count             INTEGER NOT NULL,
    piece_cache_used       REAL,
    piece_cache_capacity   REAL,
    plotter_capacity_used  REAL,
    plotter_capacity_total REAL,
    connections            REAL
);

CREATE TABLE node_metrics (
    target_key     TEXT PRIMARY KEY,
    ts_us          INTEGER NOT NULL,
    best           INTEGER,
    finalized      INTEGER,
    sync_target    INTEGER,
    peers          INTEGER,
    major_syncing  INTEGER,
    version        TEXT,
    node_name      TEXT,
    chain          TEXT
);

CREATE TABLE farm_metric_snapshots (
    farm_id                  TEXT NOT NULL,
    ts_us                    INTEGER NOT NULL,
    sectors_plotted          INTEGER NOT NULL,
    sectors_not_plotted      INTEGER NOT NULL,
    sectors_about_to_expire  INTEGER NOT NULL,
    sectors_expired          INTEGER NOT NULL,
    sectors_plotted_counter  REAL,
    auditing_count           REAL NOT NULL,
    auditing_sum             REAL NOT NULL,
    proving_success          REAL NOT NULL,
    proving_timeout          REAL NOT NULL,
    proving_rejected         REAL NOT NULL,
    proving_failed           REAL NOT NULL,
    farming_errors           REAL NOT NULL,
    skipped_slots            REAL NOT NULL,
    PRIMARY KEY (farm_id, ts_us)
) WITHOUT ROWID;

CREATE TABLE farmer_metric_snapshots (
    target_key            TEXT NOT NULL,
    ts_us                 INTEGER NOT NULL,
    piece_cache_used      REAL,
    piece_cache_capacity  REAL,
    plotter_capacity_used REAL,
    connections           REAL,
    PRIMARY KEY (target_key, ts_us)
) WITHOUT ROWID;

CREATE TABLE node_metric_snapshots (
    target_key     TEXT NOT NULL,
    ts_us          INTEGER NOT NULL,
    best           INTEGER,
    finalized      INTEGER,
    sync_target    INTEGER,
    peers          INTEGER,
    major_syncing  INTEGER,
    PRIMARY KEY (target_key, ts_us)
) WITHOUT ROWID
"""
