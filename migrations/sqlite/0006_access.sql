-- Access control: local users (argon2 password hashes), login sessions, API tokens (hashed), and
-- the audit log of every change and every refused attempt.
CREATE TABLE users (
    username        VARCHAR(64)   NOT NULL PRIMARY KEY,
    password_hash   VARCHAR(255)  NOT NULL,
    role            VARCHAR(16)   NOT NULL,
    created_at      BIGINT        NOT NULL,
    updated_at      BIGINT        NOT NULL
);
CREATE TABLE sessions (
    id_hash         VARCHAR(64)   NOT NULL PRIMARY KEY,
    username        VARCHAR(64)   NOT NULL,
    csrf            VARCHAR(64)   NOT NULL,
    created_at      BIGINT        NOT NULL,
    expires_at      BIGINT        NOT NULL
);
CREATE INDEX sessions_user ON sessions (username);
CREATE TABLE api_tokens (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    token_hash      VARCHAR(64)   NOT NULL,
    name            VARCHAR(128)  NOT NULL,
    username        VARCHAR(64)   NOT NULL,
    created_at      BIGINT        NOT NULL,
    last_used_at    BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE TABLE audit_log (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    ts              BIGINT        NOT NULL,
    actor           VARCHAR(64)   NOT NULL,
    action          VARCHAR(64)   NOT NULL,
    cluster         VARCHAR(64),
    object          VARCHAR(512),
    result          VARCHAR(16)   NOT NULL,
    detail          VARCHAR(2000),
    remote          VARCHAR(64)
);
CREATE INDEX audit_log_ts ON audit_log (ts);
