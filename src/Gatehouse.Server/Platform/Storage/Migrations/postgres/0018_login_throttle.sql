-- Failed-login counts shared by every node of one database (docs/users.md, "Throttling"), so
-- several nodes together allow no more guesses than one. One row per subject: a keyed digest of
-- either the account (its normalised email) or the account and the client's address, never the
-- email or the address itself. A pair row also holds when that address last logged in to the
-- account. Times are unix milliseconds; rows past expires_at are deleted by the nodes.
CREATE TABLE login_throttle (
    subject         TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at BIGINT  NULL,
    trusted_at      BIGINT  NULL,
    expires_at      BIGINT  NOT NULL
);

CREATE INDEX ix_login_throttle_expires_at ON login_throttle (expires_at);
