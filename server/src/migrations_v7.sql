-- caresync reference schema, v7: per-device key shares.
-- The app wraps its local data key under a share the server keeps for each user and device,
-- so a password changed elsewhere can still unlock what that device holds. Issued at
-- sign-in with a device id; the same device always gets the same share.
CREATE TABLE device_key_shares (
    user_id TEXT NOT NULL REFERENCES users(id),
    device_id TEXT NOT NULL,
    share BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
) STRICT;
