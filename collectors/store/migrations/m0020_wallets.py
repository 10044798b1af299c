"""Wallets over RPC: watched wallets, processed blocks, balances, transfers, chain rewards, gaps.

Amounts are exact decimal integers stored as TEXT: 18 decimals overflow SQLite's 64-bit INTEGER
above ~9.2 AI3. Sums are done in Python.
"""

SQL = """
CREATE TABLE wallets (
    address          TEXT PRIMARY KEY,
    label            TEXT NOT NULL,
    farmer_id        INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    added_us         INTEGER NOT NULL,
    start_block      INTEGER,
    scan_back_blocks INTEGER NOT NULL DEFAULT 0,
    scan_back_done   INTEGER NOT NULL DEFAULT 1
);

-- The recent processed blocks (the cursor is the highest); kept a while for reorg walks.
CREATE TABLE chain_blocks (
    number       INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL,
    parent_hash  TEXT NOT NULL,
    ts_us        INTEGER,
    processed_us INTEGER NOT NULL
);

CREATE TABLE wallet_balances (
    id           INTEGER PRIMARY KEY,
    address      TEXT NOT NULL,
    ts_us        INTEGER NOT NULL,
    block_number INTEGER,
    free         TEXT NOT NULL,
    reserved     TEXT NOT NULL,
    frozen       TEXT NOT NULL
);
CREATE INDEX wallet_balances_address_ts ON wallet_balances(address, ts_us);

CREATE TABLE wallet_transfers (
    id              INTEGER PRIMARY KEY,
    address         TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    counterparty    TEXT NOT NULL,
    amount          TEXT NOT NULL,
    block_number    INTEGER NOT NULL,
    block_hash      TEXT NOT NULL,
    event_index     INTEGER NOT NULL,
    extrinsic_index INTEGER,
    ts_us           INTEGER,
    UNIQUE (block_hash, event_index, address, direction)
);
CREATE INDEX wallet_transfers_address_block ON wallet_transfers(address, block_number);
CREATE INDEX wallet_transfers_block ON wallet_transfers(block_number);

CREATE TABLE chain_rewards (
    id            INTEGER PRIMARY KEY,
    address       TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('block', 'vote', 'fees')),
    amount        TEXT NOT NULL,
    block_number  INTEGER NOT NULL,
    block_hash    TEXT NOT NULL,
    event_index   INTEGER NOT NULL,
    ts_us         INTEGER,
    farmer_id     INTEGER REFERENCES farmer(id) ON DELETE SET NULL,
    farm_id       TEXT,
    reward_log_id INTEGER REFERENCES rewards(id) ON DELETE SET NULL,
    UNIQUE (block_hash, event_index)
);
CREATE INDEX chain_rewards_address_ts ON chain_rewards(address, ts_us);
CREATE INDEX chain_rewards_farmer_ts ON chain_rewards(farmer_id, ts_us);
CREATE INDEX chain_rewards_farm_ts ON chain_rewards(farm_id, ts_us);
CREATE INDEX chain_rewards_block ON chain_rewards(block_number);
CREATE UNIQUE INDEX chain_rewards_log ON chain_rewards(reward_log_id)
    WHERE reward_log_id IS NOT NULL;

CREATE TABLE chain_gaps (
    id          INTEGER PRIMARY KEY,
    from_block  INTEGER NOT NULL,
    to_block    INTEGER NOT NULL,
    detected_us INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    UNIQUE (from_block, to_block)
)
"""
