"""Alerts: one state row per (rule, subject), a log of transitions, and daily summaries sent.

A restart reads the state back, so an open alert is neither fired again nor forgotten.
"""

SQL = """
CREATE TABLE alert_state (
    rule             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    phase            TEXT NOT NULL CHECK (phase IN ('ok', 'pending', 'firing', 'clearing')),
    since_us         INTEGER,
    opened_us        INTEGER,
    last_notified_us INTEGER,
    reminders        INTEGER NOT NULL DEFAULT 0,
    clear_since_us   INTEGER,
    flips            INTEGER NOT NULL DEFAULT 0,
    resolved_us      INTEGER,
    severity         TEXT NOT NULL,
    title            TEXT NOT NULL,
    detail           TEXT NOT NULL,
    updated_us       INTEGER NOT NULL,
    PRIMARY KEY (rule, subject)
);
CREATE INDEX alert_state_phase ON alert_state(phase);

CREATE TABLE alert_log (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    transition TEXT NOT NULL CHECK (transition IN ('fire', 'remind', 'resolve')),
    ts_us      INTEGER NOT NULL,
    opened_us  INTEGER,
    severity   TEXT NOT NULL,
    title      TEXT NOT NULL,
    sent       INTEGER NOT NULL
);
CREATE INDEX alert_log_ts ON alert_log(ts_us);

CREATE TABLE summary_runs (
    local_day TEXT PRIMARY KEY,
    timezone  TEXT NOT NULL,
    due_us    INTEGER NOT NULL,
    sent_us   INTEGER NOT NULL
)
"""
