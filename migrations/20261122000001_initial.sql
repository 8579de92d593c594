-- driftwatch: scans, content-addressed snapshots, findings and drift.

-- One collection of one collector in one account and region.
CREATE TABLE scans (
    id             BIGSERIAL PRIMARY KEY,
    account_id     TEXT        NOT NULL,
    account_name   TEXT        NOT NULL,
    region         TEXT        NOT NULL,
    collector      TEXT        NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    -- ok: everything listed and described; partial: listed, some resources
    -- failed; failed: could not even list. Only ok scans may delete.
    status         TEXT        NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),
    error          TEXT,
    resource_count INTEGER     NOT NULL DEFAULT 0,
    failed_count   INTEGER     NOT NULL DEFAULT 0
);
CREATE INDEX scans_scope_idx ON scans (collector, account_id, region, id DESC);

-- A resource, identified by its ARN, over its whole life.
CREATE TABLE resources (
    id            BIGSERIAL PRIMARY KEY,
    arn           TEXT        NOT NULL UNIQUE,
    resource_type TEXT        NOT NULL,
    account_id    TEXT        NOT NULL,
    region        TEXT        NOT NULL,
    collector     TEXT        NOT NULL,
    -- The scope that owns the resource: the region it was collected in
    -- (for S3, the account-wide scope `global`).
    scope_region  TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    -- Set by an ok scan that no longer lists it; cleared if it comes back.
    deleted_at    TIMESTAMPTZ
);
CREATE INDEX resources_scope_idx ON resources (collector, account_id, scope_region) WHERE deleted_at IS NULL;

-- Normalised resource documents, stored once per distinct content.
CREATE TABLE documents (
    hash       TEXT  PRIMARY KEY,  -- sha256 of the canonical JSON
    body       JSONB NOT NULL,
    size_bytes INTEGER NOT NULL
);

-- What one scan saw of one resource: a reference to its document, or the
-- reason describing it failed.
CREATE TABLE resource_snapshots (
    scan_id          BIGINT NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    resource_id      BIGINT NOT NULL REFERENCES resources (id),
    document_hash    TEXT REFERENCES documents (hash),
    collection_error TEXT,
    PRIMARY KEY (resource_id, scan_id),
    CHECK ((document_hash IS NULL) <> (collection_error IS NULL))
);
CREATE INDEX resource_snapshots_scan_idx ON resource_snapshots (scan_id);

-- The current state of each (resource, control): one row, updated by each
-- scan. `status_since` is when the current status began.
CREATE TABLE findings (
    id           BIGSERIAL PRIMARY KEY,
    resource_id  BIGINT      NOT NULL REFERENCES resources (id),
    control_id   TEXT        NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN ('pass', 'fail', 'unknown')),
    -- The last pass/fail: unknown (collection failed) does not change it, so
    -- pass -> unknown -> fail is a regression and fail -> unknown -> fail is not.
    decided_status TEXT      CHECK (decided_status IN ('pass', 'fail')),
    severity     TEXT        NOT NULL,
    evidence     JSONB       NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    status_since TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    -- When the last failure ended (fail -> pass, or the resource was deleted);
    -- NULL while failing.
    resolved_at  TIMESTAMPTZ,
    -- Set when the resource was evaluated without this control (it no
    -- longer applies, or was disabled); such findings are not listed.
    retired_at   TIMESTAMPTZ,
    last_scan_id BIGINT      NOT NULL REFERENCES scans (id),
    UNIQUE (resource_id, control_id)
);
CREATE INDEX findings_status_idx ON findings (status, control_id);

-- Every status change of a finding: the audit trail of regressions and
-- resolutions.
CREATE TABLE finding_transitions (
    id          BIGSERIAL PRIMARY KEY,
    finding_id  BIGINT      NOT NULL REFERENCES findings (id),
    scan_id     BIGINT      NOT NULL REFERENCES scans (id),
    old_status  TEXT,        -- NULL: first evaluation
    new_status  TEXT        NOT NULL,
    -- regression: pass -> fail, or a new resource failing;
    -- resolution: fail -> pass, or a failing resource deleted.
    kind        TEXT        NOT NULL CHECK (kind IN ('new', 'regression', 'resolution', 'changed')),
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX finding_transitions_at_idx ON finding_transitions (at);

CREATE TABLE drift_events (
    id           BIGSERIAL PRIMARY KEY,
    resource_id  BIGINT      NOT NULL REFERENCES resources (id),
    kind         TEXT        NOT NULL CHECK (kind IN ('created', 'modified', 'deleted')),
    -- [{path, old, new}], path-precise
    changes      JSONB       NOT NULL,
    -- The scan whose snapshot was compared against (NULL for created).
    from_scan_id BIGINT REFERENCES scans (id),
    to_scan_id   BIGINT      NOT NULL REFERENCES scans (id),
    detected_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX drift_events_detected_idx ON drift_events (detected_at);
