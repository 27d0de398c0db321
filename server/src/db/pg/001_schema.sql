-- caresync reference schema on PostgreSQL, v1: the SQLite schema through its v11, in
-- PostgreSQL's dialect (INTEGER is BIGINT, BLOB is BYTEA), with the same keys, UNIQUE and
-- CHECK constraints.

CREATE TABLE server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    device_class TEXT NOT NULL DEFAULT 'either'
        CHECK (device_class IN ('personal', 'shared', 'either'))
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('patient', 'ward_staff', 'provider')),
    password_hash TEXT NOT NULL,
    UNIQUE (tenant_id, username)
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    family_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'archived')),
    updated_at BIGINT NOT NULL
);

CREATE TABLE thread_members (
    thread_id TEXT NOT NULL REFERENCES threads(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (thread_id, user_id)
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    thread_id TEXT NOT NULL REFERENCES threads(id),
    sender_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    client_mutation_id TEXT,
    client_sent_at TEXT,
    UNIQUE (tenant_id, client_mutation_id)
);
CREATE INDEX messages_in_order ON messages (thread_id, sent_at, id);

CREATE TABLE read_receipts (
    message_id TEXT NOT NULL REFERENCES messages(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    actor_id TEXT NOT NULL REFERENCES users(id),
    client_mutation_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    chain_device_id TEXT,
    chain_seq BIGINT,
    chain_mac TEXT,
    UNIQUE (tenant_id, client_mutation_id)
);

CREATE TABLE facility_nodes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    parent_id TEXT REFERENCES facility_nodes(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    node_id TEXT NOT NULL REFERENCES facility_nodes(id),
    name TEXT NOT NULL
);

CREATE TABLE beds (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    label TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('available', 'occupied', 'reserved', 'out_of_service')),
    status_updated_at BIGINT NOT NULL,
    housekeeping_status TEXT NOT NULL CHECK (housekeeping_status IN ('dirty', 'in_progress', 'clean', 'inspected')),
    housekeeping_updated_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id),
    node_id TEXT NOT NULL REFERENCES facility_nodes(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, node_id)
);

CREATE TABLE bed_updates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    bed_id TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('status', 'housekeeping_status')),
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    client_mutation_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'superseded', 'manual_review')),
    recorded_at BIGINT NOT NULL,
    UNIQUE (tenant_id, client_mutation_id)
);
CREATE INDEX bed_updates_held ON bed_updates (tenant_id, outcome);

CREATE TABLE bed_reviews (
    update_id TEXT PRIMARY KEY REFERENCES bed_updates(id),
    tenant_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accepted', 'superseded', 'rejected')),
    reviewer_id TEXT NOT NULL,
    decided_at BIGINT NOT NULL
);

CREATE TABLE async_visits (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    patient_id TEXT NOT NULL REFERENCES users(id),
    client_mutation_id TEXT NOT NULL,
    chief_complaint TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, client_mutation_id)
);

CREATE TABLE visit_attachments (
    id TEXT PRIMARY KEY,
    visit_id TEXT NOT NULL REFERENCES async_visits(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    bytes BYTEA NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    patient_id TEXT NOT NULL REFERENCES users(id),
    provider_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'waiting', 'active', 'ended', 'cancelled', 'failed')),
    version BIGINT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    fallback_thread_id TEXT REFERENCES threads(id)
);

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    published BIGINT NOT NULL CHECK (published IN (0, 1)),
    body TEXT NOT NULL
);

CREATE TABLE render_jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    requester_id TEXT NOT NULL REFERENCES users(id),
    client_mutation_id TEXT NOT NULL,
    template_id TEXT NOT NULL REFERENCES templates(id),
    template_version BIGINT NOT NULL,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    artifact_id TEXT,
    UNIQUE (tenant_id, client_mutation_id)
);
CREATE INDEX render_jobs_queued ON render_jobs (status, created_at);

CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    job_id TEXT NOT NULL REFERENCES render_jobs(id),
    pdf BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE device_key_shares (
    user_id TEXT NOT NULL REFERENCES users(id),
    device_id TEXT NOT NULL,
    share BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

CREATE TABLE replay_credentials (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    device_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX replay_credentials_user ON replay_credentials (user_id, device_id);

CREATE TABLE audit_keys (
    user_id TEXT NOT NULL REFERENCES users(id),
    device_id TEXT NOT NULL,
    key BYTEA NOT NULL,
    head_seq BIGINT NOT NULL DEFAULT 0,
    head_mac TEXT NOT NULL DEFAULT 'genesis',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

CREATE TABLE audit_tamper_alerts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_tamper_alerts_user ON audit_tamper_alerts (user_id, device_id);

CREATE TABLE sealing_keys (
    key_id TEXT PRIMARY KEY,
    private BYTEA NOT NULL,
    public BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

CREATE TABLE bed_changes (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    bed_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('status', 'housekeeping_status')),
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    bed TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX bed_changes_tenant ON bed_changes (tenant_id, seq);

CREATE TABLE stream_tickets (
    ticket_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
