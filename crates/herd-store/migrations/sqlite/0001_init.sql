-- herd's state, first version. Times are milliseconds since the Unix epoch;
-- lists are JSON arrays of strings. Keep in step with ../postgres.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'agent')),
    hosts       TEXT    NOT NULL DEFAULT '[]',
    tools       TEXT    NOT NULL DEFAULT '[]',
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

-- AUTOINCREMENT: ids are never reused, even after pruning every row, so an
-- `after_id` cursor stays valid.
CREATE TABLE audit (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                BIGINT  NOT NULL,
    user_name         TEXT,
    token_id          TEXT,
    oauth_subject     TEXT,
    client_name       TEXT,
    client_version    TEXT,
    client_address    TEXT,
    session_id        TEXT,
    method            TEXT    NOT NULL,
    target            TEXT,
    hosts             TEXT    NOT NULL DEFAULT '[]',
    path              TEXT,
    duration_ms       BIGINT  NOT NULL,
    outcome           TEXT    NOT NULL,
    error             TEXT,
    args_sha256       TEXT,
    args_size         BIGINT,
    args              TEXT,
    llm_model         TEXT,
    llm_provider      TEXT,
    llm_member        TEXT,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    ttft_ms           BIGINT
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user ON audit (user_name, id);

CREATE TABLE servers (
    name        TEXT   PRIMARY KEY,
    spec        TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL
);
