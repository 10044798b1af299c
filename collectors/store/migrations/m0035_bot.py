"""Bot state: the dashboard messages, the command-sync hash, and what each delivery produced.

Also covering indexes for the page reads (/rewards over a period): a time range is then read
from the index alone, without a table lookup per row.
"""

SQL = """
CREATE TABLE bot_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_us  INTEGER NOT NULL
);

-- One row per delivered outbox item: where it went and the Discord message id it became.
CREATE TABLE outbox_delivery (
    outbox_id     INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    message_id    TEXT,
    delivered_us  INTEGER NOT NULL
);

CREATE INDEX rewards_ts_cover ON rewards(ts_us, farm_id, outcome, farmer_id);

-- Daily totals of settled days (a cache: rebuilt from the source tables, cleared by a wipe).
-- farm_id '' and farmer_id -1 stand for "not known".
CREATE TABLE reward_days (
    day        INTEGER NOT NULL,
    farm_id    TEXT NOT NULL,
    farmer_id  INTEGER NOT NULL,
    won        INTEGER NOT NULL,
    missed     INTEGER NOT NULL,
    PRIMARY KEY (day, farm_id, farmer_id)
) WITHOUT ROWID;

-- AI3 sums split as hi (amount / 10^9) and lo (amount mod 10^9): exact in SQLite integers.
CREATE TABLE chain_reward_days (
    day      INTEGER NOT NULL,
    address  TEXT NOT NULL,
    farm_id  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    hi       INTEGER NOT NULL,
    lo       INTEGER NOT NULL,
    PRIMARY KEY (day, address, farm_id, kind)
) WITHOUT ROWID;

CREATE TABLE claim_days (
    day   INTEGER NOT NULL,
    kind  TEXT NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (day, kind)
) WITHOUT ROWID;
CREATE INDEX chain_rewards_ts_cover ON chain_rewards(ts_us, kind, address, farm_id, amount)
"""
