-- Whether a scan's listing finished without a warning: every resource of
-- the scope was listed, whether or not each one's description succeeded.
-- Custom controls that read the scope's other documents (`data`) need the
-- difference: a failed description is one unknown document, a listing
-- cut short may be missing any. NULL for scans recorded before.
ALTER TABLE scans ADD COLUMN listed_completely BOOLEAN;
