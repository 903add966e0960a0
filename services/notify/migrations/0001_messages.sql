-- notify: the directory it needs to find recipients (fed by other services' public events),
-- and the messages themselves.
--
-- Directory rows carry the aggregate version (envelope.stream_version) of the event that last
-- changed them: the consumer handles deliveries concurrently and retries reorder them, so an
-- older event arriving late never undoes a newer one.

CREATE TABLE IF NOT EXISTS enterprises (
    enterprise_id uuid PRIMARY KEY,
    name          text NOT NULL
);

CREATE TABLE IF NOT EXISTS persons (
    person_id uuid PRIMARY KEY,
    name      text NOT NULL
);

CREATE TABLE IF NOT EXISTS agents (
    agent_id      uuid    PRIMARY KEY,
    enterprise_id uuid    NOT NULL,
    name          text    NOT NULL DEFAULT '',
    valid_from    date,
    valid_to      date,
    can_manage    boolean NOT NULL DEFAULT false,
    removed       boolean NOT NULL DEFAULT false,
    version       integer NOT NULL
);
CREATE INDEX IF NOT EXISTS agents_managers ON agents (enterprise_id) WHERE can_manage AND NOT removed;

CREATE TABLE IF NOT EXISTS seals (
    seal_id             uuid    PRIMARY KEY,
    enterprise_id       uuid    NOT NULL,
    name                text    NOT NULL DEFAULT '',
    type                text    NOT NULL DEFAULT '',
    revoked             boolean NOT NULL DEFAULT false,
    revoked_correlation text    NOT NULL DEFAULT '',
    version             integer NOT NULL
);

CREATE TABLE IF NOT EXISTS grants (
    grant_id            uuid    PRIMARY KEY,
    seal_id             uuid    NOT NULL,
    enterprise_id       uuid    NOT NULL,
    person_id           uuid    NOT NULL,
    valid_from          date,
    valid_to            date,
    revoked             boolean NOT NULL DEFAULT false,
    -- correlation id of the command that deleted the grant: a seal revocation that deletes
    -- its grants in the same command still reaches their grantees.
    revoked_correlation text    NOT NULL DEFAULT '',
    version             integer NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_by_seal ON grants (seal_id);

-- One row per recipient: the last sequence number handed out. Taking the next number
-- updates (and so locks) this row until the message commits, so a recipient's messages
-- commit in sequence order and a stream reading "seq > last seen" never skips one.
CREATE TABLE IF NOT EXISTS inboxes (
    recipient_id uuid   PRIMARY KEY,
    last_seq     bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
    message_id   uuid        PRIMARY KEY,
    recipient_id uuid        NOT NULL,
    seq          bigint      NOT NULL,
    event_id     uuid        NOT NULL,
    kind         text        NOT NULL,
    title        text        NOT NULL,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    CONSTRAINT messages_recipient_seq UNIQUE (recipient_id, seq),
    -- the second line of idempotency (the first is the consumer's tracking row)
    CONSTRAINT messages_event_recipient UNIQUE (event_id, recipient_id)
);
CREATE INDEX IF NOT EXISTS messages_unread ON messages (recipient_id, seq) WHERE read_at IS NULL;
