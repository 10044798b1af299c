"""Balances read at a block, every other way money moves, operator incidents.

``wallet_balances.block_hash``: the block the balance was read at (NULL for older rows, read at
the head and stamped with an older number: never compared). ``wallet_movements``: deposits and
withdrawals no transfer or reward explains (XDM, staking, other), fees paid, operator income.
"""

SQL = """
ALTER TABLE wallet_balances ADD COLUMN block_hash TEXT;
CREATE INDEX wallet_balances_block ON wallet_balances(block_number);

CREATE TABLE wallet_movements (
    id           INTEGER PRIMARY KEY,
    address      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    amount       TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    event_index  INTEGER NOT NULL,
    ts_us        INTEGER,
    source       TEXT NOT NULL DEFAULT '',
    operator_id  INTEGER,
    UNIQUE (block_hash, event_index, address)
);
CREATE INDEX wallet_movements_address_block ON wallet_movements(address, block_number);
CREATE INDEX wallet_movements_block ON wallet_movements(block_number);

CREATE TABLE operator_incidents (
    id           INTEGER PRIMARY KEY,
    address      TEXT NOT NULL,
    operator_id  INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    event_index  INTEGER NOT NULL,
    ts_us        INTEGER,
    UNIQUE (block_hash, event_index)
);
CREATE INDEX operator_incidents_block ON operator_incidents(block_number)
"""
