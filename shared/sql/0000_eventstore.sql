-- The event store, shared by every service (each in its own database).
-- (stream_id, version) is the optimistic-concurrency check; xact_id makes the global
-- order safe against transactions that commit out of sequence order (see eventstore.py).
CREATE TABLE IF NOT EXISTS events (
    position       bigserial   NOT NULL,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    stream_type    text        NOT NULL,
    version        integer     NOT NULL CHECK (version >= 1),
    type           text        NOT NULL,
    schema_version integer     NOT NULL DEFAULT 1,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    xact_id        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (stream_id, version)
);
CREATE INDEX IF NOT EXISTS events_global_order ON events (xact_id, position);

-- Where each reader of the global order (relay, projections) has got to.
CREATE TABLE IF NOT EXISTS checkpoints (
    name       text        PRIMARY KEY,
    xact_id    xid8        NOT NULL DEFAULT '0'::xid8,
    position   bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotent consumers: a row per (consumer, event) written with the handler's effects.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
