"""The notification outbox: written before sending, marked sent once Discord accepts it."""

SQL = """
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_us      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_us INTEGER NOT NULL,
    sent_us         INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox(state, next_attempt_us)
"""
