-- caresync reference schema, v9: manual review of held bed writes.

-- A held bed write (bed_updates.outcome = 'manual_review') is open until it has a row here.
CREATE TABLE bed_reviews (
    update_id TEXT PRIMARY KEY REFERENCES bed_updates(id),
    tenant_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accepted', 'superseded', 'rejected')),
    reviewer_id TEXT NOT NULL,
    decided_at INTEGER NOT NULL
) STRICT;
CREATE INDEX bed_updates_held ON bed_updates (tenant_id, outcome);
