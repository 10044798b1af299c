"""Signed wins the chain never credited: a "Successfully signed reward hash" log line announced
live, for a farmer whose wallet is watched, with no block or vote reward near its time once the
chain was read past it. Counted per farm (/farm); a late credit removes the row.
"""

SQL = """
CREATE TABLE uncredited_wins (
    reward_id   INTEGER PRIMARY KEY REFERENCES rewards(id) ON DELETE CASCADE,
    farm_id     TEXT,
    ts_us       INTEGER NOT NULL,
    decided_us  INTEGER NOT NULL
);
CREATE INDEX uncredited_wins_farm ON uncredited_wins(farm_id)
"""
