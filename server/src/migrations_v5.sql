-- caresync reference schema, v5: documents.

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    published INTEGER NOT NULL CHECK (published IN (0, 1)),
    body TEXT NOT NULL
) STRICT;

CREATE TABLE render_jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    requester_id TEXT NOT NULL REFERENCES users(id),
    client_mutation_id TEXT NOT NULL,
    template_id TEXT NOT NULL REFERENCES templates(id),
    template_version INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    created_at INTEGER NOT NULL,
    completed_at INTEGER,
    artifact_id TEXT,
    UNIQUE (tenant_id, client_mutation_id)
) STRICT;
CREATE INDEX render_jobs_queued ON render_jobs (status, created_at);

CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    job_id TEXT NOT NULL REFERENCES render_jobs(id),
    pdf BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
