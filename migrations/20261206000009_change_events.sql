-- CloudTrail write events received from the event queues: who made a
-- change, kept with the drift it caused for as long as the drift history
-- (retention), not CloudTrail's 90 days. Keyed on CloudTrail's eventID, so
-- a redelivered or duplicated event is recorded once.
CREATE TABLE change_events (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_time TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    -- Set once what the event caused (its targeted scans) is committed: a
    -- redelivery after that only deletes the message.
    processed_at TIMESTAMPTZ,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    event_source TEXT NOT NULL,
    event_name TEXT NOT NULL,
    -- "alice via role Admin": what a person reads.
    actor TEXT NOT NULL,
    -- userIdentity type and ARN, session issuer and name, invoking
    -- service, source IP, user agent, request id.
    actor_detail JSONB NOT NULL
);

-- A targeted scan records only the resources one change event named: it
-- is not a listing of its scope, so it never counts as the scope's latest
-- scan (coverage, last seen, deletions).
ALTER TABLE scans ADD COLUMN targeted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE scans ADD COLUMN change_event_id BIGINT REFERENCES change_events (id);

-- The event a drift was attributed to; NULL: found by a scheduled scan
-- with no event received.
ALTER TABLE drift_events ADD COLUMN change_event_id BIGINT REFERENCES change_events (id);
CREATE INDEX drift_events_change_event ON drift_events (change_event_id)
    WHERE change_event_id IS NOT NULL;
-- A scan's own drift: attributed to its event, and the deletions a later
-- scan made (what an earlier-begun listing must not bring back).
CREATE INDEX drift_events_to_scan ON drift_events (to_scan_id);

-- What scans of a scope finished after a time: a collection recorded late
-- (a targeted scan and a scheduled one crossing) never overwrites a state
-- observed after it began.
CREATE INDEX scans_scope_finished_idx ON scans (collector, account_id, region, finished_at);
