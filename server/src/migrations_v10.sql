-- caresync reference schema, v10: the live ward board. The committed bed changes a stream
-- replays from, and single-use stream tickets.

-- Every committed change to a bed field, in commit order: seq is the stream's event id.
-- AUTOINCREMENT so an id is never handed out twice, even after the newest row is gone.
CREATE TABLE bed_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    bed_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('status', 'housekeeping_status')),
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    -- The bed right after the change, as the wire has it (BedDto JSON).
    bed TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX bed_changes_tenant ON bed_changes (tenant_id, seq);

-- Only a hash is kept: a ticket is a bearer credential for one stream, for a minute. The
-- role is read from users when it is used, as for replay credentials.
CREATE TABLE stream_tickets (
    ticket_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
