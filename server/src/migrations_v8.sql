-- caresync reference schema, v8: shared devices.
-- A tenant can decide the device class for its users; 'either' lets them choose.
ALTER TABLE tenants ADD COLUMN device_class TEXT NOT NULL DEFAULT 'either'
    CHECK (device_class IN ('personal', 'shared', 'either'));

-- Replay credentials push one user's sealed writes from one device, and nothing else.
-- Only the SHA-256 of the token is kept, like refresh tokens.
CREATE TABLE replay_credentials (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX replay_credentials_user ON replay_credentials (user_id, device_id);

-- The audit-chain key of a user on a device (made once, like the device key share), and
-- the head of that chain the server last acknowledged.
CREATE TABLE audit_keys (
    user_id TEXT NOT NULL REFERENCES users(id),
    device_id TEXT NOT NULL,
    key BLOB NOT NULL,
    head_seq INTEGER NOT NULL DEFAULT 0,
    head_mac TEXT NOT NULL DEFAULT 'genesis',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
) STRICT;

-- A chained event's place in its chain, kept with the event for later inspection.
ALTER TABLE audit_events ADD COLUMN chain_device_id TEXT;
ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_events ADD COLUMN chain_mac TEXT;

-- A refused audit event: a forged MAC, a gap, a reordered or replayed link. No payload.
CREATE TABLE audit_tamper_alerts (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_tamper_alerts_user ON audit_tamper_alerts (user_id, device_id);

-- The server's HPKE key pairs for sealed writes. The newest unretired one is published;
-- every unretired one still opens what was sealed to it.
CREATE TABLE sealing_keys (
    key_id TEXT PRIMARY KEY,
    private BLOB NOT NULL,
    public BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;
