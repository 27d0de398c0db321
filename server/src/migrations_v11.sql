-- caresync reference schema, v11: expired Idempotency-Key answers are pruned by age, once a
-- minute; the index keeps that delete from scanning every remembered answer.

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
