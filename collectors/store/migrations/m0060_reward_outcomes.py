"""Rewards: the missed-reward outcomes of today's upstream (UPSTREAM.md).

``prove_failed`` (the farmer could not prove a sector: the disk is suspect), ``vote_failed`` and
``reward_signature_invalid`` (the node lost a vote / rejected the farmer's signature). SQLite
cannot change a CHECK, so the table is rebuilt with the same ids. Dropping the old table sets
``chain_rewards.reward_log_id`` to NULL (its ON DELETE action): the links are kept aside first
and put back after.
"""

SQL = """
CREATE TEMP TABLE m0060_links AS
    SELECT id, reward_log_id FROM chain_rewards WHERE reward_log_id IS NOT NULL;

CREATE TABLE rewards_m0060 (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES log_sources(id) ON DELETE CASCADE,
    farmer_id    INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    farm_id      TEXT,
    farm_index   INTEGER,
    ts_us        INTEGER NOT NULL,
    outcome      TEXT NOT NULL
        CHECK (outcome IN ('signed', 'solution_failed', 'proving_skipped', 'signature_failed',
                           'prove_failed', 'vote_failed', 'reward_signature_invalid')),
    reward_hash  TEXT,
    reward_key   INTEGER,
    slot         INTEGER,
    sector_index INTEGER,
    detail       TEXT,
    line_hash    INTEGER NOT NULL,
    UNIQUE (source_id, ts_us, line_hash)
);
INSERT INTO rewards_m0060 (id, source_id, farmer_id, farm_id, farm_index, ts_us, outcome,
                           reward_hash, reward_key, slot, sector_index, detail, line_hash)
    SELECT id, source_id, farmer_id, farm_id, farm_index, ts_us, outcome,
           reward_hash, reward_key, slot, sector_index, detail, line_hash FROM rewards;
DROP TABLE rewards;
ALTER TABLE rewards_m0060 RENAME TO rewards;
CREATE UNIQUE INDEX rewards_key ON rewards(reward_key) WHERE outcome = 'signed';
CREATE INDEX rewards_farm_ts ON rewards(farm_id, ts_us);
CREATE INDEX rewards_ts ON rewards(ts_us);
CREATE INDEX rewards_ts_cover ON rewards(ts_us, farm_id, outcome, farmer_id);

UPDATE chain_rewards SET reward_log_id =
    (SELECT l.reward_log_id FROM m0060_links l WHERE l.id = chain_rewards.id)
WHERE id IN (SELECT id FROM m0060_links);
DROP TABLE m0060_links
"""
