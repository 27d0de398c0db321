-- caresync reference schema, v12: the transactional outbox of domain events. A write
-- records its event in its own transaction; the relay publishes it to NATS JetStream (the
-- id is its Nats-Msg-Id) and then stamps published_at.
CREATE TABLE event_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- ids and states only, never PHI
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    published_at INTEGER
) STRICT;
CREATE INDEX event_outbox_unpublished ON event_outbox (seq) WHERE published_at IS NULL;
