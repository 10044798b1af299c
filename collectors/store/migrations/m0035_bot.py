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
CREATE INDEX chain_rewards_ts_cover ON chain_rewards(ts_us, kind, address, farm_id, amount)
"""
