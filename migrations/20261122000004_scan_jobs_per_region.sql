-- Jobs fan out per region as well: one job per (collector, account entry,
-- region, tick), so that replicas scan the regions of one account in
-- parallel. `*` stands for every region of the entry (account-wide
-- collectors, `regions = ["all"]`, organizations: resolved when scanned).
ALTER TABLE scan_jobs ADD COLUMN region TEXT NOT NULL DEFAULT '*';
ALTER TABLE scan_jobs DROP CONSTRAINT scan_jobs_collector_account_key_scheduled_for_key;
ALTER TABLE scan_jobs ADD CONSTRAINT scan_jobs_tick_key
    UNIQUE (collector, account_key, region, scheduled_for);
