"""Signed rewards per farm, kept as rewards come and go.

The farm summary printed after every ``cosmos ingest`` counted them from the rewards table
(132-525 ms with 209k rewards, on every restart); this table answers at once. The log store
adds each batch's new rows in one statement (the only writer of rewards; a trigger per row
doubled the cost of writing a batch); triggers take off deleted (wipes, cascades) and changed
rows.
"""

SQL = """
CREATE TABLE farm_reward_counts (
    farm_id  TEXT PRIMARY KEY,
    signed   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO farm_reward_counts (farm_id, signed)
SELECT farm_id, count(*) FROM rewards
WHERE outcome = 'signed' AND farm_id IS NOT NULL GROUP BY farm_id;

CREATE TRIGGER rewards_count_delete AFTER DELETE ON rewards
WHEN OLD.outcome = 'signed' AND OLD.farm_id IS NOT NULL
BEGIN
    UPDATE farm_reward_counts SET signed = signed - 1 WHERE farm_id = OLD.farm_id;
END;

CREATE TRIGGER rewards_count_update AFTER UPDATE OF outcome, farm_id ON rewards
BEGIN
    UPDATE farm_reward_counts SET signed = signed - 1
    WHERE OLD.outcome = 'signed' AND farm_id = OLD.farm_id;
    INSERT INTO farm_reward_counts (farm_id, signed)
    SELECT NEW.farm_id, 1 WHERE NEW.outcome = 'signed' AND NEW.farm_id IS NOT NULL
    ON CONFLICT (farm_id) DO UPDATE SET signed = signed + 1;
END
"""
