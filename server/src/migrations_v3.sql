-- caresync reference schema, v3: audit, facility, virtual care, documents.

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    actor_id TEXT NOT NULL REFERENCES users(id),
    client_mutation_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (tenant_id, client_mutation_id)
) STRICT;

CREATE TABLE facility_nodes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    parent_id TEXT REFERENCES facility_nodes(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL
) STRICT;

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    node_id TEXT NOT NULL REFERENCES facility_nodes(id),
    name TEXT NOT NULL
) STRICT;

CREATE TABLE beds (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    label TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('available', 'occupied', 'reserved', 'out_of_service')),
    status_updated_at INTEGER NOT NULL,
    housekeeping_status TEXT NOT NULL CHECK (housekeeping_status IN ('dirty', 'in_progress', 'clean', 'inspected')),
    housekeeping_updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id),
    node_id TEXT NOT NULL REFERENCES facility_nodes(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, node_id)
) STRICT;

-- Every bed write as it arrived: applied, superseded by a newer one, or held for review.
CREATE TABLE bed_updates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    bed_id TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('status', 'housekeeping_status')),
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    client_mutation_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'superseded', 'manual_review')),
    recorded_at INTEGER NOT NULL,
    UNIQUE (tenant_id, client_mutation_id)
) STRICT;
