-- driftwatch: alert outbox, waivers and stored daily reports.

-- The evidence a finding carried when it entered a status: a past day's
-- report shows what was known then, not what is known now.
ALTER TABLE finding_transitions ADD COLUMN evidence JSONB;
ALTER TABLE finding_transitions ADD COLUMN severity TEXT;
CREATE INDEX finding_transitions_finding_idx ON finding_transitions (finding_id, at DESC, id DESC);
-- An alert carries its resource's latest drift.
CREATE INDEX drift_events_resource_idx ON drift_events (resource_id, id DESC);

-- Documented exceptions. Rows are never deleted: a revocation or an
-- expiry is part of the history an auditor reads.
CREATE TABLE waivers (
    id           BIGSERIAL PRIMARY KEY,
    control_id   TEXT        NOT NULL,
    resource_arn TEXT        NOT NULL,
    reason       TEXT        NOT NULL CHECK (reason <> ''),
    approved_by  TEXT        NOT NULL CHECK (approved_by <> ''),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    revoked_by   TEXT,
    -- cli: `driftwatch waive`; config: a [[waivers]] entry of the config file.
    source       TEXT        NOT NULL CHECK (source IN ('cli', 'config')),
    CHECK (expires_at > created_at)
);
CREATE INDEX waivers_target_idx ON waivers (resource_arn, control_id);

-- Whether a finding has an open incident, and where it was sent: resolves
-- go where the trigger went even if routing changed since.
CREATE TABLE finding_alerts (
    finding_id  BIGINT      PRIMARY KEY REFERENCES findings (id),
    dedup_key   TEXT        NOT NULL,
    open        BOOLEAN     NOT NULL,
    sinks       TEXT[]      NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL,
    -- Set when the finding stopped needing a page while the incident is
    -- open; the resolve waits out the flap window from here.
    clear_since TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX finding_alerts_clearing_idx ON finding_alerts (clear_since) WHERE open AND clear_since IS NOT NULL;

-- Transactional outbox: written in the transaction that decides the alert,
-- drained by a sender. Never deleted by delivery; pruned by retention.
CREATE TABLE alert_outbox (
    id              BIGSERIAL PRIMARY KEY,
    finding_id      BIGINT      NOT NULL REFERENCES findings (id),
    sink            TEXT        NOT NULL,
    dedup_key       TEXT        NOT NULL,
    action          TEXT        NOT NULL CHECK (action IN ('trigger', 'resolve')),
    -- The sink-neutral alert; the sink's wire format is built at delivery.
    alert           JSONB       NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    state           TEXT        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT,
    -- The receiver's status and body of the final attempt.
    response_status INTEGER,
    response_body   TEXT,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX alert_outbox_pending_idx ON alert_outbox (sink, dedup_key, id) WHERE state = 'pending';
CREATE INDEX alert_outbox_created_idx ON alert_outbox (created_at);

-- A day's report as first built after the day ended: asked for again, the
-- same model renders the same files.
CREATE TABLE reports (
    report_date  DATE        PRIMARY KEY,
    generated_at TIMESTAMPTZ NOT NULL,
    model        JSONB       NOT NULL,
    sha256       TEXT        NOT NULL
);
