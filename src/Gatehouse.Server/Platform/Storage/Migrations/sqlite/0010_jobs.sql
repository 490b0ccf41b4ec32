-- Runs of background jobs (the manual ones, the failed ones and those that did work), and one
-- lease row per job that runs on one node at a time.
CREATE TABLE job_runs (
    id          TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    org_id      TEXT NULL,
    "trigger"   TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NULL,
    ok          INTEGER NULL,
    error       TEXT NULL,
    node        TEXT NOT NULL,
    done        INTEGER NULL,
    total       INTEGER NULL
);
CREATE INDEX ix_job_runs_job_started ON job_runs (job, started_at);

-- A node holds a job's lease while it runs a pass; expires_at moves on while the pass runs, so a
-- dead node's lease lapses and another node takes it. last_finished_at lets the nodes of a cluster
-- share one schedule instead of each running every pass.
CREATE TABLE job_leases (
    job              TEXT PRIMARY KEY,
    holder           TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    last_finished_at TEXT NULL
);
