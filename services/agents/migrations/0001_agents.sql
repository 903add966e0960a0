-- agents: the list (a projection of the agent events, rebuildable) and the agents' full
-- identity elements (not in events: they carry masked values only).

CREATE TABLE agent_list (
    agent_id         uuid        PRIMARY KEY,
    enterprise_id    uuid        NOT NULL,
    name             text        NOT NULL,
    id_type          text        NOT NULL,
    id_number_masked text        NOT NULL,
    phone_masked     text        NOT NULL,
    id_valid_from    date,
    id_valid_to      date,
    id_long_term     boolean     NOT NULL DEFAULT false,
    valid_from       date        NOT NULL,
    valid_to         date        NOT NULL,
    can_manage       boolean     NOT NULL,
    added_by         uuid        NOT NULL,
    added_at         timestamptz NOT NULL,
    removed_at       timestamptz
);
CREATE INDEX agent_list_by_enterprise ON agent_list (enterprise_id, added_at DESC, agent_id DESC)
    WHERE removed_at IS NULL;

-- Written in the same transaction as AgentAdded: its unique indexes are what makes two
-- concurrent adds of one person (same ID number or phone) to one enterprise end with
-- exactly one agent.
CREATE TABLE agent_elements (
    agent_id      uuid        PRIMARY KEY,
    enterprise_id uuid        NOT NULL,
    id_number     text        NOT NULL,
    phone         text        NOT NULL,
    removed       boolean     NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX agent_elements_id_number ON agent_elements (enterprise_id, id_number) WHERE NOT removed;
CREATE UNIQUE INDEX agent_elements_phone ON agent_elements (enterprise_id, phone) WHERE NOT removed;
