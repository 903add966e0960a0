-- notify: other government systems subscribed to the public events (docs/EVENTS.md,
-- "Subscribers"). Created by ops (`python -m notify create-subscriber`); only the secret's
-- argon2id hash is kept for the token endpoint, and the webhook key (the platform must
-- keep it to sign with) is kept as given.

CREATE TABLE IF NOT EXISTS subscribers (
    subscriber_id  uuid        PRIMARY KEY,
    name           text        NOT NULL,
    slug           text        NOT NULL UNIQUE,      -- broker user and queue: sub.<slug>
    event_types    text[]      NOT NULL,
    webhook_url    text,
    secret_hash    text        NOT NULL,
    webhook_secret text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    -- how far the webhook dispatcher has read the feed (a composite position, EVENTS.md)
    webhook_cursor text        NOT NULL DEFAULT ''
);

-- One row per (subscriber, event) to deliver by webhook; retried with back-off.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id    uuid        PRIMARY KEY,
    subscriber_id  uuid        NOT NULL REFERENCES subscribers (subscriber_id),
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    body           text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    attempts       integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    give_up_at     timestamptz NOT NULL,               -- retried with back-off until then
    last_error     text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    delivered_at   timestamptz,
    CONSTRAINT webhook_deliveries_once UNIQUE (subscriber_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_of ON webhook_deliveries (subscriber_id, created_at DESC);
