-- caresync reference schema, v6: refresh-token families.
-- A sign-in starts a family; each refresh rotates within it. `rotated_at` lets a retry within
-- the grace window get the same successor, and a later replay revoke the whole family.
-- SQLite cannot add a NOT NULL column without a default, so the table is rebuilt; a token
-- issued before this version becomes a family of its own.
CREATE TABLE refresh_tokens_v6 (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    family_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER
) STRICT;

INSERT INTO refresh_tokens_v6 (token_hash, user_id, family_id, expires_at)
    SELECT token_hash, user_id, token_hash, expires_at FROM refresh_tokens;

DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_v6 RENAME TO refresh_tokens;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
-- "Sign out everywhere" revokes by user.
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
