-- caresync reference schema, v4: virtual care.

CREATE TABLE async_visits (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    patient_id TEXT NOT NULL REFERENCES users(id),
    client_mutation_id TEXT NOT NULL,
    chief_complaint TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, client_mutation_id)
) STRICT;

CREATE TABLE visit_attachments (
    id TEXT PRIMARY KEY,
    visit_id TEXT NOT NULL REFERENCES async_visits(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    bytes BLOB NOT NULL
) STRICT;

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    patient_id TEXT NOT NULL REFERENCES users(id),
    provider_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'waiting', 'active', 'ended', 'cancelled', 'failed')),
    version INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    fallback_thread_id TEXT REFERENCES threads(id)
) STRICT;
