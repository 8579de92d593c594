-- From this version on, a resource_snapshots row is written only when a
-- resource's state (its document, or the error that kept it from being
-- described) differs from its latest row. The state a scan saw of a
-- resource is its latest snapshot at or before that scan; the scans table
-- says which scopes each scan covered, resources.first_seen_at/deleted_at
-- and drift_events say when a resource came and went.
COMMENT ON TABLE resource_snapshots IS
    'A resource state, written by the first scan that saw it; unchanged rescans add no row.';
