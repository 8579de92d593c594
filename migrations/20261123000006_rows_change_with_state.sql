-- A rescan that finds nothing changed writes its scan row and nothing
-- else: a resource or finding row is rewritten only when what it records
-- changes. "Last seen" is therefore no longer a column rewritten on every
-- scan but the latest completed scan of the resource's scope, and a
-- finding keeps the scan that last changed it.
ALTER TABLE resources DROP COLUMN last_seen_at;
ALTER TABLE findings DROP COLUMN last_seen_at;
ALTER TABLE findings RENAME COLUMN last_scan_id TO changed_scan_id;
