-- caresync reference schema, v2: tenants, users, messaging, idempotency.
-- Tenant and user ids come only from the signed token; every row carries its tenant.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('patient', 'ward_staff', 'provider')),
    password_hash TEXT NOT NULL,
    UNIQUE (tenant_id, username)
) STRICT;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'archived')),
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE thread_members (
    thread_id TEXT NOT NULL REFERENCES threads(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (thread_id, user_id)
) STRICT;

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    thread_id TEXT NOT NULL REFERENCES threads(id),
    sender_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    client_mutation_id TEXT,
    client_sent_at TEXT,
    UNIQUE (tenant_id, client_mutation_id)
) STRICT;
CREATE INDEX messages_in_order ON messages (thread_id, sent_at, id);

CREATE TABLE read_receipts (
    message_id TEXT NOT NULL REFERENCES messages(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    read_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id)
) STRICT;

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, key)
) STRICT;
