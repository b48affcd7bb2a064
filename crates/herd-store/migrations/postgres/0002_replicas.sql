-- Several hub replicas on one store: who is up (each heartbeats its row),
-- the secrets they share (made once by whichever starts first), and which
-- replica holds each agent's channel. Times are milliseconds since the Unix
-- epoch. Keep in step with ../sqlite.

CREATE TABLE replicas (
    id            TEXT   PRIMARY KEY,
    address       TEXT   NOT NULL,
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);

CREATE TABLE cluster_secrets (
    name        TEXT   PRIMARY KEY,
    secret      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE channel_owners (
    host           TEXT   PRIMARY KEY,
    replica_id     TEXT   NOT NULL,
    session        TEXT   NOT NULL,
    owner_user_id  BIGINT,
    owner_name     TEXT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX channel_owners_replica ON channel_owners (replica_id);
