"""The farming cluster: controller, cache and plotter log sources and metrics targets.

``log_sources.role`` and ``metrics_targets.kind`` get the cluster roles. SQLite cannot alter a
CHECK constraint, and rebuilding ``log_sources`` would cascade-delete every event that points
at it (foreign keys are on), so the constraint text is edited in place: the procedure SQLite's
documentation gives for changes that leave the stored rows valid ("ALTER TABLE", section 7).
``writable_schema=RESET`` makes this connection read the new schema at once.

``cluster_metrics`` holds the latest figures of each cluster component's endpoint.
"""

SQL = """
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (role IN (''farmer'', ''node''))',
                  'CHECK (role IN (''farmer'', ''node'', ''controller'', ''cache'', ''plotter''))')
WHERE type = 'table' AND name = 'log_sources';
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (kind IN (''farmer'', ''node''))',
                  'CHECK (kind IN (''farmer'', ''node'', ''controller'', ''cache'', ''plotter''))')
WHERE type = 'table' AND name = 'metrics_targets';
PRAGMA writable_schema = RESET;

ALTER TABLE log_sources ADD COLUMN host TEXT;
ALTER TABLE log_sources ADD COLUMN cluster TEXT;
ALTER TABLE metrics_targets ADD COLUMN cluster TEXT;

CREATE TABLE cluster_metrics (
    target_key             TEXT PRIMARY KEY REFERENCES metrics_targets(target_key)
                                ON DELETE CASCADE,
    ts_us                  INTEGER NOT NULL,
    -- plotters: sectors in flight / the most at once, plotted and failed since start
    plotting_capacity_used  REAL,
    plotting_capacity_total REAL,
    sectors_plotted         REAL,
    sectors_plotting_errors REAL,
    sector_plotting_mean_s  REAL,
    -- caches: pieces held / the most (all the endpoint's piece caches added up)
    cache_capacity_used     REAL,
    cache_capacity_total    REAL,
    -- controllers: the farmer cache in front of the cluster's caches
    piece_cache_used        REAL,
    piece_cache_capacity    REAL
)
"""
