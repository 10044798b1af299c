"""Weekly totals of settled weeks, summed from the daily ones.

A year of /rewards has weekly buckets aligned to 7-day multiples of the epoch, so whole weeks
are read from these (about a seventh of the daily rows) and only the edge days from the daily
tables. A cache like the daily tables: rebuilt on the next read, cleared by a wipe.
"""

SQL = """
CREATE TABLE reward_weeks (
    week       INTEGER NOT NULL,
    farm_id    TEXT NOT NULL,
    farmer_id  INTEGER NOT NULL,
    won        INTEGER NOT NULL,
    missed     INTEGER NOT NULL,
    PRIMARY KEY (week, farm_id, farmer_id)
) WITHOUT ROWID;

CREATE TABLE chain_reward_weeks (
    week     INTEGER NOT NULL,
    address  TEXT NOT NULL,
    farm_id  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    hi       INTEGER NOT NULL,
    lo       INTEGER NOT NULL,
    PRIMARY KEY (week, address, farm_id, kind)
) WITHOUT ROWID;

-- Rebuild all totals once so the weeks of days already summed are filled too.
DELETE FROM bot_state WHERE key LIKE 'rollup:%'
"""
