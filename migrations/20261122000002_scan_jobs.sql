-- driftwatch run: scheduled work shared by every replica through Postgres.
--
-- Each cron tick of a collector becomes one job per configured account
-- entry. Every replica enqueues the same tick; the unique key makes that
-- idempotent. A replica claims a job with a lease it keeps renewing; a job
-- whose lease ran out (its replica died) is claimed again by another.
CREATE TABLE scan_jobs (
    id            BIGSERIAL PRIMARY KEY,
    collector     TEXT        NOT NULL,
    -- The [[accounts]] entry: its name, profile or role ARN.
    account_key   TEXT        NOT NULL,
    scheduled_for TIMESTAMPTZ NOT NULL,
    state         TEXT        NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'done')),
    owner         TEXT,
    lease_until   TIMESTAMPTZ,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    enqueued_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    UNIQUE (collector, account_key, scheduled_for)
);
CREATE INDEX scan_jobs_open_idx ON scan_jobs (scheduled_for, id) WHERE state <> 'done';

-- The job a scan was recorded for. One scan per scope per job, enforced:
-- a job taken over after its first replica died never records a scope twice.
ALTER TABLE scans ADD COLUMN job_id BIGINT REFERENCES scan_jobs (id);
CREATE UNIQUE INDEX scans_job_scope_idx ON scans (job_id, collector, account_id, region)
    WHERE job_id IS NOT NULL;
CREATE INDEX scans_finished_idx ON scans (finished_at);
