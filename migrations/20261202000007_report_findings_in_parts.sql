-- driftwatch: stored reports of any size.
--
-- One JSONB value holds at most 255 MB, and a large estate's day (hundreds
-- of thousands of findings with their evidence, a first scan's drift) can
-- exceed it. The findings are kept in `report_findings`, in order, a few
-- thousand per row; the model's other sections as text in `model_text`
-- (up to 1 GB). Reports stored before this keep everything in `model`.
ALTER TABLE reports ALTER COLUMN model DROP NOT NULL;
ALTER TABLE reports ADD COLUMN model_text TEXT;
ALTER TABLE reports ADD CONSTRAINT reports_model_kept
    CHECK (model IS NOT NULL OR model_text IS NOT NULL);
CREATE TABLE report_findings (
    report_date DATE    NOT NULL REFERENCES reports (report_date) ON DELETE CASCADE,
    part        INTEGER NOT NULL,
    findings    JSONB   NOT NULL,
    PRIMARY KEY (report_date, part)
);
