-- Sliding-window rate-limit counters shared by the nodes of one database (decision 0015): one row
-- per subject, window and fixed interval; a window reads its current and its previous interval.
-- UNLOGGED: counters are rewritten on every admitted request and are worth no WAL; a PostgreSQL
-- crash (not a clean restart) empties the table, which resets every window to zero — the same as
-- restarting a single node whose counters live in memory. Unlogged tables are not replicated either.
-- Times are unix milliseconds; expires_at (interval start + 2 windows) is when no window reads the
-- row any more, and the nodes delete such rows once a minute.
CREATE UNLOGGED TABLE rate_limit_counters (
    subject        TEXT   NOT NULL,
    rule           TEXT   NOT NULL,
    rule_limit     BIGINT NOT NULL,
    window_ms      BIGINT NOT NULL,
    interval_start BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (subject, rule, rule_limit, window_ms, interval_start)
);

CREATE INDEX ix_rate_limit_counters_expires_at ON rate_limit_counters (expires_at);
