-- Runs of background jobs (the manual ones, the failed ones and those that did work), and one
-- lease row per job that runs on one node at a time.
CREATE TABLE job_runs (
    id          text PRIMARY KEY,
    job         text NOT NULL,
    org_id      text NULL,
    "trigger"   text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NULL,
    ok          boolean NULL,
    error       text NULL,
    node        text NOT NULL,
    done        bigint NULL,
    total       bigint NULL
);
CREATE INDEX ix_job_runs_job_started ON job_runs (job, started_at);

-- A node holds a job's lease while it runs a pass; expires_at moves on while the pass runs, so a
-- dead node's lease lapses and another node takes it. last_finished_at lets the nodes of a cluster
-- share one schedule instead of each running every pass.
CREATE TABLE job_leases (
    job              text PRIMARY KEY,
    holder           text NOT NULL,
    expires_at       timestamptz NOT NULL,
    last_finished_at timestamptz NULL
);
